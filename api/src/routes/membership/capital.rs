//! Share capital, transaction volume, quantified reserve/subsidy, member accounts.

use super::*;

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
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`member_not_active`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/contributions")]
pub async fn add_contribution(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: Json<ContributionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let c = blocking(move || {
        state.coop.add_contribution(
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
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_reference`, `member_not_active`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/transactions")]
pub async fn add_transaction(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: Json<TransactionRequest>,
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
        state.coop.add_transaction(
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
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`member_not_active`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations/{id}/members/{member_id}/quantifications")]
pub async fn add_quantification(
    state: web::Data<AppState>,
    user: AuthUser,
    path: OrgItemPath,
    body: Json<QuantificationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    let b = body.into_inner();
    let echo = QuantificationRequest {
        kind: b.kind.clone(),
        fiscal_year: b.fiscal_year,
        amount_fen: b.amount_fen,
    };
    blocking(move || {
        state.coop.add_quantification(
            &viewer(&user),
            OrgId(org),
            MemberId(member),
            &b.kind,
            b.fiscal_year,
            b.amount_fen,
        )
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
    })
    .await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(a)))
}
