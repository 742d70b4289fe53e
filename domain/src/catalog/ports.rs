//! Ports of the catalog context.

use chrono::{DateTime, Utc};

use super::model::*;
use crate::coop::OrgId;
use crate::money::Fen;
use crate::validation::ValidationErrors;

pub type Unknown = anyhow::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub code: String,
    pub name: String,
}

crate::wire_enum!(
    /// How search results are ordered.
    Sort {
        /// Newest first (default).
        Newest => "newest",
        PriceAsc => "price_asc",
        PriceDesc => "price_desc",
        /// Most sold first.
        Popular => "popular",
    }
);

/// Keyset position: the sort key of the last row seen and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    pub key: i64,
    pub id: ListingId,
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Bigram terms that must all match, and the raw text to confirm.
    pub text: Option<(Vec<String>, String)>,
    /// The category and all its sub-categories.
    pub category: Option<CategoryId>,
    pub region_prefix: Option<String>,
    pub certification: Option<CertKind>,
    pub grade: Option<Grade>,
    pub min_price: Option<Fen>,
    pub max_price: Option<Fen>,
    pub sale_mode: Option<SaleMode>,
    pub seller_id: Option<OrgId>,
    pub statuses: Vec<ListingStatus>,
    pub sort: Sort,
    pub after: Option<SearchCursor>,
    pub limit: i64,
    /// Must reflect every committed write (read-your-writes): adapters
    /// with a read replica answer it from the primary.
    pub fresh: bool,
}

/// Why an update was refused by the domain rule.
#[derive(Debug)]
pub enum ListingRuleError {
    Validation(ValidationErrors),
    /// The listing's trace batch failed its inspection: it is not published
    /// (the database's guard, for a race the service's check cannot see).
    BatchFailed,
    InvalidTransition {
        from: ListingStatus,
        action: &'static str,
    },
}

#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(Box<Listing>),
    NotFound,
    /// The caller's `If-Match` version is not the current one.
    Stale {
        current: i32,
    },
    Refused(ListingRuleError),
}

/// Decides the new fields and status from the current listing.
pub type ListingChange<'a> =
    &'a dyn Fn(&Listing) -> Result<(ListingFields, ListingStatus), ListingRuleError>;

pub trait ListingRepository: Send + Sync {
    fn categories(&self) -> Result<Vec<Category>, Unknown>;
    fn create(&self, seller: OrgId, fields: &ListingFields) -> Result<Listing, Unknown>;
    /// Bulk import (demo data, benchmarks): inserts validated listings with
    /// `status` in batches; returns how many were written.
    fn import(
        &self,
        seller: OrgId,
        listings: &[ListingFields],
        status: ListingStatus,
    ) -> Result<usize, Unknown>;
    /// How many listings `seller` has.
    fn count_for_seller(&self, seller: OrgId) -> Result<i64, Unknown>;
    fn find(&self, id: ListingId) -> Result<Option<Listing>, Unknown>;
    /// The listings among `ids` (any status, any order; read replica).
    fn find_many(&self, ids: &[ListingId]) -> Result<Vec<Listing>, Unknown>;
    /// Under a row lock: checks `expected_version` (when given), runs
    /// `change`, stores the result and bumps the version.
    fn update(
        &self,
        id: ListingId,
        expected_version: Option<i32>,
        change: ListingChange<'_>,
    ) -> Result<UpdateOutcome, Unknown>;
    fn search(&self, q: &SearchQuery) -> Result<Vec<Listing>, Unknown>;
    /// Best sellers among active listings whose origin starts with `region_prefix`.
    fn hot(&self, region_prefix: Option<&str>, limit: i64) -> Result<Vec<Listing>, Unknown>;
    /// Every non-draft listing changed after the position, oldest change
    /// first (partner catalog sync).
    fn changes(
        &self,
        after: Option<(DateTime<Utc>, ListingId)>,
        limit: i64,
    ) -> Result<Vec<Listing>, Unknown>;
}
