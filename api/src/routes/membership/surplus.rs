//! Surplus distribution (盈余分配): preview, commit, read.

use super::*;

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

pub(crate) fn plan_response(fiscal_year: i32, plan: SurplusPlan) -> SurplusResponse {
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

pub(crate) fn distribution_response(d: Distribution) -> SurplusResponse {
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
        (status = 422, description = "`validation_failed`, `no_members`, `no_transaction_volume`, `no_capital_basis`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/surplus-distributions/preview")]
pub async fn preview_surplus(
    state: web::Data<AppState>,
    user: AuthUser,
    id: OrgPath,
    body: Json<SurplusRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let plan = blocking(move || {
        state.coop.preview_surplus(
            &viewer(&user),
            org,
            b.fiscal_year,
            b.distributable_surplus_fen,
            b.patronage_ratio_bp,
        )
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
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
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
    body: Json<SurplusRequest>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let b = body.into_inner();
    let d = blocking(move || {
        state.coop.commit_surplus(
            &viewer(&user),
            org,
            b.fiscal_year,
            b.distributable_surplus_fen,
            b.patronage_ratio_bp,
            &meta.0,
        )
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
    )
)]
#[get("/organizations/{id}/surplus-distributions/{year}")]
pub async fn get_surplus(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, ApiError> {
    let (org, year) = path.into_inner();
    let d = blocking(move || state.coop.distribution(&viewer(&user), OrgId(org), year)).await?;
    Ok(HttpResponse::Ok().json(distribution_response(d)))
}
