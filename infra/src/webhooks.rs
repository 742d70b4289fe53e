//! Partner webhook subscriptions and the partner's view of their
//! deliveries, in Postgres. The signing secret is stored as is: it must
//! sign every delivery (like a provider's notification secret); it is shown
//! once, at creation and rotation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::identity::PartnerId;
use domain::notifications::*;
use domain::orders::Unknown;
use rand::RngCore;
use uuid::Uuid;

use crate::db::{get_conn, PgPool};

pub struct PgWebhooks {
    pub pool: PgPool,
}

fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("whsec_{}", hex::encode(b))
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    partner_id: Uuid,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Array<Text>)]
    event_types: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl From<Row> for Webhook {
    fn from(r: Row) -> Self {
        Webhook {
            id: WebhookId(r.id),
            partner_id: PartnerId(r.partner_id),
            url: r.url,
            event_types: r.event_types,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, partner_id, url, event_types, created_at, updated_at";

#[derive(QueryableByName)]
struct DeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    webhook_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Int4)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    last_status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    delivered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Status {
    #[diesel(sql_type = Text)]
    status: String,
}

impl WebhookStore for PgWebhooks {
    fn partner_exists(&self, partner: PartnerId) -> Result<bool, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let n = diesel::sql_query("SELECT id FROM partners WHERE id = $1")
            .bind::<SqlUuid, _>(partner.0)
            .execute(&mut conn)?;
        Ok(n > 0)
    }

    fn create(
        &self,
        partner: PartnerId,
        url: &str,
        event_types: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Webhook, String), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let secret = new_secret();
        let row: Row = diesel::sql_query(format!(
            "INSERT INTO webhooks (id, partner_id, url, event_types, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
        ))
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(partner.0)
        .bind::<Text, _>(url)
        .bind::<Array<Text>, _>(event_types)
        .bind::<Text, _>(&secret)
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)?;
        Ok((row.into(), secret))
    }

    fn list(&self, partner: PartnerId) -> Result<Vec<Webhook>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE partner_id = $1 ORDER BY id"
        ))
        .bind::<SqlUuid, _>(partner.0)
        .load(&mut conn)?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    fn update(
        &self,
        partner: PartnerId,
        id: WebhookId,
        url: Option<&str>,
        event_types: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<Row> = diesel::sql_query(format!(
            "UPDATE webhooks SET url = coalesce($3, url), \
             event_types = coalesce($4, event_types), updated_at = $5 \
             WHERE partner_id = $1 AND id = $2 RETURNING {COLUMNS}"
        ))
        .bind::<SqlUuid, _>(partner.0)
        .bind::<SqlUuid, _>(id.0)
        .bind::<Nullable<Text>, _>(url)
        .bind::<Nullable<Array<Text>>, _>(event_types)
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)
        .optional()?;
        Ok(row.map(Webhook::from))
    }

    fn delete(&self, partner: PartnerId, id: WebhookId) -> Result<bool, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, diesel::result::Error, _>(|conn| {
            // what was not sent yet is not sent any more; history stays
            diesel::sql_query(
                "UPDATE outbox_deliveries SET status = 'dead', last_error = 'subscription deleted' \
                 WHERE webhook_id = $1 AND status = 'pending'",
            )
            .bind::<SqlUuid, _>(id.0)
            .execute(conn)?;
            let n = diesel::sql_query("DELETE FROM webhooks WHERE partner_id = $1 AND id = $2")
                .bind::<SqlUuid, _>(partner.0)
                .bind::<SqlUuid, _>(id.0)
                .execute(conn)?;
            Ok(n > 0)
        })?)
    }

    fn rotate(
        &self,
        partner: PartnerId,
        id: WebhookId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let secret = new_secret();
        let n = diesel::sql_query(
            "UPDATE webhooks SET secret = $3, updated_at = $4 WHERE partner_id = $1 AND id = $2",
        )
        .bind::<SqlUuid, _>(partner.0)
        .bind::<SqlUuid, _>(id.0)
        .bind::<Text, _>(&secret)
        .bind::<Timestamptz, _>(now)
        .execute(&mut conn)?;
        Ok((n > 0).then_some(secret))
    }

    fn deliveries(
        &self,
        partner: PartnerId,
        status: Option<DeliveryStatus>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<DeliveryRow> = diesel::sql_query(
            "SELECT d.id, d.event_id, e.type AS event_type, d.webhook_id, d.status, d.attempts, \
                    d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at \
             FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id \
             WHERE d.partner_id = $1 AND d.channel = 'webhook' \
               AND ($2::text IS NULL OR d.status = $2) AND ($3::uuid IS NULL OR d.id < $3) \
             ORDER BY d.id DESC LIMIT $4",
        )
        .bind::<SqlUuid, _>(partner.0)
        .bind::<Nullable<Text>, _>(status.map(|s| s.as_str()))
        .bind::<Nullable<SqlUuid>, _>(after)
        .bind::<BigInt, _>(limit)
        .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| DeliveryView {
                id: r.id,
                event_id: r.event_id,
                event_type: r.event_type,
                webhook_id: r.webhook_id.map(WebhookId),
                status: r.status,
                attempts: r.attempts,
                last_status_code: r.last_status_code,
                last_error: r.last_error,
                next_attempt_at: r.next_attempt_at,
                delivered_at: r.delivered_at,
                created_at: r.created_at,
            })
            .collect())
    }

    fn redeliver(
        &self,
        partner: Option<PartnerId>,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Redeliver, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let row: Option<Status> = diesel::sql_query(
                "SELECT status FROM outbox_deliveries WHERE id = $1 AND channel = 'webhook' \
                 AND ($2::uuid IS NULL OR partner_id = $2) FOR UPDATE",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Nullable<SqlUuid>, _>(partner.map(|p| p.0))
            .get_result(conn)
            .optional()?;
            let Some(row) = row else {
                return Ok(Redeliver::NotFound);
            };
            if row.status != DeliveryStatus::Dead.as_str() {
                return Ok(Redeliver::NotDead(row.status));
            }
            let n = diesel::sql_query(
                "UPDATE outbox_deliveries SET status = 'pending', attempts = 0, \
                 next_attempt_at = $2, lease_until = NULL WHERE id = $1 \
                 AND (webhook_id IS NOT NULL)",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Timestamptz, _>(now)
            .execute(conn)?;
            if n == 0 {
                return Ok(Redeliver::NotDead(
                    "dead: its subscription was deleted".into(),
                ));
            }
            Ok(Redeliver::Done)
        })?)
    }
}
