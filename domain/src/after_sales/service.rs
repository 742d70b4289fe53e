//! After-sales use cases. Access: a request is seen by the order's buyer,
//! the seller's staff and platform admins (others: not found); the buyer
//! files and escalates, the seller's staff approve or reject (and refund
//! directly), platform admins decide escalated ones.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::ports::*;
use super::rules::*;
use crate::coop::{OrgId, OrgRepository, Viewer};
use crate::money::Fen;
use crate::orders::{Buyer, NotifyError, PaymentGateway, SellerOrderId};
use crate::validation::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum AfterSalesError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotRefundable(String),
    #[error("the after-sales window of this seller order has closed")]
    WindowClosed,
    #[error("more than is left to refund: {remaining} fen can still be refunded")]
    ExceedsPaid { remaining: Fen },
    #[error("a {0} refund request cannot {1}")]
    InvalidTransition(RefundStatus, &'static str),
    #[error("this seller order has too many refund requests")]
    TooManyRequests,
    #[error("the notified amount differs from the refund's")]
    AmountMismatch,
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<AfterSalesRefusal> for AfterSalesError {
    fn from(r: AfterSalesRefusal) -> Self {
        match r {
            AfterSalesRefusal::Invalid(e) => Self::Validation(e),
            AfterSalesRefusal::NotRefundable(m) => Self::NotRefundable(m),
            AfterSalesRefusal::WindowClosed => Self::WindowClosed,
            AfterSalesRefusal::ExceedsPaid { remaining } => Self::ExceedsPaid { remaining },
            AfterSalesRefusal::Transition(from, action) => Self::InvalidTransition(from, action),
            AfterSalesRefusal::TooManyRequests => Self::TooManyRequests,
            AfterSalesRefusal::AmountMismatch => Self::AmountMismatch,
            AfterSalesRefusal::AlreadyRefunded => {
                Self::InvalidTransition(RefundStatus::Refunded, "confirm")
            }
        }
    }
}

/// What a provider's refund notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundApplied {
    Refunded,
    /// The provider could not return the money; the request stays approved.
    Failed,
    AlreadyProcessed,
}

#[derive(Clone)]
pub struct AfterSalesService {
    pub store: Arc<dyn RefundStore>,
    pub orgs: Arc<dyn OrgRepository>,
    pub gateway: Arc<dyn PaymentGateway>,
    /// How long after delivery the buyer may ask.
    pub window: Duration,
}

/// Who may do what with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Buyer,
    Seller,
    Admin,
}

fn done(o: RefundOutcome) -> Result<RefundRequest, AfterSalesError> {
    match o {
        RefundOutcome::Done(r) => Ok(*r),
        RefundOutcome::NotFound => Err(AfterSalesError::NotFound),
        RefundOutcome::Refused(r) => Err(r.into()),
    }
}

impl AfterSalesService {
    fn staff(&self, org: OrgId, viewer: &Viewer) -> Result<bool, AfterSalesError> {
        Ok(self.orgs.staff_role(org, viewer.user)?.is_some())
    }

    /// The viewer's roles on a request of `seller` bought by `buyer` (none:
    /// it is not theirs to see).
    fn roles(
        &self,
        viewer: &Viewer,
        seller: OrgId,
        buyer: Buyer,
    ) -> Result<Vec<Role>, AfterSalesError> {
        let mut roles = Vec::new();
        if buyer == Buyer::User(viewer.user) {
            roles.push(Role::Buyer);
        }
        if self.staff(seller, viewer)? {
            roles.push(Role::Seller);
        }
        if viewer.platform_admin {
            roles.push(Role::Admin);
        }
        Ok(roles)
    }

    /// A request the viewer may see, and whether they hold `role` on it.
    fn load(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        role: Option<(Role, &'static str)>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let r = self.store.find(id)?.ok_or(AfterSalesError::NotFound)?;
        let roles = self.roles(viewer, r.seller_id, r.buyer)?;
        if roles.is_empty() {
            return Err(AfterSalesError::NotFound);
        }
        match role {
            Some((want, why)) if !roles.contains(&want) => Err(AfterSalesError::Forbidden(why)),
            _ => Ok(r),
        }
    }

    fn open(
        &self,
        so: SellerOrderId,
        ask: RefundAsk,
        origin: RefundOrigin,
        actor: String,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let new = NewRefund {
            id: RefundRequestId::new(),
            seller_order_id: so,
            origin,
            status: match origin {
                RefundOrigin::Buyer => RefundStatus::Requested,
                RefundOrigin::Seller => RefundStatus::Approved,
            },
            ask: RefundAsk {
                reason: ask.reason.trim().to_owned(),
                ..ask
            },
            actor,
        };
        let window = self.window;
        let plan = |s: &Refundable| plan_refund(s, &new.ask, origin, window, now);
        let r = done(self.store.open(&new, &plan, now)?)?;
        if r.status == RefundStatus::Approved {
            self.gateway.request_refund(&r)?;
        }
        Ok(r)
    }

    /// The buyer asks for part of a delivered or completed seller order back.
    pub fn request(
        &self,
        viewer: &Viewer,
        so: SellerOrderId,
        ask: RefundAsk,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let (seller, buyer) = self.store.parties(so)?.ok_or(AfterSalesError::NotFound)?;
        let roles = self.roles(viewer, seller, buyer)?;
        if !roles.contains(&Role::Buyer) {
            return Err(if roles.is_empty() {
                AfterSalesError::NotFound
            } else {
                AfterSalesError::Forbidden("only the buyer asks for a refund")
            });
        }
        self.open(
            so,
            ask,
            RefundOrigin::Buyer,
            format!("user:{}", viewer.user),
            now,
        )
    }

    /// The seller's staff refund part of a shipped seller order at once (it
    /// goes to the provider straight away).
    pub fn seller_refund(
        &self,
        viewer: &Viewer,
        so: SellerOrderId,
        ask: RefundAsk,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let (seller, _) = self.store.parties(so)?.ok_or(AfterSalesError::NotFound)?;
        if !self.staff(seller, viewer)? {
            return Err(AfterSalesError::NotFound);
        }
        self.open(
            so,
            ask,
            RefundOrigin::Seller,
            format!("user:{}", viewer.user),
            now,
        )
    }

    pub fn get(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
    ) -> Result<RefundRequest, AfterSalesError> {
        self.load(viewer, id, None)
    }

    /// The requests of one seller order (its buyer, seller staff, admins).
    pub fn of_seller_order(
        &self,
        viewer: &Viewer,
        so: SellerOrderId,
    ) -> Result<Vec<RefundRequest>, AfterSalesError> {
        let (seller, buyer) = self.store.parties(so)?.ok_or(AfterSalesError::NotFound)?;
        if self.roles(viewer, seller, buyer)?.is_empty() {
            return Err(AfterSalesError::NotFound);
        }
        Ok(self.store.of_seller_order(so)?)
    }

    /// A seller's queue (its staff and platform admins).
    pub fn of_seller(
        &self,
        viewer: &Viewer,
        seller: OrgId,
        status: Option<RefundStatus>,
        after: Option<RefundRequestId>,
        limit: i64,
    ) -> Result<Vec<RefundRequest>, AfterSalesError> {
        if !viewer.platform_admin && !self.staff(seller, viewer)? {
            return Err(AfterSalesError::NotFound);
        }
        Ok(self.store.of_seller(seller, status, after, limit)?)
    }

    fn act(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        role: (Role, &'static str),
        action: RefundAction,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        self.load(viewer, id, Some(role))?;
        let decide = |s: &Refundable, r: &RefundRequest| decide_refund(s, r, &action);
        let r = done(
            self.store
                .change(id, &decide, &format!("user:{}", viewer.user), now)?,
        )?;
        if r.status == RefundStatus::Approved {
            self.gateway.request_refund(&r)?;
        }
        Ok(r)
    }

    pub fn approve(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let role = (
            Role::Seller,
            "only the seller's staff approve a refund request",
        );
        self.act(viewer, id, role, RefundAction::Approve, now)
    }

    pub fn reject(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let role = (
            Role::Seller,
            "only the seller's staff reject a refund request",
        );
        self.act(viewer, id, role, RefundAction::Reject { note }, now)
    }

    pub fn escalate(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let role = (Role::Buyer, "only the buyer escalates a refund request");
        self.act(viewer, id, role, RefundAction::Escalate, now)
    }

    pub fn decide(
        &self,
        viewer: &Viewer,
        id: RefundRequestId,
        approve: bool,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<RefundRequest, AfterSalesError> {
        let role = (Role::Admin, "only platform admins decide a disputed refund");
        self.act(
            viewer,
            id,
            role,
            RefundAction::Decide { approve, note },
            now,
        )
    }

    /// The provider's verified refund notification: a success posts the
    /// money (once; a repeat is a no-op).
    pub fn apply_notification(
        &self,
        n: &RefundNotification,
        now: DateTime<Utc>,
    ) -> Result<RefundApplied, AfterSalesError> {
        if !n.succeeded {
            let r = self
                .store
                .find(n.refund_id)?
                .ok_or(AfterSalesError::NotFound)?;
            tracing::warn!(refund_id = %r.id, status = %r.status, "the provider could not refund");
            return Ok(RefundApplied::Failed);
        }
        let action = RefundAction::Confirm {
            amount: Fen(n.amount_fen),
        };
        let decide = |s: &Refundable, r: &RefundRequest| decide_refund(s, r, &action);
        match self.store.change(n.refund_id, &decide, "provider", now)? {
            RefundOutcome::Done(_) => Ok(RefundApplied::Refunded),
            RefundOutcome::Refused(AfterSalesRefusal::AlreadyRefunded) => {
                Ok(RefundApplied::AlreadyProcessed)
            }
            other => done(other).map(|_| RefundApplied::Refunded),
        }
    }
}
