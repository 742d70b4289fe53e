//! The brute-force engine: every document checked against the literal rule
//! ([`match_tier`]). It backs the domain tests and is the oracle the
//! production engine is compared with.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::analysis::{chinese_words, pinyin_of, pinyin_tokens};
use super::model::*;
use super::ports::*;
use crate::catalog::ListingId;

#[derive(Default)]
pub struct BruteForceIndex {
    docs: Mutex<BTreeMap<ListingId, SearchDoc>>,
}

impl BruteForceIndex {
    pub fn put(&self, doc: SearchDoc) {
        self.docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(doc.id, doc);
    }

    pub fn remove(&self, id: ListingId) {
        self.docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// Facet values of a document.
pub fn facet_values(d: &SearchDoc, f: FacetName) -> Vec<String> {
    match f {
        FacetName::Category => d.category().map(|c| c.to_string()).into_iter().collect(),
        FacetName::Region => vec![d.province().to_owned()],
        FacetName::Certification => {
            let mut v: Vec<String> = d
                .certifications
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            v.sort();
            v.dedup();
            v
        }
        FacetName::Grade => vec![d.grade.as_str().to_owned()],
        FacetName::SaleMode => vec![d.sale_mode.as_str().to_owned()],
    }
}

/// Words and pinyin a suggestion can complete, for one document.
pub fn suggestion_words(d: &SearchDoc) -> Vec<String> {
    let mut texts = vec![d.title.as_str()];
    texts.extend(d.meta_texts());
    chinese_words(&texts)
}

/// Does a word complete `prefix` (Chinese, full pinyin or initials)?
pub fn completes(word: &str, prefix: &str) -> bool {
    word.starts_with(prefix)
        || pinyin_of(word).is_some_and(|(full, initials)| {
            full.starts_with(prefix) || initials.starts_with(prefix)
        })
}

impl SearchIndex for BruteForceIndex {
    fn ready(&self) -> bool {
        true
    }

    fn search(&self, q: &EngineQuery) -> Result<EngineAnswer, Unknown> {
        let docs = self.docs.lock().unwrap_or_else(PoisonError::into_inner);
        let known: std::collections::BTreeSet<String> = docs
            .values()
            .flat_map(|d| {
                let mut t = pinyin_tokens(&[&d.title]);
                t.extend(pinyin_tokens(&d.meta_texts()));
                t
            })
            .collect();
        let mut text = q.text.clone();
        text.allow_typos(|p| known.contains(p));
        let mut matches: Vec<(RankKey, &SearchDoc)> = docs
            .values()
            .filter(|d| q.filters.accepts(d))
            .filter_map(|d| match_tier(d, &text).map(|t| (RankKey::of(d, t, q.sort), d)))
            .collect();
        let mut facets = FacetCounts::new();
        for f in &q.facets {
            let counts = facets.entry(*f).or_default();
            for (_, d) in &matches {
                for v in facet_values(d, *f) {
                    *counts.entry(v).or_default() += 1;
                }
            }
        }
        matches.sort_by(|a, b| a.0.cmp_for(&b.0, q.sort));
        let mut after: Vec<Hit> = matches
            .iter()
            .filter(|(k, _)| {
                q.after
                    .is_none_or(|c| k.cmp_for(&c, q.sort) == std::cmp::Ordering::Greater)
            })
            .map(|(k, d)| Hit { id: d.id, key: *k })
            .collect();
        let more = after.len() > q.limit;
        after.truncate(q.limit);
        Ok(EngineAnswer {
            hits: after,
            more,
            facets,
        })
    }

    fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, Unknown> {
        let docs = self.docs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for d in docs.values() {
            for w in suggestion_words(d) {
                if completes(&w, prefix) {
                    *counts.entry(w).or_default() += 1;
                }
            }
        }
        let mut out: Vec<Suggestion> = counts
            .into_iter()
            .map(|(text, count)| Suggestion { text, count })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.text.cmp(&b.text)));
        out.truncate(limit);
        Ok(out)
    }
}
