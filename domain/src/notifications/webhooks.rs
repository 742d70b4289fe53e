//! Partner webhook subscriptions and their deliveries: who may manage them
//! (platform admins, or the partner itself with `webhooks:manage`; others
//! 404), what a subscription may name, and re-driving a dead delivery.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::rules::{partner_may_subscribe, webhook_target};
use crate::identity::{PartnerId, Principal, Scope};
use crate::orders::Unknown;
use crate::typed_id;
use crate::validation::ValidationErrors;

typed_id!(
    /// A partner's webhook subscription.
    WebhookId
);

crate::wire_enum!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Dead => "dead",
});

pub const MAX_EVENT_TYPES: usize = 30;
pub const MAX_WEBHOOKS_PER_PARTNER: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub partner_id: PartnerId,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery as its partner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub id: uuid::Uuid,
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub webhook_id: Option<WebhookId>,
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeliver {
    Done,
    NotFound,
    /// Only a dead delivery can be re-driven.
    NotDead(String),
}

pub trait WebhookStore: Send + Sync {
    fn partner_exists(&self, partner: PartnerId) -> Result<bool, Unknown>;
    /// Creates a subscription with a new secret; returns it and the secret.
    fn create(
        &self,
        partner: PartnerId,
        url: &str,
        event_types: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Webhook, String), Unknown>;
    fn list(&self, partner: PartnerId) -> Result<Vec<Webhook>, Unknown>;
    fn update(
        &self,
        partner: PartnerId,
        id: WebhookId,
        url: Option<&str>,
        event_types: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>, Unknown>;
    fn delete(&self, partner: PartnerId, id: WebhookId) -> Result<bool, Unknown>;
    /// A new secret (the old one stops signing at once).
    fn rotate(
        &self,
        partner: PartnerId,
        id: WebhookId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, Unknown>;
    fn deliveries(
        &self,
        partner: PartnerId,
        status: Option<DeliveryStatus>,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, Unknown>;
    /// Re-drives a dead delivery of `partner` (any partner's: `None`).
    fn redeliver(
        &self,
        partner: Option<PartnerId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Redeliver, Unknown>;
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NotDead(String),
    #[error("a partner may have at most {MAX_WEBHOOKS_PER_PARTNER} webhooks")]
    TooMany,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct WebhookService {
    pub store: Arc<dyn WebhookStore>,
}

/// May `who` manage `partner`'s webhooks?
pub fn may_manage(who: &Principal, partner: PartnerId) -> bool {
    match who {
        Principal::User { platform_admin, .. } => *platform_admin,
        Principal::Partner { id, scopes } => {
            *id == partner && scopes.contains(Scope::WebhooksManage)
        }
    }
}

/// Checks a subscription's URL (shape only: where it resolves is checked
/// by the caller, at subscription and at every send) and event types.
pub fn check_subscription(
    url: Option<&str>,
    event_types: Option<&[String]>,
) -> Result<Option<Vec<String>>, ValidationErrors> {
    let mut e = ValidationErrors::new();
    if let Some(u) = url {
        if let Err(m) = webhook_target(u) {
            e.add("url", m);
        }
    }
    let types = event_types.map(|types| {
        if types.is_empty() || types.len() > MAX_EVENT_TYPES {
            e.add(
                "event_types",
                format!("must list 1–{MAX_EVENT_TYPES} event types"),
            );
        }
        for (i, t) in types.iter().enumerate() {
            if !partner_may_subscribe(t) {
                e.add(
                    format!("event_types[{i}]"),
                    "is not an event type partners may subscribe to (see docs/webhooks.md)",
                );
            }
        }
        let mut v = types.to_vec();
        v.sort();
        v.dedup();
        v
    });
    e.into_result(types)
}

impl WebhookService {
    /// Whether `who` may manage `partner`'s webhooks (404 otherwise): asked
    /// before anything about a request's content is looked at.
    pub fn guard(&self, who: &Principal, partner: PartnerId) -> Result<(), WebhookError> {
        if may_manage(who, partner) && self.store.partner_exists(partner)? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    pub fn create(
        &self,
        who: &Principal,
        partner: PartnerId,
        url: &str,
        event_types: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Webhook, String), WebhookError> {
        self.guard(who, partner)?;
        let types = check_subscription(Some(url), Some(event_types))?.unwrap_or_default();
        if self.store.list(partner)?.len() >= MAX_WEBHOOKS_PER_PARTNER {
            return Err(WebhookError::TooMany);
        }
        Ok(self.store.create(partner, url.trim(), &types, now)?)
    }

    pub fn list(&self, who: &Principal, partner: PartnerId) -> Result<Vec<Webhook>, WebhookError> {
        self.guard(who, partner)?;
        Ok(self.store.list(partner)?)
    }

    pub fn update(
        &self,
        who: &Principal,
        partner: PartnerId,
        id: WebhookId,
        url: Option<&str>,
        event_types: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Webhook, WebhookError> {
        self.guard(who, partner)?;
        let types = check_subscription(url, event_types)?;
        self.store
            .update(partner, id, url.map(str::trim), types.as_deref(), now)?
            .ok_or(WebhookError::NotFound)
    }

    pub fn delete(
        &self,
        who: &Principal,
        partner: PartnerId,
        id: WebhookId,
    ) -> Result<(), WebhookError> {
        self.guard(who, partner)?;
        if self.store.delete(partner, id)? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    pub fn rotate(
        &self,
        who: &Principal,
        partner: PartnerId,
        id: WebhookId,
        now: DateTime<Utc>,
    ) -> Result<String, WebhookError> {
        self.guard(who, partner)?;
        self.store
            .rotate(partner, id, now)?
            .ok_or(WebhookError::NotFound)
    }

    pub fn deliveries(
        &self,
        who: &Principal,
        partner: PartnerId,
        status: Option<DeliveryStatus>,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, WebhookError> {
        self.guard(who, partner)?;
        Ok(self.store.deliveries(partner, status, after, limit)?)
    }

    /// Re-drives a dead delivery: a platform admin any, a partner (with
    /// `webhooks:manage`) its own; others 404.
    pub fn redeliver(
        &self,
        who: &Principal,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let scope = match who {
            Principal::User {
                platform_admin: true,
                ..
            } => None,
            Principal::Partner { id, scopes } if scopes.contains(Scope::WebhooksManage) => {
                Some(*id)
            }
            _ => return Err(WebhookError::NotFound),
        };
        match self.store.redeliver(scope, id, now)? {
            Redeliver::Done => Ok(()),
            Redeliver::NotFound => Err(WebhookError::NotFound),
            Redeliver::NotDead(s) => Err(WebhookError::NotDead(format!(
                "only a dead delivery can be re-driven (this one is {s})"
            ))),
        }
    }
}
