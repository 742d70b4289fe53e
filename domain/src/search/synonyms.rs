//! Synonym groups for produce names (土豆 / 马铃薯 / 洋芋): every term of a
//! group finds what any other term finds. Platform admins replace them.

use std::collections::HashMap;

use super::analysis::{is_cjk, normalize, pinyin_of};
use crate::validation::ValidationErrors;

pub const MAX_GROUPS: usize = 1000;
pub const MAX_TERMS: usize = 20;
pub const MAX_TERM_CHARS: usize = 20;

/// Validated synonym groups with their lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    by_term: HashMap<String, usize>,
    by_pinyin: HashMap<String, Vec<usize>>,
    longest: usize,
}

impl Synonyms {
    /// Checks and normalises groups: 2–20 terms of 1–20 Chinese characters
    /// each, at most 1,000 groups, no term in two groups (nor twice in one).
    pub fn parse(groups: Vec<Vec<String>>) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        if groups.len() > MAX_GROUPS {
            e.add("items", format!("at most {MAX_GROUPS} groups"));
        }
        let mut out = Synonyms::default();
        for (g, terms) in groups.into_iter().enumerate() {
            if !(2..=MAX_TERMS).contains(&terms.len()) {
                e.add(
                    format!("items[{g}].terms"),
                    format!("must have 2 to {MAX_TERMS} terms"),
                );
            }
            let mut group = Vec::new();
            for (t, raw) in terms.into_iter().enumerate() {
                let term = normalize(raw.trim());
                let path = format!("items[{g}].terms[{t}]");
                let n = term.chars().count();
                if n == 0 || n > MAX_TERM_CHARS || !term.chars().all(is_cjk) {
                    e.add(
                        path,
                        format!("must be 1 to {MAX_TERM_CHARS} Chinese characters"),
                    );
                    continue;
                }
                if out.by_term.insert(term.clone(), g).is_some() {
                    e.add(path, "appears more than once");
                    continue;
                }
                if let Some((full, _)) = pinyin_of(&term) {
                    out.by_pinyin.entry(full).or_default().push(g);
                }
                out.longest = out.longest.max(n);
                group.push(term);
            }
            out.groups.push(group);
        }
        e.into_result(())?;
        Ok(out)
    }

    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// The other terms of `term`'s group.
    pub fn others(&self, term: &str) -> Vec<String> {
        self.by_term
            .get(term)
            .and_then(|g| self.groups.get(*g))
            .map(|g| g.iter().filter(|t| *t != term).cloned().collect())
            .unwrap_or_default()
    }

    /// Every term of the groups one of whose terms is spelt `pinyin` in full
    /// (`tudou` → 土豆, 马铃薯, 洋芋).
    pub fn by_pinyin(&self, pinyin: &str) -> Vec<String> {
        self.by_pinyin
            .get(pinyin)
            .into_iter()
            .flatten()
            .filter_map(|g| self.groups.get(*g))
            .flatten()
            .cloned()
            .collect()
    }

    /// Length in characters of the longest term starting `chars`.
    pub fn longest_term_at(&self, chars: &[char]) -> Option<usize> {
        (1..=self.longest.min(chars.len())).rev().find(|&len| {
            let s: String = chars[..len].iter().collect();
            self.by_term.contains_key(&s)
        })
    }
}
