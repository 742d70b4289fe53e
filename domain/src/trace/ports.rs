//! Ports of the traceability context.

use crate::catalog::{Certification, ListingId, ListingStatus};

use super::model::*;

pub type Unknown = anyhow::Error;

#[derive(Debug)]
pub enum BatchCreated {
    Created,
    /// Another batch has this code: draw another.
    CodeTaken,
    /// The category does not exist; nothing was written.
    UnknownCategory,
}

/// What the domain decided for a new event.
#[derive(Debug, Clone)]
pub struct EventDecision {
    /// The event to write, with its `seq`.
    pub event: TraceEvent,
    /// Whether the batch stands failed with it (its current inspection).
    pub failed: bool,
    /// Whether the batch's active and sold-out listings are to be paused.
    pub pause: bool,
}

/// Decides over the batch's events so far (in `seq` order).
pub type DecideTraceEvent<'a> = &'a dyn Fn(&[TraceEvent]) -> Result<EventDecision, EventRefusal>;

#[derive(Debug)]
pub enum EventAppended {
    /// Written; `paused` are the listings the event paused (a failed
    /// inspection), for the caches to forget.
    Appended {
        event: Box<TraceEvent>,
        paused: Vec<ListingId>,
    },
    NotFound,
    Refused(EventRefusal),
}

/// A listing that names the batch (its `trace_batch_code`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedListing {
    pub id: ListingId,
    pub title: String,
    pub status: ListingStatus,
    pub certifications: Vec<Certification>,
}

/// Batches and their append-only events. The database refuses an UPDATE or
/// DELETE of an event.
pub trait TraceStore: Send + Sync {
    /// Inserts the batch, or says why not (code taken, unknown category).
    fn create_batch(&self, batch: &TraceBatch) -> Result<BatchCreated, Unknown>;

    fn find_batch(&self, code: &BatchCode) -> Result<Option<TraceBatch>, Unknown>;

    /// Every event of the batch in `seq` order.
    fn events(&self, code: &BatchCode) -> Result<Vec<TraceEvent>, Unknown>;

    /// In one transaction: locks the batch, loads its events, asks
    /// `decide`, writes the event, records whether the batch stands failed
    /// and, when the decision says so, pauses every active or sold-out
    /// listing naming the batch. Listings cannot be published while the
    /// batch stands failed (the database checks it under the batch's lock).
    fn append_event(
        &self,
        code: &BatchCode,
        decide: DecideTraceEvent<'_>,
    ) -> Result<EventAppended, Unknown>;

    /// Listings naming the batch that the public may see (not drafts, not
    /// archived), oldest first.
    fn linked_listings(&self, code: &BatchCode) -> Result<Vec<LinkedListing>, Unknown>;

    /// Whether the batch's current inspection failed (None: no such batch).
    fn failed(&self, code: &BatchCode) -> Result<Option<bool>, Unknown>;
}
