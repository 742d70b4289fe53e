//! Orders, payments, seller orders and service-station pickups.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::ListingId;
use domain::coop::OrgId;
use domain::identity::{Principal, Scope};
use domain::orders::{
    Address, Buyer, CreateOrderInput, Created, Delivery, Order, OrderError, OrderEvent, OrderId,
    OrderLine, Payment, PaymentApplied, PaymentId, SellerAction, SellerOrder, SellerOrderId,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::{coop_error, OrganizationResponse};
use crate::auth::{require_scope, AuthUser, Caller};
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

fn order_error(e: OrderError) -> ApiError {
    let listing = |code: &'static str, id: ListingId, msg: String| {
        ApiError::conflict(code, msg).with_extra("listing_id", serde_json::json!(id.to_string()))
    };
    match e {
        OrderError::Validation(v) => ApiError::validation(v),
        OrderError::NotFound => ApiError::not_found(),
        OrderError::Forbidden(code, m) => ApiError::forbidden(code, m),
        OrderError::OutOfStock(id) => listing(
            "out_of_stock",
            id,
            format!("listing {id} does not have enough stock"),
        ),
        OrderError::Unavailable(id) => listing(
            "listing_unavailable",
            id,
            format!("listing {id} cannot be ordered now"),
        ),
        OrderError::GroupBuyClosed(id) => listing(
            "group_buy_closed",
            id,
            format!("the group buy of listing {id} has closed"),
        ),
        OrderError::InvalidTransition(m) => ApiError::conflict("invalid_transition", m),
        OrderError::IdempotencyMismatch => ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        ),
        OrderError::IdempotencyInFlight => ApiError::conflict(
            "idempotency_key_in_flight",
            "a request with this Idempotency-Key is still being processed",
        ),
        OrderError::DuplicateExternalRef => ApiError::conflict(
            "duplicate_external_ref",
            "an order with this external_ref already exists",
        ),
        OrderError::WrongPickupCode => {
            ApiError::unprocessable("wrong_pickup_code", "the pickup code does not match")
        }
        OrderError::Unknown(e) => e.into(),
    }
}

/// The buyer behind a token: a user, or a partner holding `scope`.
fn buyer(caller: &Caller, scope: Scope) -> Result<Buyer, ApiError> {
    match &caller.0.principal {
        Principal::User { id, .. } => Ok(Buyer::User(*id)),
        p @ Principal::Partner { .. } => require_scope(p, scope).map(|(id, _)| Buyer::Partner(id)),
    }
}

/// Partners may read their orders with `orders:read` or `orders:write`.
fn reading_buyer(caller: &Caller) -> Result<Buyer, ApiError> {
    buyer(caller, Scope::OrdersRead).or_else(|_| buyer(caller, Scope::OrdersWrite))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct OrderLineBody {
    pub listing_id: Uuid,
    #[schema(example = 2)]
    pub quantity: i32,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct AddressBody {
    #[schema(example = "王芳")]
    pub recipient: String,
    #[schema(example = "13800000000")]
    pub phone: String,
    #[schema(example = "110105")]
    pub region_code: String,
    #[schema(example = "朝阳区建国路 1 号")]
    pub line: String,
}

/// `{"method": "home_delivery", "address": {…}}` or `{"method": "station_pickup", "station_id": "…"}`
#[derive(Deserialize, Serialize, ToSchema)]
pub struct DeliveryBody {
    /// `home_delivery` or `station_pickup`
    pub method: String,
    pub address: Option<AddressBody>,
    pub station_id: Option<Uuid>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct CreateOrderRequest {
    pub items: Vec<OrderLineBody>,
    pub delivery: DeliveryBody,
    /// The mall's own order number (partners only; unique per partner).
    pub external_ref: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderItemResponse {
    pub listing_id: Uuid,
    pub seller_order_id: Uuid,
    pub title: String,
    pub unit_label: String,
    pub quantity: i32,
    pub unit_price_fen: i64,
    pub line_total_fen: i64,
    /// Commission rate snapshotted at order time.
    pub commission_bp: u32,
    /// Presale: shipping starts on this date.
    pub ship_from_date: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct SellerOrderResponse {
    pub id: Uuid,
    pub order_id: Uuid,
    pub seller_id: Uuid,
    /// `pending_payment`, `paid`, `accepted`, `shipped`, `delivered`, `completed`, `rejected`, `refunded`, `cancelled`
    pub status: &'static str,
    pub subtotal_fen: i64,
    pub commission_fen: i64,
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    /// Station pickup: the code the buyer shows (buyer's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    pub items: Vec<OrderItemResponse>,
    pub updated_at: DateTime<Utc>,
}

fn item_response(i: &domain::orders::OrderItem) -> OrderItemResponse {
    OrderItemResponse {
        listing_id: i.item.listing_id.0,
        seller_order_id: i.seller_order_id.0,
        title: i.item.title.clone(),
        unit_label: i.item.unit_label.clone(),
        quantity: i.item.quantity,
        unit_price_fen: i.item.unit_price.0,
        line_total_fen: i.item.line_total.0,
        commission_bp: i.item.commission_bp,
        ship_from_date: i.item.ship_from,
    }
}

fn seller_order_response(so: &SellerOrder, with_code: bool) -> SellerOrderResponse {
    SellerOrderResponse {
        id: so.id.0,
        order_id: so.order_id.0,
        seller_id: so.seller_id.0,
        status: so.status.as_str(),
        subtotal_fen: so.subtotal.0,
        commission_fen: so.commission.0,
        carrier: so.carrier.clone(),
        tracking_no: so.tracking_no.clone(),
        pickup_code: if with_code {
            so.pickup_code.clone()
        } else {
            None
        },
        items: so.items.iter().map(item_response).collect(),
        updated_at: so.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    pub seller_order_id: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: String,
    /// `user:<id>`, `partner:<id>`, `buyer`, `provider`, `system:expiry`, `station:<id>` …
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

impl From<OrderEvent> for EventResponse {
    fn from(e: OrderEvent) -> Self {
        Self {
            seller_order_id: e.seller_order_id.map(|s| s.0),
            from_status: e.from_status,
            to_status: e.to_status,
            actor: e.actor,
            occurred_at: e.occurred_at,
        }
    }
}

/// How the order reaches the buyer.
#[derive(Serialize, ToSchema)]
pub struct DeliveryResponse {
    /// `home_delivery` or `station_pickup`
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_id: Option<Uuid>,
}

impl From<&Delivery> for DeliveryResponse {
    fn from(d: &Delivery) -> Self {
        match d {
            Delivery::HomeDelivery { address } => Self {
                method: "home_delivery",
                address: Some(AddressBody {
                    recipient: address.recipient.clone(),
                    phone: address.phone.clone(),
                    region_code: address.region_code.clone(),
                    line: address.line.clone(),
                }),
                station_id: None,
            },
            Delivery::StationPickup { station_id } => Self {
                method: "station_pickup",
                address: None,
                station_id: Some(station_id.0),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderResponse {
    pub id: Uuid,
    /// Human-readable order number, e.g. `CM202611240123456789`.
    pub number: String,
    /// `pending_payment`, `paid`, `completed`, `cancelled`, `expired`
    pub status: &'static str,
    /// `user` or `partner`
    pub buyer_type: &'static str,
    pub external_ref: Option<String>,
    pub total_fen: i64,
    /// Unpaid orders expire (stock returns) at this time.
    pub expires_at: DateTime<Utc>,
    pub delivery: DeliveryResponse,
    pub items: Vec<OrderItemResponse>,
    pub seller_orders: Vec<SellerOrderResponse>,
    pub created_at: DateTime<Utc>,
    /// Every state change (order detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EventResponse>>,
}

pub fn order_response(o: &Order) -> OrderResponse {
    OrderResponse {
        id: o.id.0,
        number: o.number.clone(),
        status: o.status.as_str(),
        buyer_type: match o.buyer {
            Buyer::User(_) => "user",
            Buyer::Partner(_) => "partner",
        },
        external_ref: o.external_ref.clone(),
        total_fen: o.total.0,
        expires_at: o.expires_at,
        delivery: DeliveryResponse::from(&o.delivery),
        items: o
            .seller_orders
            .iter()
            .flat_map(|s| s.items.iter().map(item_response))
            .collect(),
        seller_orders: o
            .seller_orders
            .iter()
            .map(|s| seller_order_response(s, true))
            .collect(),
        created_at: o.created_at,
        history: None,
    }
}

fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "the Idempotency-Key header is required",
        ));
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "idempotency_key_invalid",
            "Idempotency-Key must be 1–255 visible ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

fn to_input(b: CreateOrderRequest) -> Result<CreateOrderInput, ApiError> {
    let delivery = match b.delivery.method.as_str() {
        "home_delivery" => match b.delivery.address {
            Some(a) => Delivery::HomeDelivery {
                address: Address {
                    recipient: a.recipient,
                    phone: a.phone,
                    region_code: a.region_code,
                    line: a.line,
                },
            },
            None => {
                return Err(ApiError::validation(
                    domain::validation::ValidationErrors::single(
                        "delivery.address",
                        "is required for home_delivery",
                    ),
                ))
            }
        },
        "station_pickup" => match b.delivery.station_id {
            Some(s) => Delivery::StationPickup {
                station_id: OrgId(s),
            },
            None => {
                return Err(ApiError::validation(
                    domain::validation::ValidationErrors::single(
                        "delivery.station_id",
                        "is required for station_pickup",
                    ),
                ))
            }
        },
        _ => {
            return Err(ApiError::validation(
                domain::validation::ValidationErrors::single(
                    "delivery.method",
                    "must be home_delivery or station_pickup",
                ),
            ))
        }
    };
    Ok(CreateOrderInput {
        lines: b
            .items
            .into_iter()
            .map(|l| OrderLine {
                listing_id: ListingId(l.listing_id),
                quantity: l.quantity,
            })
            .collect(),
        delivery,
        external_ref: b.external_ref,
    })
}

async fn invalidate(state: &AppState, listings: impl IntoIterator<Item = ListingId>) {
    for id in listings {
        state.listing_cache.invalidate(&id.to_string()).await;
    }
}

/// Place an order (buyers, or partners with `orders:write`). Requires an
/// `Idempotency-Key`: the same key with the same body replays the original
/// response (`Idempotent-Replayed: true`), with another body is 422, while
/// the first request runs is 409. Keys are kept 24 h per caller. Stock is
/// taken at once; unpaid orders expire after `ORDER_PAYMENT_TTL`.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per intended order, 1–255 visible ASCII characters")),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Created (or replayed: header `Idempotent-Replayed: true`)", body = OrderResponse),
        (status = 400, description = "`idempotency_key_required`, `idempotency_key_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`insufficient_scope` (partner without orders:write)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`out_of_stock`, `listing_unavailable`, `group_buy_closed` (with `listing_id`), `idempotency_key_in_flight`, `duplicate_external_ref`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let key = idempotency_key(&req)?;
    let raw = body.into_inner();
    let hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&raw).map_err(ApiError::internal)?,
    ));
    let parsed: CreateOrderRequest = serde_json::from_value(raw).map_err(|e| {
        let mut v = domain::validation::ValidationErrors::new();
        v.add("body", e.to_string());
        ApiError::validation(v)
    })?;
    let input = to_input(parsed)?;
    let s = state.clone();
    let created = blocking(move || {
        // Serialised from the struct: fields in their documented order
        // (`id` first), the same text sent now and stored for replays.
        let render = |o: &Order| -> anyhow::Result<(u16, String)> {
            Ok((201, serde_json::to_string(&order_response(o))?))
        };
        s.orders
            .create(buyer, &input, Some((&key, &hash)), &render, Utc::now())
            .map_err(order_error)
    })
    .await?;
    match created {
        Created::New(order, body) => {
            invalidate(
                &state,
                order
                    .seller_orders
                    .iter()
                    .flat_map(|s| s.items.iter().map(|i| i.item.listing_id)),
            )
            .await;
            Ok(HttpResponse::Created()
                .content_type(actix_web::http::header::ContentType::json())
                .body(body))
        }
        Created::Replayed { status, body } => Ok(HttpResponse::build(
            StatusCode::from_u16(status).map_err(ApiError::internal)?,
        )
        .insert_header(("idempotent-replayed", "true"))
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    pub cursor: Option<String>,
    /// 1–200, default 50
    pub limit: Option<i64>,
}

/// The caller's orders, newest first.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderResponse>),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`insufficient_scope`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let buyer = reading_buyer(&caller)?;
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p
        .cursor
        .as_deref()
        .map(pagination::decode_id)
        .transpose()?
        .map(OrderId);
    let rows = blocking(move || {
        state
            .orders
            .list(buyer, after, limit + 1)
            .map_err(order_error)
    })
    .await?;
    let page: Page<OrderResponse> =
        pagination::page(rows, limit, |o| o.id.0, |o| order_response(&o));
    Ok(HttpResponse::Ok().json(page))
}

/// One order with its history (its buyer only; others get 404).
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let buyer = reading_buyer(&caller)?;
    let id = OrderId(id.into_inner());
    let (order, events) = blocking(move || {
        let o = state.orders.get(buyer, id).map_err(order_error)?;
        let e = state.orders.events(buyer, id).map_err(order_error)?;
        Ok((o, e))
    })
    .await?;
    let mut body = order_response(&order);
    body.history = Some(events.into_iter().map(EventResponse::from).collect());
    Ok(HttpResponse::Ok().json(body))
}

/// Cancel an unpaid order; its stock returns at once.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled", body = OrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let id = OrderId(id.into_inner());
    let s = state.clone();
    let (restocked, order) = blocking(move || {
        let r = s
            .orders
            .cancel(buyer, id, Utc::now())
            .map_err(order_error)?;
        Ok((r, s.orders.get(buyer, id).map_err(order_error)?))
    })
    .await?;
    invalidate(&state, restocked).await;
    Ok(HttpResponse::Ok().json(order_response(&order)))
}

/// Confirm receipt: delivered seller orders complete (and feed member
/// transaction volume).
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Updated order", body = OrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/confirm-receipt")]
pub async fn confirm_receipt(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let id = OrderId(id.into_inner());
    let order = blocking(move || {
        state
            .orders
            .confirm_receipt(buyer, id, Utc::now())
            .map_err(order_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(order_response(&order)))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_fen: i64,
    /// `pending`, `succeeded`, `failed`, `refunded`
    pub status: &'static str,
    pub provider: String,
    pub created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentResponse {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id.0,
            order_id: p.order_id.0,
            amount_fen: p.amount.0,
            status: p.status.as_str(),
            provider: p.provider,
            created_at: p.created_at,
        }
    }
}

/// Start paying an order through the configured provider.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 201, description = "Payment created; the provider notifies its result", body = PaymentResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (paid, cancelled or expired)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/payments")]
pub async fn create_payment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let id = OrderId(id.into_inner());
    let p = blocking(move || {
        state
            .orders
            .start_payment(buyer, id, Utc::now())
            .map_err(order_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(PaymentResponse::from(p)))
}

#[derive(Serialize, ToSchema)]
pub struct NotifyResponse {
    /// `paid`, `failed`, `refunded`, `already_processed`
    pub result: &'static str,
}

/// Payment provider → coopmart (public, signed): `X-Pay-Timestamp` and
/// `X-Pay-Signature: hex(hmac-sha256(secret, "<timestamp>.<body>"))`.
/// Stale (> 5 min) or tampered notifications are refused; repeats are
/// no-ops; a payment for an expired order is refunded, not applied.
#[utoipa::path(
    tag = "orders",
    request_body(content = String, content_type = "application/json", description = "{payment_id, status: succeeded|failed, amount_fen}"),
    params(
        ("X-Pay-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Pay-Signature" = String, Header, description = "hex HMAC-SHA256 of \"<timestamp>.<body>\""),
    ),
    responses(
        (status = 200, description = "Processed", body = NotifyResponse),
        (status = 400, description = "`invalid_signature`, `stale_notification`, `malformed_notification`, `amount_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: unknown payment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payments/notify")]
pub async fn payment_notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (ts, sig) = (header("x-pay-timestamp"), header("x-pay-signature"));
    let now = Utc::now();
    let notification = state
        .orders
        .gateway
        .verify(&ts, &sig, &body, now)
        .map_err(|e| {
            use domain::orders::NotifyError::*;
            let code = match e {
                BadSignature => "invalid_signature",
                Stale => "stale_notification",
                Malformed => "malformed_notification",
            };
            tracing::warn!(error = %e, "payment notification refused");
            ApiError::bad_request(code, e.to_string())
        })?;
    let applied = blocking(move || {
        state
            .orders
            .apply_notification(&notification, now)
            .map_err(order_error)
    })
    .await?;
    let result = match applied {
        PaymentApplied::Paid => "paid",
        PaymentApplied::Failed => "failed",
        PaymentApplied::RefundDue(_) => "refunded",
        PaymentApplied::AlreadyProcessed => "already_processed",
        PaymentApplied::NotFound => return Err(ApiError::not_found()),
        PaymentApplied::AmountMismatch => {
            return Err(ApiError::bad_request(
                "amount_mismatch",
                "the notified amount differs from the payment",
            ))
        }
    };
    Ok(HttpResponse::Ok().json(NotifyResponse { result }))
}

#[derive(Serialize, ToSchema)]
pub struct SandboxResponse {
    pub payment_id: Uuid,
    /// HTTP status of coopmart's notify endpoint.
    pub notify_status: u16,
    #[schema(value_type = Object)]
    pub notify_body: serde_json::Value,
}

async fn sandbox_outcome(
    state: web::Data<AppState>,
    id: Uuid,
    succeeded: bool,
) -> Result<HttpResponse, ApiError> {
    let Some(sandbox) = state.sandbox.clone() else {
        return Err(ApiError::not_found());
    };
    let pid = PaymentId(id);
    let s = state.clone();
    let payment = blocking(move || s.orders.payment(pid).map_err(order_error)).await?;
    let (ts, sig, body) = sandbox
        .notification(&payment, succeeded, Utc::now())
        .map_err(ApiError::internal)?;
    let res = state
        .http
        .post(format!("{}/api/v1/payments/notify", state.public_base_url))
        .header("content-type", "application/json")
        .header("x-pay-timestamp", ts.to_string())
        .header("x-pay-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(ApiError::unavailable)?;
    let status = res.status().as_u16();
    // The notify endpoint always answers JSON (a result or a problem); a body
    // that is not JSON is a failure to report, not a null.
    let notify_body = res
        .json::<serde_json::Value>()
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(SandboxResponse {
        payment_id: id,
        notify_status: status,
        notify_body,
    }))
}

/// Sandbox provider: the buyer paid. The sandbox sends its signed
/// notification to `/api/v1/payments/notify`, as a real provider would.
#[utoipa::path(
    tag = "sandbox",
    params(("payment_id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/payments/{payment_id}/succeed")]
pub async fn sandbox_succeed(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_outcome(state, id.into_inner(), true).await
}

/// Sandbox provider: the payment failed (notification sent likewise).
#[utoipa::path(
    tag = "sandbox",
    params(("payment_id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "Notification sent; its answer", body = SandboxResponse),
        (status = 404, description = "`not_found` (or the sandbox is off)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sandbox/payments/{payment_id}/fail")]
pub async fn sandbox_fail(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    sandbox_outcome(state, id.into_inner(), false).await
}

#[derive(Deserialize, IntoParams)]
pub struct SellerOrderParams {
    /// The seller organization (its staff only).
    pub org_id: Uuid,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A seller's orders (its staff), newest first.
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(SellerOrderParams),
    responses(
        (status = 200, description = "A page of seller orders", body = Page<SellerOrderResponse>),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: not staff of this seller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/seller-orders")]
pub async fn list_seller_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    params: web::Query<SellerOrderParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p
        .cursor
        .as_deref()
        .map(pagination::decode_id)
        .transpose()?
        .map(SellerOrderId);
    let rows = blocking(move || {
        state
            .orders
            .seller_orders(
                user.id,
                OrgId(p.org_id),
                p.status.as_deref(),
                after,
                limit + 1,
            )
            .map_err(order_error)
    })
    .await?;
    let page: Page<SellerOrderResponse> = pagination::page(
        rows,
        limit,
        |s| s.id.0,
        |s| seller_order_response(&s, false),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// One seller order (the seller's staff; others get 404).
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    responses(
        (status = 200, description = "The seller order", body = SellerOrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/seller-orders/{id}")]
pub async fn get_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = SellerOrderId(id.into_inner());
    let so = blocking(move || state.orders.seller_order(user.id, id).map_err(order_error)).await?;
    Ok(HttpResponse::Ok().json(seller_order_response(&so, false)))
}

async fn act(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    action: SellerAction,
) -> Result<HttpResponse, ApiError> {
    let id = SellerOrderId(id);
    let s = state.clone();
    let (so, restocked) = blocking(move || {
        s.orders
            .seller_act(user.id, id, action, Utc::now())
            .map_err(order_error)
    })
    .await?;
    invalidate(&state, restocked).await;
    Ok(HttpResponse::Ok().json(seller_order_response(&so, false)))
}

macro_rules! seller_action {
    ($fn:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "seller orders",
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "Seller order id")),
            responses(
                (status = 200, description = "Updated", body = SellerOrderResponse),
                (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $fn(state: web::Data<AppState>, user: AuthUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
            act(state, user, id.into_inner(), $action).await
        }
    };
}

seller_action!(
    accept_seller_order,
    "/seller-orders/{id}/accept",
    SellerAction::Accept,
    "Accept a paid seller order."
);
seller_action!(
    reject_seller_order,
    "/seller-orders/{id}/reject",
    SellerAction::Reject,
    "Reject a paid seller order: it is refunded at once and its stock returns."
);
seller_action!(
    deliver_seller_order,
    "/seller-orders/{id}/deliver",
    SellerAction::Deliver,
    "Mark a shipped seller order delivered."
);

#[derive(Deserialize, ToSchema)]
pub struct ShipRequest {
    #[schema(example = "顺丰速运")]
    pub carrier: String,
    #[schema(example = "SF1234567890")]
    pub tracking_no: String,
}

/// Ship an accepted seller order (carrier and tracking number).
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    request_body = ShipRequest,
    responses(
        (status = 200, description = "Shipped", body = SellerOrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/ship")]
pub async fn ship_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ShipRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    act(
        state,
        user,
        id.into_inner(),
        SellerAction::Ship {
            carrier: b.carrier,
            tracking_no: b.tracking_no,
        },
    )
    .await
}

/// Refund a seller order in full (paid or accepted, not yet shipped); its
/// stock returns.
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    responses(
        (status = 200, description = "Refunded", body = SellerOrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/refunds")]
pub async fn refund_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    act(state, user, id.into_inner(), SellerAction::Refund).await
}

#[derive(Deserialize, IntoParams)]
pub struct StationParams {
    /// GB/T 2260 prefix
    pub region_code: Option<String>,
}

/// Service stations (pickup points), public.
#[utoipa::path(
    tag = "seller orders",
    params(StationParams),
    responses(
        (status = 200, description = "Stations", body = Page<OrganizationResponse>),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/service-stations")]
pub async fn list_stations(
    state: web::Data<AppState>,
    params: web::Query<StationParams>,
) -> Result<HttpResponse, ApiError> {
    let region = params.into_inner().region_code;
    let rows = blocking(move || {
        state
            .coop
            .list_orgs(Some("service_station"), region.as_deref(), None, None, 200)
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .into_iter()
            .map(OrganizationResponse::from)
            .collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PickupRequest {
    pub seller_order_id: Uuid,
    /// The code the buyer shows.
    #[schema(example = "482913")]
    pub code: String,
}

/// A station's staff confirm a pickup with the buyer's code: the seller
/// order becomes delivered.
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Service station id")),
    request_body = PickupRequest,
    responses(
        (status = 200, description = "Delivered", body = SellerOrderResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (not shipped yet)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wrong_pickup_code`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/service-stations/{id}/pickups")]
pub async fn station_pickup(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<PickupRequest>,
) -> Result<HttpResponse, ApiError> {
    let station = OrgId(id.into_inner());
    let b = body.into_inner();
    let so = blocking(move || {
        state
            .orders
            .pickup(
                user.id,
                station,
                b.code.trim(),
                SellerOrderId(b.seller_order_id),
                Utc::now(),
            )
            .map_err(order_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(seller_order_response(&so, false)))
}
