//! `/shipments/{id}`: a parcel's way, and the steps hubs, stations and the
//! seller record.

use super::*;

/// One shipment with its steps: for its buyer, its seller's staff, and the
/// staff of organizations on its route or that recorded a step (others 404).
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "The shipment", body = ShipmentResponse),
        (status = 403, description = "`insufficient_scope` (partner without orders:read)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/shipments/{id}")]
pub async fn get_shipment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let viewer = crate::routes::orders::reading_buyer(&caller)?;
    let id = ShipmentId(id.into_inner());
    let v = blocking(move || state.delivery.shipment(viewer, id)).await?;
    Ok(HttpResponse::Ok().json(shipment_response(&v.shipment)))
}

/// Record a step of a parcel's way (staff of a logistics hub or service
/// station, or of the seller). The last parcel of a home delivery marked
/// `delivered` delivers the seller order.
#[utoipa::path(
    tag = "delivery",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    request_body = ShipmentEventRequest,
    responses(
        (status = 201, description = "Recorded: the shipment with its steps", body = ShipmentResponse),
        (status = 409, description = "`shipment_closed`: delivered or picked up already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/shipments/{id}/events")]
pub async fn record_shipment_event(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ShipmentEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ShipmentId(id.into_inner());
    let (input, org) = body.into_inner().into_input();
    let v = blocking(move || {
        state
            .delivery
            .record_event(user.id, id, &input, org, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(shipment_response(&v.shipment)))
}
