//! Partner webhooks: subscriptions, secret rotation, deliveries and
//! re-driving a dead one. Platform admins, or the partner itself with the
//! `webhooks:manage` scope; everyone else gets 404.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::identity::PartnerId;
use domain::notifications::{DeliveryStatus, DeliveryView, Webhook, WebhookError, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        let msg = e.to_string();
        match e {
            WebhookError::Validation(v) => ApiError::validation(v),
            WebhookError::NotFound => ApiError::not_found(),
            WebhookError::NotDead(m) => ApiError::conflict("invalid_transition", m),
            WebhookError::TooMany => ApiError::conflict("too_many_webhooks", msg),
            WebhookError::Unknown(e) => e.into(),
        }
    }
}

/// Refuses a URL that resolves to a loopback, private or link-local address
/// (422 `validation_failed` on `url`), unless `WEBHOOK_ALLOW_PRIVATE`.
async fn check_url(state: &AppState, url: &str) -> Result<(), ApiError> {
    crate::outbox::check_target(url, state.settings.outbox.webhook_allow_private)
        .await
        .map_err(|m| {
            ApiError::validation(domain::validation::ValidationErrors::single(
                "url",
                m.trim_start_matches("url ").to_owned(),
            ))
        })
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// `http(s)://…`, not resolving to a loopback, private or link-local
    /// address.
    #[schema(
        example = "https://mall.example/hooks",
        max_length = 500,
        pattern = r"^https?://[^\s@/]+(/\S*)?$"
    )]
    pub url: String,
    /// Event types (see docs/webhooks.md).
    #[schema(schema_with = contract::webhook_event_types)]
    pub event_types: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookPatch {
    #[schema(max_length = 500, pattern = r"^https?://[^\s@/]+(/\S*)?$")]
    pub url: Option<String>,
    #[schema(schema_with = contract::webhook_event_types, required = false)]
    pub event_types: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Shown once (creation and rotation): signs every delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn response(w: Webhook, secret: Option<String>) -> WebhookResponse {
    WebhookResponse {
        id: w.id.0,
        partner_id: w.partner_id.0,
        url: w.url,
        event_types: w.event_types,
        created_at: w.created_at,
        updated_at: w.updated_at,
        secret,
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookResponse>,
}

type PartnerPath = web::Path<Uuid>;
type HookPath = web::Path<(Uuid, Uuid)>;

/// Subscribe a URL to event types. The partner receives order events only
/// for orders it placed, and catalog events (listings, group buys) of the
/// public catalog.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Subscribed; `secret` is shown once", body = WebhookResponse),
        (status = 409, description = "`too_many_webhooks`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/partners/{id}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: PartnerPath,
    body: Json<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let partner = PartnerId(id.into_inner());
    let (s, who) = (state.clone(), caller.0.principal.clone());
    blocking(move || s.webhooks.guard(&who, partner)).await?;
    check_url(&state, &b.url).await?;
    let (w, secret) = blocking(move || {
        state.webhooks.create(
            &caller.0.principal,
            partner,
            &b.url,
            &b.event_types,
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(response(w, Some(secret))))
}

/// A partner's subscriptions.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    responses((status = 200, description = "Its subscriptions", body = WebhookList))
)]
#[get("/partners/{id}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Caller,
    id: PartnerPath,
) -> Result<HttpResponse, ApiError> {
    let partner = PartnerId(id.into_inner());
    let rows = blocking(move || state.webhooks.list(&caller.0.principal, partner)).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        items: rows.into_iter().map(|w| response(w, None)).collect(),
    }))
}

/// Change a subscription's URL or event types.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), ("webhook_id" = Uuid, Path, description = "Webhook id")),
    request_body = WebhookPatch,
    responses((status = 200, description = "Changed", body = WebhookResponse))
)]
#[patch("/partners/{id}/webhooks/{webhook_id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: HookPath,
    body: Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    let (partner, hook) = path.into_inner();
    let b = body.into_inner();
    let (s, who) = (state.clone(), caller.0.principal.clone());
    blocking(move || s.webhooks.guard(&who, PartnerId(partner))).await?;
    if let Some(u) = &b.url {
        check_url(&state, u).await?;
    }
    let w = blocking(move || {
        state.webhooks.update(
            &caller.0.principal,
            PartnerId(partner),
            WebhookId(hook),
            b.url.as_deref(),
            b.event_types.as_deref(),
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(response(w, None)))
}

/// Delete a subscription (what it had not delivered yet is dropped).
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), ("webhook_id" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/partners/{id}/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: HookPath,
) -> Result<HttpResponse, ApiError> {
    let (partner, hook) = path.into_inner();
    blocking(move || {
        state
            .webhooks
            .delete(&caller.0.principal, PartnerId(partner), WebhookId(hook))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct SecretResponse {
    /// The new signing secret, shown once; the old one stops at once.
    pub secret: String,
}

/// Rotate a subscription's signing secret.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), ("webhook_id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The new secret", body = SecretResponse))
)]
#[post("/partners/{id}/webhooks/{webhook_id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: HookPath,
) -> Result<HttpResponse, ApiError> {
    let (partner, hook) = path.into_inner();
    let secret = blocking(move || {
        state.webhooks.rotate(
            &caller.0.principal,
            PartnerId(partner),
            WebhookId(hook),
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(SecretResponse { secret }))
}

#[derive(Deserialize, IntoParams)]
pub struct DeliveryParams {
    /// Only deliveries of this status.
    #[param(schema_with = contract::one_of::<DeliveryStatus>)]
    pub status: Option<String>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: Uuid,
    /// The event's id: receivers deduplicate by it.
    pub event_id: Uuid,
    pub event_type: String,
    pub webhook_id: Option<Uuid>,
    /// `pending`, `delivered` or `dead`
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// The receiver's last HTTP status (none: no answer).
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryView> for DeliveryResponse {
    fn from(d: DeliveryView) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            webhook_id: d.webhook_id.map(|w| w.0),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// A partner's webhook deliveries, newest first.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), DeliveryParams),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryResponse>))
)]
#[get("/partners/{id}/webhook-deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: PartnerPath,
    params: web::Query<DeliveryParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let status = pagination::enum_param("status", p.status.as_deref())?;
    let partner = PartnerId(id.into_inner());
    let rows = blocking(move || {
        state
            .webhooks
            .deliveries(&caller.0.principal, partner, status, after, limit + 1)
    })
    .await?;
    let page: Page<DeliveryResponse> =
        pagination::page(rows, limit, |d| d.id, DeliveryResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Re-drive a dead delivery (its partner with `webhooks:manage`, or a
/// platform admin): it is sent again at once, with fresh attempts.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued"),
        (status = 409, description = "`invalid_transition`: not dead", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-deliveries/{id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    blocking(move || {
        state
            .webhooks
            .redeliver(&caller.0.principal, id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
