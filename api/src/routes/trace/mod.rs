//! Traceability: batches and their events (producer staff), the public
//! trace (JSON, QR codes) and the page a shopper's phone opens (`/t/{code}`).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use domain::trace::{BatchCode, TraceError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::telemetry::blocking;

mod batches;
mod dto;
mod page;
mod public;
mod qr;

pub use batches::*;
pub use dto::*;
pub use page::*;
pub use public::*;

impl From<TraceError> for ApiError {
    fn from(e: TraceError) -> Self {
        match e {
            TraceError::Validation(v) => ApiError::validation(v),
            TraceError::NotFound => ApiError::not_found(),
            TraceError::Forbidden => ApiError::forbidden(
                "forbidden",
                "only staff of the producer organization may open its batches",
            ),
            TraceError::Refused(m) => ApiError::conflict("already_corrected", m),
            TraceError::Unknown(e) => e.into(),
        }
    }
}

/// A code from the path: one that cannot exist is simply not found.
fn code_of(raw: &str) -> Result<BatchCode, ApiError> {
    BatchCode::parse(raw).map_err(|_| ApiError::not_found())
}
