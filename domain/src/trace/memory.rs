//! An in-memory [`TraceStore`] for the service tests.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::*;
use crate::catalog::{CategoryId, ListingId, ListingStatus};

#[derive(Default)]
pub struct MemoryTrace {
    pub categories: Mutex<HashSet<CategoryId>>,
    pub batches: Mutex<HashMap<BatchCode, TraceBatch>>,
    pub events: Mutex<Vec<TraceEvent>>,
    pub failed: Mutex<HashMap<BatchCode, bool>>,
    /// (batch, listing) links.
    pub listings: Mutex<Vec<(BatchCode, LinkedListing)>>,
    /// Codes `create_batch` reports as taken (a collision).
    pub taken: Mutex<HashSet<BatchCode>>,
}

fn poisoned() -> anyhow::Error {
    anyhow::anyhow!("lock poisoned")
}

impl TraceStore for MemoryTrace {
    fn create_batch(&self, batch: &TraceBatch) -> Result<BatchCreated, Unknown> {
        if !self
            .categories
            .lock()
            .map_err(|_| poisoned())?
            .contains(&batch.category_id)
        {
            return Ok(BatchCreated::UnknownCategory);
        }
        let mut batches = self.batches.lock().map_err(|_| poisoned())?;
        if batches.contains_key(&batch.code)
            || self
                .taken
                .lock()
                .map_err(|_| poisoned())?
                .contains(&batch.code)
        {
            return Ok(BatchCreated::CodeTaken);
        }
        batches.insert(batch.code.clone(), batch.clone());
        Ok(BatchCreated::Created)
    }

    fn find_batch(&self, code: &BatchCode) -> Result<Option<TraceBatch>, Unknown> {
        Ok(self
            .batches
            .lock()
            .map_err(|_| poisoned())?
            .get(code)
            .cloned())
    }

    fn events(&self, code: &BatchCode) -> Result<Vec<TraceEvent>, Unknown> {
        Ok(self
            .events
            .lock()
            .map_err(|_| poisoned())?
            .iter()
            .filter(|e| &e.batch_code == code)
            .cloned()
            .collect())
    }

    fn append_event(
        &self,
        code: &BatchCode,
        decide: DecideTraceEvent<'_>,
    ) -> Result<EventAppended, Unknown> {
        if self.find_batch(code)?.is_none() {
            return Ok(EventAppended::NotFound);
        }
        let mut events = self.events.lock().map_err(|_| poisoned())?;
        let mine: Vec<TraceEvent> = events
            .iter()
            .filter(|e| &e.batch_code == code)
            .cloned()
            .collect();
        let d = match decide(&mine) {
            Ok(d) => d,
            Err(r) => return Ok(EventAppended::Refused(r)),
        };
        events.push(d.event.clone());
        self.failed
            .lock()
            .map_err(|_| poisoned())?
            .insert(code.clone(), d.failed);
        let mut paused: Vec<ListingId> = Vec::new();
        if d.pause {
            for (c, l) in self.listings.lock().map_err(|_| poisoned())?.iter_mut() {
                if c == code && matches!(l.status, ListingStatus::Active | ListingStatus::SoldOut) {
                    l.status = ListingStatus::Paused;
                    paused.push(l.id);
                }
            }
        }
        Ok(EventAppended::Appended {
            event: Box::new(d.event),
            paused,
        })
    }

    fn linked_listings(&self, code: &BatchCode) -> Result<Vec<LinkedListing>, Unknown> {
        Ok(self
            .listings
            .lock()
            .map_err(|_| poisoned())?
            .iter()
            .filter(|(c, l)| {
                c == code && !matches!(l.status, ListingStatus::Draft | ListingStatus::Archived)
            })
            .map(|(_, l)| l.clone())
            .collect())
    }

    fn failed(&self, code: &BatchCode) -> Result<Option<bool>, Unknown> {
        if self.find_batch(code)?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            self.failed
                .lock()
                .map_err(|_| poisoned())?
                .get(code)
                .copied()
                .unwrap_or(false),
        ))
    }
}
