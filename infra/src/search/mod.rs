//! The search engine: tantivy in the API process, its index in memory,
//! built from Postgres at start and kept current by polling the listings'
//! change stamp (see `sync`). Postgres stays the truth.

mod collector;
mod dense;
mod query;
mod schema;
pub mod source;
pub mod sync;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use domain::catalog::{CategoryId, CertKind, Grade, ListingId, SaleMode};
use domain::search::{
    EngineAnswer, EngineQuery, FacetCounts, FacetName, Hit, SearchDoc, SearchIndex, SearchSort,
    Suggestion, Unknown,
};
use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexSortByField, IndexWriter, Order, ReloadPolicy,
    TantivyDocument,
};

use collector::{ColumnCache, FacetTally, Pass, Weights};
use dense::DenseTerms;
use schema::{Fields, SUGGEST_SEP};

/// Memory the writer may use before it flushes a segment.
const WRITER_BYTES: usize = 200_000_000;

pub struct TantivyIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Facet ordinals of the categories seen so far (assigned as listings
    /// are indexed).
    categories: RwLock<(Vec<CategoryId>, HashMap<CategoryId, u64>)>,
    columns: ColumnCache,
    dense: DenseTerms,
    ready: AtomicBool,
}

impl TantivyIndex {
    /// An empty index in memory.
    pub fn new() -> Result<Self, Unknown> {
        let (schema, fields) = schema::build_schema();
        // Documents stored by sales, highest first: a relevance or
        // popularity pass stops early (see `collector`).
        let index = Index::builder()
            .schema(schema)
            .settings(IndexSettings {
                sort_by_field: Some(IndexSortByField {
                    field: schema::SOLD.to_owned(),
                    order: Order::Desc,
                }),
                ..IndexSettings::default()
            })
            .create_in_ram()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            categories: RwLock::new((Vec::new(), HashMap::new())),
            columns: ColumnCache::default(),
            dense: DenseTerms::default(),
            ready: AtomicBool::new(false),
        })
    }

    pub fn writer(&self, threads: usize) -> Result<IndexWriter<TantivyDocument>, Unknown> {
        Ok(self
            .index
            .writer_with_num_threads(threads.max(1), WRITER_BYTES * threads.max(1))?)
    }

    /// Replaces (or only removes, when `doc` is None) a listing.
    pub fn stage(
        &self,
        w: &IndexWriter<TantivyDocument>,
        id: ListingId,
        doc: Option<&SearchDoc>,
    ) -> Result<(), Unknown> {
        w.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
        if let Some(d) = doc {
            let category = d
                .category()
                .map(|c| self.category_ordinal(c))
                .unwrap_or(u64::MAX);
            w.add_document(schema::to_document(&self.fields, d, category))?;
        }
        Ok(())
    }

    fn category_ordinal(&self, c: CategoryId) -> u64 {
        if let Some(o) = self
            .categories
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .get(&c)
        {
            return *o;
        }
        let mut all = self
            .categories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let next = all.0.len() as u64;
        let o = *all.1.entry(c).or_insert(next);
        if o == next {
            all.0.push(c);
        }
        o
    }

    /// Commits staged changes and makes them visible to searches.
    pub fn publish(&self, w: &mut IndexWriter<TantivyDocument>) -> Result<(), Unknown> {
        w.commit()?;
        self.reader.reload()?;
        let live: Vec<tantivy::index::SegmentId> = self
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        self.columns.retain(&live);
        self.dense.retain(&live);
        Ok(())
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Live documents.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn facet_counts(&self, wanted: &[FacetName], t: &FacetTally) -> FacetCounts {
        let mut out = FacetCounts::new();
        for f in wanted {
            let counts: BTreeMap<String, u64> = match f {
                FacetName::Category => {
                    let known = self
                        .categories
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    zip_counts(&t.category, |i| known.0.get(i).map(|c| c.to_string()))
                }
                FacetName::Region => {
                    zip_counts(&t.province, |i| (i > 0).then(|| format!("{i:02}")))
                }
                FacetName::Certification => zip_counts(&t.certs, |i| {
                    CertKind::ALL.get(i).map(|c| c.as_str().to_owned())
                }),
                FacetName::Grade => zip_counts(&t.grade, |i| {
                    Grade::ALL.get(i).map(|g| g.as_str().to_owned())
                }),
                FacetName::SaleMode => zip_counts(&t.mode, |i| {
                    SaleMode::ALL.get(i).map(|m| m.as_str().to_owned())
                }),
            };
            out.insert(*f, counts);
        }
        out
    }
}

fn zip_counts(counts: &[u64], value: impl Fn(usize) -> Option<String>) -> BTreeMap<String, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(i, n)| value(i).map(|v| (v, *n)))
        .collect()
}

impl SearchIndex for TantivyIndex {
    fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn search(&self, q: &EngineQuery) -> Result<EngineAnswer, Unknown> {
        let searcher = self.reader.searcher();
        let categories = self
            .categories
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .len();
        let mut text = q.text.clone();
        let mut known = Vec::new();
        for w in &text.words {
            if let Some(p) = &w.pinyin {
                let spelt = TermQuery::new(
                    Term::from_field_text(self.fields.any.pinyin, p),
                    IndexRecordOption::Basic,
                );
                if searcher.search(&spelt, &Count)? > 0 {
                    known.push(p.clone());
                }
            }
        }
        text.allow_typos(|p| known.iter().any(|k| k == p));
        let q = &EngineQuery { text, ..q.clone() };
        let plan = query::plan(&self.fields, q, q.sort == SearchSort::Relevance);
        let weights = Weights::new(plan, &searcher)?;
        let pass = Pass {
            columns: &self.columns,
            dense: &self.dense,
            fields: self.fields,
            sort: q.sort,
            after: q.after,
            keep: q.limit + 1,
        };
        let mut tally = (!q.facets.is_empty()).then(|| FacetTally::new(categories));
        let top = pass.run(&weights, &searcher, tally.as_mut())?;
        let facets = match &tally {
            Some(t) => self.facet_counts(&q.facets, t),
            None => FacetCounts::new(),
        };
        let mut hits: Vec<Hit> = top
            .into_iter()
            .map(|key| Hit {
                id: ListingId(key.id),
                key,
            })
            .collect();
        let more = hits.len() > q.limit;
        hits.truncate(q.limit);
        Ok(EngineAnswer { hits, more, facets })
    }

    fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, Unknown> {
        let searcher = self.reader.searcher();
        let latin = prefix.chars().all(|c| c.is_ascii_lowercase());
        let ranges: Vec<String> = if latin {
            vec![format!("p:{prefix}"), format!("i:{prefix}")]
        } else {
            vec![format!("w:{prefix}")]
        };
        // candidate words with their document frequency (deleted documents
        // included until merged), then live counts for the best of them
        let mut approx: HashMap<String, u64> = HashMap::new();
        for seg in searcher.segment_readers() {
            let inverted = seg.inverted_index(self.fields.suggest)?;
            let terms = inverted.terms();
            for start in &ranges {
                let mut end = start.clone().into_bytes();
                end.push(0xff);
                let mut stream = terms.range().ge(start.as_bytes()).lt(&end).into_stream()?;
                while stream.advance() {
                    let key = String::from_utf8_lossy(stream.key());
                    let word = key
                        .rsplit_once(SUGGEST_SEP)
                        .map(|(_, w)| w)
                        .or_else(|| key.strip_prefix("w:"))
                        .unwrap_or_default()
                        .to_owned();
                    *approx.entry(word).or_default() += u64::from(stream.value().doc_freq);
                }
            }
        }
        let mut candidates: Vec<(String, u64)> = approx.into_iter().collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        candidates.truncate(limit * 3);
        let mut out = Vec::new();
        for (text, _) in candidates {
            let q = TermQuery::new(
                Term::from_field_text(self.fields.suggest, &format!("w:{text}")),
                IndexRecordOption::Basic,
            );
            let count = searcher.search(&q, &Count)? as u64;
            if count > 0 {
                out.push(Suggestion { text, count });
            }
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.text.cmp(&b.text)));
        out.truncate(limit);
        Ok(out)
    }
}
