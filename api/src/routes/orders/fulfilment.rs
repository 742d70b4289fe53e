//! Seller orders: accept, reject, ship, deliver, refunds; station pickups.

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct SellerOrderParams {
    /// The seller organization (its staff only).
    pub org_id: Uuid,
    #[param(schema_with = contract::one_of::<domain::orders::SellerOrderStatus>)]
    pub status: Option<String>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// A seller's orders (its staff), newest first.
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(SellerOrderParams),
    responses(
        (status = 200, description = "A page of seller orders", body = Page<SellerOrderResponse>),
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
    let status = pagination::enum_param("status", p.status.as_deref())?;
    let rows = blocking(move || {
        state
            .orders
            .seller_orders(user.id, OrgId(p.org_id), status, after, limit + 1)
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
    )
)]
#[get("/seller-orders/{id}")]
pub async fn get_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = SellerOrderId(id.into_inner());
    let so = blocking(move || state.orders.seller_order(user.id, id)).await?;
    Ok(HttpResponse::Ok().json(seller_order_response(&so, false)))
}

pub(crate) async fn act(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    action: SellerAction,
) -> Result<HttpResponse, ApiError> {
    let id = SellerOrderId(id);
    let s = state.clone();
    let (so, restocked) =
        blocking(move || s.orders.seller_act(user.id, id, action, Utc::now())).await?;
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
    #[schema(example = "顺丰速运", min_length = 1, max_length = 50)]
    pub carrier: String,
    #[schema(example = "SF1234567890", min_length = 1, max_length = 64)]
    pub tracking_no: String,
    /// Logistics hubs and service stations on the way (they may then see
    /// the parcel and record its steps). The pickup station is always on it.
    #[serde(default)]
    pub route: Vec<Uuid>,
}

/// Ship an accepted seller order: one shipment of everything not shipped
/// yet (carrier and tracking number).
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    request_body = ShipRequest,
    responses(
        (status = 200, description = "Shipped", body = SellerOrderResponse),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/ship")]
pub async fn ship_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ShipRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    act(
        state,
        user,
        id.into_inner(),
        SellerAction::Ship {
            shipment_id: ShipmentId::new(),
            carrier: b.carrier,
            tracking_no: b.tracking_no,
            items: None,
            route: b.route.into_iter().map(OrgId).collect(),
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct ShipmentRequest {
    #[schema(example = "中国邮政", min_length = 1, max_length = 50)]
    pub carrier: String,
    #[schema(example = "9876543210123", min_length = 1, max_length = 64)]
    pub tracking_no: String,
    /// What goes in this parcel; absent: everything not shipped yet.
    pub items: Option<Vec<crate::routes::delivery::ShipmentItemBody>>,
    /// Logistics hubs and service stations on the way (the pickup station
    /// is always on it).
    #[serde(default)]
    pub route: Vec<Uuid>,
}

/// Ship part (or the rest) of an accepted seller order as one parcel. The
/// seller order is `shipped` once every unit is in a shipment; until then
/// it stays `accepted` (and can no longer be refunded before shipping).
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    request_body = ShipmentRequest,
    responses(
        (status = 201, description = "The new shipment", body = crate::routes::delivery::ShipmentResponse),
        (status = 409, description = "`invalid_transition` (not accepted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: unknown item, more than is left, route not of hubs or stations", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/shipments")]
pub async fn create_shipment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ShipmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let shipment_id = ShipmentId::new();
    let action = SellerAction::Ship {
        shipment_id,
        carrier: b.carrier,
        tracking_no: b.tracking_no,
        items: b.items.map(|items| {
            items
                .into_iter()
                .map(|i| ShipmentItem {
                    order_item_id: i.order_item_id,
                    quantity: i.quantity,
                })
                .collect()
        }),
        route: b.route.into_iter().map(OrgId).collect(),
    };
    let id = SellerOrderId(id.into_inner());
    let (so, _) =
        blocking(move || state.orders.seller_act(user.id, id, action, Utc::now())).await?;
    let shipment = so
        .shipments
        .iter()
        .find(|s| s.id == shipment_id)
        .ok_or_else(|| ApiError::internal("the new shipment was not read back"))?;
    Ok(HttpResponse::Created().json(crate::routes::delivery::shipment_response(shipment)))
}

/// Refund a seller order (its staff). Without a body (or without
/// `amount_fen` / `quantity`): in full, while nothing has shipped; its stock
/// returns (200, the seller order). With an `amount_fen` (of the seller
/// order, or of a line with `order_item_id`) or a line's `quantity`: part
/// of a shipped seller order, at once — an after-sales refund by the seller
/// that goes straight to the payment provider (201, the refund request).
#[utoipa::path(
    tag = "seller orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller order id")),
    request_body(content = Option<crate::routes::after_sales::SellerRefundBody>, description = "Optional: a partial refund"),
    responses(
        (status = 200, description = "Refunded in full", body = SellerOrderResponse),
        (status = 201, description = "A partial refund, sent to the payment provider", body = crate::routes::after_sales::RefundRequestResponse),
        (status = 409, description = "`invalid_transition` (full refund after shipping), `not_refundable` (partial before anything shipped), `refund_exceeds_paid`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seller-orders/{id}/refunds")]
pub async fn refund_seller_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: crate::routes::after_sales::OptionalSellerRefund,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match body.0.and_then(|b| b.partial()) {
        Some(ask) => {
            crate::routes::after_sales::seller_partial_refund(state, user, SellerOrderId(id), ask)
                .await
        }
        None => act(state, user, id, SellerAction::Refund).await,
    }
}

#[derive(Deserialize, IntoParams)]
pub struct StationParams {
    /// GB/T 2260 prefix
    #[param(schema_with = contract::region_prefix)]
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
        (status = 409, description = "`invalid_transition` (not shipped yet)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wrong_pickup_code`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/service-stations/{id}/pickups")]
pub async fn station_pickup(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<PickupRequest>,
) -> Result<HttpResponse, ApiError> {
    let station = OrgId(id.into_inner());
    let b = body.into_inner();
    let so = blocking(move || {
        state.orders.pickup(
            user.id,
            station,
            b.code.trim(),
            SellerOrderId(b.seller_order_id),
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(seller_order_response(&so, false)))
}
