//! An analysed query as tantivy queries, one per relevance tier.
//!
//! Every word must be found in some group (title, meta, description). The
//! tiers are evaluated best first, each as a plain intersection that
//! excludes the tier above it:
//!
//! * exact title: every word in the title and the compacted title equal
//!   to the compacted query;
//! * every word in the title (and not exact);
//! * every word in the title or meta group (and not every word in the title);
//! * every word somewhere (and not every word in title or meta).
//!
//! A first page is usually filled by the first two, which need no union of
//! groups at all. Filters are clauses of each.

use std::ops::Bound;

use domain::search::analysis::{word_grams, QueryWord};
use domain::search::{EngineQuery, Tier};
use tantivy::query::{
    AllQuery, BooleanQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};

use super::schema::{Fields, Group};

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

/// Every word found within `groups`.
fn every_word(q: &EngineQuery, groups: &[Group]) -> Vec<(Occur, Box<dyn Query>)> {
    q.text
        .words
        .iter()
        .map(|w| {
            let forms = groups.iter().flat_map(|g| word_in(w, *g)).collect();
            (Occur::Must, any(forms))
        })
        .collect()
}

fn filters(f: &Fields, q: &EngineQuery) -> Vec<(Occur, Box<dyn Query>)> {
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
    let mut out: Vec<(Occur, Box<dyn Query>)> = tokens
        .iter()
        .map(|t| (Occur::Must, term(f.filter, t)))
        .collect();
    if filters.min_price_fen.is_some() || filters.max_price_fen.is_some() {
        let bound = |v: Option<i64>| match v {
            Some(v) => Bound::Included(Term::from_field_i64(f.price, v)),
            None => Bound::Unbounded,
        };
        out.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                bound(filters.min_price_fen),
                bound(filters.max_price_fen),
            )),
        ));
    }
    out
}

fn query(mut clauses: Vec<(Occur, Box<dyn Query>)>, f: &Fields, q: &EngineQuery) -> Box<dyn Query> {
    clauses.extend(filters(f, q));
    if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

fn not(q: Vec<(Occur, Box<dyn Query>)>) -> (Occur, Box<dyn Query>) {
    (Occur::MustNot, Box::new(BooleanQuery::new(q)))
}

/// Every match of the query and its filters (facets, other sorts).
pub fn all_matches(f: &Fields, q: &EngineQuery) -> Box<dyn Query> {
    query(every_word(q, &[f.title, f.meta, f.desc]), f, q)
}

/// The tiers, best first, each with the query of its own matches.
pub fn tiers(f: &Fields, q: &EngineQuery) -> Vec<(Tier, Box<dyn Query>)> {
    if q.text.is_empty() {
        return vec![(Tier::Description, query(Vec::new(), f, q))];
    }
    let exact = || term(f.exact, &q.text.exact);
    let title = || every_word(q, &[f.title]);
    let title_meta = || every_word(q, &[f.title, f.meta]);
    let mut exact_tier = title();
    exact_tier.push((Occur::Must, exact()));
    let mut title_tier = title();
    title_tier.push((Occur::MustNot, exact()));
    let mut meta_tier = title_meta();
    meta_tier.push(not(title()));
    let mut rest = every_word(q, &[f.title, f.meta, f.desc]);
    rest.push(not(title_meta()));
    vec![
        (Tier::ExactTitle, query(exact_tier, f, q)),
        (Tier::AllWordsInTitle, query(title_tier, f, q)),
        (Tier::VarietyOrCategory, query(meta_tier, f, q)),
        (Tier::Description, query(rest, f, q)),
    ]
}
