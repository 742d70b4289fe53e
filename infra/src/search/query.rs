//! An analysed query as tantivy queries.
//!
//! Every word must be found in some group (title, meta, description); the
//! tiers are optional clauses with constant scores 2 (every word in title or
//! meta), 4 (every word in the title) and 8 (exact title), over a required 1.
//! The score's bits are the tier; filters score nothing.

use std::ops::Bound;

use domain::search::analysis::{word_grams, QueryWord};
use domain::search::{EngineQuery, Tier};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};

use super::schema::{Fields, Group};

pub const MATCH: f32 = 1.0;
pub const META: f32 = 2.0;
pub const TITLE: f32 = 4.0;
pub const EXACT: f32 = 8.0;

/// The tier a score stands for.
pub fn tier_of(score: f32) -> Tier {
    let bits = score as u32;
    if bits & 4 != 0 {
        if bits & 8 != 0 {
            Tier::ExactTitle
        } else {
            Tier::AllWordsInTitle
        }
    } else if bits & 2 != 0 {
        Tier::VarietyOrCategory
    } else {
        Tier::Description
    }
}

fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn any(mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        if let Some(only) = clauses.pop() {
            return only;
        }
    }
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn all(mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        if let Some(only) = clauses.pop() {
            return only;
        }
    }
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

/// A word found in one group: a substring of its text, or its pinyin.
fn word_in(w: &QueryWord, g: Group) -> Vec<Box<dyn Query>> {
    let mut out: Vec<Box<dyn Query>> = w
        .texts
        .iter()
        .map(|t| {
            let grams = word_grams(t);
            if grams.len() == 1 {
                term(g.grams, &grams[0])
            } else {
                Box::new(PhraseQuery::new(
                    grams
                        .iter()
                        .map(|x| Term::from_field_text(g.grams, x))
                        .collect(),
                )) as Box<dyn Query>
            }
        })
        .collect();
    if let (Some(field), Some(p)) = (g.pinyin, &w.pinyin) {
        if w.typo {
            out.push(Box::new(FuzzyTermQuery::new(
                Term::from_field_text(field, p),
                1,
                true,
            )));
        } else {
            out.push(term(field, p));
        }
    }
    out
}

pub fn build(f: &Fields, q: &EngineQuery) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if q.text.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    } else {
        let words = &q.text.words;
        let found = |groups: &[Group]| -> Box<dyn Query> {
            all(words
                .iter()
                .map(|w| any(groups.iter().flat_map(|g| word_in(w, *g)).collect()))
                .collect())
        };
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(found(&[f.title, f.meta, f.desc]), MATCH)),
        ));
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(found(&[f.title, f.meta]), META)),
        ));
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(found(&[f.title]), TITLE)),
        ));
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(term(f.exact, &q.text.exact), EXACT)),
        ));
    }
    let filters = &q.filters;
    let mut tokens: Vec<String> = Vec::new();
    if let Some(c) = filters.category {
        tokens.push(format!("c:{c}"));
    }
    if let Some(r) = &filters.region_prefix {
        tokens.push(format!("r:{r}"));
    }
    if let Some(k) = filters.certification {
        tokens.push(format!("k:{}", k.as_str()));
    }
    if let Some(g) = filters.grade {
        tokens.push(format!("g:{}", g.as_str()));
    }
    if let Some(m) = filters.sale_mode {
        tokens.push(format!("m:{}", m.as_str()));
    }
    if let Some(s) = filters.seller_id {
        tokens.push(format!("s:{s}"));
    }
    for t in tokens {
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(term(f.filter, &t), 0.0)),
        ));
    }
    if filters.min_price_fen.is_some() || filters.max_price_fen.is_some() {
        let bound = |v: Option<i64>| match v {
            Some(v) => Bound::Included(Term::from_field_i64(f.price, v)),
            None => Bound::Unbounded,
        };
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(
                Box::new(RangeQuery::new(
                    bound(filters.min_price_fen),
                    bound(filters.max_price_fen),
                )),
                0.0,
            )),
        ));
    }
    Box::new(BooleanQuery::new(clauses))
}
