//! The rules of the figures: which day a sale belongs to (China Standard
//! Time), which days are closed and can be sealed into the rollup, the
//! report period, and when a listing is unsalable.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, Utc};

use crate::catalog::ListingId;
use crate::coop::OrgId;
use crate::money::Fen;
use crate::validation::ValidationErrors;

/// Business days are China Standard Time (UTC+8, no daylight saving).
pub const CHINA_OFFSET_SECS: i32 = 8 * 3600;
/// Longest report period.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The window of the unsalable alert.
pub const ALERT_WINDOW_DAYS: i64 = 14;

fn china() -> FixedOffset {
    // eight hours is a valid offset: the fallback is never taken
    FixedOffset::east_opt(CHINA_OFFSET_SECS).unwrap_or_else(|| Utc.fix())
}

/// The business day of an instant.
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}

/// When a business day starts, in UTC.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    (d.and_time(NaiveTime::MIN) - Duration::seconds(i64::from(CHINA_OFFSET_SECS))).and_utc()
}

/// The start of the hour `t` falls in.
pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(3600), 0).unwrap_or(t)
}

/// The start of the last hour that may be sealed at `now`: an hour is
/// sealed once it has been over for `margin` (a sale is dated when its
/// transaction starts; the margin outlasts any transaction, so nothing
/// dated in a sealed hour commits after it). China Standard Time is a whole
/// number of hours from UTC, so every hour lies within one business day.
pub fn last_sealable(now: DateTime<Utc>, margin: Duration) -> DateTime<Utc> {
    hour_of(now - margin) - Duration::hours(1)
}

crate::wire_enum!(
    /// How a report groups the sales.
    GroupBy {
        Region => "region",
        Category => "category",
        Seller => "seller",
    }
);

/// Days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ValidationErrors> {
        if to < from {
            return Err(ValidationErrors::single("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(ValidationErrors::single(
                "to",
                format!("a period is at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The instants of the period: [start of `from`, start of the day after `to`).
    pub fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (day_start(self.from), day_start(self.to + Duration::days(1)))
    }
}

/// What a group sold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Items of seller orders paid (line totals; freight is not a sale of produce).
    pub gross: Fen,
    /// Seller orders paid.
    pub orders: i64,
    /// Units paid for.
    pub units: i64,
    /// Item refunds confirmed (full refunds of seller orders and refund requests).
    pub refunds: Fen,
}

impl Figures {
    pub fn add(&mut self, o: &Figures) {
        self.gross = self.gross + o.gross;
        self.orders += o.orders;
        self.units += o.units;
        self.refunds = self.refunds + o.refunds;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesRow {
    /// Region code (county), category id or seller id.
    pub key: String,
    pub label: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesReport {
    /// Largest gross first.
    pub items: Vec<SalesRow>,
    /// Over every seller in scope (for `category`, orders are counted once
    /// however many categories an order has).
    pub totals: Figures,
}

/// The sellers a viewer's figures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// The organizations under these (included).
    Subtrees(Vec<OrgId>),
}

/// The thresholds of the unsalable alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRule {
    /// A listing with less stock is never unsalable.
    pub min_stock: i32,
    /// Sell-through (units sold ÷ (sold + stock)) below this, in basis
    /// points, is unsalable.
    pub threshold_bp: u32,
}

/// An active listing's stock and recent sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingSales {
    pub listing_id: ListingId,
    pub title: String,
    pub seller_id: OrgId,
    pub origin_region_code: String,
    pub stock: i32,
    /// Units paid for in the last [`ALERT_WINDOW_DAYS`] days.
    pub sold: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub listing: ListingSales,
    /// Sell-through in basis points, rounded down.
    pub sell_through_bp: u32,
}

impl AlertRule {
    /// The listing's sell-through if it is unsalable under this rule.
    pub fn check(&self, l: &ListingSales) -> Option<u32> {
        if l.stock < self.min_stock || l.stock <= 0 {
            return None;
        }
        let sold = l.sold.max(0);
        let offered = sold + i64::from(l.stock);
        let bp = u32::try_from(sold * 10_000 / offered).ok()?;
        (bp < self.threshold_bp).then_some(bp)
    }

    /// The unsalable ones, worst first (lowest sell-through, then most stock).
    pub fn alerts(&self, listings: Vec<ListingSales>) -> Vec<Alert> {
        let mut out: Vec<Alert> = listings
            .into_iter()
            .filter_map(|l| {
                self.check(&l).map(|bp| Alert {
                    listing: l,
                    sell_through_bp: bp,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            a.sell_through_bp
                .cmp(&b.sell_through_bp)
                .then(b.listing.stock.cmp(&a.listing.stock))
                .then(a.listing.listing_id.cmp(&b.listing.listing_id))
        });
        out
    }
}
