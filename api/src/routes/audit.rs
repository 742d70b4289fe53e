//! The audit log, for platform admins.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::identity::{AuditQuery, AuditRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::PlatformAdmin;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    /// e.g. `auth.login_failed`, `auth.token_family_revoked`, `partner.created`
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `anonymous`, `user`, `partner` or `system`
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditEntryResponse {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            occurred_at: r.occurred_at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id,
            ip: r.ip,
            request_id: r.request_id,
            details: r.details,
        }
    }
}

/// Audit log, newest first: logins, failed logins, token family
/// revocations and every admin action.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of entries", body = Page<AuditEntryResponse>),
        (status = 400, description = "`invalid_query` / `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-log")]
pub async fn list_audit(
    state: web::Data<AppState>,
    _admin: PlatformAdmin,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let query = AuditQuery {
        action: p.action,
        actor_id: p.actor_id,
        before: p.cursor.as_deref().map(pagination::decode_id).transpose()?,
        limit: limit + 1,
    };
    let rows = blocking(move || state.identity.audit.list(&query)).await?;
    let page: Page<AuditEntryResponse> =
        pagination::page(rows, limit, |r| r.id, AuditEntryResponse::from);
    Ok(HttpResponse::Ok().json(page))
}
