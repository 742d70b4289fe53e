//! Organizations and their staff.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::coop::{
    CoopError, CreateOrgInput, OrgId, Organization, StaffMember, UpdateOrgInput, Viewer,
};
use domain::identity::UserId;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthUser, Meta};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

/// Maps cooperative use-case errors to problems.
impl From<CoopError> for ApiError {
    fn from(e: CoopError) -> Self {
        use actix_web::http::StatusCode;
        match e {
            CoopError::Validation(v) => ApiError::validation(v),
            CoopError::NotFound => ApiError::not_found(),
            CoopError::Forbidden(code, message) => ApiError::forbidden(code, message),
            CoopError::Conflict { code, message } => ApiError::conflict(code, message),
            CoopError::Rule { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            CoopError::Unknown(e) => e.into(),
        }
    }
}

pub fn viewer(user: &AuthUser) -> Viewer {
    Viewer {
        user: user.id,
        platform_admin: user.platform_admin,
    }
}

/// Distinguishes an absent field from an explicit `null`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct CreateOrganizationRequest {
    /// `supply_marketing_coop`, `grassroots_coop`, `farmer_coop`, `coop_union`, `enterprise`, `family_farm`, `service_station`, `logistics_hub`
    #[schema(example = "farmer_coop")]
    pub kind: String,
    #[schema(example = "合心镇甜瓜专业合作社")]
    pub name: String,
    /// 统一社会信用代码 (GB 32100, check character verified; `93…` for farmer cooperatives)
    #[schema(example = "93220106MA0Y3XXX0T")]
    pub credit_code: String,
    /// GB/T 2260 county code (6 digits), optionally 9 or 12 digits
    #[schema(example = "220106")]
    pub region_code: String,
    pub parent_id: Option<Uuid>,
    #[schema(example = "coop@example.com")]
    pub contact_email: String,
    /// Additional votes by `none` (default), `capital` or `transaction_volume`
    pub additional_vote_basis: Option<String>,
    /// Service stations: the fee per seller order picked up there (default 0).
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub pickup_fee_fen: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateOrganizationRequest {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub region_code: Option<String>,
    /// A new parent, or `null` to detach.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub parent_id: Option<Option<Uuid>>,
    pub additional_vote_basis: Option<String>,
    /// Service stations: the fee per seller order picked up there.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub pickup_fee_fen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    /// e.g. "吉林省 长春市 绿园区"
    pub region_name: String,
    pub parent_id: Option<Uuid>,
    pub contact_email: String,
    pub additional_vote_basis: &'static str,
    /// Service stations: what a buyer pays per seller order picked up there.
    pub pickup_fee_fen: i64,
    /// Always `active` (organizations are not deleted).
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationResponse {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.0,
            kind: o.kind.as_str(),
            name: o.name,
            credit_code: o.credit_code.as_str().to_owned(),
            region_name: o.region_code.display_name(),
            region_code: o.region_code.as_str().to_owned(),
            parent_id: o.parent_id.map(|p| p.0),
            contact_email: o.contact_email,
            additional_vote_basis: o.additional_vote_basis.as_str(),
            pickup_fee_fen: o.pickup_fee.0,
            status: "active",
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct OrganizationParams {
    #[param(schema_with = contract::one_of::<domain::coop::OrgKind>)]
    pub kind: Option<String>,
    /// GB/T 2260 prefix: `22` (province), `2201` (city), `220106` (county) …
    #[param(schema_with = contract::region_prefix)]
    pub region_code: Option<String>,
    pub parent_id: Option<Uuid>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// Create an organization; the caller becomes its admin. A
/// `supply_marketing_coop` needs a platform admin; attaching to a parent
/// needs the parent's admin.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created", body = OrganizationResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`credit_code_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (credit code checksum, region, parent kind …)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations")]
pub async fn create_organization(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    body: Json<CreateOrganizationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = CreateOrgInput {
        kind: b.kind,
        name: b.name,
        credit_code: b.credit_code,
        region_code: b.region_code,
        parent_id: b.parent_id.map(OrgId),
        contact_email: b.contact_email,
        additional_vote_basis: b.additional_vote_basis,
        pickup_fee_fen: b.pickup_fee_fen,
    };
    let org = blocking(move || state.coop.create_org(&viewer(&user), &input, &meta.0)).await?;
    Ok(HttpResponse::Created().json(OrganizationResponse::from(org)))
}

/// List organizations (public), oldest first.
#[utoipa::path(
    tag = "organizations",
    params(OrganizationParams),
    responses(
        (status = 200, description = "A page of organizations", body = Page<OrganizationResponse>),
        (status = 400, description = "`invalid_query` / `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (unknown kind, bad region prefix)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations")]
pub async fn list_organizations(
    state: web::Data<AppState>,
    params: web::Query<OrganizationParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p
        .cursor
        .as_deref()
        .map(pagination::decode_id)
        .transpose()?
        .map(OrgId);
    let rows = blocking(move || {
        state.coop.list_orgs(
            p.kind.as_deref(),
            p.region_code.as_deref(),
            p.parent_id.map(OrgId),
            after,
            limit + 1,
        )
    })
    .await?;
    let page: Page<OrganizationResponse> =
        pagination::page(rows, limit, |o| o.id.0, OrganizationResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// One organization (public).
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
    )
)]
#[get("/organizations/{id}")]
pub async fn get_organization(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let org = blocking(move || state.coop.get_org(id)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}

/// Update an organization (its admin). Moving it under a new parent checks
/// the parent-kind rules and refuses cycles (422 `parent_cycle`).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = UpdateOrganizationRequest,
    responses(
        (status = 200, description = "Updated", body = OrganizationResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `parent_cycle`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organizations/{id}")]
pub async fn update_organization(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    id: web::Path<Uuid>,
    body: Json<UpdateOrganizationRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let b = body.into_inner();
    let input = UpdateOrgInput {
        name: b.name,
        contact_email: b.contact_email,
        region_code: b.region_code,
        parent_id: b.parent_id.map(|p| p.map(OrgId)),
        additional_vote_basis: b.additional_vote_basis,
        pickup_fee_fen: b.pickup_fee_fen,
    };
    let org = blocking(move || state.coop.update_org(&viewer(&user), id, &input, &meta.0)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}

/// Direct children in the organization tree (public).
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Children", body = Page<OrganizationResponse>),
    )
)]
#[get("/organizations/{id}/children")]
pub async fn list_children(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let rows = blocking(move || state.coop.children(id)).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .into_iter()
            .map(OrganizationResponse::from)
            .collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StaffResponse {
    pub user_id: Uuid,
    /// `admin` or `clerk`
    pub role: &'static str,
    pub display_name: String,
    pub email: Option<String>,
    pub added_at: DateTime<Utc>,
}

impl From<StaffMember> for StaffResponse {
    fn from(s: StaffMember) -> Self {
        Self {
            user_id: s.user_id.0,
            role: s.role.as_str(),
            display_name: s.display_name,
            email: s.email,
            added_at: s.added_at,
        }
    }
}

fn staff_page(rows: Vec<StaffMember>) -> Page<StaffResponse> {
    Page {
        items: rows.into_iter().map(StaffResponse::from).collect(),
        next_cursor: None,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct AddStaffRequest {
    /// The user, by id …
    pub user_id: Option<Uuid>,
    /// … or by e-mail.
    pub email: Option<String>,
    /// `admin` or `clerk`
    #[schema(schema_with = contract::one_of::<domain::coop::StaffRole>)]
    pub role: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RemoveStaffRequest {
    pub user_id: Uuid,
}

/// Staff of an organization (its staff and platform admins).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Staff", body = Page<StaffResponse>),
        (status = 404, description = "`not_found` (also when the caller is not staff)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/staff")]
pub async fn list_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let rows = blocking(move || state.coop.list_staff(&viewer(&user), id)).await?;
    Ok(HttpResponse::Ok().json(staff_page(rows)))
}

/// Add a staff member or change a role (organization admin).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = AddStaffRequest,
    responses(
        (status = 200, description = "All staff after the change", body = Page<StaffResponse>),
        (status = 403, description = "`forbidden` (clerks, platform admins)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`: would demote the last admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/staff")]
pub async fn add_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    id: web::Path<Uuid>,
    body: Json<AddStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let b = body.into_inner();
    let rows = blocking(move || {
        state.coop.add_staff(
            &viewer(&user),
            id,
            b.user_id.map(UserId),
            b.email.as_deref(),
            &b.role,
            &meta.0,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(staff_page(rows)))
}

/// Remove a staff member (organization admin); the last admin stays.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = RemoveStaffRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organizations/{id}/staff")]
pub async fn remove_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    id: web::Path<Uuid>,
    body: Json<RemoveStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = OrgId(id.into_inner());
    let target = UserId(body.user_id);
    blocking(move || state.coop.remove_staff(&viewer(&user), id, target, &meta.0)).await?;
    Ok(HttpResponse::NoContent().finish())
}
