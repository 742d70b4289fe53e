//! Membership applications: apply, list, approve (composition rules), reject.

use super::*;

#[derive(Deserialize, ToSchema)]
pub struct ApplicationRequest {
    /// `user` (the caller) or `organization` (one the caller administers)
    #[schema(example = "user")]
    pub applicant_type: String,
    pub applicant_organization_id: Option<Uuid>,
    /// For natural persons: is the applicant a farmer (农民)?
    #[serde(default)]
    pub is_farmer: bool,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `user` or `organization`
    pub applicant_type: &'static str,
    pub applicant_user_id: Option<Uuid>,
    pub applicant_organization_id: Option<Uuid>,
    pub is_farmer: bool,
    pub note: Option<String>,
    /// `pending`, `approved` or `rejected`
    pub status: &'static str,
    pub member_id: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn refs(r: MemberRef) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    match r {
        MemberRef::User(u) => ("user", Some(u.0), None),
        MemberRef::Organization(o) => ("organization", None, Some(o.0)),
    }
}

impl From<Application> for ApplicationResponse {
    fn from(a: Application) -> Self {
        let (kind, user, org) = refs(a.applicant);
        Self {
            id: a.id.0,
            organization_id: a.organization_id.0,
            applicant_type: kind,
            applicant_user_id: user,
            applicant_organization_id: org,
            is_farmer: a.is_farmer,
            note: a.note,
            status: a.status.as_str(),
            member_id: a.member_id.map(|m| m.0),
            decided_by: a.decided_by.map(|u| u.0),
            decided_at: a.decided_at,
            decision_reason: a.decision_reason,
            created_at: a.created_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ApplicationListParams {
    #[param(schema_with = contract::one_of::<domain::coop::ApplicationStatus>)]
    pub status: Option<String>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
pub struct MemberListParams {
    #[param(schema_with = contract::one_of::<domain::coop::MemberStatus>)]
    pub status: Option<String>,
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// Apply for membership.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id")),
    request_body = ApplicationRequest,
    responses(
        (status = 201, description = "Application pending", body = ApplicationResponse),
        (status = 403, description = "`forbidden`: not an admin of the applicant organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_pending`, `already_member`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `membership_not_supported`, `member_kind_not_allowed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/membership-applications")]
pub async fn apply(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    body: Json<ApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let input = ApplyInput {
        applicant_type: b.applicant_type,
        applicant_organization_id: b.applicant_organization_id.map(OrgId),
        is_farmer: b.is_farmer,
        note: b.note,
    };
    let app = blocking(move || state.coop.apply(&viewer(&user), org, &input)).await?;
    Ok(HttpResponse::Created().json(ApplicationResponse::from(app)))
}

/// Applications to a cooperative (staff).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ApplicationListParams),
    responses(
        (status = 200, description = "A page of applications", body = Page<ApplicationResponse>),
        (status = 422, description = "`validation_failed` (status)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/membership-applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    params: web::Query<ApplicationListParams>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let rows = blocking(move || {
        state
            .coop
            .list_applications(&viewer(&user), org, p.status.as_deref(), after, limit + 1)
    })
    .await?;
    let page: Page<ApplicationResponse> =
        pagination::page(rows, limit, |a| a.id.0, ApplicationResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Approve an application (admin). For a farmer_coop the composition rules
/// are checked: farmers ≥ 80%; ≤ 20 members → at most one enterprise /
/// institution member, above 20 → at most 5%.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("app_id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "Approved; `member_id` is the new member", body = ApplicationResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (already decided), `already_member`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`composition_farmer_share`, `composition_enterprise_limit`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/membership-applications/{app_id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    path: OrgItemPath,
) -> Result<HttpResponse, ApiError> {
    let (org, app) = path.into_inner();
    let decided = blocking(move || {
        state
            .coop
            .approve(&viewer(&user), OrgId(org), ApplicationId(app), &meta.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ApplicationResponse::from(decided)))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RejectRequest {
    pub reason: Option<String>,
}

/// Reject an application (admin).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("app_id" = Uuid, Path, description = "Application id")),
    request_body(content = Option<RejectRequest>, description = "Optional reason"),
    responses(
        (status = 200, description = "Rejected", body = ApplicationResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/membership-applications/{app_id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    path: OrgItemPath,
    body: OptionalJson<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, app) = path.into_inner();
    let reason = body.0.and_then(|b| b.reason);
    let decided = blocking(move || {
        state.coop.reject(
            &viewer(&user),
            OrgId(org),
            ApplicationId(app),
            reason.as_deref(),
            &meta.0,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(ApplicationResponse::from(decided)))
}
