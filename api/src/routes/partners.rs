//! Partner (mall integration) clients, managed by platform admins.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::identity::{Partner, PartnerError, PartnerId, PartnerWithSecret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Meta, PlatformAdmin};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::Page;
use crate::state::AppState;
use crate::telemetry::blocking;

#[derive(Deserialize, ToSchema)]
pub struct CreatePartnerRequest {
    #[schema(example = "全国供销合作社商城")]
    pub name: String,
    /// Any of `catalog:read`, `orders:read`, `orders:write`, `webhooks:manage`.
    #[schema(example = json!(["catalog:read", "orders:write"]))]
    pub scopes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdatePartnerRequest {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// `active` or `disabled`; a disabled partner's tokens stop working at once.
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerResponse {
    pub id: Uuid,
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub secret_rotated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerCredentialsResponse {
    #[serde(flatten)]
    pub partner: PartnerResponse,
    /// Shown once; only its hash is stored.
    pub client_secret: String,
}

impl From<Partner> for PartnerResponse {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id.0,
            name: p.name,
            client_id: p.client_id,
            scopes: p
                .scopes
                .to_vec()
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            status: p.status.as_str(),
            created_at: p.created_at,
            secret_rotated_at: p.secret_rotated_at,
        }
    }
}

impl From<PartnerWithSecret> for PartnerCredentialsResponse {
    fn from(p: PartnerWithSecret) -> Self {
        Self {
            partner: p.partner.into(),
            client_secret: p.client_secret,
        }
    }
}

impl From<PartnerError> for ApiError {
    fn from(e: PartnerError) -> Self {
        match e {
            PartnerError::Validation(v) => ApiError::validation(v),
            PartnerError::NotFound => ApiError::not_found(),
            PartnerError::Unknown(e) => e.into(),
        }
    }
}

/// Create a partner client; the secret is in this response only.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    request_body = CreatePartnerRequest,
    responses(
        (status = 201, description = "Created", body = PartnerCredentialsResponse),
        (status = 403, description = "`forbidden`: not a platform admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    admin: PlatformAdmin,
    meta: Meta,
    body: Json<CreatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = blocking(move || {
        state
            .identity
            .create_partner(admin.0, &body.name, &body.scopes, &meta.0)
    })
    .await?;
    Ok(HttpResponse::Created().json(PartnerCredentialsResponse::from(created)))
}

/// List partner clients.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "All partners", body = Page<PartnerResponse>),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partners")]
pub async fn list_partners(
    state: web::Data<AppState>,
    _admin: PlatformAdmin,
) -> Result<HttpResponse, ApiError> {
    let all = blocking(move || state.identity.partners.list()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: all
            .into_iter()
            .map(PartnerResponse::from)
            .collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

/// One partner client.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The partner", body = PartnerResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partners/{id}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    _admin: PlatformAdmin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId(id.into_inner());
    let found = blocking(move || state.identity.partners.find(id)).await?;
    Ok(HttpResponse::Ok().json(PartnerResponse::from(
        found.ok_or_else(ApiError::not_found)?,
    )))
}

/// Issue a new client secret; the old one stops working at once.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "New secret (shown once)", body = PartnerCredentialsResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/partners/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    admin: PlatformAdmin,
    meta: Meta,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId(id.into_inner());
    let rotated = blocking(move || {
        state
            .identity
            .rotate_partner_secret(admin.0, id, &meta.0, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(PartnerCredentialsResponse::from(rotated)))
}

/// Rename, change scopes, disable or re-enable a partner.
#[utoipa::path(
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = UpdatePartnerRequest,
    responses(
        (status = 200, description = "Updated", body = PartnerResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/partners/{id}")]
pub async fn update_partner(
    state: web::Data<AppState>,
    admin: PlatformAdmin,
    meta: Meta,
    id: web::Path<Uuid>,
    body: Json<UpdatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId(id.into_inner());
    let body = body.into_inner();
    let updated = blocking(move || {
        state.identity.update_partner(
            admin.0,
            id,
            body.name.as_deref(),
            body.scopes.as_deref(),
            body.status.as_deref(),
            &meta.0,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(PartnerResponse::from(updated)))
}
