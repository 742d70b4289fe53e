//! Long posting lists as bitsets.
//!
//! An intersection walks its shortest clause and checks each of its
//! documents against the others. Seeking a long posting list (a common
//! word, a filter holding a tenth of the catalog) decodes a block per
//! seek; a bitset answers in one memory read. A clause that is "any of
//! these terms" (a word, its synonyms, its pinyin; a filter token) holding
//! at least 1/[`DENSE_RATIO`] of a segment's documents is turned into a
//! bitset the first time an intersection needs it, and kept per segment
//! until the segment is merged away (at most [`MAX_PER_SEGMENT`] of them:
//! 64 MiB at a million documents).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tantivy::index::SegmentId;
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::{BitSet, DocSet, SegmentReader, TERMINATED};

/// A term is dense when it is in at least 1 of this many documents.
pub const DENSE_RATIO: u64 = 256;
/// Bitsets kept per segment at most (then new dense clauses are sought).
pub const MAX_PER_SEGMENT: usize = 512;

/// Per segment, the bitsets by their clause's terms.
#[derive(Default)]
pub struct DenseTerms(RwLock<HashMap<SegmentId, HashMap<Vec<Term>, Arc<BitSet>>>>);

impl DenseTerms {
    /// The documents of any of `terms` in `reader` as a bitset, if they
    /// are dense.
    pub fn get(
        &self,
        reader: &SegmentReader,
        terms: &[Term],
    ) -> tantivy::Result<Option<Arc<BitSet>>> {
        if terms.is_empty() {
            return Ok(None);
        }
        let segment = reader.segment_id();
        let kept = {
            let all = self.0.read().unwrap_or_else(PoisonError::into_inner);
            let ours = all.get(&segment);
            if let Some(b) = ours.and_then(|m| m.get(terms)) {
                return Ok(Some(b.clone()));
            }
            ours.map_or(0, HashMap::len)
        };
        let mut infos = Vec::new();
        let mut docs = 0u64;
        for t in terms {
            let inverted = reader.inverted_index(t.field())?;
            if let Some(info) = inverted.get_term_info(t)? {
                docs += u64::from(info.doc_freq);
                infos.push((inverted, info));
            }
        }
        if docs * DENSE_RATIO < u64::from(reader.max_doc()) {
            return Ok(None);
        }
        if kept >= MAX_PER_SEGMENT {
            return Ok(None);
        }
        let mut bits = BitSet::with_max_value(reader.max_doc());
        for (inverted, info) in infos {
            let mut postings =
                inverted.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                bits.insert(doc);
                doc = postings.advance();
            }
        }
        let bits = Arc::new(bits);
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(segment)
            .or_default()
            .insert(terms.to_vec(), bits.clone());
        Ok(Some(bits))
    }

    /// Forgets segments that are gone (merged away).
    pub fn retain(&self, live: &[SegmentId]) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| live.contains(id));
    }
}
