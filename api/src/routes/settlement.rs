//! Settlement runs, seller statements (JSON or CSV) and payouts.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use domain::coop::OrgId;
use domain::settlement::{Settlement, SettlementError, SettlementId, Statement, StatementId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<SettlementError> for ApiError {
    fn from(e: SettlementError) -> Self {
        match e {
            SettlementError::Validation(v) => ApiError::validation(v),
            SettlementError::NotFound => ApiError::not_found(),
            SettlementError::AlreadyPaid => {
                ApiError::conflict("invalid_transition", "the statement is paid already")
            }
            SettlementError::Unknown(e) => e.into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SettlementRequest {
    /// The last day of the period (not in the future).
    #[schema(example = "2026-11-30")]
    pub period_end: NaiveDate,
    /// Days a completed seller order is held before it is settled (T+n).
    #[schema(example = 7, minimum = 0, maximum = 90)]
    pub hold_days: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SettlementResponse {
    pub id: Uuid,
    pub period_end: NaiveDate,
    pub hold_days: i64,
    /// Seller orders completed on or before this day (UTC) were settled:
    /// `min(period_end, today − hold_days)`.
    pub cutoff: NaiveDate,
    /// 0 when there was nothing left to settle.
    pub statement_count: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&Settlement> for SettlementResponse {
    fn from(s: &Settlement) -> Self {
        Self {
            id: s.id.0,
            period_end: s.period_end,
            hold_days: s.hold_days,
            cutoff: s.cutoff,
            statement_count: s.statement_count,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatementLineResponse {
    pub seller_order_id: Uuid,
    pub completed_at: DateTime<Utc>,
    pub items_fen: i64,
    pub freight_fen: i64,
    /// Net of what refunds before completion gave back.
    pub commission_fen: i64,
    /// The commission rates its order lines snapshotted (basis points,
    /// distinct; 400 = 4 %).
    pub commission_bps: Vec<u32>,
    /// After-sales refunds paid before the seller order completed.
    pub refunded_fen: i64,
    /// `items + freight − commission − refunded`: what completion credited.
    pub net_fen: i64,
}

/// An after-sales refund paid after its seller order completed.
#[derive(Serialize, ToSchema)]
pub struct StatementRefundResponse {
    pub refund_request_id: Uuid,
    pub seller_order_id: Uuid,
    pub refunded_at: DateTime<Utc>,
    pub amount_fen: i64,
    pub commission_returned_fen: i64,
    /// `commission_returned − amount` (negative: the seller pays it back).
    pub net_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StatementResponse {
    pub id: Uuid,
    pub settlement_id: Uuid,
    pub seller_id: Uuid,
    /// Items + freight of the settled seller orders.
    pub gross_fen: i64,
    /// Commission on the settled orders, less what refunds gave back.
    pub commission_fen: i64,
    /// After-sales refunds: before completion on its orders, and after
    /// completion (`refunds`).
    pub refunds_fen: i64,
    /// A negative net of the previous statement, carried into this one.
    pub carried_over_fen: i64,
    /// `gross_fen − commission_fen − refunds_fen + carried_over_fen`
    pub net_payable_fen: i64,
    /// `issued` or `paid`
    pub status: &'static str,
    pub bank_reference: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<StatementLineResponse>,
    /// Refunds after completion settled by this statement.
    pub refunds: Vec<StatementRefundResponse>,
}

impl From<&Statement> for StatementResponse {
    fn from(s: &Statement) -> Self {
        let d = &s.draft;
        Self {
            id: d.id.0,
            settlement_id: s.settlement_id.0,
            seller_id: d.seller_id.0,
            gross_fen: d.gross.0,
            commission_fen: d.commission.0,
            refunds_fen: d.refunds.0,
            carried_over_fen: d.carried_over.0,
            net_payable_fen: d.net_payable.0,
            status: s.status.as_str(),
            bank_reference: s.bank_reference.clone(),
            paid_at: s.paid_at,
            created_at: s.created_at,
            lines: d
                .lines
                .iter()
                .map(|l| StatementLineResponse {
                    seller_order_id: l.seller_order_id.0,
                    completed_at: l.completed_at,
                    items_fen: l.items.0,
                    freight_fen: l.freight.0,
                    commission_fen: l.commission.0,
                    commission_bps: l.commission_bps.clone(),
                    refunded_fen: l.refunded.0,
                    net_fen: l.net.0,
                })
                .collect(),
            refunds: d
                .refund_lines
                .iter()
                .map(|r| StatementRefundResponse {
                    refund_request_id: r.refund_id.0,
                    seller_order_id: r.seller_order_id.0,
                    refunded_at: r.refunded_at,
                    amount_fen: r.amount.0,
                    commission_returned_fen: r.commission_returned.0,
                    net_fen: r.net.0,
                })
                .collect(),
        }
    }
}

/// Run a settlement (platform admins; others 404): one statement per seller
/// with completed seller orders up to the cutoff that were not settled yet;
/// each statement's net moves from the seller's payable to payouts in
/// transit, and is e-mailed to the seller. Running again settles nothing
/// twice.
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    request_body = SettlementRequest,
    responses(
        (status = 201, description = "The run", body = SettlementResponse),
        (status = 404, description = "`not_found`: not a platform admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/settlements")]
pub async fn run_settlement(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<SettlementRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let v = viewer(&user);
    let (s, _) = blocking(move || {
        state
            .settlement
            .run(&v, b.period_end, b.hold_days, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(SettlementResponse::from(&s)))
}

/// One settlement run (platform admins).
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Settlement id")),
    responses((status = 200, description = "The run", body = SettlementResponse))
)]
#[get("/settlements/{id}")]
pub async fn get_settlement(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = SettlementId(id.into_inner());
    let v = viewer(&user);
    let s = blocking(move || state.settlement.settlement(&v, id)).await?;
    Ok(HttpResponse::Ok().json(SettlementResponse::from(&s)))
}

#[derive(Deserialize, IntoParams)]
pub struct StatementParams {
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

impl StatementParams {
    /// The page size and the statement to continue after.
    fn parse(self) -> Result<(i64, Option<StatementId>), ApiError> {
        let limit = pagination::limit(self.limit)?;
        let after = self
            .cursor
            .as_deref()
            .map(pagination::decode_id)
            .transpose()?
            .map(StatementId);
        Ok((limit, after))
    }
}

/// The statements of a run (platform admins).
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Settlement id"), StatementParams),
    responses((status = 200, description = "A page of statements", body = Page<StatementResponse>))
)]
#[get("/settlements/{id}/statements")]
pub async fn list_settlement_statements(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    params: web::Query<StatementParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = params.into_inner().parse()?;
    let id = SettlementId(id.into_inner());
    let v = viewer(&user);
    let rows = blocking(move || {
        state
            .settlement
            .statements_of_settlement(&v, id, after, limit + 1)
    })
    .await?;
    let page: Page<StatementResponse> = pagination::page(
        rows,
        limit,
        |s| s.draft.id.0,
        |s| StatementResponse::from(&s),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A seller's statements, newest first (its staff, platform admins).
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Seller organization id"), StatementParams),
    responses((status = 200, description = "A page of statements", body = Page<StatementResponse>))
)]
#[get("/organizations/{id}/statements")]
pub async fn list_org_statements(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    params: web::Query<StatementParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = params.into_inner().parse()?;
    let org = OrgId(id.into_inner());
    let v = viewer(&user);
    let rows = blocking(move || {
        state
            .settlement
            .statements_of_seller(&v, org, after, limit + 1)
    })
    .await?;
    let page: Page<StatementResponse> = pagination::page(
        rows,
        limit,
        |s| s.draft.id.0,
        |s| StatementResponse::from(&s),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// One statement: JSON, or CSV (UTF-8 with BOM) with `Accept: text/csv`.
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement", content(
            (StatementResponse = "application/json"),
            (String = "text/csv"),
        )),
    )
)]
#[get("/statements/{id}")]
pub async fn get_statement(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = StatementId(id.into_inner());
    let v = viewer(&user);
    let (st, seller) = blocking(move || state.settlement.statement(&v, id)).await?;
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"statement-{}.csv\"", st.draft.id),
            ))
            .body(domain::settlement::statement_csv(&st, &seller)));
    }
    Ok(HttpResponse::Ok().json(StatementResponse::from(&st)))
}

#[derive(Deserialize, ToSchema)]
pub struct MarkPaidRequest {
    /// The bank's reference of the transfer.
    #[schema(example = "ICBC20261201000123", min_length = 1, max_length = 64)]
    pub bank_reference: String,
}

/// Mark a statement paid (platform admins): posts the payout.
#[utoipa::path(
    tag = "settlement",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Statement id")),
    request_body = MarkPaidRequest,
    responses(
        (status = 200, description = "Paid", body = StatementResponse),
        (status = 409, description = "`invalid_transition`: paid already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/statements/{id}/mark-paid")]
pub async fn mark_statement_paid(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<MarkPaidRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = StatementId(id.into_inner());
    let reference = body.into_inner().bank_reference;
    let v = viewer(&user);
    let st = blocking(move || state.settlement.mark_paid(&v, id, &reference, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(StatementResponse::from(&st)))
}
