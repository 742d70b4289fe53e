//! After-sales refunds (售后): the buyer's requests, the seller's and the
//! platform's decisions, the provider's signed confirmation, the sandbox.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::after_sales::{
    AfterSalesError, RefundApplied, RefundAsk, RefundRequest, RefundRequestId,
};
use domain::coop::OrgId;
use domain::money::Fen;
use domain::orders::SellerOrderId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, OptionalJson};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<AfterSalesError> for ApiError {
    fn from(e: AfterSalesError) -> Self {
        let msg = e.to_string();
        match e {
            AfterSalesError::Validation(v) => ApiError::validation(v),
            AfterSalesError::NotFound => ApiError::not_found(),
            AfterSalesError::Forbidden(m) => ApiError::forbidden("forbidden", m),
            AfterSalesError::NotRefundable(m) => ApiError::conflict("not_refundable", m),
            AfterSalesError::WindowClosed => ApiError::conflict("after_sales_window_closed", msg),
            AfterSalesError::ExceedsPaid { remaining } => {
                ApiError::conflict("refund_exceeds_paid", msg)
                    .with_extra("remaining_fen", serde_json::json!(remaining.0))
            }
            AfterSalesError::InvalidTransition(..) => ApiError::conflict("invalid_transition", msg),
            AfterSalesError::TooManyRequests => ApiError::conflict("too_many_refund_requests", msg),
            AfterSalesError::AmountMismatch => ApiError::bad_request("amount_mismatch", msg),
            AfterSalesError::Notify(n) => super::orders::notify_error(n),
            AfterSalesError::Unknown(e) => e.into(),
        }
    }
}

/// What the buyer asks back: an `amount_fen` (of the whole seller order, or
/// of one line with `order_item_id`), or a `quantity` of one line.
#[derive(Deserialize, ToSchema)]
pub struct RefundRequestBody {
    /// Required with `quantity`; without it an amount is spread over the
    /// lines and the freight in proportion to what is left of each.
    pub order_item_id: Option<Uuid>,
    /// Units of the line (refunded at its unit price).
    #[schema(minimum = 1)]
    pub quantity: Option<i32>,
    #[schema(example = 1200, minimum = 1)]
    pub amount_fen: Option<i64>,
    #[schema(
        example = "到货腐烂",
        min_length = 1,
        max_length = 200,
        pattern = r"\S"
    )]
    pub reason: String,
    /// Photos of the problem: http(s) URLs.
    #[schema(schema_with = contract::photo_urls, required = false)]
    #[serde(default)]
    pub photo_urls: Vec<String>,
}

impl RefundRequestBody {
    fn ask(self) -> RefundAsk {
        RefundAsk {
            order_item_id: self.order_item_id,
            quantity: self.quantity,
            amount: self.amount_fen.map(Fen),
            reason: self.reason,
            photo_urls: self.photo_urls,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RefundPartResponse {
    /// The line; `null`: the freight.
    pub order_item_id: Option<Uuid>,
    pub amount_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RefundRequestResponse {
    pub id: Uuid,
    pub seller_order_id: Uuid,
    pub order_id: Uuid,
    pub seller_id: Uuid,
    /// `buyer` (after-sales request) or `seller` (the seller refunded part)
    pub origin: &'static str,
    pub order_item_id: Option<Uuid>,
    pub quantity: Option<i32>,
    pub amount_fen: i64,
    pub reason: String,
    pub photo_urls: Vec<String>,
    /// `requested`, `approved`, `refunded`, `rejected`, `escalated`, `closed`
    pub status: &'static str,
    /// The seller's reason for a rejection, or the platform's for a decision.
    pub note: Option<String>,
    /// How the amount is spread over the lines (and the freight).
    pub parts: Vec<RefundPartResponse>,
    /// Once refunded: the commission the platform gave back.
    pub commission_returned_fen: Option<i64>,
    /// Once refunded: whether the seller order had completed (then the
    /// seller's payable paid it, netted on its next statement).
    pub after_completion: Option<bool>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RefundRequest> for RefundRequestResponse {
    fn from(r: RefundRequest) -> Self {
        Self {
            id: r.id.0,
            seller_order_id: r.seller_order_id.0,
            order_id: r.order_id.0,
            seller_id: r.seller_id.0,
            origin: r.origin.as_str(),
            order_item_id: r.order_item_id,
            quantity: r.quantity,
            amount_fen: r.amount.0,
            reason: r.reason,
            photo_urls: r.photo_urls,
            status: r.status.as_str(),
            note: r.note,
            parts: r
                .parts
                .into_iter()
                .map(|p| RefundPartResponse {
                    order_item_id: p.order_item_id,
                    amount_fen: p.amount.0,
                })
                .collect(),
            commission_returned_fen: r.commission_returned.map(|c| c.0),
            after_completion: r.after_completion,
            refunded_at: r.refunded_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RefundRequestList {
    pub items: Vec<RefundRequestResponse>,
}

/// Ask for part of a delivered or completed seller order back (its buyer),
/// within the after-sales window (`AFTER_SALES_WINDOW_DAYS` after delivery).
/// The amount is held against what was paid for each line at once, so
/// requests never add up to more than was paid.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    request_body = RefundRequestBody,
    responses(
        (status = 201, description = "Requested; the seller decides", body = RefundRequestResponse),
        (status = 403, description = "`forbidden`: not the buyer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_refundable` (not delivered), `after_sales_window_closed`, `refund_exceeds_paid` (with `remaining_fen`), `too_many_refund_requests`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/refund-requests")]
pub async fn create_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<RefundRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let so = SellerOrderId(id.into_inner());
    let ask = body.into_inner().ask();
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.request(&v, so, ask, Utc::now())).await?;
    Ok(HttpResponse::Created().json(RefundRequestResponse::from(r)))
}

/// The refund requests of a seller order (its buyer, the seller's staff,
/// platform admins), oldest first.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    responses((status = 200, description = "Its requests", body = RefundRequestList))
)]
#[get("/seller-orders/{id}/refund-requests")]
pub async fn list_seller_order_refund_requests(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let so = SellerOrderId(id.into_inner());
    let v = viewer(&user);
    let rows = blocking(move || state.after_sales.of_seller_order(&v, so)).await?;
    Ok(HttpResponse::Ok().json(RefundRequestList {
        items: rows.into_iter().map(RefundRequestResponse::from).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct RefundQueueParams {
    /// Only requests of this status.
    #[param(schema_with = contract::one_of::<domain::after_sales::RefundStatus>)]
    pub status: Option<String>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// A seller's refund requests, newest first (its staff, platform admins).
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller organization id"), RefundQueueParams),
    responses((status = 200, description = "A page of requests", body = Page<RefundRequestResponse>))
)]
#[get("/organizations/{id}/refund-requests")]
pub async fn list_org_refund_requests(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    params: web::Query<RefundQueueParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p
        .cursor
        .as_deref()
        .map(pagination::decode_id)
        .transpose()?
        .map(RefundRequestId);
    let status = pagination::enum_param("status", p.status.as_deref())?;
    let org = OrgId(id.into_inner());
    let v = viewer(&user);
    let rows = blocking(move || {
        state
            .after_sales
            .of_seller(&v, org, status, after, limit + 1)
    })
    .await?;
    let page: Page<RefundRequestResponse> =
        pagination::page(rows, limit, |r| r.id.0, RefundRequestResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// One refund request (the buyer, the seller's staff, platform admins).
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Refund request id")),
    responses((status = 200, description = "The request", body = RefundRequestResponse))
)]
#[get("/refund-requests/{id}")]
pub async fn get_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = RefundRequestId(id.into_inner());
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.get(&v, id)).await?;
    Ok(HttpResponse::Ok().json(RefundRequestResponse::from(r)))
}

/// The seller's staff approve a request: the provider is asked to return
/// the money and confirms with a signed notification.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Refund request id")),
    responses(
        (status = 200, description = "Approved", body = RefundRequestResponse),
        (status = 403, description = "`forbidden`: not the seller's staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`, `not_refundable`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refund-requests/{id}/approve")]
pub async fn approve_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = RefundRequestId(id.into_inner());
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.approve(&v, id, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(RefundRequestResponse::from(r)))
}

#[derive(Deserialize, ToSchema)]
pub struct RejectRefundBody {
    /// Why (shown to the buyer and to the platform if escalated).
    #[schema(
        example = "照片显示商品完好",
        min_length = 1,
        max_length = 200,
        pattern = r"\S"
    )]
    pub reason: String,
}

/// The seller's staff reject a request, saying why; the buyer may escalate.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Refund request id")),
    request_body = RejectRefundBody,
    responses(
        (status = 200, description = "Rejected", body = RefundRequestResponse),
        (status = 403, description = "`forbidden`: not the seller's staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`, `not_refundable`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refund-requests/{id}/reject")]
pub async fn reject_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<RejectRefundBody>,
) -> Result<HttpResponse, ApiError> {
    let id = RefundRequestId(id.into_inner());
    let note = body.into_inner().reason;
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.reject(&v, id, note, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(RefundRequestResponse::from(r)))
}

/// The buyer disputes a rejection; a platform admin decides.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Refund request id")),
    responses(
        (status = 200, description = "Escalated", body = RefundRequestResponse),
        (status = 403, description = "`forbidden`: not the buyer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`, `not_refundable`, `refund_exceeds_paid` (other requests took what was left)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refund-requests/{id}/escalate")]
pub async fn escalate_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = RefundRequestId(id.into_inner());
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.escalate(&v, id, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(RefundRequestResponse::from(r)))
}

#[derive(Deserialize, ToSchema)]
pub struct DecideRefundBody {
    /// `true`: the refund is approved (and paid); `false`: closed.
    pub approve: bool,
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// A platform admin decides an escalated request.
#[utoipa::path(
    tag = "after-sales",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Refund request id")),
    request_body = DecideRefundBody,
    responses(
        (status = 200, description = "Decided", body = RefundRequestResponse),
        (status = 403, description = "`forbidden`: not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`, `not_refundable`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refund-requests/{id}/decide")]
pub async fn decide_refund_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<DecideRefundBody>,
) -> Result<HttpResponse, ApiError> {
    let id = RefundRequestId(id.into_inner());
    let b = body.into_inner();
    let v = viewer(&user);
    let r = blocking(move || {
        state
            .after_sales
            .decide(&v, id, b.approve, b.note, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(RefundRequestResponse::from(r)))
}

/// What the seller gives back at once (all optional: without an amount or
/// a quantity the seller order is refunded in full, before shipping).
#[derive(Deserialize, ToSchema)]
pub struct SellerRefundBody {
    pub order_item_id: Option<Uuid>,
    #[schema(minimum = 1)]
    pub quantity: Option<i32>,
    #[schema(example = 500, minimum = 1)]
    pub amount_fen: Option<i64>,
    /// Shown to the buyer (default: 卖家主动退款).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub reason: Option<String>,
}

impl SellerRefundBody {
    /// A partial refund (`None`: the full refund before shipping).
    pub fn partial(self) -> Option<RefundAsk> {
        (self.amount_fen.is_some() || self.quantity.is_some()).then(|| RefundAsk {
            order_item_id: self.order_item_id,
            quantity: self.quantity,
            amount: self.amount_fen.map(Fen),
            reason: self.reason.unwrap_or_else(|| "卖家主动退款".to_owned()),
            photo_urls: Vec::new(),
        })
    }
}

pub(crate) async fn seller_partial_refund(
    state: web::Data<AppState>,
    user: AuthUser,
    so: SellerOrderId,
    ask: RefundAsk,
) -> Result<HttpResponse, ApiError> {
    let v = viewer(&user);
    let r = blocking(move || state.after_sales.seller_refund(&v, so, ask, Utc::now())).await?;
    Ok(HttpResponse::Created().json(RefundRequestResponse::from(r)))
}

pub(crate) type OptionalSellerRefund = OptionalJson<SellerRefundBody>;

#[derive(Serialize, ToSchema)]
pub struct RefundNotifyResponse {
    /// `refunded`, `failed`, `already_processed`
    pub result: &'static str,
}

/// Payment provider → coopmart (public, signed like the payment
/// notification): `{refund_id, status: succeeded|failed, amount_fen}`. A
/// success posts the refund to the ledger, once.
#[utoipa::path(
    tag = "after-sales",
    request_body(content = String, content_type = "application/json", description = "{refund_id, status: succeeded|failed, amount_fen}"),
    params(
        ("X-Pay-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Pay-Signature" = String, Header, description = "hex HMAC-SHA256 of \"<timestamp>.<body>\""),
    ),
    responses(
        (status = 200, description = "Processed", body = RefundNotifyResponse),
        (status = 400, description = "`invalid_signature`, `stale_notification`, `malformed_notification`, `amount_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: unknown refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the refund was not approved", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refunds/notify")]
pub async fn refund_notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (ts, sig) = super::orders::provider_signature(&req);
    let now = Utc::now();
    let n = state
        .after_sales
        .gateway
        .verify_refund(&ts, &sig, &body, now)
        .map_err(super::orders::notify_error)?;
    let applied = blocking(move || state.after_sales.apply_notification(&n, now)).await?;
    let result = match applied {
        RefundApplied::Refunded => "refunded",
        RefundApplied::Failed => "failed",
        RefundApplied::AlreadyProcessed => "already_processed",
    };
    Ok(HttpResponse::Ok().json(RefundNotifyResponse { result }))
}

async fn sandbox_refund(
    state: web::Data<AppState>,
    id: Uuid,
    succeeded: bool,
) -> Result<HttpResponse, ApiError> {
    let Some(sandbox) = state.sandbox.clone() else {
        return Err(ApiError::not_found());
    };
    let s = state.clone();
    let rid = RefundRequestId(id);
    let refund = blocking(move || {
        s.after_sales
            .store
            .find(rid)
            .map_err(AfterSalesError::from)?
            .ok_or(AfterSalesError::NotFound)
    })
    .await?;
    let (ts, sig, body) = sandbox
        .refund_notification(&refund, succeeded, Utc::now())
        .map_err(ApiError::internal)?;
    let (notify_status, notify_body) =
        super::orders::send_to_notify(&state, "refunds/notify", ts, sig, body).await?;
    Ok(HttpResponse::Ok().json(SandboxRefundResponse {
        refund_id: id,
        notify_status,
        notify_body,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SandboxRefundResponse {
    pub refund_id: Uuid,
    /// HTTP status of coopmart's notify endpoint.
    pub notify_status: u16,
    #[schema(value_type = Object)]
    pub notify_body: serde_json::Value,
}

/// Sandbox provider: the refund went through. The sandbox sends its signed
/// notification to `/api/v1/refunds/notify`, as a real provider would.
#[utoipa::path(
    tag = "sandbox",
    params(("refund_id" = Uuid, Path, description = "Refund request id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxRefundResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/refunds/{refund_id}/succeed")]
pub async fn sandbox_refund_succeed(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_refund(state, id.into_inner(), true).await
}

/// Sandbox provider: the refund failed (notification sent likewise).
#[utoipa::path(
    tag = "sandbox",
    params(("refund_id" = Uuid, Path, description = "Refund request id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxRefundResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/refunds/{refund_id}/fail")]
pub async fn sandbox_refund_fail(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_refund(state, id.into_inner(), false).await
}
