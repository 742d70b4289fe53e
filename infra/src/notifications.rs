//! The transactional outbox in Postgres: events are written by triggers in
//! the transaction of their cause (migration `outbox`); here they are fanned
//! out to deliveries and the deliveries claimed, leased and settled.
//!
//! Fan-out follows a cursor over `(txid, seq)` instead of marking each
//! event (an UPDATE per event cost order creation 8 % of its throughput):
//! only events of transactions older than every running one are taken, so
//! an event that commits later always lies beyond the cursor. One instance
//! at a time holds the cursor (`SKIP LOCKED`); deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED` and leases, so any number of instances share the
//! sending without sending a row twice at once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{
    Array, BigInt, Bool, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use domain::notifications::*;
use domain::orders::Unknown;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};

pub struct PgOutbox {
    pub pool: PgPool,
}

#[derive(QueryableByName)]
struct CursorRow {
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Int4)]
    version: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    public: bool,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            id: r.id,
            seq: r.seq,
            event_type: r.r#type,
            version: r.version,
            partner_id: r.partner_id,
            public: r.public,
            payload: r.payload,
            created_at: r.created_at,
        }
    }
}

#[derive(QueryableByName)]
struct Hook {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    partner_id: Uuid,
    #[diesel(sql_type = Text)]
    url: String,
}

/// A uuid field of the payload, if present.
fn payload_id(e: &Event, key: &str) -> Option<Uuid> {
    e.payload
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
}

#[derive(QueryableByName)]
struct IdAddress {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    address: String,
}

/// The e-mail addresses the recipient rules of a batch of events name,
/// read with three queries for the whole batch (one per kind of owner)
/// instead of one or two per event.
#[derive(Default)]
struct AddressBook {
    users: HashMap<Uuid, String>,
    orgs: HashMap<Uuid, String>,
    sellers_of_order: HashMap<Uuid, Vec<String>>,
}

/// Whose address a rule names for an event: (user, organization, order).
fn owner(e: &Event, who: Recipient) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
    match who {
        Recipient::Buyer => (payload_id(e, "buyer_user_id"), None, None),
        Recipient::SellersOfOrder => (None, None, payload_id(e, "order_id")),
        Recipient::Seller => (None, payload_id(e, "seller_id"), None),
        Recipient::Applicant => match payload_id(e, "applicant_user_id") {
            Some(u) => (Some(u), None, None),
            None => (None, payload_id(e, "applicant_organization_id"), None),
        },
    }
}

impl AddressBook {
    fn load(conn: &mut PgConnection, events: &[Event]) -> QueryResult<Self> {
        let (mut users, mut orgs, mut orders) = (Vec::new(), Vec::new(), Vec::new());
        for e in events {
            for (_, who) in mails_for(&e.event_type) {
                let (u, o, ord) = owner(e, *who);
                users.extend(u);
                orgs.extend(o);
                orders.extend(ord);
            }
        }
        let mut book = AddressBook::default();
        if !users.is_empty() {
            book.users = diesel::sql_query(
                "SELECT id, email AS address FROM users WHERE id = ANY ($1) AND email IS NOT NULL",
            )
            .bind::<Array<SqlUuid>, _>(&users)
            .load::<IdAddress>(conn)?
            .into_iter()
            .map(|r| (r.id, r.address))
            .collect();
        }
        if !orgs.is_empty() {
            book.orgs = diesel::sql_query(
                "SELECT id, contact_email AS address FROM organizations WHERE id = ANY ($1)",
            )
            .bind::<Array<SqlUuid>, _>(&orgs)
            .load::<IdAddress>(conn)?
            .into_iter()
            .map(|r| (r.id, r.address))
            .collect();
        }
        if !orders.is_empty() {
            let rows = diesel::sql_query(
                "SELECT DISTINCT so.order_id AS id, o.contact_email AS address FROM seller_orders so \
                 JOIN organizations o ON o.id = so.seller_id WHERE so.order_id = ANY ($1) \
                 ORDER BY 1, 2",
            )
            .bind::<Array<SqlUuid>, _>(&orders)
            .load::<IdAddress>(conn)?;
            for r in rows {
                book.sellers_of_order
                    .entry(r.id)
                    .or_default()
                    .push(r.address);
            }
        }
        Ok(book)
    }

    /// The e-mail addresses a recipient rule names for an event.
    fn addresses(&self, e: &Event, who: Recipient) -> Vec<String> {
        match owner(e, who) {
            (Some(u), _, _) => self.users.get(&u).cloned().into_iter().collect(),
            (_, Some(o), _) => self.orgs.get(&o).cloned().into_iter().collect(),
            (_, _, Some(ord)) => self.sellers_of_order.get(&ord).cloned().unwrap_or_default(),
            (None, None, None) => Vec::new(),
        }
    }
}

/// Deliveries a fan-out writes, inserted in one statement.
#[derive(Default)]
struct NewDeliveries {
    ids: Vec<Uuid>,
    events: Vec<Uuid>,
    channels: Vec<&'static str>,
    webhooks: Vec<Option<Uuid>>,
    partners: Vec<Option<Uuid>>,
    recipients: Vec<String>,
    templates: Vec<Option<String>>,
    /// Failed attempts so far (an e-mail whose first attempt failed: 1).
    attempts: Vec<i32>,
    errors: Vec<Option<String>>,
    due: Vec<DateTime<Utc>>,
}

/// A delivery to write.
struct NewDelivery {
    id: Uuid,
    event: Uuid,
    channel: Channel,
    webhook: Option<Uuid>,
    partner: Option<Uuid>,
    recipient: String,
    template: Option<String>,
    attempts: i32,
    error: Option<String>,
    due: DateTime<Utc>,
}

impl NewDeliveries {
    fn push(&mut self, d: NewDelivery) {
        self.ids.push(d.id);
        self.events.push(d.event);
        self.channels.push(d.channel.as_str());
        self.webhooks.push(d.webhook);
        self.partners.push(d.partner);
        self.recipients.push(d.recipient);
        self.templates.push(d.template);
        self.attempts.push(d.attempts);
        self.errors.push(d.error);
        self.due.push(d.due);
    }

    fn insert(&self, conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
        if self.ids.is_empty() {
            return Ok(0);
        }
        diesel::sql_query(
            "INSERT INTO outbox_deliveries (id, event_id, channel, webhook_id, partner_id, \
             recipient, template, status, attempts, last_error, next_attempt_at, created_at) \
             SELECT d.id, d.event_id, d.channel, d.webhook_id, d.partner_id, d.recipient, \
                    d.template, 'pending', d.attempts, d.error, d.due, $8 \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], \
                         $6::text[], $7::text[], $9::int4[], $10::text[], $11::timestamptz[]) \
                  AS d(id, event_id, channel, webhook_id, partner_id, recipient, template, \
                       attempts, error, due)",
        )
        .bind::<Array<SqlUuid>, _>(&self.ids)
        .bind::<Array<SqlUuid>, _>(&self.events)
        .bind::<Array<Text>, _>(&self.channels)
        .bind::<Array<Nullable<SqlUuid>>, _>(&self.webhooks)
        .bind::<Array<Nullable<SqlUuid>>, _>(&self.partners)
        .bind::<Array<Text>, _>(&self.recipients)
        .bind::<Array<Nullable<Text>>, _>(&self.templates)
        .bind::<Timestamptz, _>(now)
        .bind::<Array<Int4>, _>(&self.attempts)
        .bind::<Array<Nullable<Text>>, _>(&self.errors)
        .bind::<Array<Timestamptz>, _>(&self.due)
        .execute(conn)
    }
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Nullable<Text>)]
    template: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    webhook_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    secret: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    url: Option<String>,
    #[diesel(sql_type = Int4)]
    attempts: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Serialises the fan-out across instances.
const DISPATCH_LOCK: i64 = 0x6f75_7462_6f78_6469; // "outboxdi"

/// The fan-out under [`DISPATCH_LOCK`]: reads a batch of events beyond
/// the cursor (a short read-only transaction), sends their e-mails outside
/// any transaction, then in one transaction moves the cursor past them and
/// writes the webhook deliveries and the refused e-mails. A crash before
/// that commit leaves the cursor: the e-mails are sent again (at least once).
fn dispatch_locked(
    conn: &mut PgConnection,
    limit: i64,
    now: DateTime<Utc>,
    retry_at: DateTime<Utc>,
    send: SendNew<'_>,
) -> Result<Dispatched, Unknown> {
    let (cursor, last, events, book, mut out) = conn.transaction::<_, DieselError, _>(|conn| {
        let cursor: CursorRow =
            diesel::sql_query("SELECT txid, seq FROM outbox_cursor").get_result(conn)?;
        // every transaction below the horizon has ended: its events are
        // all visible now, and no event can appear below it later
        let events: Vec<EventRow> = diesel::sql_query(
            "SELECT id, txid, seq, type, version, partner_id, public, payload, created_at \
                 FROM outbox_events \
                 WHERE (txid, seq) > ($1, $2) \
                   AND txid < txid_snapshot_xmin(txid_current_snapshot()) \
                 ORDER BY txid, seq LIMIT $3",
        )
        .bind::<BigInt, _>(cursor.txid)
        .bind::<BigInt, _>(cursor.seq)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        let last = events.last().map(|e| (e.txid, e.seq));
        let events: Vec<Event> = events.into_iter().map(Event::from).collect();
        let book = AddressBook::load(conn, &events)?;
        let mut out = NewDeliveries::default();
        for e in &events {
            if partner_may_subscribe(&e.event_type) && (e.public || e.partner_id.is_some()) {
                let hooks: Vec<Hook> = diesel::sql_query(
                    "SELECT id, partner_id, url FROM webhooks \
                         WHERE $1 = ANY (event_types) AND ($2 OR partner_id = $3)",
                )
                .bind::<Text, _>(&e.event_type)
                .bind::<Bool, _>(e.public)
                .bind::<Nullable<SqlUuid>, _>(e.partner_id)
                .load(conn)?;
                for h in hooks {
                    out.push(NewDelivery {
                        id: Uuid::now_v7(),
                        event: e.id,
                        channel: Channel::Webhook,
                        webhook: Some(h.id),
                        partner: Some(h.partner_id),
                        recipient: h.url,
                        template: None,
                        attempts: 0,
                        error: None,
                        due: now,
                    });
                }
            }
        }
        Ok((cursor, last, events, book, out))
    })?;
    let Some((last_txid, last_seq)) = last else {
        return Ok(Dispatched::default());
    };
    let mut mails = Vec::new();
    for e in &events {
        for (template, who) in mails_for(&e.event_type) {
            for address in book.addresses(e, *who) {
                mails.push(Claimed {
                    id: Uuid::now_v7(),
                    channel: Channel::Email,
                    recipient: address,
                    template: Some((*template).to_owned()),
                    secret: None,
                    webhook_id: None,
                    attempts: 0,
                    event: e.clone(),
                });
            }
        }
    }
    // the first attempt of each e-mail; only a failure is kept, for retries
    let outcomes = send(&mails);
    if outcomes.len() != mails.len() {
        return Err(anyhow::anyhow!(
            "the mail sender answered for another number of mails"
        ));
    }
    let total = mails.len();
    let mut failed = 0;
    for (m, outcome) in mails.into_iter().zip(outcomes) {
        if let Some(error) = outcome {
            failed += 1;
            tracing::info!(event = %m.event.id, error = %error, "e-mail failed; retried later");
            out.push(NewDelivery {
                id: m.id,
                event: m.event.id,
                channel: Channel::Email,
                webhook: None,
                partner: None,
                recipient: m.recipient,
                template: m.template,
                attempts: 1,
                error: Some(error.chars().take(500).collect()),
                due: retry_at,
            });
        }
    }
    conn.transaction::<_, DieselError, _>(|conn| {
        // only this dispatcher moves the cursor (it holds the lock)
        let moved = diesel::sql_query(
            "UPDATE outbox_cursor SET txid = $1, seq = $2 WHERE txid = $3 AND seq = $4",
        )
        .bind::<BigInt, _>(last_txid)
        .bind::<BigInt, _>(last_seq)
        .bind::<BigInt, _>(cursor.txid)
        .bind::<BigInt, _>(cursor.seq)
        .execute(conn)?;
        if moved != 1 {
            return Err(bad("the outbox cursor moved under its lock"));
        }
        out.insert(conn, now)?;
        Ok(())
    })?;
    Ok(Dispatched {
        events: events.len(),
        mails_sent: total - failed,
        mails_failed: failed,
    })
}

impl OutboxStore for PgOutbox {
    fn dispatch(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        retry_at: DateTime<Utc>,
        send: SendNew<'_>,
    ) -> Result<Dispatched, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        // one dispatcher at a time, for the whole read–send–write: a session
        // lock, so no transaction stays open while e-mails are sent (an open
        // one would hold back the xmin horizon and bloat the hot rows that
        // every payment updates)
        let locked: Count = diesel::sql_query(format!(
            "SELECT pg_try_advisory_lock({DISPATCH_LOCK})::int::int8 AS n"
        ))
        .get_result(&mut conn)?;
        if locked.n == 0 {
            return Ok(Dispatched::default());
        }
        let result = dispatch_locked(&mut conn, limit, now, retry_at, send);
        let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({DISPATCH_LOCK})"))
            .execute(&mut conn);
        let dispatched = result?;
        unlocked?;
        Ok(dispatched)
    }

    fn claim(
        &self,
        limit: i64,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<ClaimRow> = diesel::sql_query(
            "WITH due AS (
                 SELECT id FROM outbox_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= $1
                   AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             UPDATE outbox_deliveries d SET lease_until = $3
             FROM due WHERE d.id = due.id
             RETURNING d.id, d.event_id, d.channel, d.recipient, d.template, d.webhook_id,
                 (SELECT secret FROM webhooks w WHERE w.id = d.webhook_id) AS secret,
                 (SELECT url FROM webhooks w WHERE w.id = d.webhook_id) AS url,
                 d.attempts",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(limit)
        .bind::<Timestamptz, _>(now + lease)
        .load(&mut conn)?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
        let events: Vec<Event> = diesel::sql_query(
            "SELECT id, txid, seq, type, version, partner_id, public, payload, created_at \
             FROM outbox_events WHERE id = ANY ($1)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .load::<EventRow>(&mut conn)?
        .into_iter()
        .map(Event::from)
        .collect();
        rows.into_iter()
            .map(|r| {
                let event = events
                    .iter()
                    .find(|e| e.id == r.event_id)
                    .cloned()
                    .ok_or_else(|| bad("a delivery of a missing event"))?;
                Ok(Claimed {
                    id: r.id,
                    channel: r.channel.parse().map_err(bad)?,
                    // a webhook is sent to its current URL
                    recipient: r.url.unwrap_or(r.recipient),
                    template: r.template,
                    secret: r.secret,
                    webhook_id: r.webhook_id,
                    attempts: u32::try_from(r.attempts).map_err(bad)?,
                    event,
                })
            })
            .collect::<QueryResult<_>>()
            .map_err(Into::into)
    }

    fn delivered(&self, done: &[(Uuid, Option<u16>)], now: DateTime<Utc>) -> Result<(), Unknown> {
        if done.is_empty() {
            return Ok(());
        }
        let mut conn = get_conn(&self.pool)?;
        let ids: Vec<Uuid> = done.iter().map(|(id, _)| *id).collect();
        let codes: Vec<Option<i32>> = done.iter().map(|(_, c)| c.map(i32::from)).collect();
        diesel::sql_query(
            "UPDATE outbox_deliveries d SET status = 'delivered', attempts = attempts + 1, \
             delivered_at = $3, last_status_code = x.code, last_error = NULL, lease_until = NULL \
             FROM unnest($1::uuid[], $2::int4[]) AS x(id, code) \
             WHERE d.id = x.id AND d.status = 'pending'",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Nullable<Int4>>, _>(&codes)
        .bind::<Timestamptz, _>(now)
        .execute(&mut conn)?;
        Ok(())
    }

    fn failed(
        &self,
        id: Uuid,
        status_code: Option<u16>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        _now: DateTime<Utc>,
    ) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let error: String = error.chars().take(500).collect();
        diesel::sql_query(
            "UPDATE outbox_deliveries SET attempts = attempts + 1, last_status_code = $2, \
             last_error = $3, lease_until = NULL, \
             status = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = coalesce($4, next_attempt_at) \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Int4>, _>(status_code.map(i32::from))
        .bind::<Text, _>(error)
        .bind::<Nullable<Timestamptz>, _>(retry_at)
        .execute(&mut conn)?;
        Ok(())
    }

    fn backlog(&self, now: DateTime<Utc>) -> Result<Backlog, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let count = |conn: &mut PgConnection, sql: &str| -> QueryResult<i64> {
            Ok(diesel::sql_query(sql)
                .load::<Count>(conn)?
                .first()
                .map_or(0, |c| c.n))
        };
        let undispatched = count(
            &mut conn,
            "SELECT count(*) AS n FROM outbox_events e, outbox_cursor c \
             WHERE (e.txid, e.seq) > (c.txid, c.seq)",
        )?;
        let pending = count(
            &mut conn,
            "SELECT count(*) AS n FROM outbox_deliveries WHERE status = 'pending'",
        )?;
        let dead = count(
            &mut conn,
            "SELECT count(*) AS n FROM outbox_deliveries WHERE status = 'dead'",
        )?;
        let oldest: i64 = diesel::sql_query(
            "SELECT coalesce(extract(epoch FROM $1 - least(
                 (SELECT min(e.created_at) FROM outbox_events e, outbox_cursor c
                   WHERE (e.txid, e.seq) > (c.txid, c.seq)),
                 (SELECT min(created_at) FROM outbox_deliveries WHERE status = 'pending'))),
               0)::bigint AS n",
        )
        .bind::<Timestamptz, _>(now)
        .load::<Count>(&mut conn)?
        .first()
        .map_or(0, |c| c.n);
        Ok(Backlog {
            undispatched_events: undispatched,
            pending_deliveries: pending,
            dead_deliveries: dead,
            oldest_pending_secs: oldest.max(0),
        })
    }
}

/// `X-Coopmart-Signature` of a webhook delivery: `t=<unix>,v1=<hex
/// hmac-sha256(secret, "<t>.<body>")>`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> Result<String, Unknown> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("webhook secret: {e}"))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}
