//! Pricing an order: tier prices per line, availability and stock checks,
//! the commission rate in force per line, and each seller order's freight.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::{unit_price, ListingId, ListingStatus, SaleTerms, Storage, TierPrice};
use crate::coop::{MemberId, OrgId, OrgKind};
use crate::delivery::{FreightMode, FreightSpec, FreightTemplateId, Parcel, Refusal};
use crate::money::Fen;

/// A line as the buyer asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLine {
    pub listing_id: ListingId,
    pub quantity: i32,
}

/// What pricing needs to know about a listing (read just before the order
/// is written; stock is re-checked atomically by the write itself).
#[derive(Debug, Clone)]
pub struct ListingSnapshot {
    pub id: ListingId,
    pub seller_id: OrgId,
    pub seller_kind: OrgKind,
    pub title: String,
    pub unit_label: String,
    pub price: Fen,
    pub tiers: Vec<TierPrice>,
    pub min_order_qty: i32,
    pub status: ListingStatus,
    pub stock: i32,
    pub sale: SaleTerms,
    pub supplier_member_id: Option<MemberId>,
    pub unit_weight_grams: i32,
    pub storage: Storage,
    /// The listing's freight template, or its seller's default (read with
    /// the listing); `None`: the seller ships free, everywhere.
    pub freight: Option<(FreightTemplateId, FreightSpec)>,
    /// For the commission rules: its category and top-level category.
    pub category_id: crate::catalog::CategoryId,
    pub root_category_id: crate::catalog::CategoryId,
    /// The trace batch the listing names (质量安全追溯), kept on the line.
    pub trace_batch_code: Option<String>,
}

/// Where the seller orders of an order go, for freight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Home delivery: templates price it by the address's region.
    Home { region_code: String },
    /// Pickup at a service station: the station's own fee per seller order
    /// replaces the templates' charges; their no-delivery regions still
    /// apply to the station's region.
    Station { region_code: String, fee: Fen },
}

impl Destination {
    pub fn region_code(&self) -> &str {
        match self {
            Destination::Home { region_code } | Destination::Station { region_code, .. } => {
                region_code
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedItem {
    pub listing_id: ListingId,
    pub title: String,
    pub unit_label: String,
    pub quantity: i32,
    pub unit_price: Fen,
    pub line_total: Fen,
    pub commission_bp: u32,
    pub supplier_member_id: Option<MemberId>,
    pub ship_from: Option<NaiveDate>,
    /// The trace batch of what was sold (the listing's at the time).
    pub trace_batch_code: Option<String>,
}

impl PricedItem {
    /// The line's commission: its total at its snapshotted rate, rounded
    /// half away from zero ([`Fen::apply_basis_points`]).
    pub fn commission(&self) -> Fen {
        self.line_total.apply_basis_points(self.commission_bp)
    }
}

/// One seller's part of a priced order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedSeller {
    pub seller_id: OrgId,
    pub items: Vec<PricedItem>,
    pub items_total: Fen,
    /// What the buyer pays this seller to ship ([`freight_of`]).
    pub freight: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedOrder {
    /// Sellers in id order.
    pub sellers: Vec<PricedSeller>,
    /// Σ (items + freight) over the sellers.
    pub total: Fen,
    /// Units to take per listing (lines of one listing summed), in id order
    /// (a fixed lock order, so concurrent orders cannot deadlock).
    pub stock_needs: BTreeMap<ListingId, i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    Empty,
    TooManyLines,
    BadQuantity {
        index: usize,
    },
    UnknownListing {
        index: usize,
    },
    Unavailable(ListingId),
    BelowMinimum {
        listing: ListingId,
        min: i32,
    },
    GroupBuyClosed(ListingId),
    OutOfStock(ListingId),
    /// The listing's freight template does not deliver to the destination.
    NotDeliverable(ListingId),
    Overflow,
}

pub const MAX_LINES: usize = 50;
pub const MAX_LINE_QTY: i32 = 100_000;

/// The built-in commission by seller kind, used only when no commission
/// rule is in force (the rule set always has a catch-all; these are the
/// rates the first rules were seeded with).
pub fn commission_bp(kind: OrgKind) -> u32 {
    match kind {
        OrgKind::SupplyMarketingCoop | OrgKind::GrassrootsCoop => 300,
        OrgKind::FarmerCoop | OrgKind::CoopUnion => 400,
        _ => 500,
    }
}

/// The freight of one seller order: its items grouped by freight template
/// (in line order), each group priced as one parcel by its template
/// ([`FreightSpec::charge`]) against the seller order's items total, the
/// groups summed. Items without a template ship free. For station pickup the
/// station's fee is the whole freight, once the templates agree to deliver
/// to the station's region.
pub fn freight_of(
    dest: &Destination,
    items: &[(&ListingSnapshot, i32)],
    items_total: Fen,
) -> Result<Fen, PricingError> {
    let mut groups: Vec<(FreightTemplateId, &FreightSpec, ListingId, i64, bool)> = Vec::new();
    for (l, qty) in items {
        let Some((tid, spec)) = &l.freight else {
            continue;
        };
        let units = match spec.mode {
            FreightMode::Weight => i64::from(l.unit_weight_grams) * i64::from(*qty),
            FreightMode::Piece => i64::from(*qty),
        };
        let cold = matches!(l.storage, Storage::Chilled | Storage::Frozen);
        match groups.iter_mut().find(|g| g.0 == *tid) {
            Some(g) => {
                g.3 = g.3.checked_add(units).ok_or(PricingError::Overflow)?;
                g.4 |= cold;
            }
            None => groups.push((*tid, spec, l.id, units, cold)),
        }
    }
    let mut freight = Fen::ZERO;
    for (_, spec, first_listing, units, cold_chain) in groups {
        let parcel = Parcel {
            units,
            cold_chain,
            items_total,
        };
        let charge = spec
            .charge(dest.region_code(), parcel)
            .map_err(|r| match r {
                Refusal::NotDeliverable => PricingError::NotDeliverable(first_listing),
                Refusal::Overflow => PricingError::Overflow,
            })?;
        freight = freight.checked_add(charge).ok_or(PricingError::Overflow)?;
    }
    Ok(match dest {
        Destination::Home { .. } => freight,
        Destination::Station { fee, .. } => *fee,
    })
}

/// Prices an order: each line at the tier price for its own quantity;
/// minimum order quantity, availability, group-buy deadline and stock checked
/// per listing over all its lines; each seller order's freight to `dest`
/// ([`freight_of`]).
pub fn price_order(
    lines: &[OrderLine],
    listings: &HashMap<ListingId, ListingSnapshot>,
    dest: &Destination,
    rules: &[crate::settlement::CommissionRule],
    now: DateTime<Utc>,
) -> Result<PricedOrder, PricingError> {
    if lines.is_empty() {
        return Err(PricingError::Empty);
    }
    if lines.len() > MAX_LINES {
        return Err(PricingError::TooManyLines);
    }
    let mut needs: BTreeMap<ListingId, i32> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        if !(1..=MAX_LINE_QTY).contains(&line.quantity) {
            return Err(PricingError::BadQuantity { index });
        }
        if !listings.contains_key(&line.listing_id) {
            return Err(PricingError::UnknownListing { index });
        }
        let n = needs.entry(line.listing_id).or_insert(0);
        *n = n.checked_add(line.quantity).ok_or(PricingError::Overflow)?;
    }
    for (id, qty) in &needs {
        let l = &listings[id];
        if !matches!(l.status, ListingStatus::Active | ListingStatus::SoldOut) {
            return Err(PricingError::Unavailable(*id));
        }
        if let SaleTerms::GroupBuy { deadline, .. } = l.sale {
            if deadline <= now {
                return Err(PricingError::GroupBuyClosed(*id));
            }
        }
        if *qty < l.min_order_qty {
            return Err(PricingError::BelowMinimum {
                listing: *id,
                min: l.min_order_qty,
            });
        }
        if l.status == ListingStatus::SoldOut || *qty > l.stock {
            return Err(PricingError::OutOfStock(*id));
        }
    }
    let mut by_seller: BTreeMap<OrgId, Vec<PricedItem>> = BTreeMap::new();
    for line in lines {
        let l = &listings[&line.listing_id];
        let unit = unit_price(l.price, &l.tiers, line.quantity);
        let line_total = unit
            .checked_mul(i64::from(line.quantity))
            .ok_or(PricingError::Overflow)?;
        by_seller.entry(l.seller_id).or_default().push(PricedItem {
            listing_id: l.id,
            title: l.title.clone(),
            unit_label: l.unit_label.clone(),
            quantity: line.quantity,
            unit_price: unit,
            line_total,
            commission_bp: crate::settlement::rate_for(
                rules,
                l.category_id,
                l.root_category_id,
                l.seller_kind,
                now.date_naive(),
            )
            .unwrap_or_else(|| commission_bp(l.seller_kind)),
            supplier_member_id: l.supplier_member_id,
            ship_from: match l.sale {
                SaleTerms::Presale { ship_from } => Some(ship_from),
                _ => None,
            },
            trace_batch_code: l.trace_batch_code.clone(),
        });
    }
    let mut total = Fen::ZERO;
    let mut sellers = Vec::with_capacity(by_seller.len());
    for (seller_id, items) in by_seller {
        let mut items_total = Fen::ZERO;
        for i in &items {
            items_total = items_total
                .checked_add(i.line_total)
                .ok_or(PricingError::Overflow)?;
        }
        let parcels: Vec<(&ListingSnapshot, i32)> = items
            .iter()
            .map(|i| (&listings[&i.listing_id], i.quantity))
            .collect();
        let freight = freight_of(dest, &parcels, items_total)?;
        total = total
            .checked_add(items_total)
            .and_then(|t| t.checked_add(freight))
            .ok_or(PricingError::Overflow)?;
        sellers.push(PricedSeller {
            seller_id,
            items,
            items_total,
            freight,
        });
    }
    Ok(PricedOrder {
        sellers,
        total,
        stock_needs: needs,
    })
}
