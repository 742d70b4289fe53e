//! The member register: list, read, and status changes (suspend, withdraw, expel).

use super::*;

#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Option<Uuid>,
    pub member_organization_id: Option<Uuid>,
    pub is_farmer: bool,
    /// `active`, `suspended`, `withdrawn` or `expelled`
    pub status: &'static str,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        let (_, user, org) = refs(m.member);
        Self {
            id: m.id.0,
            organization_id: m.organization_id.0,
            user_id: user,
            member_organization_id: org,
            is_farmer: m.is_farmer,
            status: m.status.as_str(),
            joined_at: m.joined_at,
            left_at: m.left_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberEventResponse {
    pub id: Uuid,
    /// `applied`, `approved`, `suspended`, `active` (reinstated), `withdrawn`, `expelled`, `contribution`
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor_id: Option<Uuid>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

impl From<MemberEvent> for MemberEventResponse {
    fn from(e: MemberEvent) -> Self {
        Self {
            id: e.id,
            event: e.event,
            from_status: e.from_status,
            to_status: e.to_status,
            actor_id: e.actor_id.map(|a| a.0),
            reason: e.reason,
            details: e.details,
            occurred_at: e.occurred_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberDetailResponse {
    #[serde(flatten)]
    pub member: MemberResponse,
    /// Every change, oldest first.
    pub history: Vec<MemberEventResponse>,
}

/// Members of a cooperative (staff, platform admins).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), MemberListParams),
    responses(
        (status = 200, description = "A page of members", body = Page<MemberResponse>),
        (status = 422, description = "`validation_failed` (status)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    params: web::Query<MemberListParams>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let rows = blocking(move || {
        state
            .coop
            .list_members(&viewer(&user), org, p.status.as_deref(), after, limit + 1)
    })
    .await?;
    let page: Page<MemberResponse> =
        pagination::page(rows, limit, |m| m.id.0, MemberResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// One member with its full history (staff, platform admins, the member).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    responses(
        (status = 200, description = "The member", body = MemberDetailResponse),
    )
)]
#[get("/organizations/{id}/members/{member_id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let (m, history) = blocking(move || {
        state
            .coop
            .get_member(&viewer(&user), OrgId(org), MemberId(member))
    })
    .await?;
    Ok(HttpResponse::Ok().json(MemberDetailResponse {
        member: m.into(),
        history: history.into_iter().map(MemberEventResponse::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct MemberChangeRequest {
    /// `suspend`, `reinstate`, `withdraw` (退社) or `expel`
    #[schema(schema_with = contract::one_of::<domain::coop::MemberAction>)]
    pub action: String,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberChangeResponse {
    #[serde(flatten)]
    pub member: MemberResponse,
    /// Capital paid back when the membership ended (0 otherwise).
    pub capital_returned_fen: i64,
}

/// Change a member's status (admin): active ⇄ suspended; withdraw and expel
/// end the membership and return its capital.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    request_body = MemberChangeRequest,
    responses(
        (status = 200, description = "Changed", body = MemberChangeResponse),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organizations/{id}/members/{member_id}")]
pub async fn change_member(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    path: OrgItemPath,
    body: Json<MemberChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let (m, returned) = blocking(move || {
        state.coop.change_member(
            &viewer(&user),
            OrgId(org),
            MemberId(member),
            &b.action,
            b.reason.as_deref(),
            &meta.0,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(MemberChangeResponse {
        member: m.into(),
        capital_returned_fen: returned.0,
    }))
}
