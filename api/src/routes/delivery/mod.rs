//! Freight templates and shipments' steps.

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use domain::coop::OrgId;
use domain::delivery::{
    DeliveryError, EventInput, FreightTemplate, FreightTemplateId, Rate, RegionRule, Shipment,
    ShipmentId, TemplateInput,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AuthUser, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::Page;
use crate::state::AppState;
use crate::telemetry::blocking;

mod dto;
mod shipments;
mod templates;

pub use dto::*;
pub use shipments::*;
pub use templates::*;

impl From<DeliveryError> for ApiError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Validation(v) => ApiError::validation(v),
            DeliveryError::NotFound => ApiError::not_found(),
            DeliveryError::TooManyTemplates => ApiError::conflict(
                "too_many_templates",
                format!(
                    "an organization has at most {} freight templates",
                    domain::delivery::MAX_TEMPLATES_PER_ORG
                ),
            ),
            DeliveryError::DuplicateName => ApiError::conflict(
                "duplicate_name",
                "another freight template of this organization has this name",
            ),
            DeliveryError::TemplateInUse(n) => ApiError::conflict(
                "freight_template_in_use",
                format!("{n} listing(s) use this freight template; point them elsewhere first"),
            )
            .with_extra("listings", serde_json::json!(n)),
            DeliveryError::ShipmentClosed => ApiError::conflict(
                "shipment_closed",
                "the shipment has reached the buyer; nothing more is recorded",
            ),
            DeliveryError::Unknown(e) => e.into(),
        }
    }
}
