//! Request and response bodies of listings.

use super::*;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct CertificationBody {
    /// `pollution_free`, `green`, `organic`, `geographic_indication` (三品一标)
    pub kind: String,
    pub cert_no: String,
    /// Expired certificates are refused.
    pub valid_until: NaiveDate,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
pub struct TierBody {
    pub min_qty: i32,
    pub price_fen: i64,
}

/// Listing fields. On create, `seller_id`, `title`, `category_id`,
/// `unit_label`, `unit_weight_grams`, `price_fen`, `stock` and
/// `origin_region_code` are required; on PATCH every field is optional and
/// `null` clears the nullable ones.
#[derive(Deserialize, ToSchema, Default)]
pub struct ListingBody {
    /// The selling organization (create only).
    pub seller_id: Option<Uuid>,
    /// A current member of the seller coop who supplied the produce.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub supplier_member_id: Option<Option<Uuid>>,
    /// One of the seller's freight templates; `null`: the seller's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub freight_template_id: Option<Option<Uuid>>,
    #[schema(example = "合心甜瓜 5kg箱")]
    pub title: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<Uuid>,
    #[schema(example = "羊角蜜")]
    pub variety: Option<String>,
    /// `premium`, `grade_1`, `grade_2`, `ungraded`
    pub grade: Option<String>,
    #[schema(example = "5kg箱")]
    pub unit_label: Option<String>,
    #[schema(example = 5000)]
    pub unit_weight_grams: Option<i32>,
    #[schema(example = 6800)]
    pub price_fen: Option<i64>,
    /// `min_qty` strictly ascending, `price_fen` strictly descending and below `price_fen`.
    pub tier_prices: Option<Vec<TierBody>>,
    pub min_order_qty: Option<i32>,
    pub stock: Option<i32>,
    #[schema(example = "220106")]
    pub origin_region_code: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub harvest_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, nullable)]
    pub shelf_life_days: Option<Option<i32>>,
    /// `ambient`, `chilled`, `frozen`
    pub storage: Option<String>,
    pub certifications: Option<Vec<CertificationBody>>,
    /// The code of a trace batch of the seller (`POST /trace/batches`);
    /// null to unlink.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub trace_batch_code: Option<Option<String>>,
    pub images: Option<Vec<String>>,
    /// `spot`, `presale` (needs `ship_from_date`), `group_buy` (needs `group_target_qty`, `group_deadline`)
    pub sale_mode: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub ship_from_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, nullable)]
    pub group_target_qty: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable)]
    pub group_deadline: Option<Option<DateTime<Utc>>>,
}

impl ListingBody {
    pub(crate) fn into_input(self) -> ListingInput {
        ListingInput {
            supplier_member_id: self.supplier_member_id.map(|m| m.map(MemberId)),
            freight_template_id: self
                .freight_template_id
                .map(|t| t.map(domain::delivery::FreightTemplateId)),
            title: self.title,
            description: self.description,
            category_id: self.category_id.map(CategoryId),
            variety: self.variety,
            grade: self.grade,
            unit_label: self.unit_label,
            unit_weight_grams: self.unit_weight_grams,
            price_fen: self.price_fen,
            tier_prices: self.tier_prices.map(|t| {
                t.into_iter()
                    .map(|t| TierPrice {
                        min_qty: t.min_qty,
                        price_fen: t.price_fen,
                    })
                    .collect()
            }),
            min_order_qty: self.min_order_qty,
            stock: self.stock,
            origin_region_code: self.origin_region_code,
            harvest_date: self.harvest_date,
            shelf_life_days: self.shelf_life_days,
            storage: self.storage,
            certifications: self.certifications.map(|c| {
                c.into_iter()
                    .map(|c| CertificationInput {
                        kind: c.kind,
                        cert_no: c.cert_no,
                        valid_until: c.valid_until,
                    })
                    .collect()
            }),
            trace_batch_code: self.trace_batch_code,
            images: self.images,
            sale_mode: self.sale_mode,
            ship_from_date: self.ship_from_date,
            group_target_qty: self.group_target_qty,
            group_deadline: self.group_deadline,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListingResponse {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub supplier_member_id: Option<Uuid>,
    /// `null`: the seller's default freight template applies.
    pub freight_template_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub category_id: Uuid,
    pub variety: String,
    pub grade: &'static str,
    pub unit_label: String,
    pub unit_weight_grams: i32,
    pub price_fen: i64,
    pub tier_prices: Vec<TierBody>,
    pub min_order_qty: i32,
    pub stock: i32,
    pub origin_region_code: String,
    pub origin_region_name: String,
    pub harvest_date: Option<NaiveDate>,
    pub shelf_life_days: Option<i32>,
    pub storage: &'static str,
    pub certifications: Vec<CertificationBody>,
    pub trace_batch_code: Option<String>,
    pub images: Vec<String>,
    pub sale_mode: &'static str,
    pub ship_from_date: Option<NaiveDate>,
    pub group_target_qty: Option<i32>,
    pub group_deadline: Option<DateTime<Utc>>,
    /// `draft`, `active`, `paused`, `sold_out`, `archived`
    pub status: &'static str,
    /// Active with stock: can be ordered now.
    pub buyable: bool,
    /// Also the ETag (`"<version>"`); send it as `If-Match` when updating.
    pub version: i32,
    pub sold_qty: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Listing> for ListingResponse {
    fn from(l: &Listing) -> Self {
        let f = &l.fields;
        let (ship, target, deadline) = match &f.sale {
            SaleTerms::Spot => (None, None, None),
            SaleTerms::Presale { ship_from } => (Some(*ship_from), None, None),
            SaleTerms::GroupBuy {
                target_qty,
                deadline,
            } => (None, Some(*target_qty), Some(*deadline)),
        };
        Self {
            id: l.id.0,
            seller_id: l.seller_id.0,
            supplier_member_id: f.supplier_member_id.map(|m| m.0),
            freight_template_id: f.freight_template_id.map(|t| t.0),
            title: f.title.clone(),
            description: f.description.clone(),
            category_id: f.category_id.0,
            variety: f.variety.clone(),
            grade: f.grade.as_str(),
            unit_label: f.unit_label.clone(),
            unit_weight_grams: f.unit_weight_grams,
            price_fen: f.price.0,
            tier_prices: f
                .tier_prices
                .iter()
                .map(|t| TierBody {
                    min_qty: t.min_qty,
                    price_fen: t.price_fen,
                })
                .collect(),
            min_order_qty: f.min_order_qty,
            stock: f.stock,
            origin_region_code: f.origin_region_code.as_str().to_owned(),
            origin_region_name: f.origin_region_code.display_name(),
            harvest_date: f.harvest_date,
            shelf_life_days: f.shelf_life_days,
            storage: f.storage.as_str(),
            certifications: f
                .certifications
                .iter()
                .map(|c| CertificationBody {
                    kind: c.kind.as_str().to_owned(),
                    cert_no: c.cert_no.clone(),
                    valid_until: c.valid_until,
                })
                .collect(),
            trace_batch_code: f.trace_batch_code.clone(),
            images: f.images.clone(),
            sale_mode: f.sale.mode().as_str(),
            ship_from_date: ship,
            group_target_qty: target,
            group_deadline: deadline,
            status: l.status.as_str(),
            buyable: l.is_buyable(),
            version: l.version,
            sold_qty: l.sold_qty,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}
