//! One pass over the matches: the best `limit + 1` after the cursor in the
//! requested order, and the facet counts over every match.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use domain::search::{RankKey, SearchSort, Tier};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

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
    fn new(categories: usize) -> Self {
        Self {
            category: vec![0; categories],
            province: vec![0; 100],
            grade: vec![0; 8],
            mode: vec![0; 8],
            certs: vec![0; 64],
        }
    }

    fn add(&mut self, o: &FacetTally) {
        for (a, b) in [
            (&mut self.category, &o.category),
            (&mut self.province, &o.province),
            (&mut self.grade, &o.grade),
            (&mut self.mode, &o.mode),
            (&mut self.certs, &o.certs),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
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

pub struct RankCollector<'a> {
    pub columns: &'a ColumnCache,
    pub fields: Fields,
    pub sort: SearchSort,
    pub after: Option<RankKey>,
    /// How many to keep (the page size plus one, to know whether more follow).
    pub keep: usize,
    /// Count facets (over `categories` category ordinals), or not.
    pub facets: Option<usize>,
    /// The tier of every document this query matches (relevance).
    pub tier: Tier,
}

pub struct Harvest {
    pub top: Vec<RankKey>,
    pub facets: Option<FacetTally>,
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

pub struct RankSegment {
    cols: Arc<Columns>,
    sort: SearchSort,
    after: Option<RankKey>,
    keep: usize,
    tier: Tier,
    top: Vec<RankKey>,
    /// The worst key kept once the buffer was first trimmed: a document
    /// that cannot beat it is not read further.
    floor: Option<RankKey>,
    tally: Option<FacetTally>,
}

/// Keeps the best `keep` keys; returns the worst of them.
fn keep_best(top: &mut Vec<RankKey>, keep: usize, sort: SearchSort) -> Option<RankKey> {
    if top.len() > keep && keep > 0 {
        top.select_nth_unstable_by(keep - 1, |a, b| a.cmp_for(b, sort));
        top.truncate(keep);
        return top.last().copied();
    }
    None
}

impl Collector for RankCollector<'_> {
    type Fruit = Harvest;
    type Child = RankSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<RankSegment> {
        Ok(RankSegment {
            cols: self.columns.get(&self.fields, reader)?,
            sort: self.sort,
            after: self.after,
            keep: self.keep,
            tier: self.tier,
            top: Vec::with_capacity(self.keep * 2 + 1),
            floor: None,
            tally: self.facets.map(FacetTally::new),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Harvest>) -> tantivy::Result<Harvest> {
        let mut top = Vec::new();
        let mut tally: Option<FacetTally> = None;
        for h in fruits {
            top.extend(h.top);
            if let Some(t) = h.facets {
                match &mut tally {
                    Some(all) => all.add(&t),
                    None => tally = Some(t),
                }
            }
        }
        top.sort_by(|a, b| a.cmp_for(b, self.sort));
        top.truncate(self.keep);
        Ok(Harvest { top, facets: tally })
    }
}

fn bump(counts: &mut [u64], i: u64) {
    if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
        *c += 1;
    }
}

impl SegmentCollector for RankSegment {
    type Fruit = Harvest;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let c = &self.cols;
        if let Some(t) = &mut self.tally {
            bump(&mut t.category, c.category.first(doc).unwrap_or(u64::MAX));
            bump(&mut t.province, c.province.first(doc).unwrap_or(0));
            bump(&mut t.grade, c.grade.first(doc).unwrap_or(u64::MAX));
            bump(&mut t.mode, c.mode.first(doc).unwrap_or(u64::MAX));
            let bits = c.certs.first(doc).unwrap_or(0);
            for b in 0..64 {
                if bits & (1 << b) != 0 {
                    bump(&mut t.certs, b);
                }
            }
        }
        if self.keep == 0 {
            return; // facets only
        }
        let tier = self.tier;
        // the leading part of the order first: most documents stop here
        if let Some(f) = &self.floor {
            let lead = match self.sort {
                SearchSort::Relevance => f
                    .tier
                    .cmp(&tier)
                    .then_with(|| f.sold_qty.cmp(&c.sold.first(doc).unwrap_or(0))),
                SearchSort::Popular => f.sold_qty.cmp(&c.sold.first(doc).unwrap_or(0)),
                SearchSort::Newest => f.created_us.cmp(&c.created.first(doc).unwrap_or(0)),
                SearchSort::PriceAsc => c.price.first(doc).unwrap_or(0).cmp(&f.price_fen),
                SearchSort::PriceDesc => f.price_fen.cmp(&c.price.first(doc).unwrap_or(0)),
            };
            if lead == Ordering::Greater {
                return;
            }
        }
        let key = RankKey {
            tier,
            sold_qty: c.sold.first(doc).unwrap_or(0),
            created_us: c.created.first(doc).unwrap_or(0),
            price_fen: c.price.first(doc).unwrap_or(0),
            id: uuid::Uuid::from_u64_pair(
                c.id_hi.first(doc).unwrap_or(0),
                c.id_lo.first(doc).unwrap_or(0),
            ),
        };
        if self
            .after
            .is_some_and(|a| key.cmp_for(&a, self.sort) != Ordering::Greater)
        {
            return;
        }
        self.top.push(key);
        if self.top.len() > self.keep * 2 {
            self.floor = keep_best(&mut self.top, self.keep, self.sort).or(self.floor);
        }
    }

    fn harvest(mut self) -> Harvest {
        keep_best(&mut self.top, self.keep, self.sort);
        Harvest {
            top: self.top,
            facets: self.tally,
        }
    }
}
