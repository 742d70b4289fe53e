//! Unit tests of the rules in `model.rs` and `pricing.rs`.

use std::collections::HashMap;

use super::*;
use crate::catalog::{ListingStatus, SaleTerms, Storage, TierPrice};
use crate::coop::OrgKind;
use crate::delivery::{FreightMode, FreightSpec, FreightTemplateId};

fn snapshot(stock: i32) -> ListingSnapshot {
    ListingSnapshot {
        id: ListingId::new(),
        seller_id: OrgId::new(),
        seller_kind: OrgKind::FarmerCoop,
        title: "甜瓜".into(),
        unit_label: "箱".into(),
        price: Fen(6800),
        tiers: vec![TierPrice {
            min_qty: 10,
            price_fen: 6200,
        }],
        min_order_qty: 2,
        status: ListingStatus::Active,
        stock,
        sale: SaleTerms::Spot,
        supplier_member_id: None,
        unit_weight_grams: 5000,
        storage: Storage::Ambient,
        freight: None,
        category_id: crate::catalog::CategoryId::new(),
        root_category_id: crate::catalog::CategoryId::new(),
        trace_batch_code: Some("JYTX786A".into()),
    }
}

fn home(region: &str) -> Destination {
    Destination::Home {
        region_code: region.into(),
    }
}

#[test]
fn prices_lines_by_their_own_quantity_and_sums_stock_per_listing() {
    let l = snapshot(100);
    let id = l.id;
    let map = HashMap::from([(id, l)]);
    let priced = price_order(
        &[
            OrderLine {
                listing_id: id,
                quantity: 10,
            },
            OrderLine {
                listing_id: id,
                quantity: 1,
            },
        ],
        &map,
        &home("110105"),
        &[],
        Utc::now(),
    );
    let Ok(p) = priced else { panic!("{priced:?}") };
    assert_eq!(p.stock_needs[&id], 11);
    let items = &p.sellers[0].items;
    assert_eq!(items[0].unit_price, Fen(6200));
    assert_eq!(items[1].unit_price, Fen(6800));
    assert_eq!(p.total, Fen(62_000 + 6_800));
    assert_eq!(items[0].commission_bp, 400);
    // each line keeps the trace batch of what was sold
    assert!(items
        .iter()
        .all(|i| i.trace_batch_code.as_deref() == Some("JYTX786A")));
}

#[test]
fn pricing_rules() {
    let l = snapshot(5);
    let id = l.id;
    let map = HashMap::from([(id, l.clone())]);
    let now = Utc::now();
    assert_eq!(
        price_order(&[], &map, &home("110105"), &[], now),
        Err(PricingError::Empty)
    );
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: id,
                quantity: 1
            }],
            &map,
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::BelowMinimum {
            listing: id,
            min: 2
        })
    );
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: id,
                quantity: 0
            }],
            &map,
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::BadQuantity { index: 0 })
    );
    assert_eq!(
        price_order(
            &[
                OrderLine {
                    listing_id: id,
                    quantity: 3
                },
                OrderLine {
                    listing_id: id,
                    quantity: 3
                }
            ],
            &map,
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::OutOfStock(id))
    );
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: ListingId::new(),
                quantity: 3
            }],
            &map,
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::UnknownListing { index: 0 })
    );
    let mut paused = l.clone();
    paused.status = ListingStatus::Paused;
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: id,
                quantity: 2
            }],
            &HashMap::from([(id, paused)]),
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::Unavailable(id))
    );
    let mut group = l;
    group.sale = SaleTerms::GroupBuy {
        target_qty: 10,
        deadline: now - chrono::Duration::seconds(1),
    };
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: id,
                quantity: 2
            }],
            &HashMap::from([(id, group)]),
            &home("110105"),
            &[],
            now
        ),
        Err(PricingError::GroupBuyClosed(id))
    );
}

#[test]
fn seller_order_state_machine() {
    use SellerOrderStatus::*;
    assert_eq!(seller_transition(Paid, &SellerAction::Accept), Ok(Accepted));
    assert_eq!(
        seller_transition(
            Accepted,
            &SellerAction::Ship {
                shipment_id: crate::delivery::ShipmentId::new(),
                carrier: "SF".into(),
                tracking_no: "1".into(),
                items: None,
                route: vec![],
            }
        ),
        Ok(Shipped)
    );
    assert_eq!(
        seller_transition(Shipped, &SellerAction::Deliver),
        Ok(Delivered)
    );
    assert_eq!(
        seller_transition(Delivered, &SellerAction::Complete),
        Ok(Completed)
    );
    assert_eq!(
        seller_transition(Rejected, &SellerAction::Refund),
        Ok(Refunded)
    );
    assert_eq!(
        seller_transition(PendingPayment, &SellerAction::Accept),
        Err((PendingPayment, "accept"))
    );
    assert_eq!(
        seller_transition(Shipped, &SellerAction::Refund),
        Err((Shipped, "refund"))
    );
    assert_eq!(
        seller_transition(Completed, &SellerAction::Complete),
        Err((Completed, "complete"))
    );
    assert_eq!(
        order_status_after(&[Completed, Refunded], OrderStatus::Paid),
        OrderStatus::Completed
    );
    assert_eq!(
        order_status_after(&[Completed, Shipped], OrderStatus::Paid),
        OrderStatus::Paid
    );
}

fn loaded(status: SellerOrderStatus, siblings: Vec<SellerOrderStatus>) -> SellerOrderForUpdate {
    SellerOrderForUpdate {
        id: SellerOrderId::new(),
        seller_id: OrgId::new(),
        subtotal: Fen(13_600),
        freight: Fen(1_500),
        commission: Fen(544),
        held_refunded: Fen(0),
        held_commission_returned: Fen(0),
        order_id: OrderId::new(),
        order_status: OrderStatus::Paid,
        status,
        pickup_code: Some("123456".into()),
        siblings,
        items: vec![ItemState {
            id: uuid::Uuid::now_v7(),
            listing_id: ListingId::new(),
            quantity: 2,
            shipped: 0,
            cold_chain: false,
        }],
        station: None,
    }
}

#[test]
fn every_seller_action_from_every_status() {
    use SellerOrderStatus::*;
    let ship = SellerAction::Ship {
        shipment_id: crate::delivery::ShipmentId::new(),
        carrier: " 顺丰 ".into(),
        tracking_no: " SF1 ".into(),
        items: None,
        route: vec![],
    };
    let actions = [
        SellerAction::Accept,
        SellerAction::Reject,
        ship.clone(),
        SellerAction::Deliver,
        SellerAction::PickedUp,
        SellerAction::Complete,
        SellerAction::Refund,
    ];
    let allowed = [
        (Paid, "accept", Accepted),
        (Paid, "reject", Rejected),
        (Accepted, "ship", Shipped),
        (Shipped, "deliver", Delivered),
        (Shipped, "pickup", Delivered),
        (Delivered, "complete", Completed),
        (Paid, "refund", Refunded),
        (Accepted, "refund", Refunded),
        (Rejected, "refund", Refunded),
    ];
    let now = Utc::now();
    for &from in SellerOrderStatus::ALL {
        for action in &actions {
            let got = decide_seller_change(&loaded(from, vec![]), action, Some("123456"), now);
            match allowed
                .iter()
                .find(|(f, a, _)| *f == from && *a == action.name())
            {
                Some((_, _, to)) => {
                    let c = got.unwrap_or_else(|e| panic!("{from} {}: {e:?}", action.name()));
                    assert_eq!((c.from, c.to), (from, *to));
                }
                None => assert_eq!(
                    got,
                    Err(SellerRefusal::Invalid(from, action.name())),
                    "{from} {}",
                    action.name()
                ),
            }
        }
    }
}

#[test]
fn ship_records_carrier_and_delivery_its_time() {
    let now = Utc::now();
    let ship = SellerAction::Ship {
        shipment_id: crate::delivery::ShipmentId::new(),
        carrier: " 顺丰 ".into(),
        tracking_no: " SF1 ".into(),
        items: None,
        route: vec![],
    };
    let c = decide_seller_change(
        &loaded(SellerOrderStatus::Accepted, vec![]),
        &ship,
        None,
        now,
    );
    assert_eq!(
        c.map(|c| c.shipping),
        Ok(Some(("顺丰".into(), "SF1".into())))
    );
    let c = decide_seller_change(
        &loaded(SellerOrderStatus::Shipped, vec![]),
        &SellerAction::Deliver,
        None,
        now,
    );
    assert_eq!(c.map(|c| c.delivered_at), Ok(Some(now)));
}

#[test]
fn pickup_needs_the_orders_code() {
    let now = Utc::now();
    let s = loaded(SellerOrderStatus::Shipped, vec![]);
    for wrong in [None, Some(""), Some("654321")] {
        assert_eq!(
            decide_seller_change(&s, &SellerAction::PickedUp, wrong, now),
            Err(SellerRefusal::WrongPickupCode)
        );
    }
    let mut no_code = s.clone();
    no_code.pickup_code = None;
    assert_eq!(
        decide_seller_change(&no_code, &SellerAction::PickedUp, None, now),
        Err(SellerRefusal::WrongPickupCode),
        "a home-delivery seller order cannot be picked up"
    );
    assert!(decide_seller_change(&s, &SellerAction::PickedUp, Some("123456"), now).is_ok());
}

#[test]
fn a_refund_restocks_its_items_and_nothing_else_does() {
    let now = Utc::now();
    let s = loaded(SellerOrderStatus::Paid, vec![]);
    let c = decide_seller_change(&s, &SellerAction::Refund, None, now);
    assert_eq!(
        c.map(|c| c.restock),
        Ok(vec![(s.items[0].listing_id, s.items[0].quantity)])
    );
    let c = decide_seller_change(&s, &SellerAction::Accept, None, now);
    assert_eq!(c.map(|c| c.restock), Ok(vec![]));
}

#[test]
fn the_order_completes_when_its_last_seller_order_is_final() {
    use SellerOrderStatus::*;
    let now = Utc::now();
    let last = loaded(Delivered, vec![Completed, Refunded]);
    let c = decide_seller_change(&last, &SellerAction::Complete, None, now);
    assert_eq!(
        c.map(|c| c.order_status),
        Ok(Some((OrderStatus::Paid, OrderStatus::Completed)))
    );
    let not_last = loaded(Delivered, vec![Shipped]);
    let c = decide_seller_change(&not_last, &SellerAction::Complete, None, now);
    assert_eq!(c.map(|c| c.order_status), Ok(None));
}

fn template(rules: Vec<(&str, i64)>, default_fen: Option<i64>) -> (FreightTemplateId, FreightSpec) {
    let rate = |fen| crate::delivery::Rate {
        first_unit: 1000,
        first_fen: fen,
        additional_unit: 1000,
        additional_fen: 100,
    };
    (
        FreightTemplateId::new(),
        FreightSpec {
            mode: FreightMode::Weight,
            rules: rules
                .into_iter()
                .map(|(r, fen)| crate::delivery::RegionRule {
                    regions: vec![r.into()],
                    rate: rate(fen),
                })
                .collect(),
            default_rule: default_fen.map(rate),
            free_over_fen: Some(50_000),
            no_delivery_regions: vec!["54".into()],
            cold_chain_surcharge_fen: 700,
        },
    )
}

fn line(id: ListingId, quantity: i32) -> OrderLine {
    OrderLine {
        listing_id: id,
        quantity,
    }
}

#[test]
fn freight_per_seller_order_by_template_group_and_the_order_total_includes_it() {
    let seller = OrgId::new();
    let t = template(vec![("11", 1000)], Some(2000));
    // two listings of one template weigh together: 2 × 1 kg + 1 × 0.5 kg = 2.5 kg
    let mut a = snapshot(100);
    a.seller_id = seller;
    a.unit_weight_grams = 1000;
    a.min_order_qty = 1;
    a.price = Fen(1000);
    a.tiers.clear();
    a.freight = Some(t.clone());
    let mut b = a.clone();
    b.id = ListingId::new();
    b.unit_weight_grams = 500;
    b.storage = Storage::Chilled;
    // a third listing of the same seller without a template ships free
    let mut c = a.clone();
    c.id = ListingId::new();
    c.freight = None;
    // another seller, another template
    let mut d = snapshot(100);
    d.min_order_qty = 1;
    d.freight = Some(template(vec![], Some(900)));
    let map = HashMap::from([
        (a.id, a.clone()),
        (b.id, b.clone()),
        (c.id, c.clone()),
        (d.id, d.clone()),
    ]);
    let lines = [line(a.id, 2), line(b.id, 1), line(c.id, 1), line(d.id, 1)];
    let p = price_order(&lines, &map, &home("110105"), &[], Utc::now()).expect("priced");
    let part = |s: OrgId| p.sellers.iter().find(|x| x.seller_id == s).expect("seller");
    // Beijing rule: ¥10 first kg + 2 × ¥1 + cold chain ¥7
    assert_eq!(part(seller).freight, Fen(1000 + 200 + 700));
    assert_eq!(part(seller).items_total, Fen(4000));
    // default rule: 5 kg → ¥9 + 4 × ¥1
    assert_eq!(part(d.seller_id).freight, Fen(1300));
    let items: i64 = p.sellers.iter().map(|s| s.items_total.0).sum();
    let freight: i64 = p.sellers.iter().map(|s| s.freight.0).sum();
    assert_eq!(p.total, Fen(items + freight));

    // Tibet is not delivered to: the first listing of the refusing template is named
    assert_eq!(
        price_order(&lines, &map, &home("540102"), &[], Utc::now()),
        Err(PricingError::NotDeliverable(a.id))
    );
    // station pickup: the station's fee per seller order, the refusal still applies
    let station = |region: &str| Destination::Station {
        region_code: region.into(),
        fee: Fen(150),
    };
    let p = price_order(&lines, &map, &station("110105"), &[], Utc::now()).expect("priced");
    assert!(p.sellers.iter().all(|s| s.freight == Fen(150)));
    assert_eq!(
        price_order(&lines, &map, &station("540102"), &[], Utc::now()),
        Err(PricingError::NotDeliverable(a.id))
    );
}

#[test]
fn build_order_snapshots_freight_on_each_seller_order() {
    let mut a = snapshot(100);
    a.min_order_qty = 1;
    a.freight = Some(template(vec![], Some(1200)));
    let map = HashMap::from([(a.id, a.clone())]);
    let priced =
        price_order(&[line(a.id, 1)], &map, &home("110105"), &[], Utc::now()).expect("priced");
    let new = super::super::ports::NewOrder {
        id: OrderId::new(),
        number: "CM1".into(),
        buyer: Buyer::User(crate::identity::UserId::new()),
        external_ref: None,
        priced,
        delivery: Delivery::HomeDelivery {
            address: Address {
                recipient: "王芳".into(),
                phone: "13800000000".into(),
                region_code: "110105".into(),
                line: "1 号".into(),
            },
        },
        expires_at: Utc::now(),
        created_at: Utc::now(),
        pickup_codes: vec![None],
    };
    let o = build_order(&new);
    // 5 kg by the default rule: ¥12 + 4 × ¥1
    assert_eq!(o.seller_orders[0].freight, Fen(1600));
    assert_eq!(o.total, Fen(6800 + 1600));
    // commission on the items only
    assert_eq!(
        o.seller_orders[0].commission,
        Fen(6800).apply_basis_points(400)
    );
}
