//! Text analysis shared by every search engine: normalisation, the
//! substring grams of a text, its pinyin, its words, and what a query asks.
//!
//! Rules (the engines implement them, the brute-force engine literally):
//! * text is lower-cased (full-width ASCII folded) and cut into *segments*
//!   at every character that is not a letter or digit;
//! * a query word written in Chinese or digits matches a text when some
//!   segment contains it as a substring (what character bigrams gave before);
//! * a query word of Latin letters also matches the pinyin of a Chinese word
//!   of the text, full (`tiangua`) or initials (`tg`); a word of five letters
//!   or more that no listing spells exactly tolerates one typo (an edit or a
//!   swap of neighbours): `qilin` finds 麒麟, not 吉林, while `tiangau`
//!   finds 甜瓜;
//! * words come from jieba; synonyms are looked up before it cuts.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use pinyin::ToPinyin;

use super::synonyms::Synonyms;

/// Latin words at least this long tolerate one typo.
pub const TYPO_MIN_LEN: usize = 5;
/// A query keeps at most this many words.
/// (The engine gives each word three bits of a score exact in an f32.)
pub const MAX_QUERY_WORDS: usize = 7;

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Loads the segmenter's dictionary now (about half a second) rather than
/// on the first search.
pub fn warm_up() {
    let _ = jieba();
}

pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// Lower-case, full-width ASCII folded to ASCII.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The segments of a normalised text: maximal runs of letters and digits.
pub fn segments(normalized: &str) -> impl Iterator<Item = &str> {
    normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
}

/// The text with every separator removed (exact-title comparison).
pub fn compact(text: &str) -> String {
    segments(&normalize(text)).collect()
}

/// Does `word` (normalised, no separators) occur inside one segment?
pub fn contains_word(normalized_text: &str, word: &str) -> bool {
    segments(normalized_text).any(|s| s.contains(word))
}

/// Position-tagged grams of a text: every character, pair and triple of
/// neighbours, at the position of its first character. Segments are three
/// positions apart, so no phrase spans a separator. A word is found by its
/// own gram (one to three characters) or by the phrase of its trigrams:
/// exactly the substring rule, with positions read only for words of four
/// characters or more.
pub fn grams(texts: &[&str]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for text in texts {
        let n = normalize(text);
        for seg in segments(&n) {
            let chars: Vec<char> = seg.chars().collect();
            for i in 0..chars.len() {
                for len in 1..=3 {
                    if let Some(g) = chars.get(i..i + len) {
                        out.push((pos + i, g.iter().collect()));
                    }
                }
            }
            pos += chars.len() + 3;
        }
    }
    out
}

/// The grams a query word is looked up by, with their offsets: the word
/// itself when it has at most three characters, else trigrams every three
/// characters and one ending the word.
pub fn word_grams(word: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() <= 3 {
        return vec![(0, word.to_owned())];
    }
    let mut starts: Vec<usize> = (0..chars.len() - 2).step_by(3).collect();
    if starts.last() != Some(&(chars.len() - 3)) {
        starts.push(chars.len() - 3);
    }
    starts
        .into_iter()
        .map(|i| (i, chars[i..i + 3].iter().collect()))
        .collect()
}

/// Full pinyin and initials of an all-Chinese word (None otherwise).
pub fn pinyin_of(word: &str) -> Option<(String, String)> {
    let mut full = String::new();
    let mut initials = String::new();
    for p in word.to_pinyin() {
        let p = p?;
        full.push_str(p.plain());
        initials.push_str(p.first_letter());
    }
    (!full.is_empty()).then_some((full, initials))
}

/// The Chinese words (two characters or more) of some texts, as jieba cuts
/// them, in order of first appearance.
pub fn chinese_words(texts: &[&str]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in texts {
        let n = normalize(text);
        for seg in segments(&n) {
            for w in jieba().cut(seg, true).into_iter().map(|t| t.word) {
                if w.chars().count() >= 2 && w.chars().all(is_cjk) && seen.insert(w.to_owned()) {
                    out.push(w.to_owned());
                }
            }
        }
    }
    out
}

/// Pinyin tokens of some texts: the full pinyin and the initials of each
/// Chinese word.
pub fn pinyin_tokens(texts: &[&str]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for w in chinese_words(texts) {
        if let Some((full, initials)) = pinyin_of(&w) {
            out.insert(full);
            out.insert(initials);
        }
    }
    out.into_iter().collect()
}

/// Within one typo: equal, or one insertion, deletion, substitution or swap
/// of neighbouring letters.
pub fn within_one_typo(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if la == lb {
        let (ra, rb) = (&a[prefix + 1..], &b[prefix + 1..]);
        if ra == rb {
            return true; // substitution
        }
        // swap of neighbours
        prefix + 1 < la
            && a[prefix] == b[prefix + 1]
            && a[prefix + 1] == b[prefix]
            && a[prefix + 2..] == b[prefix + 2..]
    } else {
        let (long, short) = if la > lb { (&a, &b) } else { (&b, &a) };
        long[prefix + 1..] == short[prefix..]
    }
}

/// One word of a query and the ways it may be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    /// Substrings, any of which matches: the word and its synonyms.
    pub texts: Vec<String>,
    /// Latin letters looked up among the pinyin tokens.
    pub pinyin: Option<String>,
    /// Match the pinyin with one typo (set by the engine, see
    /// [`AnalyzedQuery::allow_typos`]).
    pub typo: bool,
}

impl QueryWord {
    /// Does the pinyin form match a pinyin token?
    pub fn pinyin_matches(&self, token: &str) -> bool {
        match &self.pinyin {
            Some(p) if self.typo => within_one_typo(p, token),
            Some(p) => p == token,
            None => false,
        }
    }
}

/// What a query asks: every word must be found; `exact` is the query with
/// its separators removed, compared with the title's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnalyzedQuery {
    pub words: Vec<QueryWord>,
    pub exact: String,
}

impl AnalyzedQuery {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Lets the pinyin of a word of five letters or more match with one typo
    /// when no listing spells it exactly (`known` says whether one does).
    pub fn allow_typos(&mut self, known: impl Fn(&str) -> bool) {
        for w in &mut self.words {
            w.typo = w
                .pinyin
                .as_deref()
                .is_some_and(|p| p.chars().count() >= TYPO_MIN_LEN && !known(p));
        }
    }
}

/// Cuts a run of Chinese characters into words: synonyms first (longest at
/// each position), jieba for the rest, single characters joined to their
/// neighbours (an unknown name stays one word, not loose characters).
fn cut_chinese(run: &str, synonyms: &Synonyms) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut rest = String::new();
    let flush = |rest: &mut String, out: &mut Vec<String>| {
        if rest.is_empty() {
            return;
        }
        let mut singles = String::new();
        for w in jieba().cut(rest, true).into_iter().map(|t| t.word) {
            if w.chars().count() == 1 {
                singles.push_str(w);
            } else {
                if !singles.is_empty() {
                    out.push(std::mem::take(&mut singles));
                }
                out.push(w.to_owned());
            }
        }
        if !singles.is_empty() {
            out.push(singles);
        }
        rest.clear();
    };
    let mut i = 0;
    while i < chars.len() {
        match synonyms.longest_term_at(&chars[i..]) {
            Some(len) => {
                flush(&mut rest, &mut out);
                out.push(chars[i..i + len].iter().collect());
                i += len;
            }
            None => {
                rest.push(chars[i]);
                i += 1;
            }
        }
    }
    flush(&mut rest, &mut out);
    out
}

/// The words of a query (at most [`MAX_QUERY_WORDS`]).
pub fn analyze_query(q: &str, synonyms: &Synonyms) -> AnalyzedQuery {
    let n = normalize(q);
    let mut words: Vec<QueryWord> = Vec::new();
    for seg in segments(&n) {
        // runs of Chinese / of other letters and digits
        let mut runs: Vec<(bool, String)> = Vec::new();
        for c in seg.chars() {
            let cjk = is_cjk(c);
            match runs.last_mut() {
                Some((k, s)) if *k == cjk => s.push(c),
                _ => runs.push((cjk, c.to_string())),
            }
        }
        for (cjk, run) in runs {
            if cjk {
                for w in cut_chinese(&run, synonyms) {
                    let mut texts = vec![w.clone()];
                    texts.extend(synonyms.others(&w));
                    words.push(QueryWord {
                        texts,
                        pinyin: None,
                        typo: false,
                    });
                }
            } else {
                let letters = run.chars().all(|c| c.is_ascii_lowercase());
                let mut texts = vec![run.clone()];
                if letters {
                    texts.extend(synonyms.by_pinyin(&run));
                }
                words.push(QueryWord {
                    texts,
                    pinyin: (letters && run.len() >= 2).then_some(run),
                    typo: false,
                });
            }
        }
    }
    words.dedup();
    words.truncate(MAX_QUERY_WORDS);
    AnalyzedQuery {
        words,
        exact: segments(&n).collect(),
    }
}
