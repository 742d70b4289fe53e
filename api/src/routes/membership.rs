//! The membership register: applications, members, capital, accounts,
//! votes and surplus distribution. Visible to the cooperative's staff and
//! platform admins (read-only); a member may read its own record. Anyone
//! else gets 404.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use domain::coop::{
    Application, ApplicationId, ApplyInput, Contribution, ContributionInput, Distribution, Member,
    MemberAccount, MemberEvent, MemberId, MemberRef, OrgId, SurplusPlan, TransactionInput,
    YearVolume,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::{coop_error, viewer};
use crate::auth::{AuthUser, Meta};
use crate::error::{ApiError, Problem};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

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

fn refs(r: MemberRef) -> (&'static str, Option<Uuid>, Option<Uuid>) {
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

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50
    pub limit: Option<i64>,
}

type OrgPath = web::Path<Uuid>;
type OrgItemPath = web::Path<(Uuid, Uuid)>;

/// Apply for membership.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id")),
    request_body = ApplicationRequest,
    responses(
        (status = 201, description = "Application pending", body = ApplicationResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin of the applicant organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`application_pending`, `already_member`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `membership_not_supported`, `member_kind_not_allowed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/membership-applications")]
pub async fn apply(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    body: web::Json<ApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let input = ApplyInput {
        applicant_type: b.applicant_type,
        applicant_organization_id: b.applicant_organization_id.map(OrgId),
        is_farmer: b.is_farmer,
        note: b.note,
    };
    let app = blocking(move || {
        state
            .coop
            .apply(&viewer(&user), org, &input)
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(ApplicationResponse::from(app)))
}

/// Applications to a cooperative (staff).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ListParams),
    responses(
        (status = 200, description = "A page of applications", body = Page<ApplicationResponse>),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (status)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/membership-applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let rows = blocking(move || {
        state
            .coop
            .list_applications(&viewer(&user), org, p.status.as_deref(), after, limit + 1)
            .map_err(coop_error)
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
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
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
            .map_err(coop_error)
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
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/membership-applications/{app_id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    path: OrgItemPath,
    body: Option<web::Json<RejectRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (org, app) = path.into_inner();
    let reason = body.and_then(|b| b.into_inner().reason);
    let decided = blocking(move || {
        state
            .coop
            .reject(
                &viewer(&user),
                OrgId(org),
                ApplicationId(app),
                reason.as_deref(),
                &meta.0,
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ApplicationResponse::from(decided)))
}

/// Members of a cooperative (staff, platform admins).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ListParams),
    responses(
        (status = 200, description = "A page of members", body = Page<MemberResponse>),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (status)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let rows = blocking(move || {
        state
            .coop
            .list_members(&viewer(&user), org, p.status.as_deref(), after, limit + 1)
            .map_err(coop_error)
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
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
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
            .map_err(coop_error)
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
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organizations/{id}/members/{member_id}")]
pub async fn change_member(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    path: OrgItemPath,
    body: web::Json<MemberChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let (m, returned) = blocking(move || {
        state
            .coop
            .change_member(
                &viewer(&user),
                OrgId(org),
                MemberId(member),
                &b.action,
                b.reason.as_deref(),
                &meta.0,
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MemberChangeResponse {
        member: m.into(),
        capital_returned_fen: returned.0,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ContributionRequest {
    /// Positive, in fen.
    #[schema(example = 500000)]
    pub amount_fen: i64,
    /// `cash` or `in_kind` (valued in fen)
    #[schema(example = "cash")]
    pub form: String,
    pub description: Option<String>,
    /// Defaults to today; not in the future.
    pub contributed_on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct ContributionResponse {
    pub id: Uuid,
    pub member_id: Uuid,
    pub amount_fen: i64,
    pub form: &'static str,
    pub description: Option<String>,
    pub contributed_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<Contribution> for ContributionResponse {
    fn from(c: Contribution) -> Self {
        Self {
            id: c.id,
            member_id: c.member_id.0,
            amount_fen: c.amount.0,
            form: c.form.as_str(),
            description: c.description,
            contributed_on: c.contributed_on,
            created_at: c.created_at,
        }
    }
}

/// Record a share capital contribution (staff; active members only).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    request_body = ContributionRequest,
    responses(
        (status = 201, description = "Recorded", body = ContributionResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`member_not_active`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/contributions")]
pub async fn add_contribution(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: web::Json<ContributionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let c = blocking(move || {
        state
            .coop
            .add_contribution(
                &viewer(&user),
                OrgId(org),
                MemberId(member),
                &ContributionInput {
                    amount_fen: b.amount_fen,
                    form: b.form,
                    description: b.description,
                    contributed_on: b.contributed_on,
                },
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(ContributionResponse::from(c)))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct TransactionRequest {
    #[schema(example = 2026)]
    pub fiscal_year: i32,
    /// Positive, in fen.
    #[schema(example = 1200000)]
    pub amount_fen: i64,
    /// `offline_delivery`, `platform_sale` or `platform_purchase`
    #[schema(example = "offline_delivery")]
    pub source: String,
    /// Optional unique reference (delivery note no.); a repeat is refused with 409.
    pub reference: Option<String>,
}

/// Record member transaction volume (staff). Completed platform orders feed
/// the same register automatically.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    request_body = TransactionRequest,
    responses(
        (status = 201, description = "Recorded", body = TransactionRequest),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_reference`, `member_not_active`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/transactions")]
pub async fn add_transaction(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: web::Json<TransactionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let echo = TransactionRequest {
        fiscal_year: b.fiscal_year,
        amount_fen: b.amount_fen,
        source: b.source.clone(),
        reference: b.reference.clone(),
    };
    blocking(move || {
        state
            .coop
            .add_transaction(
                &viewer(&user),
                OrgId(org),
                MemberId(member),
                &TransactionInput {
                    fiscal_year: b.fiscal_year,
                    amount_fen: b.amount_fen,
                    source: b.source,
                    reference: b.reference,
                },
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(echo))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct QuantificationRequest {
    /// `reserve` (公积金份额) or `subsidy` (财政补助份额)
    pub kind: String,
    pub fiscal_year: i32,
    pub amount_fen: i64,
}

/// Quantify reserve fund or subsidies to a member's account (admin).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    request_body = QuantificationRequest,
    responses(
        (status = 201, description = "Recorded", body = QuantificationRequest),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`member_not_active`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/quantifications")]
pub async fn add_quantification(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: web::Json<QuantificationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let echo = QuantificationRequest {
        kind: b.kind.clone(),
        fiscal_year: b.fiscal_year,
        amount_fen: b.amount_fen,
    };
    blocking(move || {
        state
            .coop
            .add_quantification(
                &viewer(&user),
                OrgId(org),
                MemberId(member),
                &b.kind,
                b.fiscal_year,
                b.amount_fen,
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(echo))
}

#[derive(Serialize, ToSchema)]
pub struct YearAmount {
    pub fiscal_year: i32,
    pub amount_fen: i64,
}

impl From<YearVolume> for YearAmount {
    fn from(y: YearVolume) -> Self {
        Self {
            fiscal_year: y.fiscal_year,
            amount_fen: y.amount.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountResponse {
    pub member_id: Uuid,
    pub capital_fen: i64,
    pub reserve_share_fen: i64,
    pub subsidy_share_fen: i64,
    pub transaction_volume: Vec<YearAmount>,
    /// Surplus refunded per committed distribution.
    pub refunds: Vec<YearAmount>,
}

impl From<MemberAccount> for AccountResponse {
    fn from(a: MemberAccount) -> Self {
        Self {
            member_id: a.member_id.0,
            capital_fen: a.capital.0,
            reserve_share_fen: a.reserve_share.0,
            subsidy_share_fen: a.subsidy_share.0,
            transaction_volume: a
                .transaction_volume
                .into_iter()
                .map(YearAmount::from)
                .collect(),
            refunds: a.refunds.into_iter().map(YearAmount::from).collect(),
        }
    }
}

/// A member's account (成员账户): capital, quantified reserve and subsidies,
/// transaction volume per fiscal year, refunds.
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("member_id" = Uuid, Path, description = "Member id")),
    responses(
        (status = 200, description = "The account", body = AccountResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/members/{member_id}/account")]
pub async fn account(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let a = blocking(move || {
        state
            .coop
            .account(&viewer(&user), OrgId(org), MemberId(member))
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(a)))
}

#[derive(Deserialize, IntoParams)]
pub struct VotesParams {
    /// Fiscal year whose transaction volume counts (default: this year).
    pub fiscal_year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberVotes {
    pub member_id: Uuid,
    pub basic: i64,
    pub additional: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VotesResponse {
    pub fiscal_year: i32,
    /// `none`, `capital` or `transaction_volume`
    pub basis: &'static str,
    pub total_basic: i64,
    /// At most 20% of `total_basic`.
    pub total_additional: i64,
    pub members: Vec<MemberVotes>,
}

/// Votes of the active members: one basic vote each; additional votes by
/// the cooperative's rule, in total at most 20% of basic votes (staff,
/// platform admins, members).
#[utoipa::path(
    tag = "membership",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), VotesParams),
    responses(
        (status = 200, description = "Votes", body = VotesResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/votes")]
pub async fn votes(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    params: web::Query<VotesParams>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let year = params.fiscal_year;
    let sheet = blocking(move || {
        state
            .coop
            .votes(&viewer(&user), org, year)
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(VotesResponse {
        fiscal_year: sheet.fiscal_year,
        basis: sheet.basis.as_str(),
        total_basic: sheet.total_basic,
        total_additional: sheet.total_additional,
        members: sheet
            .members
            .into_iter()
            .map(|v| MemberVotes {
                member_id: v.member_id.0,
                basic: v.basic,
                additional: v.additional,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SurplusRequest {
    #[schema(example = 2026)]
    pub fiscal_year: i32,
    #[schema(example = 10000000)]
    pub distributable_surplus_fen: i64,
    /// Share refunded by transaction volume, 6000–10000 basis points (default 6000).
    #[schema(example = 6000)]
    pub patronage_ratio_bp: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AllocationResponse {
    pub member_id: Uuid,
    pub patronage_fen: i64,
    pub capital_fen: i64,
    pub total_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SurplusResponse {
    pub fiscal_year: i32,
    pub distributable_surplus_fen: i64,
    pub patronage_ratio_bp: u32,
    /// Rounded up, so never below the ratio.
    pub patronage_pool_fen: i64,
    pub capital_pool_fen: i64,
    pub allocations: Vec<AllocationResponse>,
    pub committed: bool,
    pub committed_at: Option<DateTime<Utc>>,
    pub committed_by: Option<Uuid>,
    pub journal_entry_id: Option<Uuid>,
}

fn plan_response(fiscal_year: i32, plan: SurplusPlan) -> SurplusResponse {
    SurplusResponse {
        fiscal_year,
        distributable_surplus_fen: plan.distributable.0,
        patronage_ratio_bp: plan.patronage_ratio_bp,
        patronage_pool_fen: plan.patronage_pool.0,
        capital_pool_fen: plan.capital_pool.0,
        allocations: plan
            .allocations
            .into_iter()
            .map(|a| AllocationResponse {
                member_id: a.member_id.0,
                patronage_fen: a.patronage.0,
                capital_fen: a.capital.0,
                total_fen: a.total.0,
            })
            .collect(),
        committed: false,
        committed_at: None,
        committed_by: None,
        journal_entry_id: None,
    }
}

fn distribution_response(d: Distribution) -> SurplusResponse {
    let mut r = plan_response(d.fiscal_year, d.plan);
    r.committed = true;
    r.committed_at = Some(d.committed_at);
    r.committed_by = Some(d.committed_by.0);
    r.journal_entry_id = Some(d.journal_entry_id);
    r
}

/// Preview a surplus distribution (staff, platform admins); nothing is stored.
#[utoipa::path(
    tag = "surplus",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id")),
    request_body = SurplusRequest,
    responses(
        (status = 200, description = "The allocations; they sum exactly to the surplus", body = SurplusResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `no_members`, `no_transaction_volume`, `no_capital_basis`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/surplus-distributions/preview")]
pub async fn preview_surplus(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    body: web::Json<SurplusRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let plan = blocking(move || {
        state
            .coop
            .preview_surplus(
                &viewer(&user),
                org,
                b.fiscal_year,
                b.distributable_surplus_fen,
                b.patronage_ratio_bp,
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(plan_response(b.fiscal_year, plan)))
}

/// Commit a surplus distribution (admin): immutable, one per cooperative
/// and fiscal year, posted to the ledger (undistributed surplus → member
/// payables).
#[utoipa::path(
    tag = "surplus",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id")),
    request_body = SurplusRequest,
    responses(
        (status = 201, description = "Committed", body = SurplusResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`distribution_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `no_members`, `no_transaction_volume`, `no_capital_basis`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/surplus-distributions")]
pub async fn commit_surplus(
    state: web::Data<AppState>,
    user: AuthUser,
    meta: Meta,
    id: OrgPath,
    body: web::Json<SurplusRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let d = blocking(move || {
        state
            .coop
            .commit_surplus(
                &viewer(&user),
                org,
                b.fiscal_year,
                b.distributable_surplus_fen,
                b.patronage_ratio_bp,
                &meta.0,
            )
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Created().json(distribution_response(d)))
}

/// A committed distribution (staff, platform admins, members).
#[utoipa::path(
    tag = "surplus",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Cooperative id"), ("year" = i32, Path, description = "Fiscal year")),
    responses(
        (status = 200, description = "The distribution", body = SurplusResponse),
        (status = 401, description = "`unauthorized`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/surplus-distributions/{year}")]
pub async fn get_surplus(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (org, year) = path.into_inner();
    let d = blocking(move || {
        state
            .coop
            .distribution(&viewer(&user), OrgId(org), year)
            .map_err(coop_error)
    })
    .await?;
    Ok(HttpResponse::Ok().json(distribution_response(d)))
}
