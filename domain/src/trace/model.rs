//! Trace batches (追溯批次) and their events, shaped after GS1 EPCIS: what
//! happened (`type`, the business step), when (with the offset it was
//! reported in), where (region code + place) and why (the step's data, e.g.
//! an inspection's disposition pass/fail). Events are append-only: a
//! correction is a new event that names the one it corrects.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::catalog::CategoryId;
use crate::coop::{MemberId, OrgId};
use crate::identity::UserId;
use crate::region::RegionCode;
use crate::validation::ValidationErrors;

/// Characters of a batch code: digits and capitals without the ones a
/// person confuses on a label or a phone keyboard (0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a batch code: 31^8 ≈ 8.5 × 10^11 codes.
pub const CODE_LEN: usize = 8;
/// How far ahead of the server's clock an event may be dated (the
/// recorder's clock may run ahead).
pub const CLOCK_SKEW_MINUTES: i64 = 5;
/// Largest serialized `data` of one event.
pub const MAX_DATA_BYTES: usize = 4096;

/// A batch's short public code, e.g. `7KX3M9QA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchCode(String);

impl BatchCode {
    /// Accepts a code as a person types it: surrounding spaces and lower
    /// case are forgiven; anything else outside the alphabet is refused.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            Ok(Self(code))
        } else {
            Err("must be 8 characters of 23456789ABCDEFGHJKMNPQRSTUVWXYZ")
        }
    }

    /// A code from 40 or more random bits (the low bits of `random` are
    /// used, base 31).
    pub fn from_random(random: u128) -> Self {
        let mut n = random;
        let mut s = String::with_capacity(CODE_LEN);
        for _ in 0..CODE_LEN {
            let digit = usize::try_from(n % 31).unwrap_or(0);
            s.push(char::from(CODE_ALPHABET[digit]));
            n /= 31;
        }
        Self(s)
    }

    /// A fresh random code.
    pub fn generate() -> Self {
        Self::from_random(Uuid::new_v4().as_u128())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BatchCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

crate::typed_id!(
    /// A trace event's id.
    TraceEventId
);

crate::wire_enum!(
    /// The business step of an event (EPCIS `bizStep`).
    TraceEventType {
        Planting => "planting",
        InputUse => "input_use",
        Harvest => "harvest",
        Inspection => "inspection",
        Packing => "packing",
        ColdStorage => "cold_storage",
        Shipping => "shipping",
        Delivery => "delivery",
    }
);

crate::wire_enum!(
    /// An inspection's disposition.
    InspectionResult {
        Pass => "pass",
        Fail => "fail",
    }
);

/// Where a batch grows or an event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub region_code: RegionCode,
    pub description: String,
}

/// A production lot.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceBatch {
    pub code: BatchCode,
    pub producer_id: OrgId,
    pub supplier_member_id: Option<MemberId>,
    pub category_id: CategoryId,
    pub variety: String,
    pub place: Place,
    pub quantity: i64,
    pub unit: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// What a caller sends to open a batch.
#[derive(Debug, Clone, Default)]
pub struct BatchInput {
    pub producer_id: Option<OrgId>,
    pub supplier_member_id: Option<MemberId>,
    pub category_id: Option<CategoryId>,
    pub variety: String,
    pub region_code: String,
    pub location: String,
    pub quantity: i64,
    pub unit: String,
}

/// A batch input that passed the field rules.
#[derive(Debug, Clone)]
pub struct CheckedBatch {
    pub producer_id: OrgId,
    pub supplier_member_id: Option<MemberId>,
    pub category_id: CategoryId,
    pub variety: String,
    pub place: Place,
    pub quantity: i64,
    pub unit: String,
}

fn text(e: &mut ValidationErrors, field: &str, raw: &str, min: usize, max: usize) -> String {
    let s = raw.trim();
    let n = s.chars().count();
    if n < min || n > max {
        if min == 0 {
            e.add(field, format!("must be at most {max} characters"));
        } else {
            e.add(field, format!("must be {min} to {max} characters"));
        }
    }
    s.to_owned()
}

fn region(e: &mut ValidationErrors, field: &str, raw: &str) -> Option<RegionCode> {
    match RegionCode::parse(raw) {
        Ok(r) => Some(r),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

impl BatchInput {
    pub fn check(&self) -> Result<CheckedBatch, ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.producer_id.is_none() {
            e.add("producer_id", "is required");
        }
        if self.category_id.is_none() {
            e.add("category_id", "is required");
        }
        let variety = text(&mut e, "variety", &self.variety, 1, 50);
        let region_code = region(&mut e, "region_code", &self.region_code);
        let location = text(&mut e, "location", &self.location, 1, 100);
        if !(1..=1_000_000_000).contains(&self.quantity) {
            e.add("quantity", "must be 1 to 1000000000");
        }
        let unit = text(&mut e, "unit", &self.unit, 1, 16);
        match (self.producer_id, self.category_id, region_code) {
            (Some(producer_id), Some(category_id), Some(region_code)) if e.is_empty() => {
                Ok(CheckedBatch {
                    producer_id,
                    supplier_member_id: self.supplier_member_id,
                    category_id,
                    variety,
                    place: Place {
                        region_code,
                        description: location,
                    },
                    quantity: self.quantity,
                    unit,
                })
            }
            _ => Err(e),
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    pub id: TraceEventId,
    pub batch_code: BatchCode,
    /// 1, 2, 3 … in recording order within the batch.
    pub seq: i32,
    pub event_type: TraceEventType,
    /// When, with the offset it was reported in.
    pub occurred_at: DateTime<FixedOffset>,
    pub place: Place,
    pub data: Map<String, Value>,
    pub corrects: Option<TraceEventId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

impl TraceEvent {
    /// An inspection's disposition (None for other steps).
    pub fn inspection_result(&self) -> Option<InspectionResult> {
        if self.event_type != TraceEventType::Inspection {
            return None;
        }
        self.data
            .get("result")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    }
}

/// What a caller sends to record an event.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub event_type: TraceEventType,
    pub occurred_at: DateTime<FixedOffset>,
    pub region_code: String,
    pub description: String,
    pub data: Map<String, Value>,
    pub corrects: Option<TraceEventId>,
}

/// An event input that passed the field rules (before the batch's own
/// rules: what it corrects).
#[derive(Debug, Clone)]
pub struct CheckedEvent {
    pub event_type: TraceEventType,
    pub occurred_at: DateTime<FixedOffset>,
    pub place: Place,
    pub data: Map<String, Value>,
    pub corrects: Option<TraceEventId>,
}

fn required_text(e: &mut ValidationErrors, data: &Map<String, Value>, key: &str, max: usize) {
    let field = format!("data.{key}");
    match data.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => {}
        _ => e.add(
            field,
            format!("is required: a text of 1 to {max} characters"),
        ),
    }
}

/// The data rules of each step: what an integrator must send.
fn check_data(e: &mut ValidationErrors, t: TraceEventType, data: &Map<String, Value>) {
    match t {
        TraceEventType::InputUse => {
            required_text(e, data, "product", 100);
            required_text(e, data, "dose", 50);
        }
        TraceEventType::Inspection => {
            required_text(e, data, "lab", 100);
            required_text(e, data, "report_no", 64);
            let items_ok = data
                .get("items")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    !a.is_empty()
                        && a.len() <= 50
                        && a.iter().all(|v| {
                            v.as_str()
                                .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 50)
                        })
                });
            if !items_ok {
                e.add(
                    "data.items",
                    "is required: 1 to 50 items tested, each a text of 1 to 50 characters",
                );
            }
            if data
                .get("result")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<InspectionResult>().ok())
                .is_none()
            {
                e.add("data.result", "is required: pass or fail");
            }
        }
        TraceEventType::ColdStorage => {
            let ok = data
                .get("temperature_c")
                .and_then(Value::as_f64)
                .is_some_and(|t| (-60.0..=60.0).contains(&t));
            if !ok {
                e.add(
                    "data.temperature_c",
                    "is required: degrees Celsius from -60 to 60",
                );
            }
        }
        TraceEventType::Planting
        | TraceEventType::Harvest
        | TraceEventType::Packing
        | TraceEventType::Shipping
        | TraceEventType::Delivery => {}
    }
}

impl EventInput {
    pub fn check(&self, now: DateTime<Utc>) -> Result<CheckedEvent, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let at = self.occurred_at.with_timezone(&Utc);
        if at > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
            e.add("occurred_at", "must not be in the future");
        }
        if at < now - Duration::days(3660) {
            e.add("occurred_at", "must be within the last ten years");
        }
        let region_code = region(&mut e, "location.region_code", &self.region_code);
        let description = text(&mut e, "location.description", &self.description, 0, 100);
        check_data(&mut e, self.event_type, &self.data);
        match serde_json::to_vec(&self.data) {
            Ok(b) if b.len() <= MAX_DATA_BYTES => {}
            _ => e.add(
                "data",
                format!("must be at most {MAX_DATA_BYTES} bytes of JSON"),
            ),
        }
        match region_code {
            Some(region_code) if e.is_empty() => Ok(CheckedEvent {
                event_type: self.event_type,
                occurred_at: self.occurred_at,
                place: Place {
                    region_code,
                    description,
                },
                data: self.data.clone(),
                corrects: self.corrects,
            }),
            _ => Err(e),
        }
    }
}

/// Why an event was refused by the batch's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRefusal {
    /// `corrects` names no event of this batch.
    UnknownCorrected,
    /// A correction keeps the step of the event it corrects.
    CorrectionTypeMismatch,
    /// That event was corrected already: correct the correction instead.
    AlreadyCorrected,
}

/// The batch's rules for a new event, over the events recorded so far
/// (in `seq` order).
pub fn check_correction(events: &[TraceEvent], event: &CheckedEvent) -> Result<(), EventRefusal> {
    let Some(target) = event.corrects else {
        return Ok(());
    };
    let corrected = events
        .iter()
        .find(|e| e.id == target)
        .ok_or(EventRefusal::UnknownCorrected)?;
    if corrected.event_type != event.event_type {
        return Err(EventRefusal::CorrectionTypeMismatch);
    }
    if events.iter().any(|e| e.corrects == Some(target)) {
        return Err(EventRefusal::AlreadyCorrected);
    }
    Ok(())
}

/// The events that stand: those no later event corrects.
pub fn standing(events: &[TraceEvent]) -> impl Iterator<Item = &TraceEvent> {
    events
        .iter()
        .filter(move |e| !events.iter().any(|c| c.corrects == Some(e.id)))
}

/// The batch's current inspection: the last standing inspection recorded.
pub fn current_inspection(events: &[TraceEvent]) -> Option<&TraceEvent> {
    standing(events)
        .filter(|e| e.event_type == TraceEventType::Inspection)
        .max_by_key(|e| e.seq)
}

/// Whether a new event leaves the batch failed: its listings must be
/// paused, in the same transaction as the event.
pub fn fails_batch(event: &CheckedEvent) -> bool {
    event.event_type == TraceEventType::Inspection
        && event
            .data
            .get("result")
            .and_then(Value::as_str)
            .is_some_and(|r| r == InspectionResult::Fail.as_str())
}
