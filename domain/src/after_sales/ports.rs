//! Ports of the after-sales context.

use chrono::{DateTime, Utc};

use super::rules::*;
use crate::coop::OrgId;
use crate::orders::{Buyer, SellerOrderId, Unknown};

/// Plans a new request over the loaded, locked seller order.
pub type PlanRefund<'a> = &'a dyn Fn(&Refundable) -> Result<Vec<RefundPart>, AfterSalesRefusal>;

/// Decides a change of a request over its locked seller order.
pub type DecideRefund<'a> =
    &'a dyn Fn(&Refundable, &RefundRequest) -> Result<RefundChange, AfterSalesRefusal>;

#[derive(Debug)]
pub enum RefundOutcome {
    Done(Box<RefundRequest>),
    NotFound,
    /// Refused; nothing was written.
    Refused(AfterSalesRefusal),
}

/// A new request, before its parts are planned.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: RefundRequestId,
    pub seller_order_id: SellerOrderId,
    pub origin: RefundOrigin,
    pub ask: RefundAsk,
    /// `requested` (the buyer asks) or `approved` (the seller gives).
    pub status: RefundStatus,
    pub actor: String,
}

pub trait RefundStore: Send + Sync {
    /// The seller and the buyer of a seller order (for access checks).
    fn parties(&self, id: SellerOrderId) -> Result<Option<(OrgId, Buyer)>, Unknown>;

    /// In one transaction: locks the seller order (its order first, as every
    /// order change does), loads what the caps need, asks `plan`, and writes
    /// the request with its parts.
    fn open(
        &self,
        new: &NewRefund,
        plan: PlanRefund<'_>,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown>;

    /// In one transaction: locks the request's seller order and the request,
    /// asks `decide`, writes the change — status, note and, on
    /// confirmation, the refunded amounts per line, the held refunds of a
    /// seller order not completed yet, and the journal entry.
    fn change(
        &self,
        id: RefundRequestId,
        decide: DecideRefund<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown>;

    fn find(&self, id: RefundRequestId) -> Result<Option<RefundRequest>, Unknown>;

    fn of_seller_order(&self, id: SellerOrderId) -> Result<Vec<RefundRequest>, Unknown>;

    /// A seller's requests, newest first, optionally of one status.
    fn of_seller(
        &self,
        seller: OrgId,
        status: Option<RefundStatus>,
        after: Option<RefundRequestId>,
        limit: i64,
    ) -> Result<Vec<RefundRequest>, Unknown>;
}

/// A verified refund notification from the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    pub refund_id: RefundRequestId,
    pub succeeded: bool,
    pub amount_fen: i64,
}
