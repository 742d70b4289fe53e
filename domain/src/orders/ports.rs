//! Ports of the orders context.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::model::*;
use super::pricing::*;
use crate::catalog::ListingId;
use crate::coop::OrgId;
use crate::money::Fen;

pub type Unknown = anyhow::Error;

/// An order ready to be written.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: OrderId,
    pub number: String,
    pub buyer: Buyer,
    pub external_ref: Option<String>,
    pub priced: PricedOrder,
    pub delivery: Delivery,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// One pickup code per seller (station pickup only), in seller order.
    pub pickup_codes: Vec<Option<String>>,
}

#[derive(Debug)]
pub enum CreateOutcome {
    /// Written, with the response stored under the Idempotency-Key.
    Created,
    /// Not enough stock for this listing; nothing was written.
    OutOfStock(ListingId),
    /// The listing stopped being buyable; nothing was written.
    Unavailable(ListingId),
    /// The partner already sent an order with this `external_ref`.
    DuplicateExternalRef,
    /// The Idempotency-Key is in flight or was completed meanwhile
    /// (`InFlight`, `Replay` or `Mismatch`); nothing was written.
    KeyTaken(IdemBegin),
}

/// The Idempotency-Key an order completes, in the order's own transaction.
#[derive(Debug, Clone, Copy)]
pub struct IdemClaim<'a> {
    /// The caller (`user:<id>` / `partner:<id>`).
    pub scope: &'a str,
    pub key: &'a str,
    /// SHA-256 of the request body.
    pub hash: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// The start of an idempotent request.
#[derive(Debug, Clone, PartialEq)]
pub enum IdemBegin {
    /// No live use of the key (first use, or an expired one): go ahead.
    Started,
    /// Completed before with the same request: replay this response.
    Replay {
        status: u16,
        /// The stored response, JSON text.
        body: String,
    },
    /// Used before with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// Renders the response to a new order: its status and JSON text, sent as
/// is and stored with the completed idempotency key. A body that cannot be
/// rendered fails the request before anything is written.
pub type Render<'a> = &'a dyn Fn(&Order) -> Result<(u16, String), Unknown>;

#[derive(Debug)]
pub enum SellerTransition {
    Done {
        seller_order: Box<SellerOrder>,
        order_status: OrderStatus,
        /// Listings whose stock came back (reject/refund before shipping).
        restocked: Vec<ListingId>,
    },
    NotFound,
    /// `decide` refused; nothing was written.
    Refused(SellerRefusal),
}

/// Decides a seller action over the loaded state ([`super::decide_seller_change`]).
pub type DecideSeller<'a> =
    &'a dyn Fn(&SellerOrderForUpdate) -> Result<SellerChange, SellerRefusal>;

#[derive(Debug)]
pub enum CancelOutcome {
    Cancelled { restocked: Vec<ListingId> },
    NotFound,
    Invalid(OrderStatus),
}

#[derive(Debug)]
pub enum PaymentStart {
    Created(Payment),
    NotFound,
    /// The order cannot be paid (already paid, cancelled, expired).
    NotPayable(OrderStatus),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentApplied {
    /// The order is paid now.
    Paid,
    /// Recorded as failed; the order still waits for payment.
    Failed,
    /// The order had expired or was cancelled: the payment must be refunded.
    RefundDue(Payment),
    /// The same notification was processed before.
    AlreadyProcessed,
    NotFound,
    /// The notified amount differs from the payment's.
    AmountMismatch,
}

/// Placing orders: pricing inputs, the Idempotency-Key, the atomic write,
/// reads for the buyer, cancellation and the sweeps.
pub trait CheckoutStore: Send + Sync {
    /// What pricing needs of these listings (one read, no write).
    fn snapshots(&self, ids: &[ListingId]) -> Result<HashMap<ListingId, ListingSnapshot>, Unknown>;

    /// What a live, completed use of the claim's key means for this
    /// request: `Replay`, `Mismatch`, or `Started` when there is none.
    fn key_state(&self, claim: IdemClaim<'_>, now: DateTime<Utc>) -> Result<IdemBegin, Unknown>;

    /// In one transaction: holds the Idempotency-Key (another transaction
    /// holding it → `KeyTaken(InFlight)`; completed meanwhile → `KeyTaken`
    /// with the replay or mismatch), takes stock with one conditional update
    /// per listing (in id order), writes the order, its seller orders, items
    /// and first event exactly as `order` (built by [`super::build_order`])
    /// has them, and stores `response` (status, JSON text) with the key. On
    /// any outcome but `Created` nothing is written.
    fn create(
        &self,
        new: &NewOrder,
        order: &Order,
        idem: Option<IdemClaim<'_>>,
        response: (u16, &str),
    ) -> Result<CreateOutcome, Unknown>;

    fn find(&self, id: OrderId) -> Result<Option<Order>, Unknown>;

    fn list_for_buyer(
        &self,
        buyer: Buyer,
        after: Option<OrderId>,
        limit: i64,
    ) -> Result<Vec<Order>, Unknown>;

    fn events(&self, order: OrderId) -> Result<Vec<OrderEvent>, Unknown>;

    /// Cancels (or expires) a pending order and returns its stock.
    fn cancel(
        &self,
        id: OrderId,
        to: OrderStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, Unknown>;

    /// Pending orders past `expires_at`, locked with SKIP LOCKED so several
    /// instances can sweep at once; each is expired and restocked.
    fn expire_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(OrderId, Vec<ListingId>)>, Unknown>;

    /// Adds ordered units not yet counted to the listings' `sold_qty`;
    /// returns the listings that changed.
    fn count_sales(&self, limit: i64) -> Result<Vec<ListingId>, Unknown>;

    /// Deletes up to `limit` Idempotency-Keys that expired before `now`;
    /// returns how many.
    fn purge_keys(&self, now: DateTime<Utc>, limit: i64) -> Result<usize, Unknown>;
}

/// Seller orders: reads for the seller, state changes decided by the
/// domain, and the auto-complete sweep.
pub trait FulfilmentStore: Send + Sync {
    fn list_seller_orders(
        &self,
        seller: OrgId,
        status: Option<SellerOrderStatus>,
        after: Option<SellerOrderId>,
        limit: i64,
    ) -> Result<Vec<SellerOrder>, Unknown>;

    fn find_seller_order(&self, id: SellerOrderId) -> Result<Option<SellerOrder>, Unknown>;

    /// In one transaction: loads the seller order and what the rules need of
    /// its order (locking the order, then the seller order: one lock order
    /// everywhere), asks `decide`, and writes exactly the change it returns —
    /// status, shipping, delivery time, restock, the order's roll-up — with
    /// an event per status change by `actor`.
    fn transition(
        &self,
        id: SellerOrderId,
        decide: DecideSeller<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SellerTransition, Unknown>;

    /// Seller orders delivered before `cutoff`, still not completed.
    fn delivered_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SellerOrderId>, Unknown>;
}

/// Payments and the provider's notifications.
pub trait PaymentStore: Send + Sync {
    fn create_payment(
        &self,
        order: OrderId,
        provider: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentStart, Unknown>;

    fn find_payment(&self, id: PaymentId) -> Result<Option<Payment>, Unknown>;

    /// Applies a provider's result, idempotently.
    fn apply_payment(
        &self,
        id: PaymentId,
        succeeded: bool,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<PaymentApplied, Unknown>;

    fn mark_refunded(&self, id: PaymentId) -> Result<(), Unknown>;
}

/// Decides a group buy's outcome from (target, paid quantity).
pub type DecideGroupBuy<'a> = &'a dyn Fn(i32, i64) -> GroupOutcome;

/// What a failed group buy must undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupBuyVictims {
    /// Paid (or accepted) seller orders holding the listing: refunded.
    pub seller_orders: Vec<SellerOrderId>,
    /// Unpaid orders holding the listing: cancelled.
    pub pending_orders: Vec<OrderId>,
}

/// Group-buy outcomes at their deadlines.
pub trait GroupBuyStore: Send + Sync {
    /// In one transaction: group buys past their deadline without an
    /// outcome, locked with SKIP LOCKED (several instances may sweep), each
    /// decided by `decide` over its paid quantity and recorded (a success is
    /// resolved at once).
    fn decide_group_buys(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        decide: DecideGroupBuy<'_>,
    ) -> Result<Vec<(ListingId, GroupOutcome)>, Unknown>;

    /// Failed group buys whose orders are not all undone yet.
    fn unresolved_group_buys(&self, limit: i64) -> Result<Vec<ListingId>, Unknown>;

    fn group_buy_victims(&self, listing: ListingId) -> Result<GroupBuyVictims, Unknown>;

    fn resolve_group_buy(&self, listing: ListingId, now: DateTime<Utc>) -> Result<(), Unknown>;
}

/// Everything the order service needs of storage, one adapter per
/// sub-context (`infra::orders::{checkout, fulfilment, payment, group_buy}`).
pub trait OrderRepository: CheckoutStore + FulfilmentStore + PaymentStore + GroupBuyStore {}

impl<T: CheckoutStore + FulfilmentStore + PaymentStore + GroupBuyStore> OrderRepository for T {}

/// A verified notification from the payment provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNotification {
    pub payment_id: PaymentId,
    pub succeeded: bool,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("the notification signature is invalid")]
    BadSignature,
    #[error("the notification timestamp is too old or in the future")]
    Stale,
    #[error("the notification body is malformed")]
    Malformed,
}

/// A payment provider (WeChat Pay, Alipay …; `sandbox` built in).
pub trait PaymentGateway: Send + Sync {
    fn name(&self) -> &'static str;
    /// Checks signature and freshness of a notification and parses it.
    fn verify(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentNotification, NotifyError>;
    /// Returns the money of a payment that cannot be applied.
    fn refund(&self, payment: &Payment) -> Result<(), Unknown>;
    /// Returns to the buyer what was paid for a seller order refunded in
    /// full (rejected, refunded before shipping, a failed group buy); the
    /// ledger posted it with the refund.
    fn refund_seller_order(&self, seller_order: &SellerOrder, amount: Fen) -> Result<(), Unknown>;
    /// Asks the provider to return part of an order's payment (an
    /// after-sales refund); it confirms later with a signed notification.
    fn request_refund(&self, refund: &crate::after_sales::RefundRequest) -> Result<(), Unknown>;
    /// Checks signature and freshness of a refund notification and parses it.
    fn verify_refund(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<crate::after_sales::RefundNotification, NotifyError>;
}
