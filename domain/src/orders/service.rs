//! Order use cases.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};

use super::model::*;
use super::ports::*;
use super::pricing::*;
use crate::catalog::ListingId;
use crate::coop::{
    MembershipRepository, NewTransaction, OrgId, OrgKind, OrgRepository, TransactionSource,
};
use crate::identity::{Phone, UserId};
use crate::region::RegionCode;
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{1}")]
    Forbidden(&'static str, &'static str),
    #[error("listing {0} does not have enough stock")]
    OutOfStock(ListingId),
    #[error("listing {0} cannot be ordered now")]
    Unavailable(ListingId),
    #[error("the group buy of listing {0} has closed")]
    GroupBuyClosed(ListingId),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInFlight,
    #[error("an order with this external_ref exists")]
    DuplicateExternalRef,
    #[error("the pickup code does not match")]
    WrongPickupCode,
    #[error("listing {0} is not delivered to this address")]
    NotDeliverable(ListingId),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl OrderError {
    /// A refusal of the request itself (not an idempotency answer, not a
    /// failure of ours).
    fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::Unknown(_) | Self::IdempotencyMismatch | Self::IdempotencyInFlight
        )
    }
}

/// The outcome of an order creation.
#[derive(Debug)]
pub enum Created {
    /// The new order and its rendered response body (JSON text).
    New(Box<Order>, String),
    /// The original response of an earlier request with the same key.
    Replayed {
        status: u16,
        /// JSON text.
        body: String,
    },
}

pub struct CreateOrderInput {
    pub lines: Vec<OrderLine>,
    pub delivery: Delivery,
    pub external_ref: Option<String>,
}

#[derive(Clone)]
pub struct OrderService {
    pub orders: Arc<dyn OrderRepository>,
    pub orgs: Arc<dyn OrgRepository>,
    pub members: Arc<dyn MembershipRepository>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub commission: Arc<dyn crate::settlement::CommissionRules>,
    pub payment_ttl: Duration,
    pub auto_complete_after: Duration,
}

/// Hubs and stations a shipment may name on its way.
pub const MAX_ROUTE: usize = 10;

/// Idempotency keys live at least this long.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// What an Idempotency-Key already in use means for this request.
fn key_taken(state: IdemBegin) -> Result<Created, OrderError> {
    match state {
        IdemBegin::Replay { status, body } => Ok(Created::Replayed { status, body }),
        IdemBegin::Mismatch => Err(OrderError::IdempotencyMismatch),
        IdemBegin::InFlight | IdemBegin::Started => Err(OrderError::IdempotencyInFlight),
    }
}

fn random_digits(n: u32) -> String {
    let v = uuid::Uuid::new_v4().as_u128() % 10u128.pow(n);
    format!("{v:0width$}", width = n as usize)
}

impl OrderService {
    /// Checks the delivery and says where it goes (for freight).
    fn check_delivery(&self, d: &Delivery) -> Result<Destination, OrderError> {
        let mut e = ValidationErrors::new();
        let dest = match d {
            Delivery::HomeDelivery { address } => {
                let r = address.recipient.trim();
                if r.is_empty() || r.chars().count() > 50 {
                    e.add("delivery.address.recipient", "must be 1–50 characters");
                }
                if Phone::parse(&address.phone).is_err() {
                    e.add(
                        "delivery.address.phone",
                        "is not a mainland China mobile number",
                    );
                }
                if let Err(m) = RegionCode::parse(&address.region_code) {
                    e.add("delivery.address.region_code", m);
                }
                let l = address.line.trim();
                if l.is_empty() || l.chars().count() > 200 {
                    e.add("delivery.address.line", "must be 1–200 characters");
                }
                Destination::Home {
                    region_code: address.region_code.clone(),
                }
            }
            Delivery::StationPickup { station_id } => match self.orgs.find(*station_id)? {
                Some(o) if o.kind == OrgKind::ServiceStation => Destination::Station {
                    region_code: o.region_code.as_str().to_owned(),
                    fee: o.pickup_fee,
                },
                _ => {
                    e.add("delivery.station_id", "is not a service station");
                    Destination::Home {
                        region_code: String::new(),
                    }
                }
            },
        };
        Ok(e.into_result(dest)?)
    }

    fn check_buyer(buyer: &Buyer, external_ref: Option<&String>) -> Result<(), OrderError> {
        match (buyer, external_ref) {
            (Buyer::Partner(_), None) => Err(ValidationErrors::single(
                "external_ref",
                "is required for partner orders",
            )
            .into()),
            (Buyer::Partner(_), Some(r)) if r.trim().is_empty() || r.len() > 64 => {
                Err(ValidationErrors::single("external_ref", "must be 1–64 characters").into())
            }
            (Buyer::User(_), Some(_)) => {
                Err(ValidationErrors::single("external_ref", "is for partner orders only").into())
            }
            _ => Ok(()),
        }
    }

    /// What the order would cost now, per seller order (items, freight,
    /// total), with every check an order gets short of writing it: the
    /// order placed next charges exactly this while nothing changes.
    pub fn quote(
        &self,
        buyer: Buyer,
        input: &CreateOrderInput,
        now: DateTime<Utc>,
    ) -> Result<PricedOrder, OrderError> {
        if matches!(buyer, Buyer::User(_)) || input.external_ref.is_some() {
            Self::check_buyer(&buyer, input.external_ref.as_ref())?;
        }
        let dest = self.check_delivery(&input.delivery)?;
        let ids: Vec<ListingId> = input.lines.iter().map(|l| l.listing_id).collect();
        let snapshots = self.orders.snapshots(&ids)?;
        let rules = self.commission.current()?;
        price(&input.lines, &snapshots, &dest, &rules, now)
    }

    /// Creates an order. With `idem = Some((key, request_hash))` the
    /// Idempotency-Key rules apply (replay, mismatch, in flight).
    pub fn create(
        &self,
        buyer: Buyer,
        input: &CreateOrderInput,
        idem: Option<(&str, &str)>,
        render: Render<'_>,
        now: DateTime<Utc>,
    ) -> Result<Created, OrderError> {
        Self::check_buyer(&buyer, input.external_ref.as_ref())?;
        let dest = self.check_delivery(&input.delivery)?;
        let scope = buyer.scope();
        let ids: Vec<ListingId> = input.lines.iter().map(|l| l.listing_id).collect();
        let claim = idem.map(|(key, hash)| IdemClaim {
            scope: scope.as_str(),
            key,
            hash,
            expires_at: now + Duration::seconds(IDEMPOTENCY_TTL_SECS),
        });
        // The common path is one read and one write; the key is checked by
        // the write, which writes nothing if it is taken.
        let snapshots = self.orders.snapshots(&ids)?;
        let rules = self.commission.current()?;
        match (
            price(&input.lines, &snapshots, &dest, &rules, now)
                .and_then(|priced| self.create_claimed(buyer, input, claim, render, now, priced)),
            claim,
        ) {
            // The order cannot be placed now, but a key completed earlier
            // still answers for itself (a retry after success replays).
            (Err(e), Some(c)) if e.is_refusal() => match self.orders.key_state(c, now)? {
                IdemBegin::Started => Err(e),
                state => key_taken(state),
            },
            (r, _) => r,
        }
    }

    fn create_claimed(
        &self,
        buyer: Buyer,
        input: &CreateOrderInput,
        idem: Option<IdemClaim<'_>>,
        render: Render<'_>,
        now: DateTime<Utc>,
        priced: PricedOrder,
    ) -> Result<Created, OrderError> {
        let pickup_codes = priced
            .sellers
            .iter()
            .map(|_| {
                matches!(input.delivery, Delivery::StationPickup { .. }).then(|| random_digits(6))
            })
            .collect();
        let new = NewOrder {
            id: OrderId::new(),
            number: format!("CM{}{}", now.format("%Y%m%d"), random_digits(10)),
            buyer,
            external_ref: input.external_ref.clone(),
            priced,
            delivery: input.delivery.clone(),
            expires_at: now + self.payment_ttl,
            created_at: now,
            pickup_codes,
        };
        let order = build_order(&new);
        let (status, body) = render(&order)?;
        match self.orders.create(&new, &order, idem, (status, &body))? {
            CreateOutcome::Created => Ok(Created::New(Box::new(order), body)),
            CreateOutcome::OutOfStock(id) => Err(OrderError::OutOfStock(id)),
            CreateOutcome::Unavailable(id) => Err(OrderError::Unavailable(id)),
            CreateOutcome::DuplicateExternalRef => Err(OrderError::DuplicateExternalRef),
            CreateOutcome::KeyTaken(state) => key_taken(state),
        }
    }

    /// The buyer's order; anyone else gets `NotFound`.
    pub fn get(&self, buyer: Buyer, id: OrderId) -> Result<Order, OrderError> {
        self.orders
            .find(id)?
            .filter(|o| o.buyer == buyer)
            .ok_or(OrderError::NotFound)
    }

    pub fn events(&self, buyer: Buyer, id: OrderId) -> Result<Vec<OrderEvent>, OrderError> {
        self.get(buyer, id)?;
        Ok(self.orders.events(id)?)
    }

    pub fn list(
        &self,
        buyer: Buyer,
        after: Option<OrderId>,
        limit: i64,
    ) -> Result<Vec<Order>, OrderError> {
        Ok(self.orders.list_for_buyer(buyer, after, limit)?)
    }

    /// Cancels an unpaid order; returns the listings whose stock came back.
    pub fn cancel(
        &self,
        buyer: Buyer,
        id: OrderId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ListingId>, OrderError> {
        self.get(buyer, id)?;
        match self
            .orders
            .cancel(id, OrderStatus::Cancelled, "buyer", now)?
        {
            CancelOutcome::Cancelled { restocked } => Ok(restocked),
            CancelOutcome::NotFound => Err(OrderError::NotFound),
            CancelOutcome::Invalid(s) => Err(OrderError::InvalidTransition(format!(
                "a {s} order cannot be cancelled"
            ))),
        }
    }

    pub fn start_payment(
        &self,
        buyer: Buyer,
        id: OrderId,
        now: DateTime<Utc>,
    ) -> Result<Payment, OrderError> {
        let order = self.get(buyer, id)?;
        if order.status == OrderStatus::PendingPayment && order.expires_at <= now {
            return Err(OrderError::InvalidTransition(
                "the order has expired".into(),
            ));
        }
        match self.orders.create_payment(id, self.gateway.name(), now)? {
            PaymentStart::Created(p) => Ok(p),
            PaymentStart::NotFound => Err(OrderError::NotFound),
            PaymentStart::NotPayable(s) => Err(OrderError::InvalidTransition(format!(
                "a {s} order cannot be paid"
            ))),
        }
    }

    pub fn payment(&self, id: PaymentId) -> Result<Payment, OrderError> {
        self.orders.find_payment(id)?.ok_or(OrderError::NotFound)
    }

    /// Applies a verified provider notification. Repeats are no-ops; a
    /// payment for an expired or cancelled order is refunded, not applied.
    pub fn apply_notification(
        &self,
        n: &PaymentNotification,
        now: DateTime<Utc>,
    ) -> Result<PaymentApplied, OrderError> {
        let applied = self
            .orders
            .apply_payment(n.payment_id, n.succeeded, n.amount_fen, now)?;
        if let PaymentApplied::RefundDue(p) = &applied {
            self.gateway.refund(p)?;
            self.orders.mark_refunded(p.id)?;
        }
        Ok(applied)
    }

    fn staff_of(&self, org: OrgId, user: UserId) -> Result<bool, OrderError> {
        Ok(self.orgs.staff_role(org, user)?.is_some())
    }

    /// A seller order for its seller's staff; others get `NotFound`.
    pub fn seller_order(&self, user: UserId, id: SellerOrderId) -> Result<SellerOrder, OrderError> {
        let so = self
            .orders
            .find_seller_order(id)?
            .ok_or(OrderError::NotFound)?;
        if self.staff_of(so.seller_id, user)? {
            Ok(so)
        } else {
            Err(OrderError::NotFound)
        }
    }

    pub fn seller_orders(
        &self,
        user: UserId,
        seller: OrgId,
        status: Option<SellerOrderStatus>,
        after: Option<SellerOrderId>,
        limit: i64,
    ) -> Result<Vec<SellerOrder>, OrderError> {
        if !self.staff_of(seller, user)? {
            return Err(OrderError::NotFound);
        }
        Ok(self
            .orders
            .list_seller_orders(seller, status, after, limit)?)
    }

    pub(super) fn transitioned(
        &self,
        t: SellerTransition,
        now: DateTime<Utc>,
    ) -> Result<(SellerOrder, Vec<ListingId>), OrderError> {
        match t {
            SellerTransition::Done {
                seller_order,
                restocked,
                ..
            } => {
                if seller_order.status == SellerOrderStatus::Completed {
                    self.feed_volume(&seller_order, now)?;
                }
                if seller_order.status == SellerOrderStatus::Refunded {
                    self.return_payment(&seller_order)?;
                }
                Ok((*seller_order, restocked))
            }
            SellerTransition::NotFound => Err(OrderError::NotFound),
            SellerTransition::Refused(SellerRefusal::Invalid(from, action)) => Err(
                OrderError::InvalidTransition(format!("a {from} seller order cannot {action}")),
            ),
            SellerTransition::Refused(SellerRefusal::WrongPickupCode) => {
                Err(OrderError::WrongPickupCode)
            }
            SellerTransition::Refused(SellerRefusal::AlreadyShipped) => {
                Err(OrderError::InvalidTransition(
                    "part of this seller order has shipped: refunds after shipping are after-sales"
                        .into(),
                ))
            }
            SellerTransition::Refused(SellerRefusal::BadShipment(e)) => Err(e.into()),
        }
    }

    /// A seller order was refunded in full: the provider returns its money.
    pub(super) fn return_payment(&self, so: &SellerOrder) -> Result<(), OrderError> {
        Ok(self
            .gateway
            .refund_seller_order(so, so.subtotal + so.freight)?)
    }

    /// Runs `action` on a seller order: the repository loads and locks it,
    /// [`decide_seller_change`] decides, the repository writes the change.
    pub(super) fn act(
        &self,
        id: SellerOrderId,
        action: &SellerAction,
        pickup_code: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SellerTransition, OrderError> {
        let decide = |s: &SellerOrderForUpdate| decide_seller_change(s, action, pickup_code, now);
        Ok(self.orders.transition(id, &decide, actor, now)?)
    }

    /// Seller staff act on their seller order (accept, reject, ship, deliver,
    /// refund). Returns the listings whose stock came back.
    pub fn seller_act(
        &self,
        user: UserId,
        id: SellerOrderId,
        action: SellerAction,
        now: DateTime<Utc>,
    ) -> Result<(SellerOrder, Vec<ListingId>), OrderError> {
        self.seller_order(user, id)?;
        if let SellerAction::Ship {
            carrier,
            tracking_no,
            items,
            route,
            ..
        } = &action
        {
            let mut e = ValidationErrors::new();
            if carrier.trim().is_empty() || carrier.chars().count() > 50 {
                e.add("carrier", "must be 1–50 characters");
            }
            if tracking_no.trim().is_empty() || tracking_no.len() > 64 {
                e.add("tracking_no", "must be 1–64 characters");
            }
            if items
                .as_ref()
                .is_some_and(|i| i.is_empty() || i.len() > MAX_LINES)
            {
                e.add("items", format!("must list 1–{MAX_LINES} items"));
            }
            if route.len() > MAX_ROUTE {
                e.add("route", format!("at most {MAX_ROUTE} organizations"));
            }
            for (n, org) in route.iter().enumerate() {
                if route[..n].contains(org) {
                    e.add(format!("route[{n}]"), "is listed twice");
                } else if !self
                    .orgs
                    .find(*org)?
                    .is_some_and(|o| crate::delivery::handles_parcels(o.kind))
                {
                    e.add(
                        format!("route[{n}]"),
                        "is not a logistics hub or service station",
                    );
                }
            }
            e.into_result(())?;
        }
        let t = self.act(id, &action, None, &format!("user:{user}"), now)?;
        let (so, mut restocked) = self.transitioned(t, now)?;
        // A rejected seller order is refunded at once.
        if so.status == SellerOrderStatus::Rejected {
            let t = self.act(id, &SellerAction::Refund, None, "system", now)?;
            let (so, more) = self.transitioned(t, now)?;
            restocked.extend(more);
            return Ok((so, restocked));
        }
        Ok((so, restocked))
    }

    /// The buyer confirms receipt: every delivered seller order completes.
    pub fn confirm_receipt(
        &self,
        buyer: Buyer,
        id: OrderId,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let order = self.get(buyer, id)?;
        let delivered: Vec<SellerOrderId> = order
            .seller_orders
            .iter()
            .filter(|s| s.status == SellerOrderStatus::Delivered)
            .map(|s| s.id)
            .collect();
        if delivered.is_empty() {
            return Err(OrderError::InvalidTransition(
                "nothing has been delivered yet".into(),
            ));
        }
        for so in delivered {
            let t = self.act(so, &SellerAction::Complete, None, "buyer", now)?;
            self.transitioned(t, now)?;
        }
        self.get(buyer, id)
    }

    /// A service station confirms a pickup by its code.
    pub fn pickup(
        &self,
        user: UserId,
        station: OrgId,
        code: &str,
        seller_order: SellerOrderId,
        now: DateTime<Utc>,
    ) -> Result<SellerOrder, OrderError> {
        if !self.staff_of(station, user)? {
            return Err(OrderError::NotFound);
        }
        let so = self
            .orders
            .find_seller_order(seller_order)?
            .ok_or(OrderError::NotFound)?;
        let order = self.orders.find(so.order_id)?.ok_or(OrderError::NotFound)?;
        if order.delivery
            != (Delivery::StationPickup {
                station_id: station,
            })
        {
            return Err(OrderError::NotFound);
        }
        let t = self.act(
            seller_order,
            &SellerAction::PickedUp,
            Some(code),
            &format!("station:{station}"),
            now,
        )?;
        self.transitioned(t, now).map(|(so, _)| so)
    }

    /// Completed seller orders feed member transaction volume: the supplying
    /// member's sale, and the buyer's own purchase when the buyer is a
    /// member of the selling coop. Idempotent by reference.
    fn feed_volume(&self, so: &SellerOrder, now: DateTime<Utc>) -> Result<(), OrderError> {
        let year = now.year();
        for item in &so.items {
            if let Some(member) = item.item.supplier_member_id {
                let t = NewTransaction {
                    fiscal_year: year,
                    amount: item.item.line_total,
                    source: TransactionSource::PlatformSale,
                    reference: Some(format!("{}:{}", so.id, item.id)),
                };
                self.members
                    .add_transaction(so.seller_id, member, &t, None)?;
            }
        }
        if let Some(Buyer::User(user)) = self.orders.find(so.order_id)?.map(|o| o.buyer) {
            if let Some(member) = self.members.member_for_user(so.seller_id, user)? {
                let t = NewTransaction {
                    fiscal_year: year,
                    amount: so.subtotal,
                    source: TransactionSource::PlatformPurchase,
                    reference: Some(so.id.to_string()),
                };
                self.members
                    .add_transaction(so.seller_id, member, &t, None)?;
            }
        }
        Ok(())
    }
}

/// Prices an order ([`price_order`]), its refusals as the caller sees them.
fn price(
    lines: &[OrderLine],
    snapshots: &std::collections::HashMap<ListingId, ListingSnapshot>,
    dest: &Destination,
    rules: &[crate::settlement::CommissionRule],
    now: DateTime<Utc>,
) -> Result<PricedOrder, OrderError> {
    price_order(lines, snapshots, dest, rules, now).map_err(|e| match e {
        PricingError::Empty => {
            ValidationErrors::single("items", "at least one item is required").into()
        }
        PricingError::TooManyLines => {
            ValidationErrors::single("items", format!("at most {MAX_LINES} items")).into()
        }
        PricingError::BadQuantity { index } => ValidationErrors::single(
            format!("items[{index}].quantity"),
            format!("must be 1–{MAX_LINE_QTY}"),
        )
        .into(),
        PricingError::UnknownListing { index } => {
            ValidationErrors::single(format!("items[{index}].listing_id"), "no such listing").into()
        }
        PricingError::BelowMinimum { listing, min } => ValidationErrors::single(
            "items",
            format!("listing {listing} has a minimum order quantity of {min}"),
        )
        .into(),
        PricingError::Overflow => {
            ValidationErrors::single("items", "the order is too large").into()
        }
        PricingError::Unavailable(id) => OrderError::Unavailable(id),
        PricingError::GroupBuyClosed(id) => OrderError::GroupBuyClosed(id),
        PricingError::OutOfStock(id) => OrderError::OutOfStock(id),
        PricingError::NotDeliverable(id) => OrderError::NotDeliverable(id),
    })
}
