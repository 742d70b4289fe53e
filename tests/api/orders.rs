//! Orders, stock, idempotency, payments and fulfilment through the API.

use std::time::Duration;

use coopmart_tests::{order_lines, spawn_app, spawn_app_with, TestApp};
use infra::payments::SandboxGateway;
use serde_json::{json, Value};

const SANDBOX_SECRET: &str = "dev-only-sandbox-notify-secret";

struct Shop {
    seller: String,
    org: String,
}

async fn shop(app: &TestApp, email: &str) -> Shop {
    let seller = app.user_token(email).await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Shop { seller, org }
}

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}})
}

async fn stock(app: &TestApp, listing: &str) -> (i64, String) {
    let l = app.get(&format!("/api/v1/listings/{listing}")).await.json();
    (
        l["stock"].as_i64().unwrap(),
        l["status"].as_str().unwrap().to_owned(),
    )
}

/// Polls an order until its status is `want` (the sweep runs in the background).
async fn order_status_becomes(app: &TestApp, token: &str, order_id: &str, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = app
            .get_auth(&format!("/api/v1/orders/{order_id}"), token)
            .await
            .json()["status"]
            .clone();
        if status == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "order {order_id} is {status}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn order_pay_fulfil_and_feed_member_volume() {
    let app = spawn_app().await;
    let s = shop(&app, "seller@example.com").await;
    let (_, member) = app
        .add_member(&s.seller, &s.org, "grower@example.com", true)
        .await;
    let listing = app
        .listing(
            &s.seller,
            &s.org,
            json!({"stock": 20, "supplier_member_id": member}),
        )
        .await;
    let id = listing["id"].as_str().unwrap();
    let buyer = app.user_token("buyer@example.com").await;
    // two lines of one listing: each priced by its own quantity, stock summed
    let body = json!({"items": order_lines(&[(id, 10), (id, 1)]), "delivery": home()});
    let r = app.place_order(&buyer, "k-1", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let o = r.json();
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["items"][0]["unit_price_fen"], 6200);
    assert_eq!(o["items"][1]["unit_price_fen"], 6800);
    assert_eq!(o["total_fen"], 62_000 + 6_800);
    assert_eq!(o["seller_orders"].as_array().unwrap().len(), 1);
    assert_eq!(
        o["seller_orders"][0]["commission_fen"],
        (68_800 * 400 + 5_000) / 10_000
    );
    assert_eq!(o["items"][0]["commission_bp"], 400);
    assert_eq!(stock(&app, id).await, (9, "active".into()));

    let paid = app.pay(&buyer, o["id"].as_str().unwrap()).await;
    assert_eq!(paid["notify_body"]["result"], "paid");
    let oid = o["id"].as_str().unwrap();
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.get_auth(&format!("/api/v1/orders/{oid}"), &buyer)
            .await
            .json()["status"],
        "paid"
    );

    // seller fulfils; an illegal step is 409
    let base = format!("/api/v1/seller-orders/{so}");
    app.post_auth(&format!("{base}/deliver"), &s.seller, &json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        app.post_auth(&format!("{base}/accept"), &s.seller, &json!({}))
            .await
            .json()["status"],
        "accepted"
    );
    app.post_auth(
        &format!("{base}/ship"),
        &s.seller,
        &json!({"carrier": "", "tracking_no": ""}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .post_auth(
            &format!("{base}/ship"),
            &s.seller,
            &json!({"carrier": "顺丰速运", "tracking_no": "SF1234567890"}),
        )
        .await;
    assert_eq!(r.json()["tracking_no"], "SF1234567890");
    assert_eq!(
        app.post_auth(&format!("{base}/deliver"), &s.seller, &json!({}))
            .await
            .json()["status"],
        "delivered"
    );
    let done = app
        .post_auth(
            &format!("/api/v1/orders/{oid}/confirm-receipt"),
            &buyer,
            &json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json()["status"], "completed");
    assert_eq!(done.json()["seller_orders"][0]["status"], "completed");

    // every transition recorded with actor and time
    let history = app
        .get_auth(&format!("/api/v1/orders/{oid}"), &buyer)
        .await
        .json()["history"]
        .clone();
    let steps: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending_payment",
            "paid",
            "paid",
            "accepted",
            "shipped",
            "delivered",
            "completed",
            "completed"
        ]
    );
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"].is_string() && e["occurred_at"].is_string()));

    // the completed sale fed the supplying member's transaction volume
    let account = app
        .get_auth(
            &format!("/api/v1/organizations/{}/members/{member}/account", s.org),
            &s.seller,
        )
        .await
        .json();
    assert_eq!(account["transaction_volume"][0]["amount_fen"], 68_800);
}

#[tokio::test]
async fn idempotency_matrix() {
    let app = spawn_app().await;
    let s = shop(&app, "idem-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({"stock": 100})).await;
    let id = listing["id"].as_str().unwrap();
    let buyer = app.user_token("idem@example.com").await;
    let body = json!({"items": order_lines(&[(id, 1)]), "delivery": home()});

    // missing key
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&buyer)
                .json(&body),
        )
        .await;
    r.assert_problem(400, "idempotency_key_required");
    // first use
    let first = app.place_order(&buyer, "same-key", &body).await;
    assert_eq!(first.status, 201);
    assert!(first.header("idempotent-replayed").is_none());
    // resources start with their id (the README's walkthrough relies on it)
    assert!(first.text.starts_with("{\"id\":"), "{}", first.text);
    assert_eq!(first.header("content-type"), Some("application/json"));
    // same key, same body: the original response, replayed
    let again = app.place_order(&buyer, "same-key", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert!(again.text.starts_with("{\"id\":"), "{}", again.text);
    // same key, another body
    let other = json!({"items": order_lines(&[(id, 2)]), "delivery": home()});
    app.place_order(&buyer, "same-key", &other)
        .await
        .assert_problem(422, "idempotency_key_reused");
    // keys are per caller: another buyer may use the same key
    let buyer2 = app.user_token("idem2@example.com").await;
    assert_eq!(
        app.place_order(&buyer2, "same-key", &body).await.status,
        201
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 2);
    // a failed attempt writes nothing and may be retried with the same key
    let too_many = json!({"items": order_lines(&[(id, 1000)]), "delivery": home()});
    app.place_order(&buyer, "retry-key", &too_many)
        .await
        .assert_problem(409, "out_of_stock");
    assert_eq!(
        app.place_order(&buyer, "retry-key", &body).await.status,
        201
    );

    // concurrent requests with one key: exactly one order
    let results =
        futures_util::future::join_all((0..10).map(|_| app.place_order(&buyer, "burst", &body)))
            .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    for r in results.iter().filter(|r| r.status == 409) {
        assert_eq!(r.json()["code"], "idempotency_key_in_flight");
    }
    let created: Vec<&coopmart_tests::Reply> = results.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    let ids: std::collections::HashSet<String> = created
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one order for one key");
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 4);
    assert_eq!(stock(&app, id).await.0, 100 - 4);
}

/// The first request with a key is held inside its transaction (a test
/// connection locks the listing row), so "in flight" is deterministic.
#[tokio::test]
async fn idempotency_key_in_flight_then_replayed_then_expired() {
    use diesel::{Connection, RunQueryDsl};
    let app = spawn_app().await;
    let s = shop(&app, "flight-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({"stock": 10})).await;
    let id = listing["id"].as_str().unwrap().to_owned();
    let buyer = app.user_token("flight@example.com").await;
    let body = json!({"items": order_lines(&[(&id, 1)]), "delivery": home()});

    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let mut conn = app.db.connect();
    let lock_sql = format!("SELECT 1 FROM listings WHERE id = '{id}' FOR UPDATE");
    let holder = std::thread::spawn(move || {
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query(lock_sql).execute(c)?;
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();

    let first = {
        let (app_url, client, buyer, body) = (
            app.url("/api/v1/orders"),
            app.client.clone(),
            buyer.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            let r = client
                .post(app_url)
                .bearer_auth(buyer)
                .header("idempotency-key", "slow")
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    // wait until the first request waits for the row lock
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.count(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    ) == 0
    {
        assert!(std::time::Instant::now() < deadline, "first request never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // same key while the first runs: 409, with the same body or another
    app.place_order(&buyer, "slow", &body)
        .await
        .assert_problem(409, "idempotency_key_in_flight");
    let other = json!({"items": order_lines(&[(&id, 2)]), "delivery": home()});
    app.place_order(&buyer, "slow", &other)
        .await
        .assert_problem(409, "idempotency_key_in_flight");

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let (status, created) = first.await.unwrap();
    assert_eq!(status, 201, "{created}");
    let again = app.place_order(&buyer, "slow", &body).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], created["id"]);
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 1);

    // a key past its 24 h is free again: a new order, no replay
    assert_eq!(
        app.count(
            "WITH u AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second' RETURNING 1) SELECT count(*) AS n FROM u"
        ),
        1
    );
    let reused = app.place_order(&buyer, "slow", &other).await;
    assert_eq!(reused.status, 201);
    assert!(reused.header("idempotent-replayed").is_none());
    assert_ne!(reused.json()["id"], created["id"]);
    assert_eq!(
        reused.json()["total_fen"].as_i64().unwrap(),
        2 * created["total_fen"].as_i64().unwrap()
    );
    // and replays its new response from now on
    let replay = app.place_order(&buyer, "slow", &other).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["id"], reused.json()["id"]);
    assert_eq!(stock(&app, &id).await.0, 10 - 3);

    // a retry after success replays even when the order could no longer
    // be placed (here: the listing sold out by that very order)
    let rest = json!({"items": order_lines(&[(&id, 7)]), "delivery": home()});
    let bought = app.place_order(&buyer, "the-rest", &rest).await;
    assert_eq!(bought.status, 201);
    assert_eq!(stock(&app, &id).await, (0, "sold_out".to_owned()));
    let retry = app.place_order(&buyer, "the-rest", &rest).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json(), bought.json());
    // while a new key gets the refusal
    app.place_order(&buyer, "one-more", &rest)
        .await
        .assert_problem(409, "out_of_stock");
}

#[tokio::test]
async fn last_units_race_never_oversells() {
    let app = spawn_app().await;
    let s = shop(&app, "race-seller@example.com").await;
    let listing = app
        .listing(&s.seller, &s.org, json!({"stock": 5, "tier_prices": []}))
        .await;
    let id = listing["id"].as_str().unwrap().to_owned();
    let mut buyers = Vec::new();
    for i in 0..8 {
        buyers.push(app.user_token(&format!("racer{i}@example.com")).await);
    }
    let body = json!({"items": order_lines(&[(&id, 1)]), "delivery": home()});
    let attempts = (0..40).map(|i| {
        let (app, body, token) = (&app, &body, buyers[i % buyers.len()].clone());
        async move { app.place_order(&token, &format!("race-{i}"), body).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let sold = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(sold, 5, "exactly the stock is sold");
    for r in results.iter().filter(|r| r.status != 201) {
        let p = r.assert_problem(409, "out_of_stock");
        assert_eq!(p["listing_id"], id.as_str());
    }
    let (left, status) = stock(&app, &id).await;
    assert_eq!(left, 0);
    assert_eq!(status, "sold_out");
    let units: i64 = app.count(&format!(
        "SELECT coalesce(sum(quantity), 0)::bigint AS n FROM order_items WHERE listing_id = '{id}'"
    ));
    assert_eq!(left + units, 5, "final stock + sold = initial");
}

#[tokio::test]
async fn out_of_stock_writes_nothing_and_cancel_returns_stock() {
    let app = spawn_app().await;
    let s = shop(&app, "oos-seller@example.com").await;
    let a = app.listing(&s.seller, &s.org, json!({"stock": 10})).await;
    let b = app
        .listing(&s.seller, &s.org, json!({"stock": 2, "title": "少量"}))
        .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let buyer = app.user_token("oos@example.com").await;
    let r = app
        .place_order(
            &buyer,
            "oos-1",
            &json!({"items": order_lines(&[(a, 5), (b, 3)]), "delivery": home()}),
        )
        .await;
    let p = r.assert_problem(409, "out_of_stock");
    assert_eq!(p["listing_id"], b);
    assert_eq!(
        stock(&app, a).await.0,
        10,
        "nothing of the order was written"
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 0);

    // taking the last units: sold_out at zero, active again when cancelled
    let r = app
        .place_order(
            &buyer,
            "oos-2",
            &json!({"items": order_lines(&[(b, 2)]), "delivery": home()}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(stock(&app, b).await, (0, "sold_out".into()));
    let oid = r.json()["id"].as_str().unwrap().to_owned();
    let c = app
        .post_auth(&format!("/api/v1/orders/{oid}/cancel"), &buyer, &json!({}))
        .await;
    assert_eq!(c.json()["status"], "cancelled");
    assert_eq!(stock(&app, b).await, (2, "active".into()));
    app.post_auth(&format!("/api/v1/orders/{oid}/cancel"), &buyer, &json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    // validation: min order quantity, bad delivery
    let bad = json!({"items": order_lines(&[(a, 0)]), "delivery": {"method": "home_delivery", "address": {"recipient": "", "phone": "123", "region_code": "999999", "line": ""}}});
    let p = app
        .place_order(&buyer, "oos-3", &bad)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(p["errors"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn unpaid_orders_expire_and_late_payments_are_refunded() {
    let app = spawn_app_with(|env| {
        env.insert("ORDER_PAYMENT_TTL".into(), "1".into());
        env.insert("ORDER_SWEEP_INTERVAL_MS".into(), "100".into());
    })
    .await;
    let s = shop(&app, "ttl-seller@example.com").await;
    let listing = app
        .listing(&s.seller, &s.org, json!({"stock": 3, "tier_prices": []}))
        .await;
    let id = listing["id"].as_str().unwrap();
    let buyer = app.user_token("late@example.com").await;
    let r = app
        .place_order(
            &buyer,
            "ttl-1",
            &json!({"items": order_lines(&[(id, 3)]), "delivery": home()}),
        )
        .await;
    let oid = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(stock(&app, id).await, (0, "sold_out".into()));
    let p = app
        .post_auth(
            &format!("/api/v1/orders/{oid}/payments"),
            &buyer,
            &json!({}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.text);
    let pid = p.json()["id"].as_str().unwrap().to_owned();

    order_status_becomes(&app, &buyer, &oid, "expired").await;
    assert_eq!(
        stock(&app, id).await,
        (3, "active".into()),
        "stock returned"
    );
    // the buyer pays anyway: refunded, not applied
    let late = app
        .post_json(
            &format!("/api/v1/sandbox/payments/{pid}/succeed"),
            &json!({}),
        )
        .await;
    assert_eq!(late.json()["notify_body"]["result"], "refunded");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM payments WHERE id = '{pid}' AND status = 'refunded'"
        )),
        1
    );
    assert_eq!(
        app.get_auth(&format!("/api/v1/orders/{oid}"), &buyer)
            .await
            .json()["status"],
        "expired"
    );
    app.post_auth(
        &format!("/api/v1/orders/{oid}/payments"),
        &buyer,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
}

async fn notify(app: &TestApp, ts: &str, sig: &str, body: &[u8]) -> coopmart_tests::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/payments/notify"))
            .header("content-type", "application/json")
            .header("x-pay-timestamp", ts)
            .header("x-pay-signature", sig)
            .body(body.to_vec()),
    )
    .await
}

/// An order of `qty` units of `listing` with its payment started: (order,
/// payment).
async fn unpaid_order(
    app: &TestApp,
    buyer: &str,
    key: &str,
    listing: &Value,
    qty: i32,
) -> (Value, Value) {
    let o = app
        .place_order(
            buyer,
            key,
            &json!({"items": order_lines(&[(listing["id"].as_str().unwrap(), qty)]), "delivery": home()}),
        )
        .await
        .json();
    let p = app
        .post_auth(
            &format!("/api/v1/orders/{}/payments", o["id"].as_str().unwrap()),
            buyer,
            &json!({}),
        )
        .await
        .json();
    (o, p)
}

#[tokio::test]
async fn payment_notifications_are_verified_and_idempotent() {
    let app = spawn_app().await;
    let s = shop(&app, "notify-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({})).await;
    let buyer = app.user_token("notify@example.com").await;
    let (o, p) = unpaid_order(&app, &buyer, "n-1", &listing, 1).await;
    let gw = SandboxGateway::new(secrecy::SecretString::from(SANDBOX_SECRET.to_owned()));
    let now = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(
        &json!({"payment_id": p["id"], "status": "succeeded", "amount_fen": o["total_fen"]}),
    )
    .unwrap();
    let sig = gw.sign(now, &body);

    // tampered: amount changed after signing
    let tampered =
        serde_json::to_vec(&json!({"payment_id": p["id"], "status": "succeeded", "amount_fen": 1}))
            .unwrap();
    notify(&app, &now.to_string(), &sig, &tampered)
        .await
        .assert_problem(400, "invalid_signature");
    // forged: signed with another secret
    let forged =
        SandboxGateway::new(secrecy::SecretString::from("guess".to_owned())).sign(now, &body);
    notify(&app, &now.to_string(), &forged, &body)
        .await
        .assert_problem(400, "invalid_signature");
    // stale: correctly signed, 10 minutes old
    let old = now - 600;
    notify(&app, &old.to_string(), &gw.sign(old, &body), &body)
        .await
        .assert_problem(400, "stale_notification");
    assert_eq!(
        app.get_auth(
            &format!("/api/v1/orders/{}", o["id"].as_str().unwrap()),
            &buyer
        )
        .await
        .json()["status"],
        "pending_payment"
    );

    // correctly signed but for another amount: refused, nothing changes
    let short = serde_json::to_vec(
        &json!({"payment_id": p["id"], "status": "succeeded", "amount_fen": o["total_fen"].as_i64().unwrap() - 1}),
    )
    .unwrap();
    notify(&app, &now.to_string(), &gw.sign(now, &short), &short)
        .await
        .assert_problem(400, "amount_mismatch");
    // an unknown payment
    let unknown = serde_json::to_vec(
        &json!({"payment_id": uuid::Uuid::now_v7(), "status": "succeeded", "amount_fen": o["total_fen"]}),
    )
    .unwrap();
    notify(&app, &now.to_string(), &gw.sign(now, &unknown), &unknown)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM payments WHERE status <> 'pending'"),
        0
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM journal_entries"), 0);

    // valid, then replayed: applied once
    let r = notify(&app, &now.to_string(), &sig, &body).await;
    assert_eq!(r.json()["result"], "paid");
    let r = notify(&app, &now.to_string(), &sig, &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], "already_processed");
    // a late "failed" for the same payment changes nothing either
    let failed = serde_json::to_vec(
        &json!({"payment_id": p["id"], "status": "failed", "amount_fen": o["total_fen"]}),
    )
    .unwrap();
    let r = notify(&app, &now.to_string(), &gw.sign(now, &failed), &failed).await;
    assert_eq!(r.json()["result"], "already_processed");
    let got = app
        .get_auth(
            &format!("/api/v1/orders/{}", o["id"].as_str().unwrap()),
            &buyer,
        )
        .await
        .json();
    assert_eq!(got["status"], "paid");
    assert_eq!(got["seller_orders"][0]["status"], "paid");
    // the history: the order's step first, then its seller order's, once each
    let history: Vec<(Option<String>, String)> = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["to_status"] == "paid")
        .map(|h| {
            (
                h["seller_order_id"].as_str().map(str::to_owned),
                h["from_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(history.len(), 2, "{got}");
    assert_eq!(history[0], (None, "pending_payment".to_owned()));
    assert_eq!(
        history[1].0.as_deref(),
        got["seller_orders"][0]["id"].as_str()
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM order_events WHERE to_status = 'paid' AND seller_order_id IS NULL"), 1);
    // the money is posted once: one balanced entry of the order's total
    assert_eq!(
        app.count("SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'payment'"),
        1
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(balance_fen), 0)::int8 AS n FROM ledger_accounts WHERE type = 'provider_clearing'"),
        o["total_fen"].as_i64().unwrap()
    );

    // a second order whose payment fails: the order stays payable
    let (o2, p2) = unpaid_order(&app, &buyer, "n-2", &listing, 1).await;
    let failed = serde_json::to_vec(
        &json!({"payment_id": p2["id"], "status": "failed", "amount_fen": o2["total_fen"]}),
    )
    .unwrap();
    let r = notify(&app, &now.to_string(), &gw.sign(now, &failed), &failed).await;
    assert_eq!(r.json()["result"], "failed");
    let r = notify(&app, &now.to_string(), &gw.sign(now, &failed), &failed).await;
    assert_eq!(r.json()["result"], "already_processed");
    assert_eq!(
        app.get_auth(
            &format!("/api/v1/orders/{}", o2["id"].as_str().unwrap()),
            &buyer
        )
        .await
        .json()["status"],
        "pending_payment"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'payment'"),
        1
    );
}

/// A provider that repeats itself at once (and sends a contradicting
/// "failed" among the repeats) gets the payment applied exactly once.
#[tokio::test]
async fn concurrent_notifications_of_one_payment_apply_it_once() {
    let app = spawn_app().await;
    let s = shop(&app, "rush-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({})).await;
    let buyer = app.user_token("rush@example.com").await;
    let (o, p) = unpaid_order(&app, &buyer, "rush-1", &listing, 2).await;
    let gw = SandboxGateway::new(secrecy::SecretString::from(SANDBOX_SECRET.to_owned()));
    let now = chrono::Utc::now().timestamp();
    let signed = |status: &str| {
        let body = serde_json::to_vec(
            &json!({"payment_id": p["id"], "status": status, "amount_fen": o["total_fen"]}),
        )
        .unwrap();
        (gw.sign(now, &body), body)
    };
    let notes: Vec<(String, Vec<u8>)> = (0..16)
        .map(|n| signed(if n % 4 == 3 { "failed" } else { "succeeded" }))
        .collect();
    let results: Vec<String> = futures_util::future::join_all(notes.iter().map(|(sig, body)| {
        let app = &app;
        async move {
            let r = notify(app, &now.to_string(), sig, body).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json()["result"].as_str().unwrap().to_owned()
        }
    }))
    .await;
    let applied: Vec<&String> = results
        .iter()
        .filter(|r| *r != "already_processed")
        .collect();
    assert_eq!(applied.len(), 1, "{results:?}");
    let status = app
        .get_auth(
            &format!("/api/v1/orders/{}", o["id"].as_str().unwrap()),
            &buyer,
        )
        .await
        .json()["status"]
        .clone();
    let entries =
        app.count("SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'payment'");
    let paid_events = app.count("SELECT count(*) AS n FROM order_events WHERE to_status = 'paid'");
    if applied[0] == "paid" {
        assert_eq!(status, "paid");
        assert_eq!((entries, paid_events), (1, 2));
        assert_eq!(
            app.count("SELECT count(*) AS n FROM outbox_events WHERE type = 'order.paid'"),
            1
        );
    } else {
        assert_eq!(applied[0], "failed");
        assert_eq!(status, "pending_payment");
        assert_eq!((entries, paid_events), (0, 0));
    }
}

#[tokio::test]
async fn buyers_sellers_and_partners_see_only_their_own() {
    let app = spawn_app().await;
    let s = shop(&app, "own-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({})).await;
    let id = listing["id"].as_str().unwrap();
    let alice = app.user_token("alice@example.com").await;
    let bob = app.user_token("bob@example.com").await;
    let o = app
        .place_order(
            &alice,
            "a-1",
            &json!({"items": order_lines(&[(id, 1)]), "delivery": home()}),
        )
        .await
        .json();
    let oid = o["id"].as_str().unwrap();
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    app.get_auth(&format!("/api/v1/orders/{oid}"), &bob)
        .await
        .assert_problem(404, "not_found");
    app.post_auth(&format!("/api/v1/orders/{oid}/cancel"), &bob, &json!({}))
        .await
        .assert_problem(404, "not_found");
    app.post_auth(&format!("/api/v1/orders/{oid}/payments"), &bob, &json!({}))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_auth("/api/v1/orders", &bob).await.json()["items"],
        json!([])
    );
    assert_eq!(
        app.get_auth("/api/v1/orders", &alice).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // another seller's staff
    let rival = shop(&app, "rival-seller@example.com").await;
    app.get_auth(&format!("/api/v1/seller-orders/{so}"), &rival.seller)
        .await
        .assert_problem(404, "not_found");
    app.post_auth(
        &format!("/api/v1/seller-orders/{so}/accept"),
        &rival.seller,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.get_auth(
        &format!("/api/v1/seller-orders?org_id={}", s.org),
        &rival.seller,
    )
    .await
    .assert_problem(404, "not_found");
    let mine = app
        .get_auth(
            &format!(
                "/api/v1/seller-orders?org_id={}&status=pending_payment",
                s.org
            ),
            &s.seller,
        )
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert!(mine["items"][0].get("pickup_code").is_none());

    // partners: orders:write required; external_ref required and unique
    let admin = app.admin_token().await;
    let partner = |scopes: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.partner(admin, "商城", scopes).await.1 }
    };
    let reader = partner(json!(["orders:read", "catalog:read"])).await;
    let writer = partner(json!(["orders:write"])).await;
    let body =
        json!({"items": order_lines(&[(id, 1)]), "delivery": home(), "external_ref": "MALL-0001"});
    app.place_order(&reader, "p-1", &body)
        .await
        .assert_problem(403, "insufficient_scope");
    let no_ref = json!({"items": order_lines(&[(id, 1)]), "delivery": home()});
    app.place_order(&writer, "p-2", &no_ref)
        .await
        .assert_problem(422, "validation_failed");
    let r = app.place_order(&writer, "p-3", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["buyer_type"], "partner");
    assert_eq!(r.json()["external_ref"], "MALL-0001");
    app.place_order(&writer, "p-4", &body)
        .await
        .assert_problem(409, "duplicate_external_ref");
    app.get_auth(&format!("/api/v1/orders/{oid}"), &writer)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_auth("/api/v1/orders", &writer).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // users may not set external_ref
    app.place_order(&alice, "a-2", &body)
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn station_pickup_reject_refund_and_auto_complete() {
    let app = spawn_app_with(|env| {
        env.insert("ORDER_AUTO_COMPLETE_SECS".into(), "1".into());
        env.insert("ORDER_SWEEP_INTERVAL_MS".into(), "100".into());
    })
    .await;
    let s = shop(&app, "pickup-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({"stock": 10})).await;
    let id = listing["id"].as_str().unwrap();
    let keeper = app.user_token("keeper@example.com").await;
    let station = app.create_org(&keeper, "service_station", None).await;
    let sid = station["id"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/service-stations?region_code=22")
            .await
            .json()["items"][0]["id"],
        sid
    );
    let buyer = app.user_token("pickup@example.com").await;

    // a farmer coop is not a pickup point
    let bad = json!({"items": order_lines(&[(id, 1)]), "delivery": {"method": "station_pickup", "station_id": s.org}});
    app.place_order(&buyer, "st-0", &bad)
        .await
        .assert_problem(422, "validation_failed");

    let body = json!({"items": order_lines(&[(id, 2)]), "delivery": {"method": "station_pickup", "station_id": sid}});
    let o = app.place_order(&buyer, "st-1", &body).await.json();
    let code = o["seller_orders"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 6);
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    app.post_auth(
        &format!("/api/v1/seller-orders/{so}/accept"),
        &s.seller,
        &json!({}),
    )
    .await;
    app.post_auth(
        &format!("/api/v1/seller-orders/{so}/ship"),
        &s.seller,
        &json!({"carrier": "自送", "tracking_no": "ST-1"}),
    )
    .await;
    let pickups = format!("/api/v1/service-stations/{sid}/pickups");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post_auth(
        &pickups,
        &keeper,
        &json!({"seller_order_id": so, "code": wrong}),
    )
    .await
    .assert_problem(422, "wrong_pickup_code");
    app.post_auth(
        &pickups,
        &buyer,
        &json!({"seller_order_id": so, "code": code}),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .post_auth(
            &pickups,
            &keeper,
            &json!({"seller_order_id": so, "code": code}),
        )
        .await;
    assert_eq!(r.json()["status"], "delivered", "{}", r.text);
    // nobody confirms: the sweep completes it after ORDER_AUTO_COMPLETE_SECS
    order_status_becomes(&app, &buyer, o["id"].as_str().unwrap(), "completed").await;

    // rejection refunds at once and returns the stock
    let o2 = app
        .place_order(
            &buyer,
            "st-2",
            &json!({"items": order_lines(&[(id, 3)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&buyer, o2["id"].as_str().unwrap()).await;
    assert_eq!(stock(&app, id).await.0, 10 - 2 - 3);
    let so2 = o2["seller_orders"][0]["id"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{so2}/reject"),
            &s.seller,
            &json!({}),
        )
        .await;
    assert_eq!(r.json()["status"], "refunded");
    assert_eq!(stock(&app, id).await.0, 10 - 2);
    app.post_auth(
        &format!("/api/v1/seller-orders/{so2}/refunds"),
        &s.seller,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
}

#[tokio::test]
async fn sales_are_counted_for_hot_lists() {
    let app = spawn_app_with(|env| {
        env.insert("ORDER_SWEEP_INTERVAL_MS".into(), "100".into());
        env.insert("SALES_COUNT_INTERVAL_MS".into(), "100".into());
    })
    .await;
    let s = shop(&app, "count-seller@example.com").await;
    let a = app
        .listing(&s.seller, &s.org, json!({"title": "冷门"}))
        .await;
    let b = app
        .listing(&s.seller, &s.org, json!({"title": "爆款"}))
        .await;
    let buyer = app.user_token("counter@example.com").await;
    let body = json!({"items": order_lines(&[(b["id"].as_str().unwrap(), 3)]), "delivery": home()});
    assert_eq!(app.place_order(&buyer, "c-1", &body).await.status, 201);
    // 20 more orders of one unit at once, counted while they arrive
    let one = json!({"items": order_lines(&[(b["id"].as_str().unwrap(), 1)]), "delivery": home()});
    let keys: Vec<String> = (0..20).map(|i| format!("c-burst-{i}")).collect();
    let replies =
        futures_util::future::join_all(keys.iter().map(|k| app.place_order(&buyer, k, &one))).await;
    assert!(replies.iter().all(|r| r.status == 201));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let l = app
            .get(&format!("/api/v1/listings/{}", b["id"].as_str().unwrap()))
            .await
            .json();
        if l["sold_qty"] == 23 && app.count("SELECT count(*) AS n FROM uncounted_sales") == 0 {
            // every unit counted once: nothing left, and no more after
            // further sweeps
            tokio::time::sleep(Duration::from_millis(400)).await;
            let again = app
                .get(&format!("/api/v1/listings/{}", b["id"].as_str().unwrap()))
                .await
                .json();
            assert_eq!(again["sold_qty"], 23);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sold_qty not counted: {l}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hot = app.get("/api/v1/listings/hot?region_code=22").await.json();
    let titles: Vec<&str> = hot["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["爆款", "冷门"]);
    let _ = a;
}

#[tokio::test]
async fn expired_idempotency_keys_are_purged() {
    let app = spawn_app_with(|env| {
        env.insert("ORDER_SWEEP_INTERVAL_MS".into(), "100".into());
        env.insert("SALES_COUNT_INTERVAL_MS".into(), "100".into());
    })
    .await;
    let s = shop(&app, "purge-seller@example.com").await;
    let listing = app.listing(&s.seller, &s.org, json!({"stock": 10})).await;
    let id = listing["id"].as_str().unwrap();
    let buyer = app.user_token("purge@example.com").await;
    let body = json!({"items": order_lines(&[(id, 1)]), "delivery": home()});
    assert_eq!(app.place_order(&buyer, "old", &body).await.status, 201);
    assert_eq!(app.place_order(&buyer, "new", &body).await.status, 201);
    assert_eq!(
        app.count(
            "WITH u AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'old' RETURNING 1) SELECT count(*) AS n FROM u"
        ),
        1
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.count("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'old'") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "expired key never purged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // the live key is kept and still replays
    assert_eq!(app.count("SELECT count(*) AS n FROM idempotency_keys"), 1);
    let again = app.place_order(&buyer, "new", &body).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("SELECT count(*) AS n FROM orders"), 2);
}

#[tokio::test]
async fn failed_group_buys_are_refunded_and_cancelled_once_whoever_sweeps() {
    // the background sweep is slowed down: the test sweeps, from four threads at once
    let app = spawn_app_with(|env| {
        env.insert("ORDER_SWEEP_INTERVAL_MS".into(), "3600000".into());
    })
    .await;
    let s = shop(&app, "group-seller@example.com").await;
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let group = |target: i32| {
        json!({"sale_mode": "group_buy", "group_target_qty": target, "group_deadline": deadline,
               "stock": 100, "min_order_qty": 1, "tier_prices": []})
    };
    let failing = app.listing(&s.seller, &s.org, group(10)).await;
    let reaching = app.listing(&s.seller, &s.org, group(2)).await;
    let (fid, rid) = (
        failing["id"].as_str().unwrap(),
        reaching["id"].as_str().unwrap(),
    );
    let a = app.user_token("group-a@example.com").await;
    let b = app.user_token("group-b@example.com").await;
    let paid = app
        .place_order(
            &a,
            "g-1",
            &json!({"items": order_lines(&[(fid, 3)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&a, paid["id"].as_str().unwrap()).await;
    let unpaid = app
        .place_order(
            &b,
            "g-2",
            &json!({"items": order_lines(&[(fid, 2)]), "delivery": home()}),
        )
        .await
        .json();
    let ok = app
        .place_order(
            &b,
            "g-3",
            &json!({"items": order_lines(&[(rid, 2)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&b, ok["id"].as_str().unwrap()).await;
    assert_eq!(stock(&app, fid).await.0, 95);

    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let sweeps = (0..4).map(|_| {
        let state = app.state.clone();
        tokio::task::spawn_blocking(move || state.orders.settle_group_buys(chrono::Utc::now()))
    });
    for r in futures_util::future::join_all(sweeps).await {
        r.unwrap().unwrap();
    }

    let oid = paid["id"].as_str().unwrap();
    let o = app
        .get_auth(&format!("/api/v1/orders/{oid}"), &a)
        .await
        .json();
    assert_eq!(o["seller_orders"][0]["status"], "refunded", "{o}");
    let uid = unpaid["id"].as_str().unwrap();
    assert_eq!(
        app.get_auth(&format!("/api/v1/orders/{uid}"), &b)
            .await
            .json()["status"],
        "cancelled"
    );
    let kid = ok["id"].as_str().unwrap();
    assert_eq!(
        app.get_auth(&format!("/api/v1/orders/{kid}"), &b)
            .await
            .json()["seller_orders"][0]["status"],
        "paid",
        "the group buy that reached its target proceeds"
    );
    // (read from the database: this test swept without the worker, which
    // is what invalidates the listing cache)
    assert_eq!(
        app.count(&format!(
            "SELECT stock::bigint AS n FROM listings WHERE id = '{fid}'"
        )),
        100,
        "stock returned once"
    );
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM order_events WHERE seller_order_id = '{so}' AND to_status = 'refunded'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'seller_order_refunded' AND source_id = '{so}'"
        )),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM group_buy_outcomes WHERE outcome = 'failed' AND resolved_at IS NOT NULL"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM group_buy_outcomes WHERE outcome = 'succeeded'"),
        1
    );
}
