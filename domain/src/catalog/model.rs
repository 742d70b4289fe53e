//! Listing value objects, validation and the status state machine.

use crate::wire_enum;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::coop::{MemberId, OrgId};
use crate::delivery::FreightTemplateId;
use crate::money::Fen;
use crate::region::RegionCode;
use crate::typed_id;
use crate::validation::ValidationErrors;

typed_id!(
    /// A listing (商品).
    ListingId
);
typed_id!(
    /// A catalog category.
    CategoryId
);

wire_enum!(Grade { Premium => "premium", Grade1 => "grade_1", Grade2 => "grade_2", Ungraded => "ungraded" });
wire_enum!(Storage { Ambient => "ambient", Chilled => "chilled", Frozen => "frozen" });
wire_enum!(CertKind {
    PollutionFree => "pollution_free",
    Green => "green",
    Organic => "organic",
    GeographicIndication => "geographic_indication",
});
wire_enum!(SaleMode { Spot => "spot", Presale => "presale", GroupBuy => "group_buy" });
wire_enum!(ListingStatus {
    Draft => "draft",
    Active => "active",
    Paused => "paused",
    SoldOut => "sold_out",
    Archived => "archived",
});

/// A wholesale price: from `min_qty` units on, each unit costs `price`.
impl CertKind {
    /// The name printed on the certificate (三品一标).
    pub fn label_zh(self) -> &'static str {
        match self {
            CertKind::PollutionFree => "无公害农产品",
            CertKind::Green => "绿色食品",
            CertKind::Organic => "有机产品",
            CertKind::GeographicIndication => "农产品地理标志",
        }
    }
}

impl Grade {
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::Premium => "特级",
            Grade::Grade1 => "一级",
            Grade::Grade2 => "二级",
            Grade::Ungraded => "统货",
        }
    }
}

impl SaleMode {
    pub fn label_zh(self) -> &'static str {
        match self {
            SaleMode::Spot => "现货",
            SaleMode::Presale => "预售",
            SaleMode::GroupBuy => "拼团",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPrice {
    pub min_qty: i32,
    pub price_fen: i64,
}

/// A certification of 三品一标 with its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certification {
    pub kind: CertKind,
    pub cert_no: String,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleTerms {
    Spot,
    /// Order farming: paid now, shipped from `ship_from`.
    Presale {
        ship_from: NaiveDate,
    },
    /// Group buy: fulfilled when `target_qty` units are ordered by `deadline`.
    GroupBuy {
        target_qty: i32,
        deadline: DateTime<Utc>,
    },
}

impl SaleTerms {
    pub fn mode(&self) -> SaleMode {
        match self {
            SaleTerms::Spot => SaleMode::Spot,
            SaleTerms::Presale { .. } => SaleMode::Presale,
            SaleTerms::GroupBuy { .. } => SaleMode::GroupBuy,
        }
    }
}

/// Every field a seller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingFields {
    pub supplier_member_id: Option<MemberId>,
    /// `None`: the seller's default template applies.
    pub freight_template_id: Option<FreightTemplateId>,
    pub title: String,
    pub description: String,
    pub category_id: CategoryId,
    pub variety: String,
    pub grade: Grade,
    pub unit_label: String,
    pub unit_weight_grams: i32,
    pub price: Fen,
    pub tier_prices: Vec<TierPrice>,
    pub min_order_qty: i32,
    pub stock: i32,
    pub origin_region_code: RegionCode,
    pub harvest_date: Option<NaiveDate>,
    pub shelf_life_days: Option<i32>,
    pub storage: Storage,
    pub certifications: Vec<Certification>,
    pub trace_batch_code: Option<String>,
    pub images: Vec<String>,
    pub sale: SaleTerms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: ListingId,
    pub seller_id: OrgId,
    pub fields: ListingFields,
    pub status: ListingStatus,
    pub version: i32,
    pub sold_qty: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Listing {
    /// Can a buyer order it now?
    pub fn is_buyable(&self) -> bool {
        self.status == ListingStatus::Active && self.fields.stock > 0
    }

    /// The ETag of this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// Unit price for `qty` units: the best tier whose `min_qty` ≤ qty, else
/// the base price.
pub fn unit_price(base: Fen, tiers: &[TierPrice], qty: i32) -> Fen {
    tiers
        .iter()
        .filter(|t| t.min_qty <= qty)
        .map(|t| Fen(t.price_fen))
        .min()
        .unwrap_or(base)
        .min(base)
}

/// Raw listing input as received (all optional so PATCH can reuse it).
#[derive(Debug, Clone, Default)]
pub struct ListingInput {
    pub supplier_member_id: Option<Option<MemberId>>,
    pub freight_template_id: Option<Option<FreightTemplateId>>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<CategoryId>,
    pub variety: Option<String>,
    pub grade: Option<String>,
    pub unit_label: Option<String>,
    pub unit_weight_grams: Option<i32>,
    pub price_fen: Option<i64>,
    pub tier_prices: Option<Vec<TierPrice>>,
    pub min_order_qty: Option<i32>,
    pub stock: Option<i32>,
    pub origin_region_code: Option<String>,
    pub harvest_date: Option<Option<NaiveDate>>,
    pub shelf_life_days: Option<Option<i32>>,
    pub storage: Option<String>,
    pub certifications: Option<Vec<CertificationInput>>,
    pub trace_batch_code: Option<Option<String>>,
    pub images: Option<Vec<String>>,
    pub sale_mode: Option<String>,
    pub ship_from_date: Option<Option<NaiveDate>>,
    pub group_target_qty: Option<Option<i32>>,
    pub group_deadline: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Clone)]
pub struct CertificationInput {
    pub kind: String,
    pub cert_no: String,
    pub valid_until: NaiveDate,
}

pub const MAX_PRICE_FEN: i64 = 100_000_000; // ¥1,000,000 per unit
pub const MAX_STOCK: i32 = 10_000_000;

fn text(
    errors: &mut ValidationErrors,
    field: &str,
    v: Option<&str>,
    min: usize,
    max: usize,
) -> String {
    let s = v.map(str::trim).unwrap_or_default();
    let n = s.chars().count();
    if n < min || n > max {
        if min > 0 && n == 0 {
            errors.add(field, "is required");
        } else {
            errors.add(field, format!("must be {min}–{max} characters"));
        }
    }
    s.to_owned()
}

/// Validates tiers: `min_qty` strictly ascending and above the minimum order,
/// prices strictly descending and below the base price.
pub fn check_tiers(
    base: i64,
    min_order_qty: i32,
    tiers: &[TierPrice],
    errors: &mut ValidationErrors,
) {
    if tiers.len() > 10 {
        errors.add("tier_prices", "at most 10 tiers");
    }
    let mut prev: Option<&TierPrice> = None;
    for (i, t) in tiers.iter().enumerate() {
        let field = format!("tier_prices[{i}]");
        if t.min_qty <= min_order_qty.max(1) {
            errors.add(&field, "min_qty must be greater than min_order_qty");
        }
        if t.price_fen <= 0 || t.price_fen >= base {
            errors.add(&field, "price_fen must be positive and below price_fen");
        }
        if let Some(p) = prev {
            if t.min_qty <= p.min_qty {
                errors.add(&field, "min_qty must be strictly ascending");
            }
            if t.price_fen >= p.price_fen {
                errors.add(&field, "price_fen must be strictly descending");
            }
        }
        prev = Some(t);
    }
}

impl ListingInput {
    /// Builds the full field set from this input over `base` (the current
    /// listing for PATCH, `None` for create), validating every field.
    /// `today`/`now` make date rules testable.
    pub fn resolve(
        &self,
        base: Option<&ListingFields>,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ListingFields, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let pick = |new: &Option<String>, old: Option<&str>| new.clone().or(old.map(str::to_owned));
        let title = text(
            &mut e,
            "title",
            pick(&self.title, base.map(|b| b.title.as_str())).as_deref(),
            1,
            100,
        );
        let description = text(
            &mut e,
            "description",
            pick(&self.description, base.map(|b| b.description.as_str())).as_deref(),
            0,
            5000,
        );
        let variety = text(
            &mut e,
            "variety",
            pick(&self.variety, base.map(|b| b.variety.as_str())).as_deref(),
            0,
            50,
        );
        let unit_label = text(
            &mut e,
            "unit_label",
            pick(&self.unit_label, base.map(|b| b.unit_label.as_str())).as_deref(),
            1,
            20,
        );
        let category_id = self.category_id.or(base.map(|b| b.category_id));
        if category_id.is_none() {
            e.add("category_id", "is required");
        }
        let grade = match (&self.grade, base) {
            (Some(g), _) => g.parse::<Grade>().map_err(|m| e.add("grade", m)).ok(),
            (None, Some(b)) => Some(b.grade),
            (None, None) => Some(Grade::Ungraded),
        };
        let unit_weight_grams = self
            .unit_weight_grams
            .or(base.map(|b| b.unit_weight_grams))
            .unwrap_or(0);
        if !(1..=1_000_000).contains(&unit_weight_grams) {
            e.add("unit_weight_grams", "must be 1–1000000");
        }
        let price = self.price_fen.or(base.map(|b| b.price.0)).unwrap_or(0);
        if !(1..=MAX_PRICE_FEN).contains(&price) {
            e.add("price_fen", format!("must be 1–{MAX_PRICE_FEN} fen"));
        }
        let min_order_qty = self
            .min_order_qty
            .or(base.map(|b| b.min_order_qty))
            .unwrap_or(1);
        if !(1..=100_000).contains(&min_order_qty) {
            e.add("min_order_qty", "must be 1–100000");
        }
        let tier_prices = self
            .tier_prices
            .clone()
            .or(base.map(|b| b.tier_prices.clone()))
            .unwrap_or_default();
        check_tiers(price, min_order_qty, &tier_prices, &mut e);
        let stock = self.stock.or(base.map(|b| b.stock)).unwrap_or(-1);
        if !(0..=MAX_STOCK).contains(&stock) {
            e.add("stock", format!("must be 0–{MAX_STOCK}"));
        }
        let origin = match (&self.origin_region_code, base) {
            (Some(r), _) => RegionCode::parse(r)
                .map_err(|m| e.add("origin_region_code", m))
                .ok(),
            (None, Some(b)) => Some(b.origin_region_code.clone()),
            (None, None) => {
                e.add("origin_region_code", "is required");
                None
            }
        };
        let harvest_date = self
            .harvest_date
            .unwrap_or(base.and_then(|b| b.harvest_date));
        if harvest_date.is_some_and(|d| d > today + chrono::Duration::days(730)) {
            e.add("harvest_date", "is too far in the future");
        }
        let shelf_life_days = self
            .shelf_life_days
            .unwrap_or(base.and_then(|b| b.shelf_life_days));
        if shelf_life_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            e.add("shelf_life_days", "must be 1–3650");
        }
        let storage = match (&self.storage, base) {
            (Some(s), _) => s.parse::<Storage>().map_err(|m| e.add("storage", m)).ok(),
            (None, Some(b)) => Some(b.storage),
            (None, None) => Some(Storage::Ambient),
        };
        let certifications = match (&self.certifications, base) {
            (Some(list), _) => {
                if list.len() > 4 {
                    e.add("certifications", "at most 4 certifications");
                }
                list.iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let field = format!("certifications[{i}]");
                        let kind = c
                            .kind
                            .parse::<CertKind>()
                            .map_err(|m| e.add(&field, m))
                            .ok();
                        let no = c.cert_no.trim();
                        if no.is_empty() || no.chars().count() > 64 {
                            e.add(&field, "cert_no must be 1–64 characters");
                        }
                        if c.valid_until < today {
                            e.add(&field, "the certificate has expired");
                        }
                        kind.map(|kind| Certification {
                            kind,
                            cert_no: no.to_owned(),
                            valid_until: c.valid_until,
                        })
                    })
                    .collect()
            }
            (None, Some(b)) => b.certifications.clone(),
            (None, None) => Vec::new(),
        };
        let trace_batch_code = self
            .trace_batch_code
            .clone()
            .unwrap_or(base.and_then(|b| b.trace_batch_code.clone()))
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty());
        if trace_batch_code.as_ref().is_some_and(|c| {
            c.len() > 32 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }) {
            e.add(
                "trace_batch_code",
                "must be up to 32 letters, digits or dashes",
            );
        }
        let images = self
            .images
            .clone()
            .or(base.map(|b| b.images.clone()))
            .unwrap_or_default();
        if images.len() > 9 {
            e.add("images", "at most 9 images");
        }
        for (i, url) in images.iter().enumerate() {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 500
                || url.contains(char::is_whitespace)
            {
                e.add(
                    format!("images[{i}]"),
                    "must be an http(s) URL of at most 500 characters",
                );
            }
        }
        let sale = self.sale_terms(base, today, now, &mut e);
        let supplier_member_id = self
            .supplier_member_id
            .unwrap_or(base.and_then(|b| b.supplier_member_id));
        let freight_template_id = self
            .freight_template_id
            .unwrap_or(base.and_then(|b| b.freight_template_id));
        match (category_id, grade, origin, storage, sale, e.is_empty()) {
            (
                Some(category_id),
                Some(grade),
                Some(origin_region_code),
                Some(storage),
                Some(sale),
                true,
            ) => Ok(ListingFields {
                supplier_member_id,
                freight_template_id,
                title,
                description,
                category_id,
                variety,
                grade,
                unit_label,
                unit_weight_grams,
                price: Fen(price),
                tier_prices,
                min_order_qty,
                stock,
                origin_region_code,
                harvest_date,
                shelf_life_days,
                storage,
                certifications,
                trace_batch_code,
                images,
                sale,
            }),
            _ => Err(e),
        }
    }

    fn sale_terms(
        &self,
        base: Option<&ListingFields>,
        today: NaiveDate,
        now: DateTime<Utc>,
        e: &mut ValidationErrors,
    ) -> Option<SaleTerms> {
        let mode = match (&self.sale_mode, base) {
            (Some(m), _) => m
                .parse::<SaleMode>()
                .map_err(|m| e.add("sale_mode", m))
                .ok()?,
            (None, Some(b)) => b.sale.mode(),
            (None, None) => SaleMode::Spot,
        };
        let (old_ship, old_target, old_deadline) = match base.map(|b| &b.sale) {
            Some(SaleTerms::Presale { ship_from }) => (Some(*ship_from), None, None),
            Some(SaleTerms::GroupBuy {
                target_qty,
                deadline,
            }) => (None, Some(*target_qty), Some(*deadline)),
            _ => (None, None, None),
        };
        let ship = self.ship_from_date.unwrap_or(old_ship);
        let target = self.group_target_qty.unwrap_or(old_target);
        let deadline = self.group_deadline.unwrap_or(old_deadline);
        match mode {
            SaleMode::Spot => {
                if self.ship_from_date.flatten().is_some()
                    || self.group_target_qty.flatten().is_some()
                    || self.group_deadline.flatten().is_some()
                {
                    e.add(
                        "sale_mode",
                        "spot listings take no ship_from_date or group-buy fields",
                    );
                }
                Some(SaleTerms::Spot)
            }
            SaleMode::Presale => match ship {
                Some(d) if d > today => Some(SaleTerms::Presale { ship_from: d }),
                Some(_) => {
                    e.add("ship_from_date", "must be in the future for a presale");
                    None
                }
                None => {
                    e.add("ship_from_date", "is required for a presale");
                    None
                }
            },
            SaleMode::GroupBuy => {
                let t = match target {
                    Some(t) if (2..=MAX_STOCK).contains(&t) => Some(t),
                    _ => {
                        e.add(
                            "group_target_qty",
                            "is required for a group buy (at least 2)",
                        );
                        None
                    }
                };
                let d = match deadline {
                    Some(d) if d > now => Some(d),
                    _ => {
                        e.add(
                            "group_deadline",
                            "is required for a group buy and must be in the future",
                        );
                        None
                    }
                };
                Some(SaleTerms::GroupBuy {
                    target_qty: t?,
                    deadline: d?,
                })
            }
        }
    }
}

/// Status actions a seller takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    Publish,
    Pause,
    Archive,
}

/// The listing state machine. Publishing an empty listing makes it
/// `sold_out`; stock changes move `active ⇄ sold_out` by themselves.
pub fn next_status(
    from: ListingStatus,
    action: StatusAction,
    stock: i32,
) -> Result<ListingStatus, (ListingStatus, &'static str)> {
    use ListingStatus::*;
    let buyable = if stock > 0 { Active } else { SoldOut };
    match (action, from) {
        (StatusAction::Publish, Draft | Paused) => Ok(buyable),
        (StatusAction::Pause, Active | SoldOut) => Ok(Paused),
        (StatusAction::Archive, Draft | Active | Paused | SoldOut) => Ok(Archived),
        (StatusAction::Publish, _) => Err((from, "publish")),
        (StatusAction::Pause, _) => Err((from, "pause")),
        (StatusAction::Archive, _) => Err((from, "archive")),
    }
}

/// After a stock change: `active` with no stock is `sold_out`; `sold_out`
/// with stock again is `active`; other statuses stay.
pub fn status_for_stock(current: ListingStatus, stock: i32) -> ListingStatus {
    match (current, stock > 0) {
        (ListingStatus::Active, false) => ListingStatus::SoldOut,
        (ListingStatus::SoldOut, true) => ListingStatus::Active,
        (s, _) => s,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
