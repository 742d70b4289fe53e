//! The transactional outbox, e-mail over SMTP and partner webhooks, through
//! the API with the outbox worker running.

use std::time::Duration;

use coopmart_tests::webhook_sink::WebhookSink;
use coopmart_tests::{order_lines, spawn_app, spawn_app_with};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "220106", "line": "合心镇1号"}})
}

/// Waits until `f` holds (or panics after 10 s).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn verify(secret: &str, header: &str, body: &str) -> i64 {
    let (t, v1) = header
        .split_once(',')
        .map(|(t, v)| (t.trim_start_matches("t="), v.trim_start_matches("v1=")))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature verifies with the secret");
    t.parse().unwrap()
}

/// A farmer coop of a new user with one published listing of 5 units:
/// (seller token, organization id, listing).
async fn shop(app: &coopmart_tests::TestApp, seller_email: &str) -> (String, String, Value) {
    let seller = app.user_token(seller_email).await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app
        .listing(&seller, &org, json!({"stock": 5, "tier_prices": []}))
        .await;
    (seller, org, l)
}

#[tokio::test]
async fn a_paid_order_mails_buyer_and_seller_and_a_rolled_back_order_emits_nothing() {
    let app = spawn_app().await;
    let (_, _, l) = shop(&app, "nt-seller@example.com").await;
    let id = l["id"].as_str().unwrap();
    let buyer = app.user_token("nt-buyer@example.com").await;
    // refused for want of stock: the transaction rolls back — no event,
    // not even for a partner's order (which has a receiver)
    let admin = app.admin_token().await;
    let (_, mall) = app.partner(&admin, "商城", json!(["orders:write"])).await;
    app.place_order(
        &mall,
        "nt-0",
        &json!({"items": order_lines(&[(id, 6)]), "delivery": home(), "external_ref": "NT-0"}),
    )
    .await
    .assert_problem(409, "out_of_stock");
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox_events"), 0);
    let r = app
        .place_order(
            &mall,
            "nt-00",
            &json!({"items": order_lines(&[(id, 1)]), "delivery": home(), "external_ref": "NT-00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.db_strings("SELECT type AS v FROM outbox_events"),
        ["order.created"],
        "the same order, committed, has its event"
    );
    app.post_auth(
        &format!("/api/v1/orders/{}/cancel", r.json()["id"].as_str().unwrap()),
        &mall,
        &json!({}),
    )
    .await;
    let before = app.count("SELECT count(*) AS n FROM outbox_events");

    let o = app
        .place_order(
            &buyer,
            "nt-1",
            &json!({"items": order_lines(&[(id, 2)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    let number = o["number"].as_str().unwrap();
    let mail = app
        .smtp
        .wait_for_text("nt-buyer@example.com", number, Duration::from_secs(10))
        .await
        .expect("order confirmation");
    let text = mail.text();
    assert!(text.contains("已支付"), "{text}");
    assert!(text.contains("136.00"), "the amount in yuan: {text}");
    assert!(text.contains("<p>"), "an HTML alternative: {text}");
    let zh = text.find("您的订单").unwrap();
    let en = text.find("Your order").unwrap();
    assert!(zh < en, "Chinese first");
    let mail = app
        .smtp
        .wait_for_text("org@example.com", number, Duration::from_secs(10))
        .await
        .expect("new order mail to the seller");
    assert!(mail.text().contains("新订单"), "{}", mail.text());
    // one mail each, even though the worker polls every 50 ms
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to = |who: &str| {
        app.smtp
            .mails()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == who) && m.text().contains(number))
            .count()
    };
    assert_eq!((to("nt-buyer@example.com"), to("org@example.com")), (1, 1));
    // a user's order: only order.paid has receivers (the mails); events
    // nobody can receive are not written
    let types = app.db_strings(&format!(
        "SELECT type AS v FROM outbox_events ORDER BY txid, seq OFFSET {before}"
    ));
    assert_eq!(types, ["order.paid"], "{types:?}");
    // the database's list of mailed types is the domain's
    let mut mailed = app.db_strings("SELECT unnest(outbox_mailed_types()) AS v");
    mailed.sort();
    let mut expected: Vec<String> = domain::notifications::EVENT_TYPES
        .iter()
        .filter(|(t, _)| !domain::notifications::mails_for(t).is_empty())
        .map(|(t, _)| (*t).to_owned())
        .collect();
    expected.sort();
    assert_eq!(mailed, expected);
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["outbox"]["undispatched_events"], 0, "{ready}");
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_delivered_once_per_event_to_their_partner_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let seller = app.user_token("wh-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app.listing(&seller, &org, json!({"tier_prices": []})).await;
    let id = l["id"].as_str().unwrap();
    let (mall, token) = app
        .partner(
            &admin,
            "供销商城",
            json!(["orders:write", "webhooks:manage"]),
        )
        .await;
    let (other, other_token) = app
        .partner(
            &admin,
            "别的商城",
            json!(["orders:write", "webhooks:manage"]),
        )
        .await;
    let sink = WebhookSink::start();
    let other_sink = WebhookSink::start();
    // the first two attempts of everything fail
    sink.script(&[500, 503], 200);

    let path = format!("/api/v1/partners/{mall}/webhooks");
    // bad input: scheme, event types partners may not have
    app.post_auth(
        &path,
        &token,
        &json!({"url": "ftp://x", "event_types": ["order.paid"]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post_auth(
        &path,
        &token,
        &json!({"url": sink.url(), "event_types": ["statement.issued"]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // another partner cannot manage this one's webhooks
    app.post_auth(
        &path,
        &other_token,
        &json!({"url": sink.url(), "event_types": ["order.paid"]}),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .post_auth(
            &path,
            &token,
            &json!({"url": sink.url(), "event_types": ["order.created", "order.paid"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let hook = r.json();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let list = app.get_auth(&path, &token).await.json();
    assert!(
        list["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    let r = app
        .post_auth(
            &format!("/api/v1/partners/{other}/webhooks"),
            &other_token,
            &json!({"url": other_sink.url(), "event_types": ["order.created", "order.paid"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // the mall orders and pays
    let o = app
        .place_order(
            &token,
            "wh-1",
            &json!({"items": order_lines(&[(id, 1)]), "delivery": home(), "external_ref": "MALL-1"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text);
    let oid = o.json()["id"].as_str().unwrap().to_owned();
    app.pay(&token, &oid).await;

    eventually("two events delivered", || {
        sink.received().iter().filter(|r| r.answered == 200).count() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = sink.received();
    let delivered: Vec<&coopmart_tests::webhook_sink::Received> =
        got.iter().filter(|r| r.answered == 200).collect();
    assert_eq!(delivered.len(), 2, "each event delivered once: {got:?}");
    let mut ids: Vec<&str> = delivered
        .iter()
        .map(|r| r.header("x-coopmart-event-id").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    let now = chrono::Utc::now().timestamp();
    for r in &got {
        let t = verify(&secret, r.header("x-coopmart-signature").unwrap(), &r.body);
        assert!((now - t).abs() < 300, "timestamp within tolerance");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["id"], r.header("x-coopmart-event-id").unwrap());
        assert_eq!(body["data"]["order_id"], oid.as_str());
        assert_eq!(body["data"]["external_ref"], "MALL-1");
    }
    let types: Vec<String> = delivered
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        types.contains(&"order.created".to_owned()) && types.contains(&"order.paid".to_owned())
    );
    // the other partner never hears of this partner's order
    assert!(other_sink.received().is_empty());

    // the deliveries, as the partner sees them; others get 404
    let d = app
        .get_auth(
            &format!("/api/v1/partners/{mall}/webhook-deliveries?status=delivered"),
            &token,
        )
        .await
        .json();
    assert_eq!(d["items"].as_array().unwrap().len(), 2, "{d}");
    assert!(d["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["attempts"].as_i64().unwrap() >= 2));
    app.get_auth(
        &format!("/api/v1/partners/{mall}/webhook-deliveries"),
        &other_token,
    )
    .await
    .assert_problem(404, "not_found");
    let some = d["items"][0]["id"].as_str().unwrap();
    app.post_auth(
        &format!("/api/v1/webhook-deliveries/{some}/redeliver"),
        &other_token,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_auth(
        &format!("/api/v1/webhook-deliveries/{some}/redeliver"),
        &token,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");

    // rotation: new secret, deliveries after it are signed with it
    let r = app
        .post_auth(
            &format!(
                "/api/v1/partners/{mall}/webhooks/{}/rotate-secret",
                hook["id"].as_str().unwrap()
            ),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.json()["secret"], secret.as_str());
}

#[tokio::test]
async fn a_dead_delivery_can_be_redriven_and_two_instances_deliver_each_event_once() {
    let app = spawn_app_with(|env| {
        env.insert("OUTBOX_MAX_ATTEMPTS".into(), "2".into());
    })
    .await;
    // a second instance with its own worker on the same database
    app.another_instance(|env| {
        env.insert("OUTBOX_MAX_ATTEMPTS".into(), "2".into());
    })
    .await;
    let admin = app.admin_token().await;
    let seller = app.user_token("dl-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app
        .listing(&seller, &org, json!({"stock": 1000, "tier_prices": []}))
        .await;
    let id = l["id"].as_str().unwrap();
    let (mall, token) = app
        .partner(&admin, "商城", json!(["orders:write", "webhooks:manage"]))
        .await;
    let sink = WebhookSink::start();
    sink.script(&[], 500);
    let r = app
        .post_auth(
            &format!("/api/v1/partners/{mall}/webhooks"),
            &token,
            &json!({"url": sink.url(), "event_types": ["order.created"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // 20 orders at once: 20 events, each failing twice, then dead
    futures_util::future::join_all((0..20).map(|n| {
        let body = json!({"items": order_lines(&[(id, 1)]), "delivery": home(), "external_ref": format!("DL-{n}")});
        let (app, token) = (&app, &token);
        async move {
            let r = app.place_order(token, &format!("dl-{n}"), &body).await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }))
    .await;
    let dead = format!("/api/v1/partners/{mall}/webhook-deliveries?status=dead&limit=200");
    let mut page = Value::Null;
    for _ in 0..200 {
        page = app.get_auth(&dead, &token).await.json();
        if page["items"].as_array().map_or(0, Vec::len) == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(page["items"].as_array().unwrap().len(), 20, "{page}");
    assert_eq!(
        sink.received().len(),
        40,
        "two attempts each, no more (two workers)"
    );
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["outbox"]["dead_deliveries"], 20, "{ready}");

    // the receiver is fixed; every dead delivery is re-driven once
    sink.script(&[], 200);
    for d in page["items"].as_array().unwrap() {
        let r = app
            .post_auth(
                &format!(
                    "/api/v1/webhook-deliveries/{}/redeliver",
                    d["id"].as_str().unwrap()
                ),
                &token,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    eventually("20 re-driven deliveries", || {
        sink.received().iter().filter(|r| r.answered == 200).count() >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ok: Vec<String> = sink
        .received()
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.header("x-coopmart-event-id").unwrap().to_owned())
        .collect();
    let mut unique = ok.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((ok.len(), unique.len()), (20, 20), "each event once");
}

#[tokio::test]
async fn webhooks_may_not_target_private_addresses() {
    let app = spawn_app_with(|env| {
        env.insert("WEBHOOK_ALLOW_PRIVATE".into(), "false".into());
    })
    .await;
    let admin = app.admin_token().await;
    let (mall, token) = app
        .partner(&admin, "商城", json!(["webhooks:manage"]))
        .await;
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.0.0.8/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
    ] {
        let p = app
            .post_auth(
                &format!("/api/v1/partners/{mall}/webhooks"),
                &token,
                &json!({"url": url, "event_types": ["order.paid"]}),
            )
            .await
            .assert_problem(422, "validation_failed");
        assert!(p.to_string().contains("url"), "{url}: {p}");
    }
    // a user who is not a platform admin does not see partners' webhooks
    let user = app.user_token("wh-user@example.com").await;
    app.get_auth(&format!("/api/v1/partners/{mall}/webhooks"), &user)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn membership_and_after_sales_decisions_are_mailed_to_the_applicant_and_the_buyer() {
    let app = spawn_app().await;
    let admin = app.user_token("md-admin@example.com").await;
    let coop = app.create_org(&admin, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, application) = app
        .apply_as_new_user(&coop, "md-farmer@example.com", true)
        .await;
    let r = app.approve(&admin, &coop, &application).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = app
        .smtp
        .wait_for_text(
            "md-farmer@example.com",
            &application,
            Duration::from_secs(10),
        )
        .await
        .expect("membership decision mail");
    assert!(mail.text().contains("已通过"), "{}", mail.text());
    assert!(mail.text().contains("approved"), "{}", mail.text());

    // a rejected after-sales request is mailed to the buyer with the reason
    let l = app.listing(&admin, &coop, json!({"tier_prices": []})).await;
    let buyer = app.user_token("md-buyer@example.com").await;
    let o = app
        .place_order(
            &buyer,
            "md-1",
            &json!({"items": order_lines(&[(l["id"].as_str().unwrap(), 1)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    for (step, body) in [
        ("accept", json!({})),
        ("ship", json!({"carrier": "邮政", "tracking_no": "EMS1"})),
        ("deliver", json!({})),
    ] {
        let r = app
            .post_auth(&format!("/api/v1/seller-orders/{so}/{step}"), &admin, &body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{so}/refund-requests"),
            &buyer,
            &json!({"amount_fen": 1000, "reason": "瓜裂了"}),
        )
        .await;
    let rid = r.json()["id"].as_str().unwrap().to_owned();
    app.post_auth(
        &format!("/api/v1/refund-requests/{rid}/reject"),
        &admin,
        &json!({"reason": "<b>照片</b>看不出问题"}),
    )
    .await;
    let mail = app
        .smtp
        .wait_for_text("md-buyer@example.com", "未通过", Duration::from_secs(10))
        .await
        .expect("after-sales decision mail");
    let text = mail.text();
    assert!(text.contains(o["number"].as_str().unwrap()), "{text}");
    assert!(text.contains("10.00"), "{text}");
    assert!(
        text.contains("&lt;b&gt;照片"),
        "escaped in the HTML part: {text}"
    );
}

/// An e-mail's first attempt is made during the fan-out and leaves no row
/// when it succeeds; when the SMTP server refuses it, a pending delivery
/// keeps it (attempts 1, the error) and the retry sends it once.
#[tokio::test]
async fn a_refused_first_attempt_is_kept_and_retried_until_sent_once() {
    let app = spawn_app().await;
    let (_, _, l) = shop(&app, "nt-retry-seller@example.com").await;
    let buyer = app.user_token("nt-retry-buyer@example.com").await;
    // a paid order mails at once and writes no delivery row
    let o = app
        .place_order(
            &buyer,
            "nt-r-1",
            &json!({"items": order_lines(&[(l["id"].as_str().unwrap(), 1)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    app.smtp
        .wait_for_text(
            "nt-retry-buyer@example.com",
            o["number"].as_str().unwrap(),
            Duration::from_secs(10),
        )
        .await
        .expect("first order mailed");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox_deliveries WHERE channel = 'email'"),
        0
    );

    // the server refuses: both mails of the next order wait as deliveries
    app.smtp.refuse(true);
    let o = app
        .place_order(
            &buyer,
            "nt-r-2",
            &json!({"items": order_lines(&[(l["id"].as_str().unwrap(), 1)]), "delivery": home()}),
        )
        .await
        .json();
    let number = o["number"].as_str().unwrap().to_owned();
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.count("SELECT count(*) AS n FROM outbox_deliveries WHERE channel = 'email' AND attempts >= 1 AND last_error LIKE '%451%'") < 2 {
        assert!(std::time::Instant::now() < deadline, "refused mails were not kept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!app.smtp.mails().iter().any(|m| m.text().contains(&number)));
    // the server accepts again: each is sent once, and marked delivered
    app.smtp.refuse(false);
    for to in ["nt-retry-buyer@example.com", "org@example.com"] {
        app.smtp
            .wait_for_text(to, &number, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{to} not mailed after the retry"));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.count("SELECT count(*) AS n FROM outbox_deliveries WHERE channel = 'email' AND status = 'delivered'") < 2 {
        assert!(std::time::Instant::now() < deadline, "retried mails not marked delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let copies = app
        .smtp
        .mails()
        .iter()
        .filter(|m| m.text().contains(&number))
        .count();
    assert_eq!(copies, 2, "one mail to the buyer, one to the seller");
}
