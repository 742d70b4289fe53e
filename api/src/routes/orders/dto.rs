//! Request and response bodies of orders, seller orders and payments.

use super::*;

#[derive(Deserialize, Serialize, ToSchema)]
pub struct OrderLineBody {
    pub listing_id: Uuid,
    #[schema(example = 2)]
    pub quantity: i32,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct AddressBody {
    #[schema(example = "王芳")]
    pub recipient: String,
    #[schema(example = "13800000000")]
    pub phone: String,
    #[schema(example = "110105")]
    pub region_code: String,
    #[schema(example = "朝阳区建国路 1 号")]
    pub line: String,
}

/// `{"method": "home_delivery", "address": {…}}` or `{"method": "station_pickup", "station_id": "…"}`
#[derive(Deserialize, Serialize, ToSchema)]
pub struct DeliveryBody {
    /// `home_delivery` (with `address`) or `station_pickup` (with `station_id`)
    #[schema(schema_with = contract::delivery_method)]
    pub method: String,
    pub address: Option<AddressBody>,
    pub station_id: Option<Uuid>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct CreateOrderRequest {
    pub items: Vec<OrderLineBody>,
    pub delivery: DeliveryBody,
    /// The mall's own order number (partners only; unique per partner).
    pub external_ref: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderItemResponse {
    /// The order item (shipments name it).
    pub id: Uuid,
    pub listing_id: Uuid,
    pub seller_order_id: Uuid,
    pub title: String,
    pub unit_label: String,
    pub quantity: i32,
    pub unit_price_fen: i64,
    pub line_total_fen: i64,
    /// Commission rate snapshotted at order time.
    pub commission_bp: u32,
    /// Presale: shipping starts on this date.
    pub ship_from_date: Option<NaiveDate>,
    /// Returned to the buyer by after-sales refunds so far.
    pub refunded_fen: i64,
    /// The trace batch of what was sold (the listing's when ordered):
    /// `GET /trace/{code}`.
    pub trace_batch_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SellerOrderResponse {
    pub id: Uuid,
    pub order_id: Uuid,
    pub seller_id: Uuid,
    /// `pending_payment`, `paid`, `accepted`, `shipped`, `delivered`, `completed`, `rejected`, `refunded`, `cancelled`
    pub status: &'static str,
    /// Its items.
    pub subtotal_fen: i64,
    /// Shipping, paid to the seller (no commission on it).
    pub freight_fen: i64,
    /// `subtotal_fen + freight_fen`
    pub total_fen: i64,
    /// On the items only.
    pub commission_fen: i64,
    /// Returned to the buyer by after-sales refunds so far (items and
    /// freight; a full refund before shipping shows as status `refunded`).
    pub refunded_fen: i64,
    /// Of the shipment that completed the shipping.
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    /// Station pickup: the code the buyer shows (buyer's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    pub items: Vec<OrderItemResponse>,
    /// Its parcels, each with its steps in time order.
    pub shipments: Vec<crate::routes::delivery::ShipmentResponse>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn item_response(i: &domain::orders::OrderItem) -> OrderItemResponse {
    OrderItemResponse {
        id: i.id,
        listing_id: i.item.listing_id.0,
        seller_order_id: i.seller_order_id.0,
        title: i.item.title.clone(),
        unit_label: i.item.unit_label.clone(),
        quantity: i.item.quantity,
        unit_price_fen: i.item.unit_price.0,
        line_total_fen: i.item.line_total.0,
        commission_bp: i.item.commission_bp,
        ship_from_date: i.item.ship_from,
        refunded_fen: i.refunded.0,
        trace_batch_code: i.item.trace_batch_code.clone(),
    }
}

pub(crate) fn seller_order_response(so: &SellerOrder, with_code: bool) -> SellerOrderResponse {
    SellerOrderResponse {
        id: so.id.0,
        order_id: so.order_id.0,
        seller_id: so.seller_id.0,
        status: so.status.as_str(),
        subtotal_fen: so.subtotal.0,
        freight_fen: so.freight.0,
        total_fen: so.subtotal.0 + so.freight.0,
        commission_fen: so.commission.0,
        refunded_fen: so.refunded.0,
        carrier: so.carrier.clone(),
        tracking_no: so.tracking_no.clone(),
        pickup_code: if with_code {
            so.pickup_code.clone()
        } else {
            None
        },
        items: so.items.iter().map(item_response).collect(),
        shipments: so
            .shipments
            .iter()
            .map(crate::routes::delivery::shipment_response)
            .collect(),
        updated_at: so.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    pub seller_order_id: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: String,
    /// `user:<id>`, `partner:<id>`, `buyer`, `provider`, `system:expiry`, `station:<id>` …
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

impl From<OrderEvent> for EventResponse {
    fn from(e: OrderEvent) -> Self {
        Self {
            seller_order_id: e.seller_order_id.map(|s| s.0),
            from_status: e.from_status,
            to_status: e.to_status,
            actor: e.actor,
            occurred_at: e.occurred_at,
        }
    }
}

/// How the order reaches the buyer.
#[derive(Serialize, ToSchema)]
pub struct DeliveryResponse {
    /// `home_delivery` or `station_pickup`
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_id: Option<Uuid>,
}

impl From<&Delivery> for DeliveryResponse {
    fn from(d: &Delivery) -> Self {
        match d {
            Delivery::HomeDelivery { address } => Self {
                method: "home_delivery",
                address: Some(AddressBody {
                    recipient: address.recipient.clone(),
                    phone: address.phone.clone(),
                    region_code: address.region_code.clone(),
                    line: address.line.clone(),
                }),
                station_id: None,
            },
            Delivery::StationPickup { station_id } => Self {
                method: "station_pickup",
                address: None,
                station_id: Some(station_id.0),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderResponse {
    pub id: Uuid,
    /// Human-readable order number, e.g. `CM202611240123456789`.
    pub number: String,
    /// `pending_payment`, `paid`, `completed`, `cancelled`, `expired`
    pub status: &'static str,
    /// `user` or `partner`
    pub buyer_type: &'static str,
    pub external_ref: Option<String>,
    /// Σ seller orders' items.
    pub items_fen: i64,
    /// Σ seller orders' freight.
    pub freight_fen: i64,
    /// `items_fen + freight_fen`: what the buyer pays.
    pub total_fen: i64,
    /// Unpaid orders expire (stock returns) at this time.
    pub expires_at: DateTime<Utc>,
    pub delivery: DeliveryResponse,
    pub items: Vec<OrderItemResponse>,
    pub seller_orders: Vec<SellerOrderResponse>,
    pub created_at: DateTime<Utc>,
    /// Every state change (order detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EventResponse>>,
}

pub fn order_response(o: &Order) -> OrderResponse {
    OrderResponse {
        id: o.id.0,
        number: o.number.clone(),
        status: o.status.as_str(),
        buyer_type: match o.buyer {
            Buyer::User(_) => "user",
            Buyer::Partner(_) => "partner",
        },
        external_ref: o.external_ref.clone(),
        items_fen: o.seller_orders.iter().map(|s| s.subtotal.0).sum(),
        freight_fen: o.seller_orders.iter().map(|s| s.freight.0).sum(),
        total_fen: o.total.0,
        expires_at: o.expires_at,
        delivery: DeliveryResponse::from(&o.delivery),
        items: o
            .seller_orders
            .iter()
            .flat_map(|s| s.items.iter().map(item_response))
            .collect(),
        seller_orders: o
            .seller_orders
            .iter()
            .map(|s| seller_order_response(s, true))
            .collect(),
        created_at: o.created_at,
        history: None,
    }
}

/// A line of a quote.
#[derive(Serialize, ToSchema)]
pub struct QuoteItemResponse {
    pub listing_id: Uuid,
    pub title: String,
    pub unit_label: String,
    pub quantity: i32,
    pub unit_price_fen: i64,
    pub line_total_fen: i64,
}

/// What one seller order would cost.
#[derive(Serialize, ToSchema)]
pub struct QuoteSellerOrder {
    pub seller_id: Uuid,
    pub items: Vec<QuoteItemResponse>,
    pub items_fen: i64,
    pub freight_fen: i64,
    pub total_fen: i64,
}

/// What the order would cost now; creating it charges exactly this while
/// listings, templates and the station fee do not change.
#[derive(Serialize, ToSchema)]
pub struct QuoteResponse {
    pub seller_orders: Vec<QuoteSellerOrder>,
    pub items_fen: i64,
    pub freight_fen: i64,
    pub total_fen: i64,
}

impl From<&domain::orders::PricedOrder> for QuoteResponse {
    fn from(p: &domain::orders::PricedOrder) -> Self {
        Self {
            seller_orders: p
                .sellers
                .iter()
                .map(|s| QuoteSellerOrder {
                    seller_id: s.seller_id.0,
                    items: s
                        .items
                        .iter()
                        .map(|i| QuoteItemResponse {
                            listing_id: i.listing_id.0,
                            title: i.title.clone(),
                            unit_label: i.unit_label.clone(),
                            quantity: i.quantity,
                            unit_price_fen: i.unit_price.0,
                            line_total_fen: i.line_total.0,
                        })
                        .collect(),
                    items_fen: s.items_total.0,
                    freight_fen: s.freight.0,
                    total_fen: s.items_total.0 + s.freight.0,
                })
                .collect(),
            items_fen: p.sellers.iter().map(|s| s.items_total.0).sum(),
            freight_fen: p.sellers.iter().map(|s| s.freight.0).sum(),
            total_fen: p.total.0,
        }
    }
}
