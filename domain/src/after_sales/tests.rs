#![allow(clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::memory::{refunded_total, MemoryRefunds};
use super::*;
use crate::coop::memory::MemoryOrgs;
use crate::coop::{OrgId, StaffRole, Viewer};
use crate::identity::UserId;
use crate::ledger::Account;
use crate::money::Fen;
use crate::orders::{
    Buyer, NotifyError, OrderId, Payment, PaymentGateway, PaymentNotification, SellerOrderId,
    SellerOrderStatus, Unknown,
};

proptest! {
    #[test]
    fn pro_rata_splits_add_up_and_stay_within_each_weight(
        weights in proptest::collection::vec(0..5_000_000i64, 1..12),
        share in 0.0..=1.0f64,
    ) {
        let total: i64 = weights.iter().sum();
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let amount = ((total as f64) * share) as i64;
        let w: Vec<Fen> = weights.iter().copied().map(Fen).collect();
        let parts = split_pro_rata(Fen(amount), &w);
        prop_assert_eq!(parts.iter().map(|p| p.0).sum::<i64>(), if total == 0 { 0 } else { amount });
        for (p, w) in parts.iter().zip(&w) {
            prop_assert!(p.0 >= 0 && p.0 <= w.0, "{p:?} of {w:?}");
        }
    }

    #[test]
    fn commission_comes_back_in_pieces_that_add_up_to_the_line_s(
        total in 1..10_000_000i64,
        bp in 0..=3_000u32,
        cuts in proptest::collection::vec(1..1_000_000i64, 1..10),
    ) {
        let commission = Fen(total).apply_basis_points(bp);
        let mut before = Fen::ZERO;
        let mut returned = Fen::ZERO;
        for c in cuts {
            let part = Fen(c.min((Fen(total) - before).0));
            if part.0 == 0 { break; }
            let r = commission_returned(commission, Fen(total), before, part);
            prop_assert!(r.0 >= 0 && r <= commission);
            returned = returned + r;
            before = before + part;
        }
        // what came back so far is the floor of the refunded share
        prop_assert_eq!(returned.0, i64::try_from(i128::from(commission.0) * i128::from(before.0) / i128::from(total)).expect("fits"));
        let rest = Fen(total) - before;
        if rest.0 > 0 {
            returned = returned + commission_returned(commission, Fen(total), before, rest);
        }
        prop_assert_eq!(returned, commission, "a whole refund returns the whole commission");
    }

    #[test]
    fn no_line_is_ever_refunded_beyond_what_was_paid(
        asks in proptest::collection::vec((0..4usize, 1..60_000i64), 1..30),
    ) {
        let so = delivered(Utc::now());
        let store = MemoryRefunds::default();
        store.add(so.clone(), Buyer::User(UserId::new()));
        let mut posted = Fen::ZERO;
        for (line, amount) in asks {
            let ask = RefundAsk {
                order_item_id: so.lines.get(line).map(|l| l.id),
                quantity: None,
                amount: Some(Fen(amount)),
                reason: "坏了".into(),
                photo_urls: vec![],
            };
            let new = NewRefund {
                status: RefundStatus::Approved,
                ..new_refund(so.seller_order_id, ask, RefundOrigin::Seller)
            };
            let plan = |s: &Refundable| plan_refund(s, &new.ask, RefundOrigin::Seller, Duration::days(7), Utc::now());
            if let RefundOutcome::Done(r) = store.open(&new, &plan, Utc::now()).expect("open") {
                let confirm = RefundAction::Confirm { amount: r.amount };
                let decide = |s: &Refundable, r: &RefundRequest| decide_refund(s, r, &confirm);
                let done = store.change(r.id, &decide, "provider", Utc::now()).expect("change");
                prop_assert!(matches!(done, RefundOutcome::Done(_)));
                posted = posted + r.amount;
            }
        }
        let after = store.refundable(so.seller_order_id).expect("there");
        for l in &after.lines {
            prop_assert!(l.refunded <= l.total);
        }
        prop_assert!(after.freight_refunded <= after.freight);
        prop_assert_eq!(refunded_total(&after), posted);
        for e in store.entries() {
            prop_assert!(e.is_balanced());
        }
    }
}

/// A delivered seller order: 2 × 68.00 at 4 %, 1 × 25.00 at 3 %, freight 15.00.
fn delivered(at: DateTime<Utc>) -> Refundable {
    let line = |unit: i64, qty: i32, bp: u32| LineState {
        id: uuid::Uuid::now_v7(),
        unit_price: Fen(unit),
        quantity: qty,
        total: Fen(unit * i64::from(qty)),
        commission: Fen(unit * i64::from(qty)).apply_basis_points(bp),
        refunded: Fen::ZERO,
        reserved: Fen::ZERO,
    };
    Refundable {
        seller_order_id: SellerOrderId::new(),
        order_id: OrderId::new(),
        seller_id: OrgId::new(),
        status: SellerOrderStatus::Delivered,
        shipped_any: true,
        delivered_at: Some(at),
        lines: vec![line(6_800, 2, 400), line(2_500, 1, 300)],
        freight: Fen(1_500),
        freight_refunded: Fen::ZERO,
        freight_reserved: Fen::ZERO,
        request_count: 0,
    }
}

fn new_refund(so: SellerOrderId, ask: RefundAsk, origin: RefundOrigin) -> NewRefund {
    NewRefund {
        id: RefundRequestId::new(),
        seller_order_id: so,
        origin,
        ask,
        status: RefundStatus::Requested,
        actor: "test".into(),
    }
}

fn amount(a: i64) -> RefundAsk {
    RefundAsk {
        order_item_id: None,
        quantity: None,
        amount: Some(Fen(a)),
        reason: "到货腐烂".into(),
        photo_urls: vec!["https://img.example/1.jpg".into()],
    }
}

#[test]
fn what_a_request_may_ask() {
    let now = Utc::now();
    let s = delivered(now - Duration::days(1));
    let w = Duration::days(7);
    let plan = |ask: &RefundAsk, origin| plan_refund(&s, ask, origin, w, now);
    // an amount over the whole seller order spreads over lines and freight
    let parts = plan(&amount(3_000), RefundOrigin::Buyer).expect("fits");
    assert_eq!(parts.iter().map(|p| p.amount).sum::<Fen>(), Fen(3_000));
    assert_eq!(parts.len(), 3);
    // a quantity of a line is its unit price times the quantity
    let q = RefundAsk {
        order_item_id: Some(s.lines[0].id),
        quantity: Some(1),
        amount: None,
        ..amount(1)
    };
    assert_eq!(
        plan(&q, RefundOrigin::Buyer),
        Ok(vec![RefundPart {
            order_item_id: Some(s.lines[0].id),
            amount: Fen(6_800)
        }])
    );
    // more than the line, or than everything, is refused with what is left
    let too_much = RefundAsk {
        order_item_id: Some(s.lines[1].id),
        ..amount(2_501)
    };
    assert_eq!(
        plan(&too_much, RefundOrigin::Buyer),
        Err(AfterSalesRefusal::ExceedsPaid {
            remaining: Fen(2_500)
        })
    );
    assert_eq!(
        plan(&amount(17_601), RefundOrigin::Buyer),
        Err(AfterSalesRefusal::ExceedsPaid {
            remaining: Fen(17_600)
        })
    );
    assert!(plan(&amount(17_600), RefundOrigin::Buyer).is_ok());
    // bad input names its fields
    let bad = RefundAsk {
        order_item_id: Some(uuid::Uuid::now_v7()),
        quantity: Some(1),
        amount: Some(Fen(5)),
        reason: " ".into(),
        photo_urls: vec!["ftp://x".into()],
    };
    let Err(AfterSalesRefusal::Invalid(e)) = plan(&bad, RefundOrigin::Buyer) else {
        panic!("expected a validation error");
    };
    let fields: Vec<String> = e.0.iter().map(|f| f.field.clone()).collect();
    for f in ["reason", "photo_urls[0]", "order_item_id", "quantity"] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    // the window runs from delivery
    let late = plan_refund(
        &s,
        &amount(100),
        RefundOrigin::Buyer,
        w,
        now + Duration::days(7),
    );
    assert_eq!(late, Err(AfterSalesRefusal::WindowClosed));
    // the buyer asks after delivery; the seller gives once something shipped
    let shipped = Refundable {
        status: SellerOrderStatus::Shipped,
        ..s.clone()
    };
    assert!(matches!(
        plan_refund(&shipped, &amount(100), RefundOrigin::Buyer, w, now),
        Err(AfterSalesRefusal::NotRefundable(_))
    ));
    assert!(plan_refund(&shipped, &amount(100), RefundOrigin::Seller, w, now).is_ok());
    let unshipped = Refundable {
        status: SellerOrderStatus::Accepted,
        shipped_any: false,
        ..s
    };
    assert!(matches!(
        plan_refund(&unshipped, &amount(100), RefundOrigin::Seller, w, now),
        Err(AfterSalesRefusal::NotRefundable(_))
    ));
}

fn request(s: &Refundable, status: RefundStatus, parts: Vec<RefundPart>) -> RefundRequest {
    RefundRequest {
        id: RefundRequestId::new(),
        seller_order_id: s.seller_order_id,
        order_id: s.order_id,
        seller_id: s.seller_id,
        buyer: Buyer::User(UserId::new()),
        origin: RefundOrigin::Buyer,
        order_item_id: None,
        quantity: None,
        amount: parts.iter().map(|p| p.amount).sum(),
        reason: "坏了".into(),
        photo_urls: vec![],
        status,
        note: None,
        parts,
        commission_returned: None,
        after_completion: None,
        refunded_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[test]
fn the_status_machine_and_the_money_of_a_confirmation() {
    use RefundStatus::*;
    let s = delivered(Utc::now());
    let part = |a| RefundPart {
        order_item_id: Some(s.lines[0].id),
        amount: Fen(a),
    };
    let reject = RefundAction::Reject {
        note: "照片看不出问题".into(),
    };
    let decide_yes = RefundAction::Decide {
        approve: true,
        note: None,
    };
    let confirm = RefundAction::Confirm { amount: Fen(6_800) };
    let to = |from, a: &RefundAction| {
        decide_refund(&s, &request(&s, from, vec![part(6_800)]), a).map(|c| c.to)
    };
    assert_eq!(to(Requested, &RefundAction::Approve), Ok(Approved));
    assert_eq!(to(Requested, &reject), Ok(Rejected));
    assert_eq!(to(Rejected, &RefundAction::Escalate), Ok(Escalated));
    assert_eq!(to(Escalated, &decide_yes), Ok(Approved));
    let no = RefundAction::Decide {
        approve: false,
        note: Some("证据不足".into()),
    };
    assert_eq!(to(Escalated, &no), Ok(Closed));
    assert_eq!(to(Approved, &confirm), Ok(Refunded));
    assert_eq!(
        to(Refunded, &confirm),
        Err(AfterSalesRefusal::AlreadyRefunded)
    );
    for (from, a) in [
        (Requested, &RefundAction::Escalate),
        (Approved, &RefundAction::Approve),
        (Rejected, &RefundAction::Approve),
        (Closed, &RefundAction::Escalate),
        (Requested, &decide_yes),
        (Requested, &confirm),
    ] {
        assert!(
            matches!(to(from, a), Err(AfterSalesRefusal::Transition(..))),
            "{from} {a:?}"
        );
    }
    assert_eq!(
        to(Approved, &RefundAction::Confirm { amount: Fen(1) }),
        Err(AfterSalesRefusal::AmountMismatch)
    );
    // an escalation checks the cap again (a rejection released it)
    let taken = Refundable {
        lines: s
            .lines
            .iter()
            .map(|l| LineState {
                reserved: l.total,
                ..l.clone()
            })
            .collect(),
        ..s.clone()
    };
    let r = request(&taken, Rejected, vec![part(6_800)]);
    assert!(matches!(
        decide_refund(&taken, &r, &RefundAction::Escalate),
        Err(AfterSalesRefusal::ExceedsPaid { .. })
    ));

    // before completion the held money goes back; commission 4 % of 68.00 = 2.72 is not charged
    let c = decide_refund(&s, &request(&s, Approved, vec![part(6_800)]), &confirm).expect("ok");
    let p = c.posting.expect("posting");
    assert!(!p.after_completion);
    assert_eq!(p.commission_returned, Fen(272));
    assert_eq!(
        p.entry.lines,
        vec![
            (Account::BuyerFundsHeld, Fen(6_800)),
            (Account::ProviderClearing, Fen(-6_800))
        ]
    );
    // after completion the seller's payable pays, less the commission returned
    let done = Refundable {
        status: SellerOrderStatus::Completed,
        ..s.clone()
    };
    let c = decide_refund(
        &done,
        &request(&done, Approved, vec![part(6_800)]),
        &confirm,
    )
    .expect("ok");
    let p = c.posting.expect("posting");
    assert!(p.after_completion);
    assert_eq!(
        p.entry.lines,
        vec![
            (Account::SellerPayable(s.seller_id), Fen(6_528)),
            (Account::CommissionRevenue, Fen(272)),
            (Account::ProviderClearing, Fen(-6_800))
        ]
    );
    assert!(p.entry.is_balanced());
}

/// A gateway that records the refunds it was asked for.
#[derive(Default)]
struct Recording {
    asked: Mutex<Vec<RefundRequestId>>,
}

impl PaymentGateway for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }
    fn verify(
        &self,
        _: &str,
        _: &str,
        _: &[u8],
        _: DateTime<Utc>,
    ) -> Result<PaymentNotification, NotifyError> {
        Err(NotifyError::Malformed)
    }
    fn refund(&self, _: &Payment) -> Result<(), Unknown> {
        Err(anyhow::anyhow!("not part of these tests"))
    }
    fn refund_seller_order(&self, _: &crate::orders::SellerOrder, _: Fen) -> Result<(), Unknown> {
        Err(anyhow::anyhow!("not part of these tests"))
    }
    fn request_refund(&self, r: &RefundRequest) -> Result<(), Unknown> {
        self.asked
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .push(r.id);
        Ok(())
    }
    fn verify_refund(
        &self,
        _: &str,
        _: &str,
        _: &[u8],
        _: DateTime<Utc>,
    ) -> Result<RefundNotification, NotifyError> {
        Err(NotifyError::Malformed)
    }
}

struct World {
    svc: AfterSalesService,
    store: Arc<MemoryRefunds>,
    gateway: Arc<Recording>,
    so: Refundable,
    buyer: Viewer,
    seller: Viewer,
    admin: Viewer,
    stranger: Viewer,
}

fn world() -> World {
    let viewer = |platform_admin| Viewer {
        user: UserId::new(),
        platform_admin,
    };
    let (buyer, seller, admin, stranger) =
        (viewer(false), viewer(false), viewer(true), viewer(false));
    let so = delivered(Utc::now() - Duration::hours(2));
    let store = Arc::new(MemoryRefunds::default());
    store.add(so.clone(), Buyer::User(buyer.user));
    let orgs = Arc::new(MemoryOrgs::default());
    if let Ok(mut staff) = orgs.staff.lock() {
        staff.push((so.seller_id, seller.user, StaffRole::Clerk));
    }
    let gateway = Arc::new(Recording::default());
    World {
        svc: AfterSalesService {
            store: store.clone(),
            orgs,
            gateway: gateway.clone(),
            window: Duration::days(7),
        },
        store,
        gateway,
        so,
        buyer,
        seller,
        admin,
        stranger,
    }
}

#[test]
fn a_disputed_request_from_ask_to_money() {
    let w = world();
    let now = Utc::now();
    let so = w.so.seller_order_id;
    // only the buyer asks; a stranger does not see the seller order
    assert!(matches!(
        w.svc.request(&w.stranger, so, amount(1_000), now),
        Err(AfterSalesError::NotFound)
    ));
    assert!(matches!(
        w.svc.request(&w.seller, so, amount(1_000), now),
        Err(AfterSalesError::Forbidden(_))
    ));
    let r = w
        .svc
        .request(&w.buyer, so, amount(3_000), now)
        .expect("filed");
    assert_eq!(r.status, RefundStatus::Requested);
    // it reserves: only 146.00 is left to ask for
    assert!(matches!(
        w.svc.request(&w.buyer, so, amount(14_601), now),
        Err(AfterSalesError::ExceedsPaid {
            remaining: Fen(14_600)
        })
    ));
    // the buyer cannot approve their own; the stranger cannot see it
    assert!(matches!(
        w.svc.approve(&w.buyer, r.id, now),
        Err(AfterSalesError::Forbidden(_))
    ));
    assert!(matches!(
        w.svc.get(&w.stranger, r.id),
        Err(AfterSalesError::NotFound)
    ));
    let r = w
        .svc
        .reject(&w.seller, r.id, "照片看不出问题".into(), now)
        .expect("rejected");
    assert_eq!(r.status, RefundStatus::Rejected);
    assert!(w
        .gateway
        .asked
        .lock()
        .map(|a| a.is_empty())
        .unwrap_or(false));
    // a rejection releases the reservation
    assert_eq!(
        w.store.refundable(so).map(|s| s.remaining()),
        Some(Fen(17_600))
    );
    let r = w.svc.escalate(&w.buyer, r.id, now).expect("escalated");
    assert!(matches!(
        w.svc.decide(&w.seller, r.id, true, None, now),
        Err(AfterSalesError::Forbidden(_))
    ));
    let r = w
        .svc
        .decide(&w.admin, r.id, true, Some("照片显示腐烂".into()), now)
        .expect("decided");
    assert_eq!(r.status, RefundStatus::Approved);
    assert_eq!(
        w.gateway
            .asked
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default(),
        vec![r.id]
    );
    // the provider confirms; a repeat is a no-op; a wrong amount is refused
    let n = |a| RefundNotification {
        refund_id: r.id,
        succeeded: true,
        amount_fen: a,
    };
    assert!(matches!(
        w.svc.apply_notification(&n(2_999), now),
        Err(AfterSalesError::AmountMismatch)
    ));
    assert_eq!(
        w.svc.apply_notification(&n(3_000), now).expect("ok"),
        RefundApplied::Refunded
    );
    assert_eq!(
        w.svc.apply_notification(&n(3_000), now).expect("ok"),
        RefundApplied::AlreadyProcessed
    );
    let r = w.svc.get(&w.buyer, r.id).expect("read");
    assert_eq!(r.status, RefundStatus::Refunded);
    assert_eq!(r.after_completion, Some(false));
    let entries = w.store.entries();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].is_balanced());
    assert_eq!(
        w.store.refundable(so).map(|s| refunded_total(&s)),
        Some(Fen(3_000))
    );
}

#[test]
fn the_seller_refunds_part_at_once_and_a_closed_dispute_pays_nothing() {
    let w = world();
    let now = Utc::now();
    let so = w.so.seller_order_id;
    assert!(matches!(
        w.svc.seller_refund(&w.buyer, so, amount(500), now),
        Err(AfterSalesError::NotFound)
    ));
    let line = RefundAsk {
        order_item_id: Some(w.so.lines[1].id),
        quantity: Some(1),
        amount: None,
        ..amount(1)
    };
    let r = w
        .svc
        .seller_refund(&w.seller, so, line, now)
        .expect("given");
    assert_eq!(
        (r.status, r.amount, r.origin),
        (RefundStatus::Approved, Fen(2_500), RefundOrigin::Seller)
    );
    assert_eq!(w.gateway.asked.lock().map(|a| a.len()).unwrap_or(0), 1);
    // the seller order completes before the provider confirms: the payable pays
    w.store.set_status(so, SellerOrderStatus::Completed);
    let n = RefundNotification {
        refund_id: r.id,
        succeeded: true,
        amount_fen: 2_500,
    };
    w.svc.apply_notification(&n, now).expect("applied");
    let r = w.svc.get(&w.seller, r.id).expect("read");
    assert_eq!(
        (r.after_completion, r.commission_returned),
        (Some(true), Some(Fen(75)))
    );
    // a dispute the admin closes moves no money
    let q = w
        .svc
        .request(&w.buyer, so, amount(100), now)
        .expect("filed");
    w.svc
        .reject(&w.seller, q.id, "不是质量问题".into(), now)
        .expect("rejected");
    w.svc.escalate(&w.buyer, q.id, now).expect("escalated");
    let q = w
        .svc
        .decide(&w.admin, q.id, false, None, now)
        .expect("closed");
    assert_eq!(q.status, RefundStatus::Closed);
    assert_eq!(w.store.entries().len(), 1);
    // the seller's queue, by status
    let queue = w
        .svc
        .of_seller(
            &w.seller,
            w.so.seller_id,
            Some(RefundStatus::Closed),
            None,
            10,
        )
        .expect("queue");
    assert_eq!(queue.iter().map(|r| r.id).collect::<Vec<_>>(), vec![q.id]);
    assert!(matches!(
        w.svc.of_seller(&w.buyer, w.so.seller_id, None, None, 10),
        Err(AfterSalesError::NotFound)
    ));
}
