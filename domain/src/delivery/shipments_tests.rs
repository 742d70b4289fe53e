use chrono::TimeZone;

use super::*;
use crate::catalog::ListingId;
use crate::orders::{ItemState, OrderId, OrderStatus, SellerRefusal};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0)
        .single()
        .expect("time")
}

fn item(qty: i32, shipped: i32, cold: bool) -> ItemState {
    ItemState {
        id: Uuid::now_v7(),
        listing_id: ListingId::new(),
        quantity: qty,
        shipped,
        cold_chain: cold,
    }
}

fn accepted(items: Vec<ItemState>, station: Option<OrgId>) -> SellerOrderForUpdate {
    SellerOrderForUpdate {
        id: SellerOrderId::new(),
        seller_id: OrgId::new(),
        subtotal: crate::money::Fen(6800),
        freight: crate::money::Fen(0),
        commission: crate::money::Fen(272),
        held_refunded: crate::money::Fen(0),
        held_commission_returned: crate::money::Fen(0),
        order_id: OrderId::new(),
        order_status: OrderStatus::Paid,
        status: SellerOrderStatus::Accepted,
        pickup_code: None,
        siblings: vec![],
        items,
        station,
    }
}

fn ship(items: Option<Vec<ShipmentItem>>, route: Vec<OrgId>) -> SellerAction {
    SellerAction::Ship {
        shipment_id: crate::delivery::ShipmentId::new(),
        carrier: " 邮政 ".into(),
        tracking_no: "EMS1".into(),
        items,
        route,
    }
}

#[test]
fn a_partial_shipment_keeps_the_seller_order_accepted_and_the_rest_ships_it() {
    let s = accepted(vec![item(3, 0, false), item(2, 0, true)], None);
    let first = vec![ShipmentItem {
        order_item_id: s.items[0].id,
        quantity: 2,
    }];
    let c = decide_seller_change(&s, &ship(Some(first), vec![]), None, now()).expect("ships");
    assert_eq!(c.to, SellerOrderStatus::Accepted);
    assert_eq!(c.shipping, None);
    let sh = c.shipment.expect("a shipment");
    assert_eq!(sh.carrier, "邮政");
    assert!(!sh.cold_chain, "only ambient items in it");

    let mut s = s;
    s.items[0].shipped = 2;
    // the rest: 1 of the first item and both of the cold one
    let c = decide_seller_change(&s, &ship(None, vec![]), None, now()).expect("ships");
    assert_eq!(c.to, SellerOrderStatus::Shipped);
    let sh = c.shipment.expect("a shipment");
    assert_eq!(
        sh.items.iter().map(|i| i.quantity).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(sh.cold_chain);
    assert_eq!(c.shipping, Some(("邮政".into(), "EMS1".into())));
}

#[test]
fn shipments_never_hold_more_than_is_left() {
    let mut s = accepted(vec![item(3, 0, false)], None);
    s.items[0].shipped = 2;
    let over = vec![ShipmentItem {
        order_item_id: s.items[0].id,
        quantity: 2,
    }];
    assert!(matches!(
        decide_seller_change(&s, &ship(Some(over), vec![]), None, now()),
        Err(SellerRefusal::BadShipment(_))
    ));
    let twice = vec![
        ShipmentItem {
            order_item_id: s.items[0].id,
            quantity: 1,
        };
        2
    ];
    assert!(matches!(
        decide_seller_change(&s, &ship(Some(twice), vec![]), None, now()),
        Err(SellerRefusal::BadShipment(_))
    ));
    let stranger = vec![ShipmentItem {
        order_item_id: Uuid::now_v7(),
        quantity: 1,
    }];
    assert!(matches!(
        decide_seller_change(&s, &ship(Some(stranger), vec![]), None, now()),
        Err(SellerRefusal::BadShipment(_))
    ));
}

#[test]
fn no_refund_once_part_has_shipped() {
    let s = accepted(vec![item(3, 1, false)], None);
    assert_eq!(
        decide_seller_change(&s, &SellerAction::Refund, None, now()),
        Err(SellerRefusal::AlreadyShipped)
    );
}

#[test]
fn the_pickup_station_is_always_on_the_route() {
    let station = OrgId::new();
    let hub = OrgId::new();
    let s = accepted(vec![item(1, 0, false)], Some(station));
    let c = decide_seller_change(&s, &ship(None, vec![hub]), None, now()).expect("ships");
    assert_eq!(c.shipment.expect("shipment").route, vec![hub, station]);
}

fn event(kind: &str, minutes: i64, temp: Option<f64>) -> CheckedEvent {
    EventInput {
        kind: kind.into(),
        occurred_at: (now() + Duration::minutes(minutes)).fixed_offset(),
        region_code: "411521".into(),
        place: "罗山县物流配送中心".into(),
        temperature_c: temp,
    }
    .check(now() + Duration::hours(1))
    .expect("valid event")
}

fn on_the_way(cold: bool, others_open: usize, station: Option<OrgId>) -> ShipmentForEvent {
    let mut so = accepted(vec![item(1, 1, cold)], station);
    so.status = SellerOrderStatus::Shipped;
    ShipmentForEvent {
        shipment: Shipment {
            id: ShipmentId::new(),
            seller_order_id: so.id,
            carrier: "邮政".into(),
            tracking_no: "EMS1".into(),
            items: vec![],
            route: vec![],
            cold_chain: cold,
            created_at: now(),
            events: vec![],
        },
        seller_order: so,
        order_created_at: now() - Duration::days(1),
        others_open,
    }
}

#[test]
fn the_last_parcel_delivered_delivers_the_seller_order() {
    let org = OrgId::new();
    let c = decide_event(
        &on_the_way(false, 0, None),
        &event("delivered", 0, None),
        org,
        now(),
    )
    .expect("recorded");
    let change = c.seller_change.expect("seller order delivered");
    assert_eq!(change.to, SellerOrderStatus::Delivered);
    assert_eq!(change.delivered_at, Some(now()));

    let c = decide_event(
        &on_the_way(false, 1, None),
        &event("delivered", 0, None),
        org,
        now(),
    )
    .expect("recorded");
    assert!(c.seller_change.is_none(), "another parcel is on its way");
    let c = decide_event(
        &on_the_way(false, 0, Some(OrgId::new())),
        &event("delivered", 0, None),
        org,
        now(),
    )
    .expect("recorded");
    assert!(
        c.seller_change.is_none(),
        "a pickup is confirmed by its code"
    );
}

#[test]
fn cold_chain_steps_need_a_temperature_and_closed_parcels_take_none() {
    let org = OrgId::new();
    let cold = on_the_way(true, 0, None);
    assert!(matches!(
        decide_event(&cold, &event("precooled", 0, None), org, now()),
        Err(EventRefusal::Invalid(_))
    ));
    let c = decide_event(&cold, &event("precooled", 0, Some(3.96)), org, now()).expect("ok");
    assert_eq!(c.event.temperature_dc, Some(40));
    assert!(decide_event(&cold, &event("delivered", 0, None), org, now()).is_ok());

    let mut closed = on_the_way(false, 0, None);
    closed.shipment.events.push(c.event.clone());
    closed.shipment.events[0].kind = ShipmentEventType::Delivered;
    assert_eq!(
        decide_event(&closed, &event("sorted", 0, None), org, now()).err(),
        Some(EventRefusal::Closed)
    );
    // nothing before the order existed
    assert!(matches!(
        decide_event(
            &on_the_way(false, 0, None),
            &event("sorted", -3000, None),
            org,
            now()
        ),
        Err(EventRefusal::Invalid(_))
    ));
}

#[test]
fn event_input_is_checked_field_by_field() {
    let e = EventInput {
        kind: "teleported".into(),
        occurred_at: (now() + Duration::minutes(10)).fixed_offset(),
        region_code: "999999".into(),
        place: " ".into(),
        temperature_c: Some(80.0),
    }
    .check(now())
    .expect_err("invalid");
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "type",
            "occurred_at",
            "region_code",
            "place",
            "temperature_c"
        ]
    );
}

#[test]
fn events_sort_by_time_whatever_the_offset() {
    let mut s = on_the_way(false, 0, None).shipment;
    let at = |h: u32, tz: i32| {
        chrono::FixedOffset::east_opt(tz * 3600)
            .and_then(|o| o.with_ymd_and_hms(2026, 11, 25, h, 0, 0).single())
            .expect("time")
    };
    for (kind, t) in [
        (ShipmentEventType::Dispatched, at(12, 8)), // 04:00 UTC
        (ShipmentEventType::HubReceived, at(2, 0)), // 02:00 UTC
        (ShipmentEventType::Sorted, at(11, 8)),     // 03:00 UTC
    ] {
        s.events.push(ShipmentEvent {
            id: Uuid::now_v7(),
            kind,
            occurred_at: t,
            region_code: "411521".into(),
            place: "hub".into(),
            temperature_dc: None,
            organization_id: OrgId::new(),
            recorded_at: now(),
        });
    }
    s.sort_events();
    let kinds: Vec<_> = s.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ShipmentEventType::HubReceived,
            ShipmentEventType::Sorted,
            ShipmentEventType::Dispatched
        ]
    );
}
