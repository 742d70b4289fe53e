//! Trace batches and their append-only events. Recording an event locks
//! the batch row (`FOR UPDATE`), so events of a batch are numbered without
//! gaps and a failed inspection's pause is one transaction with the event;
//! the publish guard (migration `traceability`) takes the same row
//! `FOR SHARE`.

use chrono::{DateTime, FixedOffset, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::catalog::{Certification, ListingId};
use domain::coop::{MemberId, OrgId};
use domain::identity::UserId;
use domain::region::RegionCode;
use domain::trace::*;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{categories, listings, trace_batches, trace_events};

pub struct PgTraceStore {
    pub pool: PgPool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = trace_batches)]
struct BatchRow {
    code: String,
    producer_id: Uuid,
    supplier_member_id: Option<Uuid>,
    category_id: Uuid,
    variety: String,
    region_code: String,
    location: String,
    quantity: i64,
    unit: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
}

impl BatchRow {
    fn into_domain(self) -> QueryResult<TraceBatch> {
        Ok(TraceBatch {
            code: BatchCode::parse(&self.code).map_err(bad)?,
            producer_id: OrgId(self.producer_id),
            supplier_member_id: self.supplier_member_id.map(MemberId),
            category_id: self.category_id.into(),
            variety: self.variety,
            place: Place {
                region_code: RegionCode::parse(&self.region_code).map_err(bad)?,
                description: self.location,
            },
            quantity: self.quantity,
            unit: self.unit,
            created_by: UserId(self.created_by),
            created_at: self.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = trace_events)]
struct EventRow {
    id: Uuid,
    batch_code: String,
    seq: i32,
    type_: String,
    occurred_at: DateTime<Utc>,
    utc_offset_seconds: i32,
    region_code: String,
    place: String,
    data: serde_json::Value,
    corrects: Option<Uuid>,
    recorded_by: Uuid,
    recorded_at: DateTime<Utc>,
}

impl EventRow {
    fn of(e: &TraceEvent) -> Self {
        EventRow {
            id: e.id.0,
            batch_code: e.batch_code.as_str().to_owned(),
            seq: e.seq,
            type_: e.event_type.as_str().to_owned(),
            occurred_at: e.occurred_at.with_timezone(&Utc),
            utc_offset_seconds: e.occurred_at.offset().local_minus_utc(),
            region_code: e.place.region_code.as_str().to_owned(),
            place: e.place.description.clone(),
            data: serde_json::Value::Object(e.data.clone()),
            corrects: e.corrects.map(|c| c.0),
            recorded_by: e.recorded_by.0,
            recorded_at: e.recorded_at,
        }
    }

    fn into_domain(self) -> QueryResult<TraceEvent> {
        let offset = FixedOffset::east_opt(self.utc_offset_seconds)
            .ok_or_else(|| bad("utc offset out of range"))?;
        let serde_json::Value::Object(data) = self.data else {
            return Err(bad("trace event data is not an object"));
        };
        Ok(TraceEvent {
            id: TraceEventId(self.id),
            batch_code: BatchCode::parse(&self.batch_code).map_err(bad)?,
            seq: self.seq,
            event_type: self.type_.parse().map_err(bad)?,
            occurred_at: self.occurred_at.with_timezone(&offset),
            place: Place {
                region_code: RegionCode::parse(&self.region_code).map_err(bad)?,
                description: self.place,
            },
            data,
            corrects: self.corrects.map(TraceEventId),
            recorded_by: UserId(self.recorded_by),
            recorded_at: self.recorded_at,
        })
    }
}

fn load_events(conn: &mut PgConnection, code: &BatchCode) -> QueryResult<Vec<TraceEvent>> {
    trace_events::table
        .filter(trace_events::batch_code.eq(code.as_str()))
        .order(trace_events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EventRow::into_domain)
        .collect()
}

impl TraceStore for PgTraceStore {
    fn create_batch(&self, b: &TraceBatch) -> Result<BatchCreated, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let category: Option<Uuid> = categories::table
            .find(b.category_id.0)
            .select(categories::id)
            .first(&mut conn)
            .optional()?;
        if category.is_none() {
            return Ok(BatchCreated::UnknownCategory);
        }
        let row = BatchRow {
            code: b.code.as_str().to_owned(),
            producer_id: b.producer_id.0,
            supplier_member_id: b.supplier_member_id.map(|m| m.0),
            category_id: b.category_id.0,
            variety: b.variety.clone(),
            region_code: b.place.region_code.as_str().to_owned(),
            location: b.place.description.clone(),
            quantity: b.quantity,
            unit: b.unit.clone(),
            created_by: b.created_by.0,
            created_at: b.created_at,
        };
        let n = diesel::insert_into(trace_batches::table)
            .values(&row)
            .on_conflict(trace_batches::code)
            .do_nothing()
            .execute(&mut conn)?;
        Ok(if n == 1 {
            BatchCreated::Created
        } else {
            BatchCreated::CodeTaken
        })
    }

    fn find_batch(&self, code: &BatchCode) -> Result<Option<TraceBatch>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<BatchRow> = trace_batches::table
            .find(code.as_str())
            .select(BatchRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(BatchRow::into_domain).transpose()?)
    }

    fn events(&self, code: &BatchCode) -> Result<Vec<TraceEvent>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(load_events(&mut conn, code)?)
    }

    fn append_event(
        &self,
        code: &BatchCode,
        decide: DecideTraceEvent<'_>,
    ) -> Result<EventAppended, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let locked: Option<String> = trace_batches::table
                .find(code.as_str())
                .select(trace_batches::code)
                .for_update()
                .first(conn)
                .optional()?;
            if locked.is_none() {
                return Ok(EventAppended::NotFound);
            }
            let events = load_events(conn, code)?;
            let d = match decide(&events) {
                Ok(d) => d,
                Err(r) => return Ok(EventAppended::Refused(r)),
            };
            diesel::insert_into(trace_events::table)
                .values(EventRow::of(&d.event))
                .execute(conn)?;
            diesel::update(trace_batches::table.find(code.as_str()))
                .set(trace_batches::inspection_failed.eq(d.failed))
                .execute(conn)?;
            let paused: Vec<Uuid> = if d.pause {
                diesel::update(
                    listings::table
                        .filter(listings::trace_batch_code.eq(code.as_str()))
                        .filter(listings::status.eq_any(["active", "sold_out"])),
                )
                .set((
                    listings::status.eq("paused"),
                    listings::version.eq(listings::version + 1),
                    listings::updated_at.eq(d.event.recorded_at),
                ))
                .returning(listings::id)
                .get_results(conn)?
            } else {
                Vec::new()
            };
            Ok(EventAppended::Appended {
                event: Box::new(d.event),
                paused: paused.into_iter().map(ListingId).collect(),
            })
        })?)
    }

    fn linked_listings(&self, code: &BatchCode) -> Result<Vec<LinkedListing>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(Uuid, String, String, serde_json::Value)> = listings::table
            .filter(listings::trace_batch_code.eq(code.as_str()))
            .filter(listings::status.eq_any(["active", "sold_out", "paused"]))
            .order(listings::id.asc())
            .select((
                listings::id,
                listings::title,
                listings::status,
                listings::certifications,
            ))
            .limit(100)
            .load(&mut conn)?;
        rows.into_iter()
            .map(|(id, title, status, certs)| {
                let certifications: Vec<Certification> =
                    serde_json::from_value(certs).map_err(bad)?;
                Ok(LinkedListing {
                    id: ListingId(id),
                    title,
                    status: status.parse().map_err(bad)?,
                    certifications,
                })
            })
            .collect::<QueryResult<Vec<_>>>()
            .map_err(Into::into)
    }

    fn failed(&self, code: &BatchCode) -> Result<Option<bool>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(trace_batches::table
            .find(code.as_str())
            .select(trace_batches::inspection_failed)
            .first(&mut conn)
            .optional()?)
    }
}
