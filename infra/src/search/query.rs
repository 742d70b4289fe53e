//! An analysed query as tantivy queries.
//!
//! Every word must be found in some group (title, meta, description). Each
//! (word, group) clause is evaluated once and scores a bit of its own:
//! word `i` found in the description adds 2^(3i), in the meta group
//! 2^(3i+1), in the title 2^(3i+2); an exact title adds 2^21. The sum (exact
//! in an f32: at most 7 words) tells the tier. Filters score nothing.

use std::ops::Bound;

use domain::search::analysis::{word_grams, QueryWord};
use domain::search::{EngineQuery, Tier};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};

use super::schema::{Fields, Group};

const EXACT_BIT: u32 = 1 << 21;

/// The tier a score stands for, for a query of `words` words.
pub fn tier_of(score: f32, words: usize) -> Tier {
    if words == 0 {
        return Tier::Description;
    }
    let bits = score as u32;
    let of = |i: usize| (bits >> (3 * i)) & 7;
    if (0..words).all(|i| of(i) & 4 != 0) {
        if bits & EXACT_BIT != 0 {
            Tier::ExactTitle
        } else {
            Tier::AllWordsInTitle
        }
    } else if (0..words).all(|i| of(i) & 6 != 0) {
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

/// A word found in one group: a substring of its text, or its pinyin.
fn word_in(w: &QueryWord, g: Group) -> Vec<Box<dyn Query>> {
    let mut out: Vec<Box<dyn Query>> = w
        .texts
        .iter()
        .map(|t| {
            let grams = word_grams(t);
            match grams.as_slice() {
                [(_, only)] => term(g.grams, only),
                _ => Box::new(PhraseQuery::new_with_offset(
                    grams
                        .iter()
                        .map(|(o, x)| (*o, Term::from_field_text(g.grams, x)))
                        .collect(),
                )) as Box<dyn Query>,
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
        for (i, w) in q.text.words.iter().enumerate() {
            let groups = [(f.desc, 0), (f.meta, 1), (f.title, 2)];
            let found: Vec<Box<dyn Query>> = groups
                .iter()
                .filter_map(|(g, bit)| {
                    let forms = word_in(w, *g);
                    (!forms.is_empty()).then(|| {
                        Box::new(ConstScoreQuery::new(
                            any(forms),
                            (1u32 << (3 * i + bit)) as f32,
                        )) as Box<dyn Query>
                    })
                })
                .collect();
            clauses.push((Occur::Must, any(found)));
        }
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(
                term(f.exact, &q.text.exact),
                EXACT_BIT as f32,
            )),
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
