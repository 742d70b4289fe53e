//! Orders, payments, seller orders and service-station pickups.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::ListingId;
use domain::coop::OrgId;
use domain::delivery::{ShipmentId, ShipmentItem};
use domain::identity::{Principal, Scope};
use domain::orders::{
    Address, Buyer, CreateOrderInput, Created, Delivery, Order, OrderError, OrderEvent, OrderId,
    OrderLine, Payment, PaymentApplied, PaymentId, SellerAction, SellerOrder, SellerOrderId,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::OrganizationResponse;
use crate::auth::{require_scope, AuthUser, Caller};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

mod checkout;
mod dto;
mod fulfilment;
mod payments;

pub use checkout::*;
pub use dto::*;
pub use fulfilment::*;
pub use payments::*;

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        let listing = |code: &'static str, id: ListingId, msg: String| {
            ApiError::conflict(code, msg)
                .with_extra("listing_id", serde_json::json!(id.to_string()))
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
            OrderError::NotDeliverable(id) => ApiError::unprocessable(
                "not_deliverable",
                format!("listing {id} is not delivered to this address"),
            )
            .with_extra("listing_id", serde_json::json!(id.to_string())),
            OrderError::WrongPickupCode => {
                ApiError::unprocessable("wrong_pickup_code", "the pickup code does not match")
            }
            OrderError::Unknown(e) => e.into(),
        }
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
pub(crate) fn reading_buyer(caller: &Caller) -> Result<Buyer, ApiError> {
    buyer(caller, Scope::OrdersRead).or_else(|_| buyer(caller, Scope::OrdersWrite))
}
