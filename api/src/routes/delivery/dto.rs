//! Request and response bodies of freight templates and shipments.

use super::*;

/// First unit + additional units. Units are grams (mode `weight`) or
/// pieces (mode `piece`).
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
pub struct RateBody {
    #[schema(example = 1000, minimum = 1, maximum = 1_000_000_000)]
    pub first_unit: i64,
    #[schema(example = 1200, minimum = 0, maximum = 10_000_000)]
    pub first_fen: i64,
    #[schema(example = 1000, minimum = 1, maximum = 1_000_000_000)]
    pub additional_unit: i64,
    #[schema(example = 600, minimum = 0, maximum = 10_000_000)]
    pub additional_fen: i64,
}

impl From<RateBody> for Rate {
    fn from(r: RateBody) -> Self {
        Rate {
            first_unit: r.first_unit,
            first_fen: r.first_fen,
            additional_unit: r.additional_unit,
            additional_fen: r.additional_fen,
        }
    }
}

impl From<Rate> for RateBody {
    fn from(r: Rate) -> Self {
        RateBody {
            first_unit: r.first_unit,
            first_fen: r.first_fen,
            additional_unit: r.additional_unit,
            additional_fen: r.additional_fen,
        }
    }
}

/// A rate for destinations under any of `regions`; the longest matching
/// prefix over all rules wins.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct RuleBody {
    /// GB/T 2260 prefixes: province (2 digits), city (4) or county (6).
    #[schema(example = json!(["11", "31"]))]
    pub regions: Vec<RegionPrefix>,
    #[serde(flatten)]
    pub rate: RateBody,
}

/// A province (2 digits), city (4) or county (6) code.
#[derive(Deserialize, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^([0-9]{2}){1,3}$", example = "22")]
pub struct RegionPrefix(pub String);

/// A freight template (运费模板): create and replace take every field.
#[derive(Deserialize, ToSchema)]
pub struct FreightTemplateBody {
    #[schema(example = "省内包邮")]
    pub name: String,
    /// `weight` (grams: the listing's `unit_weight_grams` × quantity) or `piece`
    #[schema(schema_with = crate::contract::one_of::<domain::delivery::FreightMode>)]
    pub mode: String,
    /// The seller's default, for listings that name no template (one per seller).
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub rules: Vec<RuleBody>,
    /// For destinations no rule names; absent: only those regions are served.
    pub default_rule: Option<RateBody>,
    /// The seller order's items at or above this ship free.
    #[schema(example = 19900, minimum = 1)]
    pub free_over_fen: Option<i64>,
    /// Areas not delivered to (不配送区域): always refused.
    #[serde(default)]
    #[schema(example = json!(["54", "65"]))]
    pub no_delivery_regions: Vec<RegionPrefix>,
    /// Added once per seller order holding chilled or frozen produce.
    #[serde(default)]
    #[schema(example = 1500, minimum = 0, maximum = 10_000_000)]
    pub cold_chain_surcharge_fen: i64,
}

impl FreightTemplateBody {
    pub fn into_input(self) -> TemplateInput {
        TemplateInput {
            name: self.name,
            mode: self.mode,
            is_default: self.is_default,
            rules: self
                .rules
                .into_iter()
                .map(|r| RegionRule {
                    regions: r.regions.into_iter().map(|p| p.0).collect(),
                    rate: r.rate.into(),
                })
                .collect(),
            default_rule: self.default_rule.map(Rate::from),
            free_over_fen: self.free_over_fen,
            no_delivery_regions: self.no_delivery_regions.into_iter().map(|p| p.0).collect(),
            cold_chain_surcharge_fen: self.cold_chain_surcharge_fen,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FreightTemplateResponse {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// `weight` or `piece`
    pub mode: &'static str,
    pub is_default: bool,
    pub rules: Vec<RuleBody>,
    pub default_rule: Option<RateBody>,
    pub free_over_fen: Option<i64>,
    pub no_delivery_regions: Vec<String>,
    pub cold_chain_surcharge_fen: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<FreightTemplate> for FreightTemplateResponse {
    fn from(t: FreightTemplate) -> Self {
        Self {
            id: t.id.0,
            org_id: t.org_id.0,
            name: t.name,
            mode: t.spec.mode.as_str(),
            is_default: t.is_default,
            rules: t
                .spec
                .rules
                .into_iter()
                .map(|r| RuleBody {
                    regions: r.regions.into_iter().map(RegionPrefix).collect(),
                    rate: r.rate.into(),
                })
                .collect(),
            default_rule: t.spec.default_rule.map(RateBody::from),
            free_over_fen: t.spec.free_over_fen,
            no_delivery_regions: t.spec.no_delivery_regions,
            cold_chain_surcharge_fen: t.spec.cold_chain_surcharge_fen,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
pub struct ShipmentItemBody {
    pub order_item_id: Uuid,
    #[schema(example = 1, minimum = 1)]
    pub quantity: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentEventResponse {
    pub id: Uuid,
    /// `hub_received`, `sorted`, `precooled`, `dispatched`, `arrived_station`, `picked_up`, `delivered`
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// As reported, with its offset.
    #[schema(value_type = String, format = DateTime, example = "2026-11-25T08:00:00+08:00")]
    pub occurred_at: DateTime<FixedOffset>,
    pub region_code: String,
    /// e.g. "河南省 信阳市 罗山县"
    pub region_name: String,
    pub place: String,
    /// Cold chain: degrees Celsius, to a tenth.
    pub temperature_c: Option<f64>,
    /// Who recorded it.
    pub organization_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// A parcel of a seller order and its way, step by step in time order.
#[derive(Serialize, ToSchema)]
pub struct ShipmentResponse {
    pub id: Uuid,
    pub seller_order_id: Uuid,
    pub carrier: String,
    pub tracking_no: String,
    pub items: Vec<ShipmentItemBody>,
    /// Logistics hubs and service stations named on its way.
    pub route: Vec<Uuid>,
    /// Holds chilled or frozen produce: steps carry a temperature.
    pub cold_chain: bool,
    /// Delivered or picked up.
    pub closed: bool,
    pub created_at: DateTime<Utc>,
    pub events: Vec<ShipmentEventResponse>,
}

pub fn shipment_response(s: &Shipment) -> ShipmentResponse {
    ShipmentResponse {
        id: s.id.0,
        seller_order_id: s.seller_order_id.0,
        carrier: s.carrier.clone(),
        tracking_no: s.tracking_no.clone(),
        items: s
            .items
            .iter()
            .map(|i| ShipmentItemBody {
                order_item_id: i.order_item_id,
                quantity: i.quantity,
            })
            .collect(),
        route: s.route.iter().map(|o| o.0).collect(),
        cold_chain: s.cold_chain,
        closed: s.is_closed(),
        created_at: s.created_at,
        events: s
            .events
            .iter()
            .map(|e| ShipmentEventResponse {
                id: e.id,
                kind: e.kind.as_str(),
                occurred_at: e.occurred_at,
                region_name: domain::region::RegionCode::parse(&e.region_code)
                    .map(|r| r.display_name())
                    .unwrap_or_default(),
                region_code: e.region_code.clone(),
                place: e.place.clone(),
                temperature_c: e.temperature_dc.map(|t| f64::from(t) / 10.0),
                organization_id: e.organization_id.0,
                recorded_at: e.recorded_at,
            })
            .collect(),
    }
}

/// A step of a parcel's way.
#[derive(Deserialize, ToSchema)]
pub struct ShipmentEventRequest {
    #[serde(rename = "type")]
    #[schema(schema_with = crate::contract::one_of::<domain::delivery::ShipmentEventType>)]
    pub kind: String,
    /// With an offset, e.g. `2026-11-25T08:00:00+08:00`; not in the future
    /// and not before the order (five minutes of clock difference allowed).
    #[schema(value_type = String, format = DateTime, example = "2026-11-25T08:00:00+08:00")]
    pub occurred_at: DateTime<FixedOffset>,
    /// GB/T 2260 county code (6 digits), optionally 9 or 12.
    #[schema(example = "411521", pattern = "^[0-9]{6}([0-9]{3}){0,2}$")]
    pub region_code: String,
    #[schema(example = "罗山县物流配送中心", min_length = 1, max_length = 100)]
    pub place: String,
    /// Required for chilled or frozen produce until it reaches the buyer;
    /// rounded to a tenth of a degree.
    #[schema(example = 4.0, minimum = -60, maximum = 60)]
    pub temperature_c: Option<f64>,
    /// The organization recording it (you are its staff): needed only when
    /// you are staff of several organizations on the shipment, or of a hub
    /// or station not named on its route.
    pub organization_id: Option<Uuid>,
}

impl ShipmentEventRequest {
    pub fn into_input(self) -> (EventInput, Option<OrgId>) {
        (
            EventInput {
                kind: self.kind,
                occurred_at: self.occurred_at,
                region_code: self.region_code,
                place: self.place,
                temperature_c: self.temperature_c,
            },
            self.organization_id.map(OrgId),
        )
    }
}
