//! Placing, reading, cancelling and confirming orders (Idempotency-Key).

use super::*;

pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
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

pub(crate) fn to_input(b: CreateOrderRequest) -> Result<CreateOrderInput, ApiError> {
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

pub(crate) async fn invalidate(state: &AppState, listings: impl IntoIterator<Item = ListingId>) {
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
    params(("Idempotency-Key" = String, Header, description = "Unique per intended order, 1–255 visible ASCII characters", min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Created (or replayed: header `Idempotent-Replayed: true`)", body = OrderResponse),
        (status = 400, description = "`idempotency_key_required`, `idempotency_key_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`insufficient_scope` (partner without orders:write)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`out_of_stock`, `listing_unavailable`, `group_buy_closed` (with `listing_id`), `idempotency_key_in_flight`, `duplicate_external_ref`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `not_deliverable` (with `listing_id`: its freight template does not deliver to the address or station), `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let key = idempotency_key(&req)?;
    let raw = body.into_inner();
    let hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&raw).map_err(ApiError::internal)?,
    ));
    let parsed: CreateOrderRequest =
        serde_json::from_value(raw).map_err(|e| ApiError::body_shape(&e))?;
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

/// What an order would cost now, per seller order: items, freight, total
/// (the body of `POST /orders`; no Idempotency-Key, nothing is written).
/// Every check of `POST /orders` applies, so the refusals are the same.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    request_body = CreateOrderRequest,
    responses(
        (status = 200, description = "The quote", body = QuoteResponse),
        (status = 403, description = "`insufficient_scope` (partner without orders:write)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`out_of_stock`, `listing_unavailable`, `group_buy_closed` (with `listing_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `not_deliverable` (with `listing_id`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/quote")]
pub async fn quote_order(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let buyer = buyer(&caller, Scope::OrdersWrite)?;
    let input = to_input(body.into_inner())?;
    let quote = blocking(move || state.orders.quote(buyer, &input, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(QuoteResponse::from(&quote)))
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// The caller's orders, newest first.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderResponse>),
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
    let rows = blocking(move || state.orders.list(buyer, after, limit + 1)).await?;
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
        let o = state.orders.get(buyer, id)?;
        let e = state.orders.events(buyer, id)?;
        Ok::<_, ApiError>((o, e))
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
        let r = s.orders.cancel(buyer, id, Utc::now())?;
        Ok::<_, ApiError>((r, s.orders.get(buyer, id)?))
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
    let order = blocking(move || state.orders.confirm_receipt(buyer, id, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(order_response(&order)))
}
