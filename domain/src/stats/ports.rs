//! Ports of the statistics context.

use chrono::{DateTime, NaiveDate, Utc};

use super::model::*;
use crate::coop::OrgId;
use crate::identity::UserId;

pub type Unknown = anyhow::Error;

/// A group's figures as stored: key, label (seller and category names;
/// the domain names regions) and figures.
pub type StoredRow = (String, String, Figures);

/// The rollup and the order history it is made from.
pub trait SalesStore: Send + Sync {
    /// Seals the days after the last sealed one, up to `last` (at most
    /// `max_days` of them), each in one transaction: its figures go into
    /// the rollup and the day is marked sealed. Instances running this at
    /// once seal each day once. Returns the days sealed.
    fn seal_through(
        &self,
        last: NaiveDate,
        max_days: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, Unknown>;

    /// The figures of `period` by `group` over the sellers in `scope`:
    /// sealed days from the rollup, later days from the history. `totals`
    /// counts each seller order once.
    fn sales(
        &self,
        period: &Period,
        group: GroupBy,
        scope: &Scope,
    ) -> Result<(Vec<StoredRow>, Figures), Unknown>;

    /// Active listings with at least `min_stock` whose origin region starts
    /// with `region_prefix`, with the units sold since `since`.
    fn listing_sales(
        &self,
        region_prefix: Option<&str>,
        min_stock: i32,
        since: DateTime<Utc>,
        scope: &Scope,
    ) -> Result<Vec<ListingSales>, Unknown>;

    /// The supply-and-marketing organizations (SMC, grassroots) `user` is
    /// staff of.
    fn smc_staffed(&self, user: UserId) -> Result<Vec<OrgId>, Unknown>;
}
