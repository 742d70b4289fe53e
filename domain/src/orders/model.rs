//! Order entities, pricing and the state machines.

use crate::wire_enum;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ListingId;
use crate::coop::OrgId;
use crate::delivery::{Shipment, ShipmentId, ShipmentItem};
use crate::identity::{PartnerId, UserId};
use crate::money::Fen;
use crate::typed_id;

use super::pricing::*;
use crate::validation::ValidationErrors;

typed_id!(
    /// A buyer's order (may span several sellers).
    OrderId
);
typed_id!(
    /// The part of an order one seller fulfils.
    SellerOrderId
);
typed_id!(
    /// A payment attempt for an order.
    PaymentId
);

wire_enum!(OrderStatus {
    PendingPayment => "pending_payment",
    Paid => "paid",
    Completed => "completed",
    Cancelled => "cancelled",
    Expired => "expired",
});

wire_enum!(SellerOrderStatus {
    PendingPayment => "pending_payment",
    Paid => "paid",
    Accepted => "accepted",
    Shipped => "shipped",
    Delivered => "delivered",
    Completed => "completed",
    Rejected => "rejected",
    Refunded => "refunded",
    Cancelled => "cancelled",
});

wire_enum!(GroupOutcome {
    /// The paid quantity reached the target: the orders proceed.
    Succeeded => "succeeded",
    /// It did not: paid seller orders are refunded, unpaid orders cancelled.
    Failed => "failed",
});

/// A group buy's outcome at its deadline: the units in paid orders against
/// the target.
pub fn group_buy_outcome(target_qty: i32, paid_qty: i64) -> GroupOutcome {
    if paid_qty >= i64::from(target_qty) {
        GroupOutcome::Succeeded
    } else {
        GroupOutcome::Failed
    }
}

wire_enum!(PaymentStatus {
    Pending => "pending",
    Succeeded => "succeeded",
    Failed => "failed",
    Refunded => "refunded",
});

impl SellerOrderStatus {
    /// No further change is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Refunded | Self::Cancelled)
    }
}

/// Who bought: a user, or a partner (mall) as buyer of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buyer {
    User(UserId),
    Partner(PartnerId),
}

impl Buyer {
    /// The idempotency-key scope of this caller.
    pub fn scope(&self) -> String {
        match self {
            Buyer::User(u) => format!("user:{u}"),
            Buyer::Partner(p) => format!("partner:{p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Delivery {
    HomeDelivery { address: Address },
    StationPickup { station_id: OrgId },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub recipient: String,
    pub phone: String,
    pub region_code: String,
    pub line: String,
}

/// What happens to a seller order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerAction {
    Accept,
    Reject,
    /// One shipment: of `items` (`None`: everything not shipped yet), with
    /// the hubs and stations named on its way.
    Ship {
        /// The new shipment's id (chosen by the caller, so it can find it).
        shipment_id: ShipmentId,
        carrier: String,
        tracking_no: String,
        items: Option<Vec<ShipmentItem>>,
        route: Vec<OrgId>,
    },
    Deliver,
    /// The service station confirmed the buyer picked it up.
    PickedUp,
    /// The buyer confirmed receipt, or the auto-complete period passed.
    Complete,
    Refund,
}

impl SellerAction {
    pub fn name(&self) -> &'static str {
        match self {
            SellerAction::Accept => "accept",
            SellerAction::Reject => "reject",
            SellerAction::Ship { .. } => "ship",
            SellerAction::Deliver => "deliver",
            SellerAction::PickedUp => "pickup",
            SellerAction::Complete => "complete",
            SellerAction::Refund => "refund",
        }
    }
}

/// The seller-order state machine: `paid → accepted → shipped → delivered →
/// completed`; `paid → rejected` (then refunded at once); refunds from
/// `paid`, `accepted` or `rejected`. (A shipment of part of the items keeps
/// the seller order `accepted`: see [`decide_seller_change`].)
pub fn seller_transition(
    from: SellerOrderStatus,
    action: &SellerAction,
) -> Result<SellerOrderStatus, (SellerOrderStatus, &'static str)> {
    use SellerOrderStatus::*;
    let to = match (from, action) {
        (Paid, SellerAction::Accept) => Accepted,
        (Paid, SellerAction::Reject) => Rejected,
        (Accepted, SellerAction::Ship { .. }) => Shipped,
        (Shipped, SellerAction::Deliver | SellerAction::PickedUp) => Delivered,
        (Delivered, SellerAction::Complete) => Completed,
        (Paid | Accepted | Rejected, SellerAction::Refund) => Refunded,
        _ => return Err((from, action.name())),
    };
    Ok(to)
}

/// An order's status once all its seller orders are final.
pub fn order_status_after(sellers: &[SellerOrderStatus], current: OrderStatus) -> OrderStatus {
    if current == OrderStatus::Paid && !sellers.is_empty() && sellers.iter().all(|s| s.is_final()) {
        OrderStatus::Completed
    } else {
        current
    }
}

/// A seller order loaded (and locked) for a state change, with what the
/// rules need to know of its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerOrderForUpdate {
    pub id: SellerOrderId,
    pub seller_id: OrgId,
    /// Items, freight and commission, as the order snapshotted them.
    pub subtotal: Fen,
    pub freight: Fen,
    pub commission: Fen,
    /// After-sales refunds paid before completion, and the commission they
    /// gave back (completion pays the seller the rest).
    pub held_refunded: Fen,
    pub held_commission_returned: Fen,
    pub order_id: OrderId,
    pub order_status: OrderStatus,
    pub status: SellerOrderStatus,
    pub pickup_code: Option<String>,
    /// Statuses of the order's other seller orders.
    pub siblings: Vec<SellerOrderStatus>,
    pub items: Vec<ItemState>,
    /// Station pickup: the station (always on a shipment's route).
    pub station: Option<OrgId>,
}

/// An item of a seller order, with how much of it has shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    pub id: uuid::Uuid,
    pub listing_id: ListingId,
    pub quantity: i32,
    pub shipped: i32,
    /// Chilled or frozen produce.
    pub cold_chain: bool,
}

/// Everything one seller action changes; the repository writes exactly this
/// (in the transaction that loaded the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerChange {
    pub from: SellerOrderStatus,
    pub to: SellerOrderStatus,
    /// Ship: carrier and tracking number, trimmed.
    pub shipping: Option<(String, String)>,
    /// Ship: the new shipment (without events).
    pub shipment: Option<Shipment>,
    /// Deliver / picked up: when.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Refund (always before shipping): units that go back to stock.
    pub restock: Vec<(ListingId, i32)>,
    /// The order's own status change, once all its seller orders are final.
    pub order_status: Option<(OrderStatus, OrderStatus)>,
    /// The money it moves, posted in the same transaction: completion pays
    /// the seller, a refund returns the held money.
    pub entry: Option<crate::ledger::Entry>,
}

/// Why a seller action was refused; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerRefusal {
    /// The action is not allowed from this status.
    Invalid(SellerOrderStatus, &'static str),
    /// Station pickup: the code shown does not match the order's.
    WrongPickupCode,
    /// Refund after part of the seller order shipped (that is after-sales).
    AlreadyShipped,
    /// The shipment's items are wrong (unknown item, more than is left …).
    BadShipment(ValidationErrors),
}

/// The shipment a `Ship` action creates: the items asked for (or all that
/// is left), none more than is left, and whether that ships the whole
/// seller order.
fn plan_shipment(
    s: &SellerOrderForUpdate,
    id: ShipmentId,
    carrier: &str,
    tracking_no: &str,
    wanted: Option<&[ShipmentItem]>,
    route: &[OrgId],
    now: DateTime<Utc>,
) -> Result<(Shipment, bool), SellerRefusal> {
    let left = |i: &ItemState| i.quantity - i.shipped;
    let items: Vec<ShipmentItem> = match wanted {
        None => s
            .items
            .iter()
            .filter(|i| left(i) > 0)
            .map(|i| ShipmentItem {
                order_item_id: i.id,
                quantity: left(i),
            })
            .collect(),
        Some(w) => w.to_vec(),
    };
    let mut e = ValidationErrors::new();
    if items.is_empty() {
        e.add("items", "nothing is left to ship");
    }
    let mut seen = std::collections::HashSet::new();
    let mut cold_chain = false;
    let mut remaining: i64 = s.items.iter().map(|i| i64::from(left(i))).sum();
    for (n, it) in items.iter().enumerate() {
        match s.items.iter().find(|i| i.id == it.order_item_id) {
            None => e.add(
                format!("items[{n}].order_item_id"),
                "is not an item of this seller order",
            ),
            Some(_) if !seen.insert(it.order_item_id) => {
                e.add(format!("items[{n}].order_item_id"), "is listed twice")
            }
            Some(i) if it.quantity < 1 || it.quantity > left(i) => e.add(
                format!("items[{n}].quantity"),
                format!("must be 1–{} (not shipped yet)", left(i)),
            ),
            Some(i) => {
                cold_chain |= i.cold_chain;
                remaining -= i64::from(it.quantity);
            }
        }
    }
    if !e.is_empty() {
        return Err(SellerRefusal::BadShipment(e));
    }
    let mut route: Vec<OrgId> = route.to_vec();
    if let Some(st) = s.station {
        if !route.contains(&st) {
            route.push(st);
        }
    }
    Ok((
        Shipment {
            id,
            seller_order_id: s.id,
            carrier: carrier.trim().to_owned(),
            tracking_no: tracking_no.trim().to_owned(),
            items,
            route,
            cold_chain,
            created_at: now,
            events: Vec::new(),
        },
        remaining == 0,
    ))
}

/// The one place a seller action is decided: the state machine
/// ([`seller_transition`]), the pickup code, what shipping and delivery
/// record, that a refund returns the items to stock, and the order's
/// roll-up ([`order_status_after`]).
pub fn decide_seller_change(
    s: &SellerOrderForUpdate,
    action: &SellerAction,
    pickup_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SellerChange, SellerRefusal> {
    let mut to = seller_transition(s.status, action)
        .map_err(|(from, name)| SellerRefusal::Invalid(from, name))?;
    if matches!(action, SellerAction::PickedUp)
        && (s.pickup_code.is_none() || s.pickup_code.as_deref() != pickup_code)
    {
        return Err(SellerRefusal::WrongPickupCode);
    }
    if to == SellerOrderStatus::Refunded && s.items.iter().any(|i| i.shipped > 0) {
        return Err(SellerRefusal::AlreadyShipped);
    }
    let (shipping, shipment) = match action {
        SellerAction::Ship {
            shipment_id,
            carrier,
            tracking_no,
            items,
            route,
        } => {
            let (shipment, all) = plan_shipment(
                s,
                *shipment_id,
                carrier,
                tracking_no,
                items.as_deref(),
                route,
                now,
            )?;
            if !all {
                // part of the items: still accepted, the rest ships later
                to = s.status;
            }
            let shipping = all.then(|| (shipment.carrier.clone(), shipment.tracking_no.clone()));
            (shipping, Some(shipment))
        }
        _ => (None, None),
    };
    let restock = if to == SellerOrderStatus::Refunded {
        s.items.iter().map(|i| (i.listing_id, i.quantity)).collect()
    } else {
        Vec::new()
    };
    let mut all = s.siblings.clone();
    all.push(to);
    let next = order_status_after(&all, s.order_status);
    let entry = match to {
        _ if to == s.status => None,
        SellerOrderStatus::Completed => Some(crate::ledger::seller_order_completed(
            s.id.0,
            s.seller_id,
            crate::ledger::CompletedAmounts {
                items: s.subtotal,
                freight: s.freight,
                commission: s.commission,
                refunded: s.held_refunded,
                commission_returned: s.held_commission_returned,
            },
        )),
        SellerOrderStatus::Refunded => Some(crate::ledger::seller_order_refunded(
            s.id.0,
            s.subtotal + s.freight,
        )),
        _ => None,
    };
    Ok(SellerChange {
        from: s.status,
        to,
        shipping,
        shipment,
        delivered_at: (to == SellerOrderStatus::Delivered).then_some(now),
        restock,
        order_status: (next != s.order_status).then_some((s.order_status, next)),
        entry,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub id: uuid::Uuid,
    pub seller_order_id: SellerOrderId,
    pub item: PricedItem,
    /// Returned to the buyer by after-sales refunds so far.
    pub refunded: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerOrder {
    pub id: SellerOrderId,
    pub order_id: OrderId,
    pub seller_id: OrgId,
    pub status: SellerOrderStatus,
    /// Items total.
    pub subtotal: Fen,
    /// Paid by the buyer to the seller for shipping (no commission on it).
    pub freight: Fen,
    pub commission: Fen,
    /// Returned to the buyer by after-sales refunds (items and freight).
    pub refunded: Fen,
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    pub pickup_code: Option<String>,
    pub items: Vec<OrderItem>,
    /// Its parcels, in the order they were created.
    pub shipments: Vec<Shipment>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub number: String,
    pub buyer: Buyer,
    pub external_ref: Option<String>,
    pub status: OrderStatus,
    pub total: Fen,
    pub delivery: Delivery,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub seller_orders: Vec<SellerOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub amount: Fen,
    pub provider: String,
    pub status: PaymentStatus,
    pub created_at: DateTime<Utc>,
}

/// One recorded state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub seller_order_id: Option<SellerOrderId>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

/// The complete order as it will be stored, built from a priced new order:
/// ids (generated here, up front), one seller order per seller with its
/// subtotal and commission (each line's commission rounded on its own, see
/// [`Fen::apply_basis_points`]), items and pickup codes. The repository
/// stores exactly this; the response is rendered from it before the write.
pub fn build_order(new: &super::ports::NewOrder) -> Order {
    let sellers = new
        .priced
        .sellers
        .iter()
        .zip(&new.pickup_codes)
        .map(|(part, code)| {
            let id = SellerOrderId::new();
            let items = &part.items;
            SellerOrder {
                id,
                order_id: new.id,
                seller_id: part.seller_id,
                status: SellerOrderStatus::PendingPayment,
                subtotal: part.items_total,
                freight: part.freight,
                commission: items.iter().map(PricedItem::commission).sum(),
                refunded: Fen::ZERO,
                carrier: None,
                tracking_no: None,
                pickup_code: code.clone(),
                items: items
                    .iter()
                    .map(|i| OrderItem {
                        id: uuid::Uuid::now_v7(),
                        seller_order_id: id,
                        item: i.clone(),
                        refunded: Fen::ZERO,
                    })
                    .collect(),
                shipments: Vec::new(),
                updated_at: new.created_at,
            }
        })
        .collect();
    Order {
        id: new.id,
        number: new.number.clone(),
        buyer: new.buyer,
        external_ref: new.external_ref.clone(),
        status: OrderStatus::PendingPayment,
        total: new.priced.total,
        delivery: new.delivery.clone(),
        expires_at: new.expires_at,
        created_at: new.created_at,
        seller_orders: sellers,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
