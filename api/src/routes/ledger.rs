//! The ledger: accounts with their lines, an organization's accounts, and
//! the trial balance.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::coop::OrgId;
use domain::ledger::{LedgerAccount, LedgerError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::contract;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound => ApiError::not_found(),
            LedgerError::Unknown(e) => e.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerLineResponse {
    pub id: Uuid,
    pub entry_id: Uuid,
    pub description: String,
    /// What caused the entry: `payment`, `payment_refund`,
    /// `seller_order_completed`, `seller_order_refunded`, `surplus_distribution` …
    pub source_kind: String,
    pub source_id: Uuid,
    /// Debit positive, credit negative.
    pub amount_fen: i64,
    pub posted_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerAccountResponse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `provider_clearing`, `buyer_funds_held`, `seller_payable`,
    /// `commission_revenue`, `payouts_in_transit`, `member_payable`, `coop_equity`
    #[serde(rename = "type")]
    pub account_type: Option<&'static str>,
    /// `asset`, `liability`, `equity`, `revenue`, `expense`
    pub kind: &'static str,
    /// The organization (or member) it belongs to; platform accounts: null.
    pub owner_id: Option<Uuid>,
    /// Debits minus credits: the sum of its lines.
    pub balance_fen: i64,
}

impl From<&LedgerAccount> for LedgerAccountResponse {
    fn from(a: &LedgerAccount) -> Self {
        Self {
            id: a.id,
            code: a.code.clone(),
            name: a.name.clone(),
            account_type: a.account_type.map(|t| t.as_str()),
            kind: a.kind.as_str(),
            owner_id: a.owner_id,
            balance_fen: a.balance.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerAccountDetail {
    #[serde(flatten)]
    pub account: LedgerAccountResponse,
    /// Its lines, newest first.
    pub lines: Page<LedgerLineResponse>,
}

#[derive(Deserialize, IntoParams)]
pub struct LinesParams {
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// A ledger account with its lines (platform admins, or staff of the
/// organization that owns it; others 404).
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id"), LinesParams),
    responses((status = 200, description = "The account", body = LedgerAccountDetail))
)]
#[get("/ledger/accounts/{id}")]
pub async fn get_ledger_account(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    params: web::Query<LinesParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = pagination::limit(p.limit)?;
    let after = p.cursor.as_deref().map(pagination::decode_id).transpose()?;
    let id = id.into_inner();
    let v = viewer(&user);
    let (account, lines) = blocking(move || state.ledger.account(&v, id, after, limit + 1)).await?;
    let lines = pagination::page(
        lines,
        limit,
        |l| l.id,
        |l| LedgerLineResponse {
            id: l.id,
            entry_id: l.entry_id,
            description: l.description,
            source_kind: l.source_kind,
            source_id: l.source_id,
            amount_fen: l.amount.0,
            posted_at: l.posted_at,
        },
    );
    Ok(HttpResponse::Ok().json(LedgerAccountDetail {
        account: LedgerAccountResponse::from(&account),
        lines,
    }))
}

/// An organization's ledger accounts (its staff, platform admins).
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Its accounts (`next_cursor` is always null)", body = Page<LedgerAccountResponse>))
)]
#[get("/organizations/{id}/ledger-accounts")]
pub async fn list_org_ledger_accounts(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(id.into_inner());
    let v = viewer(&user);
    let rows = blocking(move || state.ledger.accounts_of(&v, org)).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .iter()
            .map(LedgerAccountResponse::from)
            .collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalanceRowResponse {
    #[serde(rename = "type")]
    pub account_type: String,
    pub debits_fen: i64,
    pub credits_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalanceResponse {
    /// Σ debit balances; always equals `total_credits_fen`.
    pub total_debits_fen: i64,
    pub total_credits_fen: i64,
    pub by_type: Vec<TrialBalanceRowResponse>,
}

/// The trial balance (platform admins; others 404).
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Debits = credits", body = TrialBalanceResponse),
        (status = 404, description = "`not_found`: not a platform admin", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/ledger/trial-balance")]
pub async fn trial_balance(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let v = viewer(&user);
    let tb = blocking(move || state.ledger.trial_balance(&v)).await?;
    Ok(HttpResponse::Ok().json(TrialBalanceResponse {
        total_debits_fen: tb.total_debits.0,
        total_credits_fen: tb.total_credits.0,
        by_type: tb
            .by_type
            .into_iter()
            .map(|r| TrialBalanceRowResponse {
                account_type: r.account_type,
                debits_fen: r.debits.0,
                credits_fen: r.credits.0,
            })
            .collect(),
    }))
}
