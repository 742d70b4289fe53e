//! Ports of the statistics context.

use chrono::{DateTime, Utc};

use super::model::*;
use crate::coop::OrgId;
use crate::identity::UserId;

pub type Unknown = anyhow::Error;

/// A group's figures as stored: key, label (seller and category names;
/// the domain names regions) and figures.
pub type StoredRow = (String, String, Figures);

/// The rollup and the order history it is made from.
pub trait SalesStore: Send + Sync {
    /// Seals the hours after the last sealed one (from the first hour with
    /// a fact when none is), up to the one starting at `last` (at most
    /// `max_hours` of them), each in one transaction: its facts are added to
    /// its day's rollup rows and the hour is marked sealed. Instances
    /// running this at once seal each hour once, in order. Returns the
    /// hours sealed.
    fn seal_through(
        &self,
        last: DateTime<Utc>,
        max_hours: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, Unknown>;

    /// The figures of `period` by `group` over the sellers in `scope`: the
    /// rollup rows of its days, and the facts after the last sealed hour
    /// from the history, in one snapshot. `totals` counts each seller order
    /// once.
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
