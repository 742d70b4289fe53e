//! Who sees which figures: platform admins everything, staff of
//! supply-and-marketing organizations their own subtrees (an `org_id`
//! outside them is 404), anybody else nothing (403).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::model::*;
use super::ports::*;
use crate::coop::{OrgId, OrgRepository, Viewer};
use crate::region::RegionCode;
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("statistics are for platform and supply-and-marketing staff")]
    Forbidden,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct StatsService {
    pub store: Arc<dyn SalesStore>,
    pub orgs: Arc<dyn OrgRepository>,
    pub alert_rule: AlertRule,
    /// How long after its end an hour is sealed into the rollup.
    pub seal_margin: Duration,
}

/// Hours one sweep seals at most (a first run over old history catches up
/// over several sweeps).
pub const SEAL_BATCH_HOURS: usize = 24 * 31;

impl StatsService {
    /// The sellers `viewer` may see, narrowed to the subtree of `org` when
    /// given.
    pub fn scope(&self, viewer: &Viewer, org: Option<OrgId>) -> Result<Scope, StatsError> {
        let own = if viewer.platform_admin {
            None
        } else {
            let roots = self.store.smc_staffed(viewer.user)?;
            if roots.is_empty() {
                return Err(StatsError::Forbidden);
            }
            Some(roots)
        };
        match (org, own) {
            (None, None) => Ok(Scope::All),
            (None, Some(roots)) => Ok(Scope::Subtrees(roots)),
            (Some(o), None) => {
                self.orgs.find(o)?.ok_or(StatsError::NotFound)?;
                Ok(Scope::Subtrees(vec![o]))
            }
            (Some(o), Some(roots)) => {
                // inside one of the viewer's subtrees: o or an ancestor is a root
                let lineage = self.orgs.lineage(o)?;
                if lineage.iter().any(|a| roots.contains(a)) {
                    Ok(Scope::Subtrees(vec![o]))
                } else {
                    Err(StatsError::NotFound)
                }
            }
        }
    }

    pub fn sales(
        &self,
        viewer: &Viewer,
        org: Option<OrgId>,
        period: &Period,
        group: GroupBy,
    ) -> Result<SalesReport, StatsError> {
        let scope = self.scope(viewer, org)?;
        let (rows, totals) = self.store.sales(period, group, &scope)?;
        let mut items: Vec<SalesRow> = rows
            .into_iter()
            .map(|(key, label, figures)| {
                let label = match group {
                    GroupBy::Region => RegionCode::parse(&key)
                        .map(|r| r.display_name())
                        .unwrap_or(label),
                    GroupBy::Category | GroupBy::Seller => label,
                };
                SalesRow {
                    key,
                    label,
                    figures,
                }
            })
            .collect();
        items.sort_by(|a, b| {
            b.figures
                .gross
                .cmp(&a.figures.gross)
                .then(a.key.cmp(&b.key))
        });
        Ok(SalesReport { items, totals })
    }

    /// Unsalable listings of the region (a GB/T 2260 prefix), worst first.
    pub fn unsalable(
        &self,
        viewer: &Viewer,
        org: Option<OrgId>,
        region_prefix: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, StatsError> {
        if let Some(p) = region_prefix {
            if !crate::region::is_valid_prefix(p) {
                return Err(ValidationErrors::single(
                    "region_code",
                    "must be 1 to 12 digits (a GB/T 2260 prefix)",
                )
                .into());
            }
        }
        let scope = self.scope(viewer, org)?;
        let since = now - Duration::days(ALERT_WINDOW_DAYS);
        let listings =
            self.store
                .listing_sales(region_prefix, self.alert_rule.min_stock, since, &scope)?;
        Ok(self.alert_rule.alerts(listings))
    }

    /// Seals the closed hours not sealed yet (the background sweep).
    pub fn seal(&self, now: DateTime<Utc>) -> Result<usize, StatsError> {
        let last = last_sealable(now, self.seal_margin);
        Ok(self.store.seal_through(last, SEAL_BATCH_HOURS, now)?)
    }
}
