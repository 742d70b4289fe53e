//! Categories, listings, search, hot lists, storefronts and the partner
//! catalog feed. Reads are public and cached (see `infra::listing_cache`);
//! writes need staff of the seller and invalidate the cache after commit.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::{
    sort_key, CatalogError, Category, CategoryId, CertificationInput, Listing, ListingId,
    ListingInput, ListingStatus, SaleTerms, SearchCursor, SearchParams, Sort, StatusAction,
    TierPrice,
};
use domain::coop::{MemberId, OrgId};
use infra::listing_cache::Tier;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::{double_option, viewer, OrganizationResponse};
use crate::auth::{AuthUser, CatalogRead, OptionalUser, PartnerWith};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

mod dto;
mod feed;
mod listings;
mod search;

pub use dto::*;
pub use feed::*;
pub use listings::*;
pub use search::*;

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Validation(v) => ApiError::validation(v),
            CatalogError::NotFound => ApiError::not_found(),
            CatalogError::Forbidden(m) => ApiError::forbidden("forbidden", m),
            CatalogError::Stale { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                format!("the listing has changed; current version is {current} (fetch it again)"),
            )
            .with_header(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{current}\""))
                    .unwrap_or(HeaderValue::from_static("\"0\"")),
            ),
            CatalogError::InvalidTransition { from, action } => ApiError::conflict(
                "invalid_transition",
                format!("a {from} listing cannot {action}"),
            ),
            CatalogError::InspectionFailed(_) => {
                ApiError::conflict("inspection_failed", e.to_string())
            }
            CatalogError::Unknown(e) => e.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[schema(no_recursion)]
    pub children: Vec<CategoryResponse>,
}

fn tree(all: &[Category], parent: Option<CategoryId>) -> Vec<CategoryResponse> {
    all.iter()
        .filter(|c| c.parent_id == parent)
        .map(|c| CategoryResponse {
            id: c.id.0,
            code: c.code.clone(),
            name: c.name.clone(),
            children: tree(all, Some(c.id)),
        })
        .collect()
}

/// The category tree (public).
#[utoipa::path(tag = "catalog", responses((status = 200, description = "Top-level categories with their children", body = Page<CategoryResponse>)))]
#[get("/categories")]
pub async fn categories(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(move || state.catalog.categories()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: tree(&all, None),
        next_cursor: None,
    }))
}
