//! Unit tests of the rules in `model.rs`.

use super::*;

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
        Utc::now(),
    );
    let Ok(p) = priced else { panic!("{priced:?}") };
    assert_eq!(p.stock_needs[&id], 11);
    let items = &p.sellers[0].1;
    assert_eq!(items[0].unit_price, Fen(6200));
    assert_eq!(items[1].unit_price, Fen(6800));
    assert_eq!(p.total, Fen(62_000 + 6_800));
    assert_eq!(items[0].commission_bp, 400);
}

#[test]
fn pricing_rules() {
    let l = snapshot(5);
    let id = l.id;
    let map = HashMap::from([(id, l.clone())]);
    let now = Utc::now();
    assert_eq!(price_order(&[], &map, now), Err(PricingError::Empty));
    assert_eq!(
        price_order(
            &[OrderLine {
                listing_id: id,
                quantity: 1
            }],
            &map,
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
                carrier: "SF".into(),
                tracking_no: "1".into()
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
        order_id: OrderId::new(),
        order_status: OrderStatus::Paid,
        status,
        pickup_code: Some("123456".into()),
        siblings,
        items: vec![(ListingId::new(), 2)],
    }
}

#[test]
fn every_seller_action_from_every_status() {
    use SellerOrderStatus::*;
    let ship = SellerAction::Ship {
        carrier: " 顺丰 ".into(),
        tracking_no: " SF1 ".into(),
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
        carrier: " 顺丰 ".into(),
        tracking_no: " SF1 ".into(),
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
    assert_eq!(c.map(|c| c.restock), Ok(s.items.clone()));
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
