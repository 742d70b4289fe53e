//! The order service's rules through in-memory adapters: idempotency
//! outcomes, refusals that write nothing, and seller actions end to end.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::memory::{MemoryOrders, NoGateway};
use super::*;
use crate::catalog::{ListingId, ListingStatus, SaleTerms, Storage};
use crate::coop::memory::{MemoryOrgs, MemoryRegister};
use crate::coop::{MemberId, OrgId, OrgKind};
use crate::coop::{MemberRef, StaffRole};
use crate::identity::{PartnerId, UserId};
use crate::money::Fen;

struct World {
    service: OrderService,
    gateway: Arc<NoGateway>,
    orders: Arc<MemoryOrders>,
    volume: Arc<MemoryRegister>,
    seller: OrgId,
    staff: UserId,
    listing: ListingId,
    member: MemberId,
}

fn world(stock: i32) -> World {
    let seller = OrgId::new();
    let staff = UserId::new();
    let listing = ListingId::new();
    let volume = Arc::new(MemoryRegister::default());
    let member = volume.seed_member(seller, MemberRef::User(UserId::new()), true, Fen(0), Fen(0));
    let orders = Arc::new(MemoryOrders::with_listings(vec![ListingSnapshot {
        id: listing,
        seller_id: seller,
        seller_kind: OrgKind::FarmerCoop,
        title: "合心甜瓜 5kg箱".into(),
        unit_label: "5kg箱".into(),
        price: Fen(6800),
        tiers: vec![],
        min_order_qty: 1,
        status: ListingStatus::Active,
        stock,
        sale: SaleTerms::Spot,
        supplier_member_id: Some(member),
        unit_weight_grams: 5000,
        storage: Storage::Ambient,
        freight: None,
        category_id: crate::catalog::CategoryId::new(),
        root_category_id: crate::catalog::CategoryId::new(),
        trace_batch_code: None,
    }]));
    let orgs = Arc::new(MemoryOrgs::default());
    if let Ok(mut s) = orgs.staff.lock() {
        s.push((seller, staff, StaffRole::Admin));
    }
    let gateway = Arc::new(NoGateway::default());
    let service = OrderService {
        orders: orders.clone(),
        orgs,
        members: volume.clone(),
        gateway: gateway.clone(),
        commission: Arc::new(crate::settlement::FixedRules::new(vec![])),
        payment_ttl: Duration::minutes(15),
        auto_complete_after: Duration::days(10),
    };
    World {
        service,
        gateway,
        orders,
        volume,
        seller,
        staff,
        listing,
        member,
    }
}

fn input(listing: ListingId, quantity: i32) -> CreateOrderInput {
    CreateOrderInput {
        lines: vec![OrderLine {
            listing_id: listing,
            quantity,
        }],
        delivery: Delivery::HomeDelivery {
            address: Address {
                recipient: "王芳".into(),
                phone: "13800000000".into(),
                region_code: "110105".into(),
                line: "建国路1号".into(),
            },
        },
        external_ref: None,
    }
}

fn render(o: &Order) -> Result<(u16, String), Unknown> {
    Ok((
        201,
        format!("{{\"id\":\"{}\",\"total_fen\":{}}}", o.id, o.total.0),
    ))
}

fn new_order(c: Result<Created, OrderError>) -> (Order, String) {
    match c {
        Ok(Created::New(o, body)) => (*o, body),
        other => panic!("expected a new order, got {other:?}"),
    }
}

#[test]
fn the_same_key_replays_another_body_is_refused_and_a_held_key_is_in_flight() {
    let w = world(100);
    let buyer = Buyer::User(UserId::new());
    let now = Utc::now();
    let (order, body) = new_order(w.service.create(
        buyer,
        &input(w.listing, 2),
        Some(("k1", "hash-a")),
        &render,
        now,
    ));
    assert_eq!(order.total, Fen(13_600));
    assert_eq!(w.orders.stock(w.listing), Some(98));

    let again = w.service.create(
        buyer,
        &input(w.listing, 2),
        Some(("k1", "hash-a")),
        &render,
        now,
    );
    assert!(
        matches!(&again, Ok(Created::Replayed { status: 201, body: b }) if *b == body),
        "{again:?}"
    );
    assert_eq!(
        w.orders.stock(w.listing),
        Some(98),
        "a replay takes no stock"
    );

    let other = w.service.create(
        buyer,
        &input(w.listing, 3),
        Some(("k1", "hash-b")),
        &render,
        now,
    );
    assert!(
        matches!(other, Err(OrderError::IdempotencyMismatch)),
        "{other:?}"
    );

    if let Ok(mut st) = w.orders.state.lock() {
        st.in_flight.push((buyer.scope(), "k2".into()));
    }
    let held = w.service.create(
        buyer,
        &input(w.listing, 1),
        Some(("k2", "hash-c")),
        &render,
        now,
    );
    assert!(
        matches!(held, Err(OrderError::IdempotencyInFlight)),
        "{held:?}"
    );

    // Keys belong to their caller: another buyer's k1 is a new order.
    let (_, _) = new_order(w.service.create(
        Buyer::User(UserId::new()),
        &input(w.listing, 1),
        Some(("k1", "hash-a")),
        &render,
        now,
    ));
    assert_eq!(w.orders.stock(w.listing), Some(97));
}

#[test]
fn out_of_stock_writes_nothing_and_a_completed_key_still_replays() {
    let w = world(3);
    let buyer = Buyer::User(UserId::new());
    let now = Utc::now();
    let (first, body) =
        new_order(
            w.service
                .create(buyer, &input(w.listing, 3), Some(("a", "h")), &render, now),
        );
    let refused = w
        .service
        .create(buyer, &input(w.listing, 1), Some(("b", "h2")), &render, now);
    assert!(
        matches!(refused, Err(OrderError::OutOfStock(id)) if id == w.listing),
        "{refused:?}"
    );
    assert_eq!(w.orders.stock(w.listing), Some(0));
    assert_eq!(w.orders.state.lock().map(|s| s.orders.len()).ok(), Some(1));
    // The retry of the first request, after the last unit sold: the same 201.
    let retry = w
        .service
        .create(buyer, &input(w.listing, 3), Some(("a", "h")), &render, now);
    assert!(
        matches!(&retry, Ok(Created::Replayed { body: b, .. }) if *b == body),
        "{retry:?}"
    );
    assert!(body.contains(&first.id.to_string()));
}

#[test]
fn partner_orders_need_their_own_reference_and_users_may_not_send_one() {
    let w = world(10);
    let now = Utc::now();
    let partner = Buyer::Partner(PartnerId::new());
    let r = w
        .service
        .create(partner, &input(w.listing, 1), None, &render, now);
    assert!(matches!(r, Err(OrderError::Validation(_))), "{r:?}");
    let mut with_ref = input(w.listing, 1);
    with_ref.external_ref = Some("MALL-1".into());
    let r = w
        .service
        .create(Buyer::User(UserId::new()), &with_ref, None, &render, now);
    assert!(matches!(r, Err(OrderError::Validation(_))), "{r:?}");
    new_order(w.service.create(partner, &with_ref, None, &render, now));
    assert_eq!(w.orders.stock(w.listing), Some(9));
}

/// Pays an order in the store (payment is the HTTP suite's business).
fn paid(w: &World, o: &Order) {
    if let Ok(mut st) = w.orders.state.lock() {
        if let Some(stored) = st.orders.get_mut(&o.id) {
            stored.status = OrderStatus::Paid;
            for so in &mut stored.seller_orders {
                so.status = SellerOrderStatus::Paid;
            }
        }
    }
}

#[test]
fn accept_ship_deliver_confirm_completes_the_order_and_feeds_member_volume() {
    let w = world(10);
    let buyer = Buyer::User(UserId::new());
    let now = Utc::now();
    let (order, _) = new_order(
        w.service
            .create(buyer, &input(w.listing, 2), None, &render, now),
    );
    paid(&w, &order);
    let so = order.seller_orders[0].id;

    let stranger = UserId::new();
    let r = w
        .service
        .seller_act(stranger, so, SellerAction::Accept, now);
    assert!(
        matches!(r, Err(OrderError::NotFound)),
        "only the seller's staff: {r:?}"
    );

    let act = |a: SellerAction| w.service.seller_act(w.staff, so, a, now);
    assert!(matches!(
        act(SellerAction::Deliver),
        Err(OrderError::InvalidTransition(_))
    ));
    assert_eq!(
        act(SellerAction::Accept).map(|(s, _)| s.status).ok(),
        Some(SellerOrderStatus::Accepted)
    );
    let shipped = act(SellerAction::Ship {
        shipment_id: crate::delivery::ShipmentId::new(),
        carrier: "顺丰".into(),
        tracking_no: "SF123".into(),
        items: None,
        route: vec![],
    });
    assert_eq!(
        shipped.map(|(s, _)| (s.status, s.tracking_no)).ok(),
        Some((SellerOrderStatus::Shipped, Some("SF123".into())))
    );
    assert_eq!(
        act(SellerAction::Deliver).map(|(s, _)| s.status).ok(),
        Some(SellerOrderStatus::Delivered)
    );

    let done = w.service.confirm_receipt(buyer, order.id, now);
    assert_eq!(
        done.as_ref().map(|o| o.status).ok(),
        Some(OrderStatus::Completed),
        "{done:?}"
    );
    let fed = w
        .volume
        .state
        .lock()
        .map(|s| s.fed.clone())
        .unwrap_or_default();
    assert_eq!(fed.len(), 1, "{fed:?}");
    assert_eq!(
        (fed[0].0, fed[0].1, fed[0].2.amount),
        (w.seller, w.member, Fen(13_600))
    );
    let history: Vec<String> = w
        .service
        .events(buyer, order.id)
        .map(|e| e.into_iter().map(|e| e.to_status).collect())
        .unwrap_or_default();
    assert_eq!(
        history,
        ["accepted", "shipped", "delivered", "completed", "completed"]
    );
}

#[test]
fn a_rejected_seller_order_is_refunded_at_once_and_its_stock_returns() {
    let w = world(10);
    let buyer = Buyer::User(UserId::new());
    let now = Utc::now();
    let (order, _) = new_order(
        w.service
            .create(buyer, &input(w.listing, 4), None, &render, now),
    );
    paid(&w, &order);
    assert_eq!(w.orders.stock(w.listing), Some(6));
    let r = w.service.seller_act(
        w.staff,
        order.seller_orders[0].id,
        SellerAction::Reject,
        now,
    );
    let (so, restocked) = r.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(so.status, SellerOrderStatus::Refunded);
    assert_eq!(restocked, vec![w.listing]);
    assert_eq!(w.orders.stock(w.listing), Some(10));
    // the provider is asked to return what was paid for it
    assert_eq!(
        w.gateway
            .returned
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default(),
        vec![(so.id, Fen(4 * 6800))]
    );
    // The only seller order is final: the order is done.
    assert_eq!(
        w.service.get(buyer, order.id).map(|o| o.status).ok(),
        Some(OrderStatus::Completed)
    );
}
