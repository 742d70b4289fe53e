//! Ports of notifications: the outbox and its deliveries, webhook
//! subscriptions, the mail templates.

use chrono::{DateTime, Utc};

use super::rules::Event;
use crate::orders::Unknown;

crate::wire_enum!(Channel {
    Email => "email",
    Webhook => "webhook",
});

/// A delivery claimed by one worker for a while (its lease).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: uuid::Uuid,
    pub channel: Channel,
    /// E-mail address, or the webhook's URL.
    pub recipient: String,
    /// E-mail: the template.
    pub template: Option<String>,
    /// Webhook: its signing secret (`None`: the subscription was deleted).
    pub secret: Option<String>,
    pub webhook_id: Option<uuid::Uuid>,
    /// Failed attempts so far.
    pub attempts: u32,
    pub event: Event,
}

/// How far behind the outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub undispatched_events: i64,
    pub pending_deliveries: i64,
    pub dead_deliveries: i64,
    /// Age of the oldest event not dispatched or delivery not delivered.
    pub oldest_pending_secs: i64,
}

/// What a fan-out did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    /// Events taken.
    pub events: usize,
    /// Their e-mails sent at the first attempt.
    pub mails_sent: usize,
    /// Their e-mails whose first attempt failed (left as pending deliveries).
    pub mails_failed: usize,
}

/// Sends a fan-out's new e-mails (first attempts), returning for each, in
/// order, `None` when sent or the error.
pub type SendNew<'a> = &'a dyn Fn(&[Claimed]) -> Vec<Option<String>>;

pub trait OutboxStore: Send + Sync {
    /// Fans out up to `limit` events not dispatched yet (oldest first, one
    /// instance at a time; the others get an empty answer): sends their
    /// e-mails ([`super::mails_for`]) through `send`, outside any
    /// transaction, then in one transaction moves past the events and
    /// writes a pending delivery, due at `retry_at`, only for each e-mail
    /// that failed, and a delivery per matching webhook subscription. A
    /// crash before that commit sends the e-mails again (at least once;
    /// receivers deduplicate by event id); a sent e-mail leaves no row.
    fn dispatch(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        retry_at: DateTime<Utc>,
        send: SendNew<'_>,
    ) -> Result<Dispatched, Unknown>;

    /// Claims up to `limit` pending deliveries that are due, for `lease`
    /// (`FOR UPDATE SKIP LOCKED`; a crashed worker's lease runs out and
    /// another retries).
    fn claim(
        &self,
        limit: i64,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, Unknown>;

    /// Deliveries sent (with the receiver's status, if HTTP), in one write.
    fn delivered(
        &self,
        done: &[(uuid::Uuid, Option<u16>)],
        now: DateTime<Utc>,
    ) -> Result<(), Unknown>;

    /// A failed attempt: retried at `retry_at`, or dead (`None`).
    fn failed(
        &self,
        id: uuid::Uuid,
        status_code: Option<u16>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), Unknown>;

    fn backlog(&self, now: DateTime<Utc>) -> Result<Backlog, Unknown>;
}
