//! An analysed query as tantivy queries.
//!
//! Every word must be found in some group (title, meta, description):
//! that query, with the filters as clauses, yields every match. Relevance
//! needs each match's tier; rather than one query per tier (each repeating
//! the intersection and excluding the tier above with a union), the plan
//! carries, per word, the query "found in the title" and "found in the meta
//! group", and the exact-title term. The pass over the matches seeks those
//! forward to each match (see `collector`):
//!
//! * exact title: every word in the title and the compacted title equal
//!   to the compacted query;
//! * every word in the title;
//! * every word in the title or meta group;
//! * every word somewhere.

use std::ops::Bound;

use domain::catalog::{Grade, SaleMode};
use domain::search::analysis::{word_grams, QueryWord};
use domain::search::EngineQuery;
use tantivy::query::{
    BooleanQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};

use super::schema::{cert_bits, ordinal, Fields, Group};

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

/// One way a word is found in a group.
enum Form {
    /// A word of up to three characters (its own gram), or a pinyin token.
    Term(Term),
    /// A longer word: the phrase of its trigrams.
    Phrase(Vec<(usize, Term)>),
    /// A pinyin token within one typo.
    Fuzzy(Term),
}

impl Form {
    fn query(self) -> Box<dyn Query> {
        match self {
            Form::Term(t) => Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            Form::Phrase(grams) => Box::new(PhraseQuery::new_with_offset(grams)),
            Form::Fuzzy(t) => Box::new(FuzzyTermQuery::new(t, 1, true)),
        }
    }
}

/// The ways a word is found in one group: a substring of its text (or of
/// a synonym's), or its pinyin.
fn forms(w: &QueryWord, g: Group) -> Vec<Form> {
    let mut out: Vec<Form> = w
        .texts
        .iter()
        .map(|t| match word_grams(t).as_slice() {
            [(_, only)] => Form::Term(Term::from_field_text(g.grams, only)),
            grams => Form::Phrase(
                grams
                    .iter()
                    .map(|(o, x)| (*o, Term::from_field_text(g.grams, x)))
                    .collect(),
            ),
        })
        .collect();
    if let Some(p) = &w.pinyin {
        let t = Term::from_field_text(g.pinyin, p);
        out.push(if w.typo {
            Form::Fuzzy(t)
        } else {
            Form::Term(t)
        });
    }
    out
}

/// A word found in one group.
fn word_in(w: &QueryWord, g: Group) -> Box<dyn Query> {
    any(forms(w, g).into_iter().map(Form::query).collect())
}

/// One required clause of the matches, with its terms when it is exactly
/// "any of these terms" (a long one is checked from a bitset, see `dense`).
pub struct Clause {
    pub query: Box<dyn Query>,
    pub terms: Vec<Term>,
}

impl Clause {
    fn term(field: tantivy::schema::Field, text: &str) -> Self {
        Self {
            query: term(field, text),
            terms: vec![Term::from_field_text(field, text)],
        }
    }
}

/// Every word found in the "any" group, a clause each.
fn every_word(f: &Fields, q: &EngineQuery) -> Vec<Clause> {
    q.text
        .words
        .iter()
        .map(|w| {
            let forms = forms(w, f.any);
            let terms: Option<Vec<Term>> = forms
                .iter()
                .map(|form| match form {
                    Form::Term(t) => Some(t.clone()),
                    Form::Phrase(_) | Form::Fuzzy(_) => None,
                })
                .collect();
            Clause {
                query: any(forms.into_iter().map(Form::query).collect()),
                terms: terms.unwrap_or_default(),
            }
        })
        .collect()
}

/// Filters a pass checks from the fast-field columns of each text match,
/// rather than intersecting their long posting lists (a grade or a
/// province matches a quarter or a thirtieth of the catalog: seeking those
/// lists costs more than reading a column for the few text matches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnFilter {
    pub grade: Option<u64>,
    pub mode: Option<u64>,
    /// The certification's bit (see `schema::cert_bits`).
    pub cert: Option<u64>,
    pub province: Option<u64>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

impl ColumnFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The filters as query clauses, and those left to the columns. Without
/// words every filter is a clause (they are what the pass iterates).
fn filters(f: &Fields, q: &EngineQuery) -> (Vec<Clause>, ColumnFilter) {
    let filters = &q.filters;
    let text = !q.text.is_empty();
    let mut columns = ColumnFilter::default();
    let mut tokens: Vec<String> = Vec::new();
    if let Some(c) = filters.category {
        tokens.push(format!("c:{c}"));
    }
    if let Some(r) = &filters.region_prefix {
        match r.parse::<u64>() {
            Ok(p) if text && r.len() == 2 => columns.province = Some(p),
            _ => tokens.push(format!("r:{r}")),
        }
    }
    if let Some(k) = filters.certification {
        if text {
            columns.cert = Some(cert_bits(&[k]));
        } else {
            tokens.push(format!("k:{}", k.as_str()));
        }
    }
    if let Some(g) = filters.grade {
        if text {
            columns.grade = Some(ordinal(Grade::ALL, g));
        } else {
            tokens.push(format!("g:{}", g.as_str()));
        }
    }
    if let Some(m) = filters.sale_mode {
        if text {
            columns.mode = Some(ordinal(SaleMode::ALL, m));
        } else {
            tokens.push(format!("m:{}", m.as_str()));
        }
    }
    if let Some(s) = filters.seller_id {
        tokens.push(format!("s:{s}"));
    }
    let mut out: Vec<Clause> = tokens.iter().map(|t| Clause::term(f.filter, t)).collect();
    if filters.min_price_fen.is_some() || filters.max_price_fen.is_some() {
        if text {
            columns.min_price = filters.min_price_fen;
            columns.max_price = filters.max_price_fen;
        } else {
            let bound = |v: Option<i64>| match v {
                Some(v) => Bound::Included(Term::from_field_i64(f.price, v)),
                None => Bound::Unbounded,
            };
            out.push(Clause {
                query: Box::new(RangeQuery::new(
                    bound(filters.min_price_fen),
                    bound(filters.max_price_fen),
                )),
                terms: Vec::new(),
            });
        }
    }
    (out, columns)
}

/// What a pass over the matches evaluates.
pub struct Plan {
    /// Every match is in all of these (every word somewhere, the filters
    /// not left to the columns); none: every document.
    pub clauses: Vec<Clause>,
    pub columns: ColumnFilter,
    /// The exact-title term (none without words).
    pub exact: Option<Box<dyn Query>>,
    /// Per word: found in the title.
    pub title: Vec<Box<dyn Query>>,
    /// Per word: found in the variety or category names.
    pub meta: Vec<Box<dyn Query>>,
}

pub fn plan(f: &Fields, q: &EngineQuery, tiers: bool) -> Plan {
    let words = |g: Group| -> Vec<Box<dyn Query>> {
        if !tiers {
            return Vec::new();
        }
        q.text.words.iter().map(|w| word_in(w, g)).collect()
    };
    let (filters, columns) = filters(f, q);
    let mut clauses = every_word(f, q);
    clauses.extend(filters);
    Plan {
        clauses,
        columns,
        exact: (tiers && !q.text.is_empty()).then(|| term(f.exact, &q.text.exact)),
        title: words(f.title),
        meta: words(f.meta),
    }
}
