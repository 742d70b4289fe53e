//! Catalog use cases. Reads are public (drafts and archived listings only
//! for the seller's staff); writes need staff of the seller organization,
//! and another organization's staff get 404.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::*;
use super::ports::*;
use super::search::query_terms;
use crate::coop::{
    CoopError, MemberStatus, MembershipRepository, OrgId, OrgRepository, Organization, Viewer,
};
use crate::delivery::{FreightTemplateId, FreightTemplateRepository};
use crate::money::Fen;
use crate::region::is_valid_prefix;
use crate::trace::{BatchCode, TraceStore};
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the listing changed (current version {current})")]
    Stale { current: i32 },
    #[error("trace batch {0} failed its inspection: its listings are not published until a passing inspection is recorded")]
    InspectionFailed(String),
    #[error("a {from} listing cannot {action}")]
    InvalidTransition {
        from: ListingStatus,
        action: &'static str,
    },
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<CoopError> for CatalogError {
    fn from(e: CoopError) -> Self {
        match e {
            CoopError::NotFound => CatalogError::NotFound,
            CoopError::Validation(v) => CatalogError::Validation(v),
            CoopError::Unknown(u) => CatalogError::Unknown(u),
            other => CatalogError::Unknown(anyhow::anyhow!("{other}")),
        }
    }
}

/// Raw search parameters.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: Option<String>,
    pub category: Option<CategoryId>,
    pub region_code: Option<String>,
    pub certification: Option<String>,
    pub grade: Option<String>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    pub sale_mode: Option<String>,
    pub seller_id: Option<OrgId>,
    pub sort: Option<String>,
    pub after: Option<SearchCursor>,
    pub limit: i64,
    /// Storefronts show sold-out listings too; buyer search only active ones.
    pub include_sold_out: bool,
    /// Who asks: a seller's staff reading its own listings reads its own
    /// writes (the primary), everyone else may read a replica.
    pub viewer: Option<Viewer>,
}

#[derive(Clone)]
pub struct CatalogService {
    pub listings: Arc<dyn ListingRepository>,
    pub orgs: Arc<dyn OrgRepository>,
    pub members: Arc<dyn MembershipRepository>,
    pub templates: Arc<dyn FreightTemplateRepository>,
    pub trace: Arc<dyn TraceStore>,
}

/// The sort key a cursor carries for `sort`.
pub fn sort_key(sort: Sort, l: &Listing) -> i64 {
    match sort {
        Sort::Newest => 0,
        Sort::PriceAsc | Sort::PriceDesc => l.fields.price.0,
        Sort::Popular => l.sold_qty,
    }
}

/// The region of a hot list: absent (all regions) or a GB/T 2260 prefix.
/// Checked before any cached list is served.
pub fn check_hot_region(region_code: Option<&str>) -> Result<(), ValidationErrors> {
    if region_code.is_some_and(|r| !is_valid_prefix(r)) {
        return Err(ValidationErrors::single(
            "region_code",
            "must be a prefix of digits",
        ));
    }
    Ok(())
}

impl CatalogService {
    fn is_staff(&self, org: OrgId, viewer: Option<&Viewer>) -> Result<bool, CatalogError> {
        match viewer {
            Some(v) => Ok(self.orgs.staff_role(org, v.user)?.is_some()),
            None => Ok(false),
        }
    }

    fn check_member(
        &self,
        seller: OrgId,
        member: crate::coop::MemberId,
    ) -> Result<(), CatalogError> {
        let ok = self
            .members
            .find_member(seller, member)?
            .is_some_and(|m| matches!(m.status, MemberStatus::Active | MemberStatus::Suspended));
        if ok {
            Ok(())
        } else {
            Err(ValidationErrors::single(
                "supplier_member_id",
                "must be a current member of the seller cooperative",
            )
            .into())
        }
    }

    /// A listing names one of its own seller's freight templates.
    fn check_template(&self, seller: OrgId, id: FreightTemplateId) -> Result<(), CatalogError> {
        if self.templates.find_template(seller, id)?.is_some() {
            Ok(())
        } else {
            Err(ValidationErrors::single(
                "freight_template_id",
                "is not a freight template of the seller",
            )
            .into())
        }
    }

    /// A listing names a batch its own seller produced.
    fn check_batch(&self, seller: OrgId, raw: &str) -> Result<(), CatalogError> {
        let refuse =
            |m: &str| -> CatalogError { ValidationErrors::single("trace_batch_code", m).into() };
        let code = BatchCode::parse(raw).map_err(refuse)?;
        match self.trace.find_batch(&code)? {
            Some(b) if b.producer_id == seller => Ok(()),
            _ => Err(refuse("is not a trace batch of the seller")),
        }
    }

    fn check_category(&self, id: CategoryId) -> Result<(), CatalogError> {
        if self.listings.categories()?.iter().any(|c| c.id == id) {
            Ok(())
        } else {
            Err(ValidationErrors::single("category_id", "no such category").into())
        }
    }

    pub fn create(
        &self,
        viewer: &Viewer,
        seller: OrgId,
        input: &ListingInput,
        now: DateTime<Utc>,
    ) -> Result<Listing, CatalogError> {
        if self.orgs.find(seller)?.is_none() {
            return Err(ValidationErrors::single("seller_id", "no such organization").into());
        }
        if !self.is_staff(seller, Some(viewer))? {
            return Err(CatalogError::Forbidden(
                "only staff of the seller organization may list its produce",
            ));
        }
        let fields = input.resolve(None, now.date_naive(), now)?;
        self.check_category(fields.category_id)?;
        if let Some(m) = fields.supplier_member_id {
            self.check_member(seller, m)?;
        }
        if let Some(t) = fields.freight_template_id {
            self.check_template(seller, t)?;
        }
        if let Some(code) = &fields.trace_batch_code {
            self.check_batch(seller, code)?;
        }
        Ok(self.listings.create(seller, &fields)?)
    }

    /// A listing as `viewer` may see it: drafts and archived listings only
    /// for the seller's staff and platform admins.
    pub fn get(&self, viewer: Option<&Viewer>, id: ListingId) -> Result<Listing, CatalogError> {
        let l = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
        if matches!(l.status, ListingStatus::Draft | ListingStatus::Archived)
            && !viewer.is_some_and(|v| v.platform_admin)
            && !self.is_staff(l.seller_id, viewer)?
        {
            return Err(CatalogError::NotFound);
        }
        Ok(l)
    }

    fn apply(
        &self,
        viewer: &Viewer,
        id: ListingId,
        if_match: Option<i32>,
        change: ListingChange<'_>,
    ) -> Result<Listing, CatalogError> {
        let l = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
        if !self.is_staff(l.seller_id, Some(viewer))? {
            return Err(CatalogError::NotFound);
        }
        match self.listings.update(id, if_match, change)? {
            UpdateOutcome::Updated(l) => Ok(*l),
            UpdateOutcome::NotFound => Err(CatalogError::NotFound),
            UpdateOutcome::Stale { current } => Err(CatalogError::Stale { current }),
            UpdateOutcome::Refused(ListingRuleError::Validation(v)) => Err(v.into()),
            UpdateOutcome::Refused(ListingRuleError::BatchFailed) => Err(
                CatalogError::InspectionFailed(l.fields.trace_batch_code.unwrap_or_default()),
            ),
            UpdateOutcome::Refused(ListingRuleError::InvalidTransition { from, action }) => {
                Err(CatalogError::InvalidTransition { from, action })
            }
        }
    }

    pub fn update(
        &self,
        viewer: &Viewer,
        id: ListingId,
        if_match: Option<i32>,
        input: &ListingInput,
        now: DateTime<Utc>,
    ) -> Result<Listing, CatalogError> {
        if let Some(c) = input.category_id {
            self.check_category(c)?;
        }
        if let Some(Some(member)) = input.supplier_member_id {
            let current = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
            if self.is_staff(current.seller_id, Some(viewer))? {
                self.check_member(current.seller_id, member)?;
            }
        }
        if let Some(Some(template)) = input.freight_template_id {
            let current = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
            if self.is_staff(current.seller_id, Some(viewer))? {
                self.check_template(current.seller_id, template)?;
            }
        }
        if let Some(Some(code)) = input
            .trace_batch_code
            .as_ref()
            .filter(|c| c.as_deref().is_some_and(|c| !c.trim().is_empty()))
        {
            let current = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
            if self.is_staff(current.seller_id, Some(viewer))? {
                self.check_batch(current.seller_id, code)?;
            }
        }
        let change = |l: &Listing| {
            let fields = input
                .resolve(Some(&l.fields), now.date_naive(), now)
                .map_err(ListingRuleError::Validation)?;
            let status = status_for_stock(l.status, fields.stock);
            Ok((fields, status))
        };
        self.apply(viewer, id, if_match, &change)
    }

    pub fn change_status(
        &self,
        viewer: &Viewer,
        id: ListingId,
        if_match: Option<i32>,
        action: StatusAction,
    ) -> Result<Listing, CatalogError> {
        if action == StatusAction::Publish {
            let l = self.listings.find(id)?.ok_or(CatalogError::NotFound)?;
            if let Some(code) = l.fields.trace_batch_code.as_deref() {
                let failed = BatchCode::parse(code)
                    .ok()
                    .map(|c| self.trace.failed(&c))
                    .transpose()?
                    .flatten();
                if failed == Some(true) && self.is_staff(l.seller_id, Some(viewer))? {
                    return Err(CatalogError::InspectionFailed(code.to_owned()));
                }
            }
        }
        let change = |l: &Listing| {
            let status = next_status(l.status, action, l.fields.stock)
                .map_err(|(from, action)| ListingRuleError::InvalidTransition { from, action })?;
            Ok((l.fields.clone(), status))
        };
        self.apply(viewer, id, if_match, &change)
    }

    pub fn search(&self, p: &SearchParams) -> Result<Vec<Listing>, CatalogError> {
        let mut e = ValidationErrors::new();
        if p.q.as_deref().is_some_and(|q| q.chars().count() > 50) {
            e.add("q", "must be at most 50 characters");
        }
        let text =
            p.q.as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| (query_terms(q), q.to_owned()));
        if let Some(r) = &p.region_code {
            if !is_valid_prefix(r) {
                e.add(
                    "region_code",
                    "must be a prefix of digits (e.g. 22 or 220106)",
                );
            }
        }
        let certification = p.certification.as_deref().and_then(|c| {
            c.parse::<CertKind>()
                .map_err(|m| e.add("certification", m))
                .ok()
        });
        let grade = p
            .grade
            .as_deref()
            .and_then(|g| g.parse::<Grade>().map_err(|m| e.add("grade", m)).ok());
        let sale_mode = p.sale_mode.as_deref().and_then(|s| {
            s.parse::<SaleMode>()
                .map_err(|m| e.add("sale_mode", m))
                .ok()
        });
        let sort = match p.sort.as_deref() {
            None => Sort::Newest,
            Some(s) => s
                .parse::<Sort>()
                .map_err(|m| e.add("sort", m))
                .unwrap_or(Sort::Newest),
        };
        if let (Some(lo), Some(hi)) = (p.min_price_fen, p.max_price_fen) {
            if lo > hi {
                e.add("min_price_fen", "must not exceed max_price_fen");
            }
        }
        e.into_result(())?;
        // Read-your-writes: the seller's staff, right after editing, must
        // see their own listings as they are now, not as a replica last saw.
        let fresh = match p.seller_id {
            Some(seller) => self.is_staff(seller, p.viewer.as_ref())?,
            None => false,
        };
        Ok(self.listings.search(&SearchQuery {
            text,
            category: p.category,
            region_prefix: p.region_code.clone(),
            certification,
            grade,
            min_price: p.min_price_fen.map(Fen),
            max_price: p.max_price_fen.map(Fen),
            sale_mode,
            seller_id: p.seller_id,
            statuses: if p.include_sold_out {
                vec![ListingStatus::Active, ListingStatus::SoldOut]
            } else {
                vec![ListingStatus::Active]
            },
            sort,
            after: p.after,
            limit: p.limit,
            fresh,
        })?)
    }

    /// Listings by id (search results), in no particular order.
    pub fn get_many(&self, ids: &[ListingId]) -> Result<Vec<Listing>, CatalogError> {
        Ok(self.listings.find_many(ids)?)
    }

    pub fn hot(&self, region_code: Option<&str>, limit: i64) -> Result<Vec<Listing>, CatalogError> {
        check_hot_region(region_code)?;
        Ok(self.listings.hot(region_code, limit)?)
    }

    pub fn storefront(
        &self,
        org: OrgId,
        limit: i64,
        viewer: Option<&Viewer>,
    ) -> Result<(Organization, Vec<Listing>), CatalogError> {
        let o = self.orgs.find(org)?.ok_or(CatalogError::NotFound)?;
        let listings = self.search(&SearchParams {
            seller_id: Some(org),
            sort: Some("popular".into()),
            limit,
            include_sold_out: true,
            viewer: viewer.copied(),
            ..SearchParams::default()
        })?;
        Ok((o, listings))
    }

    pub fn categories(&self) -> Result<Vec<Category>, CatalogError> {
        Ok(self.listings.categories()?)
    }

    pub fn changes(
        &self,
        after: Option<(DateTime<Utc>, ListingId)>,
        limit: i64,
    ) -> Result<Vec<Listing>, CatalogError> {
        Ok(self.listings.changes(after, limit)?)
    }
}
