//! The after-sales rules: what a request may ask, how an amount is spread
//! over the lines, the status machine, and the money a confirmed refund
//! moves.

use chrono::{DateTime, Duration, Utc};

use crate::coop::OrgId;
use crate::ledger::{Account, Entry, Source};
use crate::money::Fen;
use crate::orders::{Buyer, OrderId, SellerOrderId, SellerOrderStatus};
use crate::typed_id;
use crate::validation::ValidationErrors;
use crate::wire_enum;

typed_id!(
    /// One after-sales refund (asked by the buyer, or given by the seller).
    RefundRequestId
);

wire_enum!(RefundStatus {
    /// Filed by the buyer; the seller decides.
    Requested => "requested",
    /// Approved; the payment provider is returning the money.
    Approved => "approved",
    /// The provider confirmed: the money is back with the buyer.
    Refunded => "refunded",
    /// The seller said no; the buyer may escalate.
    Rejected => "rejected",
    /// The buyer disputes the rejection; a platform admin decides.
    Escalated => "escalated",
    /// A platform admin upheld the rejection.
    Closed => "closed",
});

wire_enum!(RefundOrigin {
    /// The buyer asked (after-sales).
    Buyer => "buyer",
    /// The seller refunded part of the order on its own.
    Seller => "seller",
});

impl RefundStatus {
    /// Holds its amount against the lines' caps.
    pub fn reserves(self) -> bool {
        matches!(self, Self::Requested | Self::Escalated | Self::Approved)
    }
}

pub const MAX_REASON_CHARS: usize = 200;
pub const MAX_PHOTOS: usize = 9;
pub const MAX_PHOTO_URL_LEN: usize = 500;
/// Requests (of any status) one seller order may carry.
pub const MAX_REQUESTS_PER_SELLER_ORDER: usize = 20;

/// What the buyer (or the seller) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAsk {
    /// A line of the seller order (required with `quantity`); none: the
    /// amount is spread over the lines and the freight.
    pub order_item_id: Option<uuid::Uuid>,
    pub quantity: Option<i32>,
    pub amount: Option<Fen>,
    pub reason: String,
    pub photo_urls: Vec<String>,
}

/// A part of a refund: a line of the seller order, or its freight (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPart {
    pub order_item_id: Option<uuid::Uuid>,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub id: RefundRequestId,
    pub seller_order_id: SellerOrderId,
    pub order_id: OrderId,
    pub seller_id: OrgId,
    pub buyer: Buyer,
    pub origin: RefundOrigin,
    pub order_item_id: Option<uuid::Uuid>,
    pub quantity: Option<i32>,
    pub amount: Fen,
    pub reason: String,
    pub photo_urls: Vec<String>,
    pub status: RefundStatus,
    /// The seller's reason for a rejection, or the admin's for a decision.
    pub note: Option<String>,
    pub parts: Vec<RefundPart>,
    /// Set when refunded: the commission given back, and whether the seller
    /// order had completed (then the seller's payable paid for it).
    pub commission_returned: Option<Fen>,
    pub after_completion: Option<bool>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line of a seller order as the caps see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    pub id: uuid::Uuid,
    pub unit_price: Fen,
    pub quantity: i32,
    pub total: Fen,
    /// The commission snapshotted on the line (items only).
    pub commission: Fen,
    /// Refunded so far (confirmed by the provider).
    pub refunded: Fen,
    /// Held by open requests (requested, escalated, approved).
    pub reserved: Fen,
}

impl LineState {
    pub fn remaining(&self) -> Fen {
        self.total - self.refunded - self.reserved
    }
}

/// A seller order loaded (and locked) for an after-sales change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refundable {
    pub seller_order_id: SellerOrderId,
    pub order_id: OrderId,
    pub seller_id: OrgId,
    pub status: SellerOrderStatus,
    /// Some of its units have shipped.
    pub shipped_any: bool,
    pub delivered_at: Option<DateTime<Utc>>,
    pub lines: Vec<LineState>,
    pub freight: Fen,
    pub freight_refunded: Fen,
    pub freight_reserved: Fen,
    /// Requests it carries (any status).
    pub request_count: usize,
}

impl Refundable {
    pub fn freight_remaining(&self) -> Fen {
        self.freight - self.freight_refunded - self.freight_reserved
    }

    /// What may still be asked for, lines and freight.
    pub fn remaining(&self) -> Fen {
        self.lines.iter().map(LineState::remaining).sum::<Fen>() + self.freight_remaining()
    }

    /// Whether `parts` fit what is left (a request's own reservation must
    /// not be counted in `self`).
    pub fn fits(&self, parts: &[RefundPart]) -> bool {
        parts.iter().all(|p| match p.order_item_id {
            None => p.amount <= self.freight_remaining(),
            Some(id) => self
                .lines
                .iter()
                .find(|l| l.id == id)
                .is_some_and(|l| p.amount <= l.remaining()),
        })
    }
}

/// Why an after-sales change was refused; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterSalesRefusal {
    Invalid(ValidationErrors),
    /// The seller order is not in a state that allows it.
    NotRefundable(String),
    /// The after-sales window has closed.
    WindowClosed,
    /// More than is left to refund.
    ExceedsPaid {
        remaining: Fen,
    },
    /// The request's status does not allow the action.
    Transition(RefundStatus, &'static str),
    TooManyRequests,
    /// The provider confirmed a different amount.
    AmountMismatch,
    /// The provider's confirmation was processed before.
    AlreadyRefunded,
}

/// Spreads `amount` over `weights` in proportion, in integer fen: the
/// cumulative share after part `i` is `⌊amount·W_i/W⌋` (`W_i` the weights
/// so far), so the parts add up to `amount` exactly and none exceeds its
/// weight when `amount ≤ W`. Zero weights get nothing.
pub fn split_pro_rata(amount: Fen, weights: &[Fen]) -> Vec<Fen> {
    let total: i128 = weights.iter().map(|w| i128::from(w.0.max(0))).sum();
    if total == 0 {
        return weights.iter().map(|_| Fen::ZERO).collect();
    }
    let a = i128::from(amount.0);
    let mut cum_w: i128 = 0;
    let mut given: i128 = 0;
    weights
        .iter()
        .map(|w| {
            cum_w += i128::from(w.0.max(0));
            let upto = a * cum_w / total;
            let part = upto - given;
            given = upto;
            Fen(i64::try_from(part).unwrap_or(i64::MAX))
        })
        .collect()
}

/// The commission given back when `part` more of a line (total `total`,
/// commission `commission`, `before` refunded earlier) is refunded:
/// `⌊c·(before+part)/t⌋ − ⌊c·before/t⌋`.
pub fn commission_returned(commission: Fen, total: Fen, before: Fen, part: Fen) -> Fen {
    if total.0 <= 0 {
        return Fen::ZERO;
    }
    let f = |r: Fen| i128::from(commission.0) * i128::from(r.0) / i128::from(total.0);
    Fen(i64::try_from(f(before + part) - f(before)).unwrap_or(0))
}

fn check_text(ask: &RefundAsk, e: &mut ValidationErrors) {
    let n = ask.reason.trim().chars().count();
    if n == 0 || n > MAX_REASON_CHARS {
        e.add("reason", format!("must be 1–{MAX_REASON_CHARS} characters"));
    }
    if ask.photo_urls.len() > MAX_PHOTOS {
        e.add("photo_urls", format!("at most {MAX_PHOTOS}"));
    }
    for (i, u) in ask.photo_urls.iter().enumerate() {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() <= MAX_PHOTO_URL_LEN
            && !u.chars().any(char::is_whitespace);
        if !ok {
            e.add(
                format!("photo_urls[{i}]"),
                format!("must be an http(s) URL of at most {MAX_PHOTO_URL_LEN} characters"),
            );
        }
    }
}

/// The parts a new request holds: the checks of what is asked (reason,
/// photos, a line and a quantity or an amount), of the seller order (the
/// buyer: delivered or completed, within `window` of delivery; the seller:
/// something shipped, not refunded) and of the caps.
pub fn plan_refund(
    s: &Refundable,
    ask: &RefundAsk,
    origin: RefundOrigin,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<RefundPart>, AfterSalesRefusal> {
    use SellerOrderStatus::*;
    let mut e = ValidationErrors::new();
    check_text(ask, &mut e);
    let line = match ask.order_item_id {
        None => None,
        Some(id) => match s.lines.iter().find(|l| l.id == id) {
            Some(l) => Some(l),
            None => {
                e.add("order_item_id", "is not a line of this seller order");
                None
            }
        },
    };
    let amount = match (ask.quantity, ask.amount) {
        (Some(_), Some(_)) => {
            e.add("quantity", "give a quantity or an amount, not both");
            None
        }
        (None, None) => {
            e.add("amount_fen", "give an amount (or a line and a quantity)");
            None
        }
        (Some(q), None) => match (ask.order_item_id, line) {
            (None, _) => {
                e.add("order_item_id", "is required with a quantity");
                None
            }
            (Some(_), None) => None,
            (Some(_), Some(l)) if q < 1 || q > l.quantity => {
                e.add("quantity", format!("must be 1–{}", l.quantity));
                None
            }
            (Some(_), Some(l)) => l.unit_price.checked_mul(i64::from(q)),
        },
        (None, Some(a)) if a.0 < 1 => {
            e.add("amount_fen", "must be at least 1");
            None
        }
        (None, Some(a)) => Some(a),
    };
    if !e.is_empty() {
        return Err(AfterSalesRefusal::Invalid(e));
    }
    let amount = amount.ok_or_else(|| {
        AfterSalesRefusal::Invalid(ValidationErrors::single("amount_fen", "is out of range"))
    })?;
    match origin {
        RefundOrigin::Buyer => {
            if !matches!(s.status, Delivered | Completed) {
                return Err(AfterSalesRefusal::NotRefundable(format!(
                    "a {} seller order has not been delivered: ask the seller to cancel or refund it",
                    s.status
                )));
            }
            let delivered = s.delivered_at.ok_or_else(|| {
                AfterSalesRefusal::NotRefundable("the seller order has no delivery time".into())
            })?;
            if now > delivered + window {
                return Err(AfterSalesRefusal::WindowClosed);
            }
        }
        RefundOrigin::Seller => {
            let shipped = matches!(s.status, Shipped | Delivered | Completed)
                || (s.status == Accepted && s.shipped_any);
            if !shipped {
                return Err(AfterSalesRefusal::NotRefundable(format!(
                    "a {} seller order with nothing shipped is refunded in full (without an amount)",
                    s.status
                )));
            }
        }
    }
    if s.request_count >= MAX_REQUESTS_PER_SELLER_ORDER {
        return Err(AfterSalesRefusal::TooManyRequests);
    }
    let parts = match line {
        Some(l) => vec![RefundPart {
            order_item_id: Some(l.id),
            amount,
        }],
        None => {
            let mut weights: Vec<Fen> = s.lines.iter().map(LineState::remaining).collect();
            weights.push(s.freight_remaining());
            let split = split_pro_rata(amount, &weights);
            s.lines
                .iter()
                .map(|l| Some(l.id))
                .chain(std::iter::once(None))
                .zip(split)
                .filter(|(_, a)| a.0 > 0)
                .map(|(order_item_id, amount)| RefundPart {
                    order_item_id,
                    amount,
                })
                .collect()
        }
    };
    let remaining = match line {
        Some(l) => l.remaining(),
        None => s.remaining(),
    };
    if amount > remaining || !s.fits(&parts) {
        return Err(AfterSalesRefusal::ExceedsPaid {
            remaining: remaining.max(Fen::ZERO),
        });
    }
    Ok(parts)
}

/// What happens to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAction {
    /// The seller agrees.
    Approve,
    /// The seller refuses, saying why.
    Reject { note: String },
    /// The buyer disputes a rejection.
    Escalate,
    /// A platform admin decides a disputed request.
    Decide { approve: bool, note: Option<String> },
    /// The provider confirmed the money went back (with its amount).
    Confirm { amount: Fen },
}

impl RefundAction {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject { .. } => "reject",
            Self::Escalate => "escalate",
            Self::Decide { .. } => "decide",
            Self::Confirm { .. } => "confirm",
        }
    }
}

/// The money a confirmed refund moves, and the per-part commission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// (part, commission returned on it)
    pub parts: Vec<(RefundPart, Fen)>,
    pub commission_returned: Fen,
    pub after_completion: bool,
    pub entry: Entry,
}

/// Everything one action changes; the store writes exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundChange {
    pub to: RefundStatus,
    pub note: Option<String>,
    /// Confirm: the money.
    pub posting: Option<Posting>,
    /// The provider must be asked to return the money (after commit).
    pub ask_provider: bool,
}

/// The refund's journal entry. Before completion the money is still held
/// for the buyer and goes back from there; after completion the seller has
/// been credited, so its payable pays, less the commission the platform
/// gives back.
pub fn refund_entry(
    id: RefundRequestId,
    seller: OrgId,
    amount: Fen,
    commission: Fen,
    after_completion: bool,
) -> Entry {
    let lines = if after_completion {
        vec![
            (Account::SellerPayable(seller), amount - commission),
            (Account::CommissionRevenue, commission),
            (Account::ProviderClearing, -amount),
        ]
    } else {
        vec![
            (Account::BuyerFundsHeld, amount),
            (Account::ProviderClearing, -amount),
        ]
    };
    Entry {
        description: if after_completion {
            "after-sales refund (after completion)".into()
        } else {
            "after-sales refund (before completion)".into()
        },
        source: Source {
            kind: "after_sales_refund",
            id: id.0,
        },
        lines,
    }
}

/// The posting of a confirmed refund over the locked seller order.
pub fn confirm_posting(s: &Refundable, r: &RefundRequest) -> Posting {
    let parts: Vec<(RefundPart, Fen)> = r
        .parts
        .iter()
        .map(|p| {
            let c = match p
                .order_item_id
                .and_then(|id| s.lines.iter().find(|l| l.id == id))
            {
                Some(l) => commission_returned(l.commission, l.total, l.refunded, p.amount),
                None => Fen::ZERO,
            };
            (p.clone(), c)
        })
        .collect();
    let commission: Fen = parts.iter().map(|(_, c)| *c).sum();
    let after_completion = s.status == SellerOrderStatus::Completed;
    Posting {
        entry: refund_entry(r.id, s.seller_id, r.amount, commission, after_completion),
        parts,
        commission_returned: commission,
        after_completion,
    }
}

/// The one place a request's change is decided: `requested → approved |
/// rejected`, `rejected → escalated` (the cap is checked again: a rejection
/// released the reservation), `escalated → approved | closed`, `approved →
/// refunded` on the provider's confirmation of the same amount.
pub fn decide_refund(
    s: &Refundable,
    r: &RefundRequest,
    action: &RefundAction,
) -> Result<RefundChange, AfterSalesRefusal> {
    use RefundStatus::*;
    let refused = || AfterSalesRefusal::Transition(r.status, action.name());
    let change = |to, note| RefundChange {
        to,
        note,
        posting: None,
        ask_provider: to == Approved,
    };
    if matches!(
        s.status,
        SellerOrderStatus::Refunded | SellerOrderStatus::Cancelled
    ) && r.status != Refunded
    {
        return Err(AfterSalesRefusal::NotRefundable(format!(
            "the seller order is {}",
            s.status
        )));
    }
    match (r.status, action) {
        (Requested, RefundAction::Approve) => Ok(change(Approved, None)),
        (Requested, RefundAction::Reject { note }) => {
            let n = note.trim().chars().count();
            if n == 0 || n > MAX_REASON_CHARS {
                return Err(AfterSalesRefusal::Invalid(ValidationErrors::single(
                    "reason",
                    format!("must be 1–{MAX_REASON_CHARS} characters"),
                )));
            }
            Ok(change(Rejected, Some(note.trim().to_owned())))
        }
        (Rejected, RefundAction::Escalate) => {
            if !s.fits(&r.parts) {
                return Err(AfterSalesRefusal::ExceedsPaid {
                    remaining: s.remaining().max(Fen::ZERO),
                });
            }
            Ok(change(Escalated, r.note.clone()))
        }
        (Escalated, RefundAction::Decide { approve, note }) => {
            let note = note.as_ref().map(|n| n.trim().to_owned());
            if note
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_REASON_CHARS)
            {
                return Err(AfterSalesRefusal::Invalid(ValidationErrors::single(
                    "note",
                    format!("at most {MAX_REASON_CHARS} characters"),
                )));
            }
            Ok(change(if *approve { Approved } else { Closed }, note))
        }
        (Approved, RefundAction::Confirm { amount }) => {
            if *amount != r.amount {
                return Err(AfterSalesRefusal::AmountMismatch);
            }
            Ok(RefundChange {
                to: Refunded,
                note: r.note.clone(),
                posting: Some(confirm_posting(s, r)),
                ask_provider: false,
            })
        }
        (Refunded, RefundAction::Confirm { .. }) => Err(AfterSalesRefusal::AlreadyRefunded),
        _ => Err(refused()),
    }
}
