//! Freight templates, quotes, freight on orders, and shipments tracked hub
//! by hub, through the API.

use coopmart_tests::{order_lines, spawn_app, Reply, TestApp};
use serde_json::{json, Value};

fn to(region: &str) -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": region, "line": "建国路1号"}})
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> Reply {
    app.send(app.client.put(app.url(path)).bearer_auth(token).json(body))
        .await
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Reply {
    app.send(app.client.delete(app.url(path)).bearer_auth(token))
        .await
}

async fn seller(app: &TestApp, email: &str) -> (String, String) {
    let token = app.user_token(email).await;
    let org = app.create_org(&token, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, org)
}

/// The contract's example: Jilin free up to 5 kg, Beijing/Shanghai ¥12 +
/// ¥6 per kg, elsewhere ¥15 + ¥8 per kg, ¥199 ships free, not to Tibet or
/// Xinjiang, cold chain ¥15.
fn contract_template(name: &str, is_default: bool) -> Value {
    json!({"name": name, "mode": "weight", "is_default": is_default,
        "rules": [{"regions": ["22"], "first_unit": 5000, "first_fen": 0, "additional_unit": 1000, "additional_fen": 0},
                  {"regions": ["11", "31"], "first_unit": 1000, "first_fen": 1200, "additional_unit": 1000, "additional_fen": 600}],
        "default_rule": {"first_unit": 1000, "first_fen": 1500, "additional_unit": 1000, "additional_fen": 800},
        "free_over_fen": 19900, "no_delivery_regions": ["54", "65"], "cold_chain_surcharge_fen": 1500})
}

async fn template(app: &TestApp, token: &str, org: &str, body: &Value) -> String {
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/freight-templates"),
            token,
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn freight_templates_are_the_sellers_own() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "freight@example.com").await;
    let base = format!("/api/v1/organizations/{org}/freight-templates");
    let first = template(&app, &token, &org, &contract_template("省内包邮", true)).await;
    let got = app
        .get_auth(&format!("{base}/{first}"), &token)
        .await
        .json();
    assert_eq!(got["rules"][1]["regions"], json!(["11", "31"]));
    assert_eq!(got["rules"][1]["first_fen"], 1200);
    assert_eq!(got["no_delivery_regions"], json!(["54", "65"]));
    assert_eq!(got["is_default"], true);

    // a second default takes over; names are unique per seller
    let second = template(&app, &token, &org, &contract_template("全国", true)).await;
    let list = app.get_auth(&base, &token).await.json();
    let defaults: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["id"], second.as_str());
    app.post_auth(&base, &token, &contract_template("全国", false))
        .await
        .assert_problem(409, "duplicate_name");

    // every bad field at once; nothing written
    let mut bad = contract_template("坏", false);
    bad["mode"] = json!("volume");
    bad["rules"][0]["regions"] = json!(["22", "11"]);
    bad["rules"][1]["additional_unit"] = json!(0);
    bad["no_delivery_regions"] = json!(["540"]);
    let p = app
        .post_auth(&base, &token, &bad)
        .await
        .assert_problem(422, "validation_failed");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "mode",
        "rules[1].regions[0]",
        "rules[1].additional_unit",
        "no_delivery_regions[0]",
    ] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    assert_eq!(
        app.get_auth(&base, &token).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // replace keeps the id; orders are not involved
    let mut changed = contract_template("省内包邮", false);
    changed["cold_chain_surcharge_fen"] = json!(2000);
    let r = put(&app, &format!("{base}/{first}"), &token, &changed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["cold_chain_surcharge_fen"], 2000);

    // other sellers see nothing and cannot name it
    let (other, other_org) = seller(&app, "other-freight@example.com").await;
    app.get_auth(&format!("{base}/{first}"), &other)
        .await
        .assert_problem(404, "not_found");
    app.get_auth(&base, &other)
        .await
        .assert_problem(404, "not_found");
    delete(&app, &format!("{base}/{first}"), &other)
        .await
        .assert_problem(404, "not_found");
    let r = app
        .post_auth(
            "/api/v1/listings",
            &other,
            &json!({"seller_id": other_org, "title": "别人的瓜", "category_id": app.category("fruit").await,
                    "unit_label": "箱", "unit_weight_grams": 1000, "price_fen": 100, "stock": 1,
                    "origin_region_code": "220106", "freight_template_id": first}),
        )
        .await;
    assert_eq!(
        r.assert_problem(422, "validation_failed")["errors"][0]["field"],
        "freight_template_id"
    );

    // a template a listing names cannot go; once the listing moves, it can
    let listing = app
        .listing(&token, &org, json!({"freight_template_id": first}))
        .await;
    assert_eq!(listing["freight_template_id"], first.as_str());
    let p = delete(&app, &format!("{base}/{first}"), &token)
        .await
        .assert_problem(409, "freight_template_in_use");
    assert_eq!(p["listings"], 1);
    let lid = listing["id"].as_str().unwrap();
    let r = app
        .send(
            app.client
                .patch(app.url(&format!("/api/v1/listings/{lid}")))
                .bearer_auth(&token)
                .header("if-match", format!("\"{}\"", listing["version"]))
                .json(&json!({"freight_template_id": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["freight_template_id"], Value::Null);
    assert_eq!(
        delete(&app, &format!("{base}/{first}"), &token)
            .await
            .status,
        204
    );
    app.get_auth(&format!("{base}/{first}"), &token)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_quote_is_what_the_order_charges_across_sellers_and_templates() {
    let app = spawn_app().await;
    // seller A: a weight default and a per-piece template
    let (a, a_org) = seller(&app, "quote-a@example.com").await;
    template(&app, &a, &a_org, &contract_template("默认", true)).await;
    let piece = template(
        &app,
        &a,
        &a_org,
        &json!({"name": "按件", "mode": "piece", "default_rule": {"first_unit": 1, "first_fen": 800, "additional_unit": 2, "additional_fen": 300}}),
    )
    .await;
    let a1 = app
        .listing(&a, &a_org, json!({"unit_weight_grams": 2500}))
        .await;
    let a2 = app
        .listing(&a, &a_org, json!({"freight_template_id": piece, "storage": "ambient", "price_fen": 1000, "tier_prices": []}))
        .await;
    // seller B: no template at all (ships free)
    let (b, b_org) = seller(&app, "quote-b@example.com").await;
    let b1 = app.listing(&b, &b_org, json!({})).await;
    let (a1, a2, b1) = (
        a1["id"].as_str().unwrap(),
        a2["id"].as_str().unwrap(),
        b1["id"].as_str().unwrap(),
    );
    let buyer = app.user_token("quoter@example.com").await;
    let body =
        json!({"items": order_lines(&[(a1, 2), (a2, 5), (b1, 1)]), "delivery": to("110105")});
    let q = app.post_auth("/api/v1/orders/quote", &buyer, &body).await;
    assert_eq!(q.status, 200, "{}", q.text);
    let q = q.json();
    let part = |v: &Value, seller: &str| -> Value {
        v["seller_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["seller_id"] == seller)
            .unwrap()
            .clone()
    };
    // A, Beijing: a1 = 2 × 2.5 kg chilled → ¥12 + 4 × ¥6 + ¥15 cold chain;
    // a2 = 5 pieces → ¥8 + 2 × ¥3 (its own template, not cold)
    assert_eq!(part(&q, &a_org)["items_fen"], 2 * 6800 + 5 * 1000);
    assert_eq!(
        part(&q, &a_org)["freight_fen"],
        (1200 + 4 * 600 + 1500) + (800 + 2 * 300)
    );
    assert_eq!(part(&q, &b_org)["freight_fen"], 0);
    let freight = (1200 + 4 * 600 + 1500) + (800 + 2 * 300);
    assert_eq!(q["total_fen"], 2 * 6800 + 5 * 1000 + 6800 + freight);
    // a quote takes no stock
    assert_eq!(
        app.get(&format!("/api/v1/listings/{a1}")).await.json()["stock"],
        300
    );

    let o = app.place_order(&buyer, "quote-1", &body).await;
    assert_eq!(o.status, 201, "{}", o.text);
    let o = o.json();
    assert_eq!(o["total_fen"], q["total_fen"]);
    assert_eq!(o["freight_fen"], q["freight_fen"]);
    for seller in [&a_org, &b_org] {
        let so = part(&o, seller);
        let qs = part(&q, seller);
        assert_eq!(so["freight_fen"], qs["freight_fen"]);
        assert_eq!(so["subtotal_fen"], qs["items_fen"]);
        assert_eq!(so["total_fen"], qs["total_fen"]);
        // commission on the items only
        let bp = so["items"][0]["commission_bp"].as_i64().unwrap();
        let items_fen = so["subtotal_fen"].as_i64().unwrap();
        assert_eq!(so["commission_fen"], (items_fen * bp + 5_000) / 10_000);
    }
    // the freight is kept on the order: the template changing later does not move it
    let oid = o["id"].as_str().unwrap();
    put(
        &app,
        &format!("/api/v1/organizations/{a_org}/freight-templates/{piece}"),
        &a,
        &json!({"name": "按件", "mode": "piece", "default_rule": {"first_unit": 1, "first_fen": 9999, "additional_unit": 1, "additional_fen": 9999}}),
    )
    .await;
    let again = app
        .get_auth(&format!("/api/v1/orders/{oid}"), &buyer)
        .await
        .json();
    assert_eq!(again["total_fen"], q["total_fen"]);
    assert_eq!(part(&again, &a_org)["freight_fen"], freight);

    // free over ¥199 of the seller order's items, exact to the fen
    let q = app
        .post_auth(
            "/api/v1/orders/quote",
            &buyer,
            &json!({"items": order_lines(&[(a1, 3)]), "delivery": to("110105")}),
        )
        .await
        .json();
    assert_eq!(q["seller_orders"][0]["items_fen"], 20_400);
    assert_eq!(q["freight_fen"], 0);
}

#[tokio::test]
async fn an_area_not_delivered_to_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "nodelivery@example.com").await;
    template(&app, &token, &org, &contract_template("默认", true)).await;
    let l = app.listing(&token, &org, json!({"stock": 7})).await;
    let id = l["id"].as_str().unwrap();
    let buyer = app.user_token("tibet@example.com").await;
    let body = json!({"items": order_lines(&[(id, 2)]), "delivery": to("540102")});
    let p = app
        .post_auth("/api/v1/orders/quote", &buyer, &body)
        .await
        .assert_problem(422, "not_deliverable");
    assert_eq!(p["listing_id"], id);
    let p = app
        .place_order(&buyer, "tibet-1", &body)
        .await
        .assert_problem(422, "not_deliverable");
    assert_eq!(p["listing_id"], id);
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM idempotency_keys"), 0);
    assert_eq!(
        app.get(&format!("/api/v1/listings/{id}")).await.json()["stock"],
        7
    );
    // the same order to Jilin goes through (5 kg free in the province, cold chain ¥15)
    let o = app
        .place_order(
            &buyer,
            "tibet-2",
            &json!({"items": order_lines(&[(id, 1)]), "delivery": to("220106")}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text);
    assert_eq!(o.json()["freight_fen"], 1500);
}

#[tokio::test]
async fn station_pickup_charges_the_stations_fee() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "fee-seller@example.com").await;
    template(&app, &token, &org, &contract_template("默认", true)).await;
    let l = app.listing(&token, &org, json!({})).await;
    let id = l["id"].as_str().unwrap();
    let keeper = app.user_token("fee-keeper@example.com").await;
    let station = app.create_org(&keeper, "service_station", None).await;
    assert_eq!(station["pickup_fee_fen"], 0);
    let sid = station["id"].as_str().unwrap();
    let r = app
        .patch_auth(
            &format!("/api/v1/organizations/{sid}"),
            &keeper,
            &json!({"pickup_fee_fen": 300}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["pickup_fee_fen"], 300);
    // only stations charge a pickup fee
    app.patch_auth(
        &format!("/api/v1/organizations/{org}"),
        &token,
        &json!({"pickup_fee_fen": 300}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let buyer = app.user_token("fee-buyer@example.com").await;
    let body = json!({"items": order_lines(&[(id, 1)]), "delivery": {"method": "station_pickup", "station_id": sid}});
    let q = app
        .post_auth("/api/v1/orders/quote", &buyer, &body)
        .await
        .json();
    assert_eq!(q["freight_fen"], 300);
    let o = app.place_order(&buyer, "fee-1", &body).await.json();
    assert_eq!(o["total_fen"], 6800 + 300);
    assert_eq!(o["seller_orders"][0]["freight_fen"], 300);
}

struct Shipped {
    app: TestApp,
    seller: String,
    buyer: String,
    order: String,
    so: String,
    melon_item: String,
    tea_item: String,
    hub: String,
    hub_org: String,
}

/// A paid, accepted seller order of 3 chilled melons and 2 ambient boxes
/// of tea, and a county logistics hub.
async fn accepted_order() -> Shipped {
    let app = spawn_app().await;
    let (seller_token, org) = seller(&app, "ship-seller@example.com").await;
    let melon = app.listing(&seller_token, &org, json!({})).await;
    let tea = app
        .listing(
            &seller_token,
            &org,
            json!({"title": "龙井 250g", "storage": "ambient", "unit_weight_grams": 250}),
        )
        .await;
    let buyer = app.user_token("ship-buyer@example.com").await;
    let body = json!({"items": order_lines(&[(melon["id"].as_str().unwrap(), 3), (tea["id"].as_str().unwrap(), 2)]),
                      "delivery": to("411521")});
    let o = app.place_order(&buyer, "ship-1", &body).await.json();
    let oid = o["id"].as_str().unwrap().to_owned();
    app.pay(&buyer, &oid).await;
    let so = o["seller_orders"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{so}/accept"),
            &seller_token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let item = |listing: &Value| -> String {
        o["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["listing_id"] == listing["id"])
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let hub = app.user_token("hub@example.com").await;
    let hub_org = app.create_org(&hub, "logistics_hub", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Shipped {
        melon_item: item(&melon),
        tea_item: item(&tea),
        seller: seller_token,
        buyer,
        order: oid,
        so,
        hub,
        hub_org,
        app,
    }
}

fn step(kind: &str, at: &str, temp: Option<f64>) -> Value {
    json!({"type": kind, "occurred_at": at, "region_code": "411521", "place": "罗山县物流配送中心", "temperature_c": temp})
}

/// Now plus `minutes`, as reported at +08:00 (steps may be up to five
/// minutes ahead of the server's clock, never before the order).
fn now_plus(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339()
}

#[tokio::test]
async fn split_shipments_are_tracked_from_hub_to_door() {
    let s = accepted_order().await;
    let app = &s.app;
    let shipments = format!("/api/v1/seller-orders/{}/shipments", s.so);
    // the melons go first, by the county hub, cold chain
    let first = app
        .post_auth(
            &shipments,
            &s.seller,
            &json!({"carrier": "邮政", "tracking_no": "EMS-1", "route": [s.hub_org],
                    "items": [{"order_item_id": s.melon_item, "quantity": 3}]}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first = first.json();
    assert_eq!(first["cold_chain"], true);
    assert_eq!(first["events"], json!([]));
    let first_id = first["id"].as_str().unwrap().to_owned();
    let so = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(so["status"], "accepted", "part of it is still here");
    // no more melons than ordered; no refund once something left
    app.post_auth(
        &shipments,
        &s.seller,
        &json!({"carrier": "邮政", "tracking_no": "EMS-X",
        "items": [{"order_item_id": s.melon_item, "quantity": 1}]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post_auth(
        &format!("/api/v1/seller-orders/{}/refunds", s.so),
        &s.seller,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    // a route of a farmer coop is refused
    let (_, coop) = seller(app, "not-a-hub@example.com").await;
    app.post_auth(
        &shipments,
        &s.seller,
        &json!({"carrier": "邮政", "tracking_no": "EMS-Y", "route": [coop]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // the rest (the tea) ships the seller order
    let second = app
        .post_auth(
            &shipments,
            &s.seller,
            &json!({"carrier": "顺丰", "tracking_no": "SF-2"}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second = second.json();
    assert_eq!(
        second["items"],
        json!([{"order_item_id": s.tea_item, "quantity": 2}])
    );
    assert_eq!(second["cold_chain"], false);
    let second_id = second["id"].as_str().unwrap().to_owned();
    let so = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(so["status"], "shipped");
    assert_eq!(so["tracking_no"], "SF-2");

    // the hub records its steps, out of order; cold chain needs a temperature
    let events = format!("/api/v1/shipments/{first_id}/events");
    app.post_auth(&events, &s.hub, &step("precooled", &now_plus(2), None))
        .await
        .assert_problem(422, "validation_failed");
    for (kind, at, t) in [
        ("dispatched", now_plus(3), Some(3.5)),
        ("hub_received", now_plus(1), Some(6.0)),
        ("precooled", now_plus(2), Some(2.04)),
    ] {
        let r = app.post_auth(&events, &s.hub, &step(kind, &at, t)).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    app.post_auth(&events, &s.hub, &step("sorted", &now_plus(10), Some(4.0)))
        .await
        .assert_problem(422, "validation_failed");
    // buyer and seller see the timeline in time order, with the offset given
    let o = app
        .get_auth(&format!("/api/v1/orders/{}", s.order), &s.buyer)
        .await
        .json();
    let timeline = &o["seller_orders"][0]["shipments"][0]["events"];
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["hub_received", "precooled", "dispatched"]);
    assert!(timeline[0]["occurred_at"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert_eq!(timeline[1]["temperature_c"], 2.0);
    assert_eq!(timeline[0]["organization_id"], s.hub_org.as_str());
    assert_eq!(timeline[0]["region_name"], "河南省 信阳市 罗山县");
    let seller_view = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(seller_view["shipments"][0]["events"], *timeline);
    for viewer in [&s.buyer, &s.seller, &s.hub] {
        let r = app
            .get_auth(&format!("/api/v1/shipments/{first_id}"), viewer)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // strangers see nothing; another hub's staff neither, until it records a step
    let stranger = app.user_token("stranger@example.com").await;
    app.get_auth(&format!("/api/v1/shipments/{first_id}"), &stranger)
        .await
        .assert_problem(404, "not_found");
    app.post_auth(&events, &stranger, &step("sorted", &now_plus(0), Some(4.0)))
        .await
        .assert_problem(404, "not_found");
    let station_keeper = app.user_token("village@example.com").await;
    let station = app
        .create_org(&station_keeper, "service_station", None)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get_auth(&format!("/api/v1/shipments/{first_id}"), &station_keeper)
        .await
        .assert_problem(404, "not_found");
    let mut arrived = step("arrived_station", &now_plus(4), Some(5.0));
    arrived["organization_id"] = json!(station);
    let r = app.post_auth(&events, &station_keeper, &arrived).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.get_auth(&format!("/api/v1/shipments/{first_id}"), &station_keeper)
            .await
            .status,
        200
    );
    // it cannot see the other parcel
    app.get_auth(&format!("/api/v1/shipments/{second_id}"), &station_keeper)
        .await
        .assert_problem(404, "not_found");

    // both parcels delivered → the seller order is delivered
    let r = app
        .post_auth(&events, &s.hub, &step("delivered", &now_plus(4), None))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["closed"], true);
    let so = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(so["status"], "shipped", "the tea is still on its way");
    let r = app
        .post_auth(
            &format!("/api/v1/shipments/{second_id}/events"),
            &s.seller,
            &step("delivered", &now_plus(4), None),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let so = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(so["status"], "delivered");
    // nothing after delivery
    app.post_auth(&events, &s.hub, &step("sorted", &now_plus(0), Some(4.0)))
        .await
        .assert_problem(409, "shipment_closed");
    assert_eq!(app.count("SELECT count(*) AS n FROM shipment_events"), 6);
}

#[tokio::test]
async fn ship_still_sends_everything_as_one_shipment() {
    let s = accepted_order().await;
    let app = &s.app;
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{}/ship", s.so),
            &s.seller,
            &json!({"carrier": "顺丰速运", "tracking_no": "SF1234567890"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let so = r.json();
    assert_eq!(so["status"], "shipped");
    assert_eq!(so["carrier"], "顺丰速运");
    let shipments = so["shipments"].as_array().unwrap();
    assert_eq!(shipments.len(), 1);
    let mut got: Vec<(String, i64)> = shipments[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["order_item_id"].as_str().unwrap().to_owned(),
                i["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![(s.melon_item.clone(), 3), (s.tea_item.clone(), 2)];
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn concurrent_shipments_never_ship_more_than_was_ordered() {
    let s = accepted_order().await;
    let app = &s.app;
    let url = format!("/api/v1/seller-orders/{}/shipments", s.so);
    let seller = &s.seller;
    let sends = (0..12).map(|n| {
        let body = json!({"carrier": "邮政", "tracking_no": format!("EMS-{n}"),
                          "items": [{"order_item_id": s.melon_item, "quantity": 1}]});
        let url = url.clone();
        async move { app.post_auth(&url, seller, &body).await.status }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 422),
        "{statuses:?}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT coalesce(sum(quantity), 0)::bigint AS n FROM shipment_items WHERE order_item_id = '{}'",
            s.melon_item
        )),
        3
    );
    let so = app
        .get_auth(&format!("/api/v1/seller-orders/{}", s.so), &s.seller)
        .await
        .json();
    assert_eq!(so["status"], "accepted", "the tea has not shipped");
}
