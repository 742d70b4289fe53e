//! `GET /stats/sales` (监测统计) and `GET /alerts/unsalable` (滞销预警):
//! platform admins see everything, supply-and-marketing staff their own
//! subtree of organizations, others nothing.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use domain::coop::OrgId;
use domain::stats::{Alert, Figures, GroupBy, Period, SalesReport, StatsError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::pagination;
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Validation(v) => ApiError::validation(v),
            StatsError::NotFound => ApiError::not_found(),
            StatsError::Forbidden => ApiError::forbidden(
                "forbidden",
                "statistics are for platform and supply-and-marketing staff",
            ),
            StatsError::Unknown(e) => e.into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct SalesParams {
    /// First day (China Standard Time), included.
    #[param(example = "2026-11-01")]
    pub from: NaiveDate,
    /// Last day, included (at most 366 days after `from`).
    #[param(example = "2026-11-30")]
    pub to: NaiveDate,
    #[param(schema_with = contract::one_of::<GroupBy>)]
    pub group_by: String,
    /// Narrow to the subtree of this organization (one of yours, or under it).
    pub org_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresBody {
    /// Items of seller orders paid in the period (line totals, no freight).
    pub gross_fen: i64,
    /// Seller orders paid in the period.
    pub orders: i64,
    /// Units paid for.
    pub units: i64,
    /// Item refunds confirmed in the period.
    pub refunds_fen: i64,
}

impl From<&Figures> for FiguresBody {
    fn from(f: &Figures) -> Self {
        FiguresBody {
            gross_fen: f.gross.0,
            orders: f.orders,
            units: f.units,
            refunds_fen: f.refunds.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SalesRowBody {
    /// County code (`region`), category id or seller id.
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub figures: FiguresBody,
}

#[derive(Serialize, ToSchema)]
pub struct SalesResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[schema(schema_with = contract::one_of::<GroupBy>)]
    pub group_by: String,
    /// Largest gross first.
    pub items: Vec<SalesRowBody>,
    /// Every seller in scope (each seller order counted once).
    pub totals: FiguresBody,
}

fn sales_response(period: &Period, group: GroupBy, r: &SalesReport) -> SalesResponse {
    SalesResponse {
        from: period.from,
        to: period.to,
        group_by: group.as_str().to_owned(),
        items: r
            .items
            .iter()
            .map(|i| SalesRowBody {
                key: i.key.clone(),
                label: i.label.clone(),
                figures: (&i.figures).into(),
            })
            .collect(),
        totals: (&r.totals).into(),
    }
}

/// Sales by region (the seller's county), category or seller over a period
/// of business days (China Standard Time): seller orders paid, by the day
/// they were paid, and item refunds by the day they were confirmed.
/// Platform admins see every seller; staff of supply-and-marketing
/// organizations the sellers of their subtrees.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(SalesParams),
    responses(
        (status = 200, description = "The figures", body = SalesResponse),
        (status = 422, description = "`validation_failed`: `to` is before `from` or more than 366 days after it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: neither platform nor supply-and-marketing staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: `org_id` is outside your subtrees", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/sales")]
pub async fn sales_stats(
    state: web::Data<AppState>,
    user: AuthUser,
    params: web::Query<SalesParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let group: GroupBy = pagination::enum_param("group_by", Some(&p.group_by))?
        .ok_or_else(|| ApiError::bad_request("invalid_query", "group_by is required"))?;
    let period = Period::new(p.from, p.to).map_err(ApiError::validation)?;
    let v = viewer(&user);
    let org = p.org_id.map(OrgId);
    let report = blocking(move || state.stats.sales(&v, org, &period, group)).await?;
    Ok(HttpResponse::Ok().json(sales_response(&period, group, &report)))
}

#[derive(Deserialize, IntoParams)]
pub struct UnsalableParams {
    /// GB/T 2260 prefix of the listings' origin (`22`: Jilin).
    #[param(schema_with = contract::region_prefix)]
    pub region_code: Option<String>,
    pub org_id: Option<Uuid>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertBody {
    pub listing_id: Uuid,
    pub title: String,
    pub seller_id: Uuid,
    pub origin_region_code: String,
    pub stock: i32,
    /// Units paid for in the last 14 days.
    pub sold_14d: i64,
    /// sold_14d ÷ (sold_14d + stock), rounded down to a basis point.
    pub sell_through: f64,
    pub sell_through_bp: u32,
    /// Below this sell-through a listing with at least `min_stock` is unsalable.
    pub threshold: f64,
    pub min_stock: i32,
}

#[derive(Serialize, ToSchema)]
pub struct AlertsResponse {
    /// Worst first (lowest sell-through, then most stock), at most `limit`.
    pub items: Vec<AlertBody>,
    /// Always null: the worst `limit` are what an alert list is for.
    pub next_cursor: Option<String>,
}

/// Unsalable produce (滞销预警): active listings with high stock and low
/// sell-through over the last 14 days, with the figures that raised each
/// alert, for platform and supply-and-marketing staff (their subtrees).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(UnsalableParams),
    responses(
        (status = 200, description = "The alerts", body = AlertsResponse),
        (status = 422, description = "`validation_failed`: `region_code` is not a GB/T 2260 prefix (1 to 12 digits)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: neither platform nor supply-and-marketing staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: `org_id` is outside your subtrees", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/alerts/unsalable")]
pub async fn unsalable_alerts(
    state: web::Data<AppState>,
    user: AuthUser,
    params: web::Query<UnsalableParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = usize::try_from(pagination::limit(p.limit)?).map_err(anyhow::Error::from)?;
    let v = viewer(&user);
    let org = p.org_id.map(OrgId);
    let rule = state.stats.alert_rule;
    let region = p.region_code;
    let alerts = blocking(move || {
        state
            .stats
            .unsalable(&v, org, region.as_deref(), chrono::Utc::now())
    })
    .await?;
    let items = alerts
        .iter()
        .take(limit)
        .map(|a: &Alert| AlertBody {
            listing_id: a.listing.listing_id.0,
            title: a.listing.title.clone(),
            seller_id: a.listing.seller_id.0,
            origin_region_code: a.listing.origin_region_code.clone(),
            stock: a.listing.stock,
            sold_14d: a.listing.sold,
            sell_through: f64::from(a.sell_through_bp) / 10_000.0,
            sell_through_bp: a.sell_through_bp,
            threshold: f64::from(rule.threshold_bp) / 10_000.0,
            min_stock: rule.min_stock,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AlertsResponse {
        items,
        next_cursor: None,
    }))
}
