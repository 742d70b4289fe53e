//! Request and response bodies of traceability.

use crate::routes::catalog::CertificationBody;
use domain::trace::{
    BatchInput, EventInput, InspectionResult, TraceBatch, TraceEvent, TraceEventType, TraceView,
};
use serde_json::{Map, Value};

use super::*;

/// Open a production batch.
#[derive(Deserialize, ToSchema)]
pub struct CreateBatchRequest {
    /// The producing organization (you are its staff).
    pub producer_id: Uuid,
    /// A member of the producer who grew it.
    pub supplier_member_id: Option<Uuid>,
    pub category_id: Uuid,
    #[schema(example = "羊角蜜", min_length = 1, max_length = 50)]
    pub variety: String,
    /// GB/T 2260 county code (6 digits), optionally 9 or 12.
    #[schema(example = "220106", pattern = "^[0-9]{6}([0-9]{3}){0,2}$")]
    pub region_code: String,
    /// The field or base.
    #[schema(example = "合心镇岳家村3号地块", min_length = 1, max_length = 100)]
    pub location: String,
    #[schema(example = 2000, minimum = 1, maximum = 1_000_000_000)]
    pub quantity: i64,
    #[schema(example = "kg", min_length = 1, max_length = 16)]
    pub unit: String,
}

impl CreateBatchRequest {
    pub fn into_input(self) -> BatchInput {
        BatchInput {
            producer_id: Some(self.producer_id.into()),
            supplier_member_id: self.supplier_member_id.map(Into::into),
            category_id: Some(self.category_id.into()),
            variety: self.variety,
            region_code: self.region_code,
            location: self.location,
            quantity: self.quantity,
            unit: self.unit,
        }
    }
}

/// Where (EPCIS `readPoint`).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct LocationBody {
    #[schema(example = "220106", pattern = "^[0-9]{6}([0-9]{3}){0,2}$")]
    pub region_code: String,
    #[schema(example = "长春市农产品质量检测中心", max_length = 100)]
    #[serde(default)]
    pub description: String,
}

/// Record an event. `data` by type: `input_use` needs `product` and
/// `dose`; `inspection` needs `lab`, `items` (what was tested), `result`
/// (`pass` | `fail`) and `report_no`; `cold_storage` needs `temperature_c`;
/// other keys are kept as sent (at most 4 KiB of JSON).
#[derive(Deserialize, ToSchema)]
pub struct TraceEventRequest {
    #[serde(rename = "type")]
    #[schema(schema_with = crate::contract::one_of::<TraceEventType>)]
    pub kind: String,
    /// With an offset, e.g. `2026-07-08T09:30:00+08:00`; not in the future
    /// (five minutes of clock difference allowed).
    #[schema(value_type = String, format = DateTime, example = "2026-07-08T09:30:00+08:00")]
    pub occurred_at: DateTime<FixedOffset>,
    pub location: LocationBody,
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"lab": "长春市农产品质量检测中心", "items": ["农药残留"], "result": "pass", "report_no": "JC-2026-0708"}))]
    pub data: Map<String, Value>,
    /// The event this one corrects (same batch, same type; once).
    pub corrects: Option<Uuid>,
}

impl TraceEventRequest {
    pub fn into_input(self) -> Result<EventInput, ApiError> {
        let event_type: TraceEventType = self.kind.parse().map_err(|m: String| {
            ApiError::validation(domain::validation::ValidationErrors::single("type", m))
        })?;
        Ok(EventInput {
            event_type,
            occurred_at: self.occurred_at,
            region_code: self.location.region_code,
            description: self.location.description,
            data: self.data,
            corrects: self.corrects.map(Into::into),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchResponse {
    #[schema(example = "7KX3M9QA")]
    pub code: String,
    pub producer_id: Uuid,
    pub supplier_member_id: Option<Uuid>,
    pub category_id: Uuid,
    pub variety: String,
    pub region_code: String,
    pub location: String,
    pub quantity: i64,
    pub unit: String,
    /// The public page the QR code opens.
    pub trace_url: String,
    pub created_at: DateTime<Utc>,
}

impl BatchResponse {
    pub fn of(b: &TraceBatch, base: &str) -> Self {
        BatchResponse {
            code: b.code.to_string(),
            producer_id: b.producer_id.0,
            supplier_member_id: b.supplier_member_id.map(|m| m.0),
            category_id: b.category_id.0,
            variety: b.variety.clone(),
            region_code: b.place.region_code.as_str().to_owned(),
            location: b.place.description.clone(),
            quantity: b.quantity,
            unit: b.unit.clone(),
            trace_url: trace_url(base, &b.code),
            created_at: b.created_at,
        }
    }
}

/// `{PUBLIC_BASE_URL}/t/{code}`: short, for a QR code and a label.
pub fn trace_url(base: &str, code: &BatchCode) -> String {
    format!("{base}/t/{code}")
}

#[derive(Serialize, ToSchema)]
pub struct TraceEventResponse {
    pub id: Uuid,
    pub batch_code: String,
    /// 1, 2, 3 … in recording order.
    pub seq: i32,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::contract::one_of::<TraceEventType>)]
    pub kind: String,
    /// As reported, with its offset.
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: DateTime<FixedOffset>,
    pub location: LocationBody,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub corrects: Option<Uuid>,
    /// The later event that corrects this one (it no longer stands).
    pub corrected_by: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

impl TraceEventResponse {
    pub fn of(e: &TraceEvent, corrected_by: Option<Uuid>) -> Self {
        TraceEventResponse {
            id: e.id.0,
            batch_code: e.batch_code.to_string(),
            seq: e.seq,
            kind: e.event_type.as_str().to_owned(),
            occurred_at: e.occurred_at,
            location: LocationBody {
                region_code: e.place.region_code.as_str().to_owned(),
                description: e.place.description.clone(),
            },
            data: e.data.clone(),
            corrects: e.corrects.map(|c| c.0),
            corrected_by,
            recorded_at: e.recorded_at,
        }
    }
}

/// A recorded event and the listings it paused (a failed inspection).
#[derive(Serialize, ToSchema)]
pub struct RecordedEventResponse {
    #[serde(flatten)]
    pub event: TraceEventResponse,
    pub paused_listing_ids: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ProducerBody {
    pub id: Uuid,
    pub name: String,
    #[schema(schema_with = crate::contract::one_of::<domain::coop::OrgKind>)]
    pub kind: String,
    pub region_code: String,
    /// The county (and province) the region code names.
    pub region_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TracedListingBody {
    pub id: Uuid,
    pub title: String,
    #[schema(schema_with = crate::contract::one_of::<domain::catalog::ListingStatus>)]
    pub status: String,
    pub certifications: Vec<CertificationBody>,
}

/// The current inspection (the last one recorded that no correction
/// replaced).
#[derive(Serialize, ToSchema)]
pub struct InspectionBody {
    pub event_id: Uuid,
    #[schema(schema_with = crate::contract::one_of::<InspectionResult>)]
    pub result: String,
    pub lab: Option<String>,
    pub report_no: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: DateTime<FixedOffset>,
}

/// The public trace of a batch.
#[derive(Serialize, ToSchema)]
pub struct TraceResponse {
    pub code: String,
    pub trace_url: String,
    pub producer: ProducerBody,
    pub category_id: Uuid,
    pub variety: String,
    pub region_code: String,
    pub location: String,
    pub quantity: i64,
    pub unit: String,
    pub inspection: Option<InspectionBody>,
    /// Published listings of this batch (their `trace_batch_code`).
    pub listings: Vec<TracedListingBody>,
    /// Every event in recording order.
    pub events: Vec<TraceEventResponse>,
}

fn text_of(e: &TraceEvent, key: &str) -> Option<String> {
    e.data.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl TraceResponse {
    pub fn of(v: &TraceView, base: &str) -> Self {
        let b = &v.batch;
        TraceResponse {
            code: b.code.to_string(),
            trace_url: trace_url(base, &b.code),
            producer: ProducerBody {
                id: v.producer.id.0,
                name: v.producer.name.clone(),
                kind: v.producer.kind.as_str().to_owned(),
                region_code: v.producer.region_code.as_str().to_owned(),
                region_name: v.producer.region_code.display_name(),
            },
            category_id: b.category_id.0,
            variety: b.variety.clone(),
            region_code: b.place.region_code.as_str().to_owned(),
            location: b.place.description.clone(),
            quantity: b.quantity,
            unit: b.unit.clone(),
            inspection: v.inspection().and_then(|e| {
                Some(InspectionBody {
                    event_id: e.id.0,
                    result: e.inspection_result()?.as_str().to_owned(),
                    lab: text_of(e, "lab"),
                    report_no: text_of(e, "report_no"),
                    occurred_at: e.occurred_at,
                })
            }),
            listings: v
                .listings
                .iter()
                .map(|l| TracedListingBody {
                    id: l.id.0,
                    title: l.title.clone(),
                    status: l.status.as_str().to_owned(),
                    certifications: l
                        .certifications
                        .iter()
                        .map(|c| CertificationBody {
                            kind: c.kind.as_str().to_owned(),
                            cert_no: c.cert_no.clone(),
                            valid_until: c.valid_until,
                        })
                        .collect(),
                })
                .collect(),
            events: v
                .events
                .iter()
                .map(|e| TraceEventResponse::of(e, v.corrected_by(e.id).map(|c| c.0)))
                .collect(),
        }
    }
}
