//! Basic and additional votes per member.

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct VotesParams {
    /// Fiscal year whose transaction volume counts (default: this year).
    #[param(schema_with = contract::fiscal_year)]
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
    let sheet = blocking(move || state.coop.votes(&viewer(&user), org, year)).await?;
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
