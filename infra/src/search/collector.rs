//! One pass over the matches: the best `limit + 1` after the cursor in the
//! requested order, each match's relevance tier, and the facet counts over
//! every match.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use domain::search::{RankKey, SearchSort, Tier};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::query::{AllScorer, EnableScoring, Query, Scorer, Weight};
use tantivy::schema::Term;
use tantivy::{BitSet, DocId, DocSet, Searcher, SegmentReader, TERMINATED};

use super::dense::DenseTerms;
use super::query::{ColumnFilter, Plan};
use super::schema::Fields;

/// Counts per facet value, by column value.
#[derive(Debug, Clone, Default)]
pub struct FacetTally {
    pub category: Vec<u64>,
    pub province: Vec<u64>,
    pub grade: Vec<u64>,
    pub mode: Vec<u64>,
    pub certs: Vec<u64>,
}

impl FacetTally {
    pub fn new(categories: usize) -> Self {
        Self {
            category: vec![0; categories],
            province: vec![0; 100],
            grade: vec![0; 8],
            mode: vec![0; 8],
            certs: vec![0; 64],
        }
    }

    fn count(&mut self, c: &Columns, doc: DocId) {
        bump(
            &mut self.category,
            c.category.first(doc).unwrap_or(u64::MAX),
        );
        bump(&mut self.province, c.province.first(doc).unwrap_or(0));
        bump(&mut self.grade, c.grade.first(doc).unwrap_or(u64::MAX));
        bump(&mut self.mode, c.mode.first(doc).unwrap_or(u64::MAX));
        let mut bits = c.certs.first(doc).unwrap_or(0);
        while bits != 0 {
            bump(&mut self.certs, u64::from(bits.trailing_zeros()));
            bits &= bits - 1;
        }
    }
}

/// Opened fast-field columns per segment. Opening a column decodes its
/// block index (thousands of blocks at a million documents), so columns are
/// opened once per segment, not once per query.
#[derive(Default)]
pub struct ColumnCache(RwLock<HashMap<SegmentId, Arc<Columns>>>);

impl ColumnCache {
    fn get(&self, f: &Fields, reader: &SegmentReader) -> tantivy::Result<Arc<Columns>> {
        let id = reader.segment_id();
        if let Some(c) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(c.clone());
        }
        let ff = reader.fast_fields();
        let name = |field| reader.schema().get_field_name(field).to_owned();
        let c = Arc::new(Columns {
            id_hi: ff.u64(&name(f.id_hi))?,
            id_lo: ff.u64(&name(f.id_lo))?,
            sold: ff.i64(&name(f.sold))?,
            created: ff.i64(&name(f.created))?,
            price: ff.i64(&name(f.price))?,
            category: ff.u64(&name(f.category))?,
            province: ff.u64(&name(f.province))?,
            grade: ff.u64(&name(f.grade))?,
            mode: ff.u64(&name(f.mode))?,
            certs: ff.u64(&name(f.certs))?,
        });
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, c.clone());
        Ok(c)
    }

    /// Forgets segments that are gone (merged away).
    pub fn retain(&self, live: &[SegmentId]) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| live.contains(id));
    }
}

pub struct Columns {
    id_hi: Column<u64>,
    id_lo: Column<u64>,
    sold: Column<i64>,
    created: Column<i64>,
    price: Column<i64>,
    category: Column<u64>,
    province: Column<u64>,
    grade: Column<u64>,
    mode: Column<u64>,
    certs: Column<u64>,
}

impl Columns {
    fn accepts(&self, f: &ColumnFilter, doc: DocId) -> bool {
        let is =
            |col: &Column<u64>, want: Option<u64>| want.is_none_or(|w| col.first(doc) == Some(w));
        let price = || self.price.first(doc).unwrap_or(0);
        is(&self.grade, f.grade)
            && is(&self.mode, f.mode)
            && is(&self.province, f.province)
            && f.cert
                .is_none_or(|bit| self.certs.first(doc).unwrap_or(0) & bit != 0)
            && f.min_price.is_none_or(|m| price() >= m)
            && f.max_price.is_none_or(|m| price() <= m)
    }
}

/// The weights of a [`Plan`], built once per search.
pub struct Weights {
    /// The plan's clauses (none: every document), with their terms.
    clauses: Vec<(Box<dyn Weight>, Vec<Term>)>,
    columns: ColumnFilter,
    exact: Option<Box<dyn Weight>>,
    title: Vec<Box<dyn Weight>>,
    meta: Vec<Box<dyn Weight>>,
}

impl Weights {
    pub fn new(plan: Plan, searcher: &Searcher) -> tantivy::Result<Self> {
        let scoring = || EnableScoring::disabled_from_searcher(searcher);
        let each = |qs: &[Box<dyn Query>]| -> tantivy::Result<Vec<Box<dyn Weight>>> {
            qs.iter().map(|q| q.weight(scoring())).collect()
        };
        Ok(Self {
            clauses: plan
                .clauses
                .into_iter()
                .map(|c| Ok((c.query.weight(scoring())?, c.terms)))
                .collect::<tantivy::Result<_>>()?,
            columns: plan.columns,
            exact: plan
                .exact
                .as_ref()
                .map(|q| q.weight(scoring()))
                .transpose()?,
            title: each(&plan.title)?,
            meta: each(&plan.meta)?,
        })
    }

    /// Tiers are told apart only when the plan has words.
    fn tiers(&self) -> bool {
        !self.title.is_empty()
    }
}

/// One pass over the matches: the best `keep` after the cursor in the
/// requested order, and the facet counts over every match when asked.
pub struct Pass<'a> {
    pub columns: &'a ColumnCache,
    pub dense: &'a DenseTerms,
    pub fields: Fields,
    pub sort: SearchSort,
    pub after: Option<RankKey>,
    /// How many to keep (the page size plus one, to know whether more follow).
    pub keep: usize,
}

/// The best keys seen so far, best first, at most `keep`.
struct Top {
    keep: usize,
    sort: SearchSort,
    items: Vec<RankKey>,
}

impl Top {
    /// The worst key kept once `keep` are kept: only a better one enters.
    fn floor(&self) -> Option<&RankKey> {
        if self.items.len() < self.keep {
            return None;
        }
        self.items.last()
    }

    fn offer(&mut self, key: RankKey) {
        if self.keep == 0
            || self
                .floor()
                .is_some_and(|f| key.cmp_for(f, self.sort) != Ordering::Less)
        {
            return;
        }
        let at = self
            .items
            .partition_point(|x| x.cmp_for(&key, self.sort) == Ordering::Less);
        self.items.insert(at, key);
        self.items.truncate(self.keep);
    }
}

/// The documents in every clause: the shortest clause is walked, each of
/// its documents checked against the dense clauses' bitsets, then sought
/// in the other clauses (shortest first; a clause that lands further on
/// moves the walk there).
struct Matches {
    lead: Box<dyn Scorer>,
    dense: Vec<Arc<BitSet>>,
    others: Vec<Box<dyn Scorer>>,
}

impl Matches {
    fn new(w: &Weights, reader: &SegmentReader, dense: &DenseTerms) -> tantivy::Result<Self> {
        let mut sought: Vec<Box<dyn Scorer>> = Vec::new();
        let mut candidates: Vec<(Box<dyn Scorer>, &[Term])> = Vec::new();
        for (weight, terms) in &w.clauses {
            candidates.push((weight.scorer(reader, 1.0)?, terms));
        }
        candidates.sort_by_key(|(s, _)| s.size_hint());
        let mut bits = Vec::new();
        let mut rest = candidates.into_iter();
        let lead = match rest.next() {
            Some((s, _)) => s,
            None => Box::new(AllScorer::new(reader.max_doc())),
        };
        for (scorer, terms) in rest {
            match dense.get(reader, terms)? {
                Some(b) => bits.push(b),
                None => sought.push(scorer),
            }
        }
        Ok(Self {
            lead,
            dense: bits,
            others: sought,
        })
    }

    /// The first match at or after the lead's current document.
    fn settle(&mut self) -> DocId {
        let mut doc = self.lead.doc();
        'walk: while doc != TERMINATED {
            if self.dense.iter().any(|b| !b.contains(doc)) {
                doc = self.lead.advance();
                continue;
            }
            for s in &mut self.others {
                let at = reach(s, doc);
                if at != doc {
                    doc = if at == TERMINATED {
                        TERMINATED
                    } else {
                        self.lead.seek(at)
                    };
                    continue 'walk;
                }
            }
            return doc;
        }
        TERMINATED
    }

    fn first(&mut self) -> DocId {
        self.settle()
    }

    fn next(&mut self) -> DocId {
        if self.lead.advance() == TERMINATED {
            return TERMINATED;
        }
        self.settle()
    }
}

/// Is `s` on `doc` (moving it forward to `doc` when it is behind)?
fn on(s: &mut Box<dyn Scorer>, doc: DocId) -> bool {
    reach(s, doc) == doc
}

/// Moves `s` to its first document at or after `doc` (it only moves
/// forward: one already past `doc` stays) and returns that document.
fn reach(s: &mut Box<dyn Scorer>, doc: DocId) -> DocId {
    let at = s.doc();
    if at < doc {
        s.seek(doc)
    } else {
        at
    }
}

struct Cursors {
    exact: Option<Box<dyn Scorer>>,
    title: Vec<Box<dyn Scorer>>,
    meta: Vec<Box<dyn Scorer>>,
}

impl Cursors {
    /// The tier of a match (which found every word somewhere).
    fn tier(&mut self, doc: DocId) -> Tier {
        let mut all_in_title = true;
        for (t, m) in self.title.iter_mut().zip(self.meta.iter_mut()) {
            if on(t, doc) {
                continue;
            }
            all_in_title = false;
            if !on(m, doc) {
                return Tier::Description;
            }
        }
        if !all_in_title {
            Tier::VarietyOrCategory
        } else if self.exact.as_mut().is_some_and(|e| on(e, doc)) {
            Tier::ExactTitle
        } else {
            Tier::AllWordsInTitle
        }
    }

    /// The best tier a match at or after `doc` can still have.
    fn best_from(&mut self, doc: DocId) -> Tier {
        match &mut self.exact {
            Some(e) => {
                if reach(e, doc) == TERMINATED {
                    Tier::AllWordsInTitle
                } else {
                    Tier::ExactTitle
                }
            }
            None if self.title.is_empty() => Tier::Description,
            None => Tier::AllWordsInTitle,
        }
    }
}

impl Pass<'_> {
    /// Runs the pass over every segment; counts facets into `tally`.
    pub fn run(
        &self,
        w: &Weights,
        searcher: &Searcher,
        mut tally: Option<&mut FacetTally>,
    ) -> tantivy::Result<Vec<RankKey>> {
        let mut top = Vec::new();
        for reader in searcher.segment_readers() {
            top.extend(self.segment(w, reader, tally.as_deref_mut())?);
        }
        top.sort_by(|a, b| a.cmp_for(b, self.sort));
        top.truncate(self.keep);
        Ok(top)
    }

    fn segment(
        &self,
        w: &Weights,
        reader: &SegmentReader,
        mut tally: Option<&mut FacetTally>,
    ) -> tantivy::Result<Vec<RankKey>> {
        let c = self.columns.get(&self.fields, reader)?;
        let scorer = |w: &dyn Weight| w.scorer(reader, 1.0);
        let mut main = Matches::new(w, reader, self.dense)?;
        let mut cursors = Cursors {
            exact: w.exact.as_deref().map(scorer).transpose()?,
            title: w
                .title
                .iter()
                .map(|t| scorer(t.as_ref()))
                .collect::<tantivy::Result<_>>()?,
            meta: w
                .meta
                .iter()
                .map(|m| scorer(m.as_ref()))
                .collect::<tantivy::Result<_>>()?,
        };
        let tiers = w.tiers() && self.sort == SearchSort::Relevance;
        // Documents are stored by sales, highest first (the index's sort),
        // so in relevance and popularity order, once the worst kept key
        // beats every document left, the page is complete: the pass stops,
        // or only counts facets from there on.
        let by_sales = matches!(self.sort, SearchSort::Relevance | SearchSort::Popular);
        let alive = reader.alive_bitset();
        let mut top = Top {
            keep: self.keep,
            sort: self.sort,
            items: Vec::with_capacity(self.keep + 1),
        };
        let mut complete = self.keep == 0;
        let mut doc = main.first();
        let checks = !w.columns.is_empty();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) && (!checks || c.accepts(&w.columns, doc)) {
                if let Some(t) = tally.as_deref_mut() {
                    t.count(&c, doc);
                }
                if !complete {
                    complete = self.rank(doc, &c, &mut cursors, &mut top, tiers, by_sales);
                    if complete && tally.is_none() {
                        break;
                    }
                }
            }
            doc = main.next();
        }
        Ok(top.items)
    }

    /// Offers a match to the page; true once the page is complete (every
    /// document from `doc` on is beaten by the worst kept key).
    fn rank(
        &self,
        doc: DocId,
        c: &Columns,
        cursors: &mut Cursors,
        top: &mut Top,
        tiers: bool,
        by_sales: bool,
    ) -> bool {
        let sold = c.sold.first(doc).unwrap_or(0);
        if by_sales {
            if let Some(f) = top.floor() {
                let best = if tiers {
                    cursors.best_from(doc)
                } else {
                    Tier::Description
                };
                if f.tier > best || (f.tier == best && f.sold_qty > sold) {
                    return true;
                }
            }
        }
        let tier = if tiers {
            cursors.tier(doc)
        } else {
            Tier::Description
        };
        // the leading part of the order first: most documents stop here
        let beaten = top.floor().is_some_and(|f| {
            let lead = match self.sort {
                SearchSort::Relevance => f.tier.cmp(&tier).then(f.sold_qty.cmp(&sold)),
                SearchSort::Popular => f.sold_qty.cmp(&sold),
                SearchSort::Newest => f.created_us.cmp(&c.created.first(doc).unwrap_or(0)),
                SearchSort::PriceAsc => c.price.first(doc).unwrap_or(0).cmp(&f.price_fen),
                SearchSort::PriceDesc => f.price_fen.cmp(&c.price.first(doc).unwrap_or(0)),
            };
            lead == Ordering::Greater
        });
        if beaten {
            return false;
        }
        let key = RankKey {
            tier,
            sold_qty: sold,
            created_us: c.created.first(doc).unwrap_or(0),
            price_fen: c.price.first(doc).unwrap_or(0),
            id: uuid::Uuid::from_u64_pair(
                c.id_hi.first(doc).unwrap_or(0),
                c.id_lo.first(doc).unwrap_or(0),
            ),
        };
        if self
            .after
            .is_none_or(|a| key.cmp_for(&a, self.sort) == Ordering::Greater)
        {
            top.offer(key);
        }
        false
    }
}

fn bump(counts: &mut [u64], i: u64) {
    if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
        *c += 1;
    }
}
