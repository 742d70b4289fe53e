//! Search terms for Chinese text: overlapping character bigrams.
//!
//! Chinese has no spaces between words, so word-based full-text search
//! (tsvector with a stemmer) finds nothing useful, and trigram indexes need
//! three characters while most produce names are two (甜瓜, 苹果, 大米).
//! Every listing stores the bigrams of its title and variety in a GIN-indexed
//! array; a query's bigrams must all be present (`@>`), then the candidate
//! rows are confirmed with a substring match. Latin words are lower-cased
//! and kept whole as well as split into bigrams.

use std::collections::BTreeSet;

/// Normalised bigrams (and single characters for one-character input).
pub fn bigrams(text: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for segment in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
    {
        let chars: Vec<char> = segment.chars().collect();
        if chars.len() == 1 {
            out.insert(segment.to_owned());
        }
        for w in chars.windows(2) {
            out.insert(w.iter().collect());
        }
    }
    out.into_iter().collect()
}

/// Index terms of a listing: bigrams plus every single character, so a
/// one-character query (瓜) also hits the index.
pub fn index_terms(title: &str, variety: &str) -> Vec<String> {
    let text = format!("{title} {variety}");
    let mut terms: BTreeSet<String> = bigrams(&text).into_iter().collect();
    for c in text.to_lowercase().chars().filter(|c| c.is_alphanumeric()) {
        terms.insert(c.to_string());
    }
    terms.into_iter().collect()
}

/// The terms a query must match: its bigrams, or its single character.
pub fn query_terms(q: &str) -> Vec<String> {
    bigrams(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_bigrams() {
        assert_eq!(bigrams("羊角蜜"), ["羊角", "角蜜"]);
        assert_eq!(bigrams("甜瓜"), ["甜瓜"]);
        assert_eq!(bigrams("瓜"), ["瓜"]);
        assert_eq!(bigrams("Fuji 苹果"), ["fu", "ji", "uj", "苹果"]);
    }

    #[test]
    fn queries_are_covered_by_index_terms() {
        let idx = index_terms("合心甜瓜 5kg箱", "羊角蜜");
        for q in ["甜瓜", "羊角蜜", "瓜", "心甜", "5kg"] {
            assert!(query_terms(q).iter().all(|t| idx.contains(t)), "{q}");
        }
        assert!(!query_terms("西瓜").iter().all(|t| idx.contains(t)));
    }
}
