//! Traceability use cases: the producer's staff open batches and record
//! events (others get 404 for a batch's events, 403 for opening one in an
//! organization they do not staff); anyone reads a batch's public trace.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::*;
use super::ports::*;
use crate::catalog::ListingId;
use crate::coop::{MemberStatus, MembershipRepository, OrgRepository, Organization};
use crate::identity::UserId;
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("only staff of the producer organization may open its batches")]
    Forbidden,
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<EventRefusal> for TraceError {
    fn from(r: EventRefusal) -> Self {
        match r {
            EventRefusal::UnknownCorrected => {
                ValidationErrors::single("corrects", "is not an event of this batch").into()
            }
            EventRefusal::CorrectionTypeMismatch => ValidationErrors::single(
                "corrects",
                "a correction has the type of the event it corrects",
            )
            .into(),
            EventRefusal::AlreadyCorrected => TraceError::Refused(
                "that event was corrected already: correct the correction instead",
            ),
        }
    }
}

/// A batch as the public sees it.
#[derive(Debug, Clone)]
pub struct TraceView {
    pub batch: TraceBatch,
    pub producer: Organization,
    pub listings: Vec<LinkedListing>,
    /// In recording order; corrected ones are marked by the view.
    pub events: Vec<TraceEvent>,
}

impl TraceView {
    /// The current inspection (the last standing one).
    pub fn inspection(&self) -> Option<&TraceEvent> {
        current_inspection(&self.events)
    }

    /// The id of the event that corrects `id`, if any.
    pub fn corrected_by(&self, id: TraceEventId) -> Option<TraceEventId> {
        self.events
            .iter()
            .find(|e| e.corrects == Some(id))
            .map(|e| e.id)
    }
}

/// A recorded event and the listings it paused.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: TraceEvent,
    pub paused: Vec<ListingId>,
}

#[derive(Clone)]
pub struct TraceService {
    pub store: Arc<dyn TraceStore>,
    pub orgs: Arc<dyn OrgRepository>,
    pub members: Arc<dyn MembershipRepository>,
}

/// Codes drawn before giving up (a collision is ~10⁻¹² per draw).
const CODE_DRAWS: usize = 5;

impl TraceService {
    pub fn create_batch(
        &self,
        user: UserId,
        input: &BatchInput,
        now: DateTime<Utc>,
    ) -> Result<TraceBatch, TraceError> {
        let b = input.check()?;
        if self.orgs.find(b.producer_id)?.is_none() {
            return Err(ValidationErrors::single("producer_id", "no such organization").into());
        }
        if self.orgs.staff_role(b.producer_id, user)?.is_none() {
            return Err(TraceError::Forbidden);
        }
        if let Some(m) = b.supplier_member_id {
            let current = self
                .members
                .find_member(b.producer_id, m)?
                .is_some_and(|m| {
                    matches!(m.status, MemberStatus::Active | MemberStatus::Suspended)
                });
            if !current {
                return Err(ValidationErrors::single(
                    "supplier_member_id",
                    "must be a current member of the producer",
                )
                .into());
            }
        }
        for _ in 0..CODE_DRAWS {
            let batch = TraceBatch {
                code: BatchCode::generate(),
                producer_id: b.producer_id,
                supplier_member_id: b.supplier_member_id,
                category_id: b.category_id,
                variety: b.variety.clone(),
                place: b.place.clone(),
                quantity: b.quantity,
                unit: b.unit.clone(),
                created_by: user,
                created_at: now,
            };
            match self.store.create_batch(&batch)? {
                BatchCreated::Created => return Ok(batch),
                BatchCreated::CodeTaken => continue,
                BatchCreated::UnknownCategory => {
                    return Err(ValidationErrors::single("category_id", "no such category").into())
                }
            }
        }
        Err(anyhow::anyhow!("no free batch code after {CODE_DRAWS} draws").into())
    }

    /// Records an event (the producer's staff; others get 404). A failed
    /// inspection pauses the batch's listings in the same transaction.
    pub fn record_event(
        &self,
        user: UserId,
        code: &BatchCode,
        input: &EventInput,
        now: DateTime<Utc>,
    ) -> Result<Recorded, TraceError> {
        let batch = self.batch(code)?;
        if self.orgs.staff_role(batch.producer_id, user)?.is_none() {
            return Err(TraceError::NotFound);
        }
        let checked = input.check(now)?;
        let decide = |events: &[TraceEvent]| {
            check_correction(events, &checked)?;
            let seq = events.last().map_or(1, |e| e.seq + 1);
            let event = TraceEvent {
                id: TraceEventId::new(),
                batch_code: code.clone(),
                seq,
                event_type: checked.event_type,
                occurred_at: checked.occurred_at,
                place: checked.place.clone(),
                data: checked.data.clone(),
                corrects: checked.corrects,
                recorded_by: user,
                recorded_at: now,
            };
            let mut all = events.to_vec();
            all.push(event.clone());
            let failed = current_inspection(&all)
                .and_then(TraceEvent::inspection_result)
                .is_some_and(|r| r == InspectionResult::Fail);
            let pause = failed && event.event_type == TraceEventType::Inspection;
            Ok(EventDecision {
                event,
                failed,
                pause,
            })
        };
        match self.store.append_event(code, &decide)? {
            EventAppended::Appended { event, paused } => Ok(Recorded {
                event: *event,
                paused,
            }),
            EventAppended::NotFound => Err(TraceError::NotFound),
            EventAppended::Refused(r) => Err(r.into()),
        }
    }

    /// A batch by its code (public: its code is printed on boxes).
    pub fn batch(&self, code: &BatchCode) -> Result<TraceBatch, TraceError> {
        self.store.find_batch(code)?.ok_or(TraceError::NotFound)
    }

    /// The public trace of a batch (no login).
    pub fn public_view(&self, code: &BatchCode) -> Result<TraceView, TraceError> {
        let batch = self.batch(code)?;
        let producer = self
            .orgs
            .find(batch.producer_id)?
            .ok_or_else(|| anyhow::anyhow!("batch {code} names a missing producer"))?;
        let listings = self.store.linked_listings(code)?;
        let events = self.store.events(code)?;
        Ok(TraceView {
            batch,
            producer,
            listings,
            events,
        })
    }
}
