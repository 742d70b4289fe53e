//! `/commission-rules`: the platform's commission rules (platform admins).

use actix_web::{get, put, web, HttpResponse};
use chrono::NaiveDate;
use domain::catalog::CategoryId;
use domain::settlement::{CommissionError, CommissionRule, RuleInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<CommissionError> for ApiError {
    fn from(e: CommissionError) -> Self {
        match e {
            CommissionError::Validation(v) => ApiError::validation(v),
            CommissionError::NotFound => ApiError::not_found(),
            CommissionError::Unknown(e) => e.into(),
        }
    }
}

/// A rule: basis points for a category subtree and/or a seller kind, in
/// force from a date. The most specific rule in force wins (own category >
/// top-level category > none; seller kind named > not; then the latest
/// date).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct CommissionRuleBody {
    /// A category (its subtree); null: any.
    pub category_id: Option<Uuid>,
    /// null: any seller kind.
    #[schema(schema_with = crate::contract::optional_one_of::<domain::coop::OrgKind>)]
    pub seller_kind: Option<String>,
    #[schema(example = 300, minimum = 0, maximum = 3000)]
    pub rate_bp: i64,
    #[schema(example = "2026-12-01")]
    pub effective_from: NaiveDate,
}

/// The whole rule set.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct CommissionRulesBody {
    /// Must include a catch-all (no category, no kind) in force from the
    /// earliest date of the set.
    pub items: Vec<CommissionRuleBody>,
}

fn body(rules: &[CommissionRule]) -> CommissionRulesBody {
    CommissionRulesBody {
        items: rules
            .iter()
            .map(|r| CommissionRuleBody {
                category_id: r.category_id.map(|c| c.0),
                seller_kind: r.seller_kind.map(|k| k.as_str().to_owned()),
                rate_bp: i64::from(r.rate_bp),
                effective_from: r.effective_from,
            })
            .collect(),
    }
}

/// The commission rules (platform admins; others 404).
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rule set", body = CommissionRulesBody),
        (status = 404, description = "`not_found`: not a platform admin", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commission-rules")]
pub async fn get_commission_rules(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let v = viewer(&user);
    let rules = blocking(move || state.commission.list(&v)).await?;
    Ok(HttpResponse::Ok().json(body(&rules)))
}

/// Replace the commission rules. Orders placed before keep the rates
/// snapshotted on their lines.
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    request_body = CommissionRulesBody,
    responses(
        (status = 200, description = "The new rule set", body = CommissionRulesBody),
        (status = 404, description = "`not_found`: not a platform admin", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/commission-rules")]
pub async fn put_commission_rules(
    state: web::Data<AppState>,
    user: AuthUser,
    req: Json<CommissionRulesBody>,
) -> Result<HttpResponse, ApiError> {
    let v = viewer(&user);
    let input: Vec<RuleInput> = req
        .into_inner()
        .items
        .into_iter()
        .map(|r| RuleInput {
            category_id: r.category_id.map(CategoryId),
            seller_kind: r.seller_kind,
            rate_bp: r.rate_bp,
            effective_from: r.effective_from,
        })
        .collect();
    let rules = blocking(move || state.commission.replace(&v, &input)).await?;
    Ok(HttpResponse::Ok().json(body(&rules)))
}
