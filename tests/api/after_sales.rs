//! After-sales refunds (售后) through the API: requests, decisions,
//! disputes, the provider's signed confirmation, the ledger and statements.

use coopmart_tests::{order_lines, spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "220106", "line": "合心镇1号"}})
}

struct Shop {
    admin: String,
    seller: String,
    org: String,
    listing: String,
    buyer: String,
}

async fn shop(app: &TestApp, tag: &str) -> Shop {
    let admin = app.admin_token().await;
    let seller = app
        .user_token(&format!("as-seller-{tag}@example.com"))
        .await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 68.00 a box, 4 % commission (a farmer coop), no freight template: ships free
    let l = app.listing(&seller, &org, json!({"tier_prices": []})).await;
    let buyer = app.user_token(&format!("as-buyer-{tag}@example.com")).await;
    Shop {
        admin,
        seller,
        org,
        listing: l["id"].as_str().unwrap().to_owned(),
        buyer,
    }
}

/// A paid order of `qty` boxes taken to `until` (`shipped` or `delivered`,
/// or `completed` by the buyer's confirmation); returns the order.
async fn order_until(app: &TestApp, s: &Shop, key: &str, qty: i32, until: &str) -> Value {
    let o = app
        .place_order(
            &s.buyer,
            key,
            &json!({"items": order_lines(&[(&s.listing, qty)]), "delivery": home()}),
        )
        .await
        .json();
    let oid = o["id"].as_str().unwrap();
    app.pay(&s.buyer, oid).await;
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    for step in ["accept", "ship", "deliver"] {
        let body = if step == "ship" {
            json!({"carrier": "邮政", "tracking_no": "EMS1"})
        } else {
            json!({})
        };
        let r = app
            .post_auth(
                &format!("/api/v1/seller-orders/{so}/{step}"),
                &s.seller,
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        if step == "ship" && until == "shipped" {
            return o;
        }
    }
    if until == "completed" {
        let r = app
            .post_auth(
                &format!("/api/v1/orders/{oid}/confirm-receipt"),
                &s.buyer,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    o
}

fn so_of(o: &Value) -> String {
    o["seller_orders"][0]["id"].as_str().unwrap().to_owned()
}

fn item_of(o: &Value) -> String {
    o["seller_orders"][0]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The sandbox provider confirms a refund; returns the notify result.
async fn confirm(app: &TestApp, refund: &str) -> String {
    let r = app
        .post_json(
            &format!("/api/v1/sandbox/refunds/{refund}/succeed"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    if v["notify_status"] != 200 {
        let logs = coopmart_tests::logs::text();
        let errs: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("error"))
            .collect();
        eprintln!("{}", errs[errs.len().saturating_sub(5)..].join("\n"));
    }
    assert_eq!(v["notify_status"], 200, "{v}");
    v["notify_body"]["result"].as_str().unwrap().to_owned()
}

fn balance(tb: &Value, t: &str) -> i64 {
    tb["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == t)
        .map(|r| r["debits_fen"].as_i64().unwrap() - r["credits_fen"].as_i64().unwrap())
        .unwrap_or(0)
}

async fn seller_payable(app: &TestApp, s: &Shop) -> i64 {
    let accounts = app
        .get_auth(
            &format!("/api/v1/organizations/{}/ledger-accounts", s.org),
            &s.seller,
        )
        .await
        .json();
    accounts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "seller_payable")
        .map(|a| a["balance_fen"].as_i64().unwrap())
        .unwrap_or(0)
}

async fn settle(app: &TestApp, admin: &str) -> Value {
    let today = chrono::Utc::now().date_naive().to_string();
    let r = app
        .post_auth(
            "/api/v1/settlements",
            admin,
            &json!({"period_end": today, "hold_days": 0}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let run = r.json();
    let list = app
        .get_auth(
            &format!(
                "/api/v1/settlements/{}/statements",
                run["id"].as_str().unwrap()
            ),
            admin,
        )
        .await
        .json();
    list["items"][0].clone()
}

#[tokio::test]
async fn a_buyer_gets_part_of_a_delivered_order_back_and_completion_pays_the_seller_the_rest() {
    let app = spawn_app().await;
    let s = shop(&app, "a").await;
    let stranger = app.user_token("as-stranger-a@example.com").await;
    let o = order_until(&app, &s, "as-a-1", 2, "delivered").await;
    let (so, item) = (so_of(&o), item_of(&o));
    let path = format!("/api/v1/seller-orders/{so}/refund-requests");
    let ask = json!({"order_item_id": item, "quantity": 1, "reason": "到货腐烂", "photo_urls": ["https://img.example/1.jpg"]});

    // bad input names its fields and writes nothing
    let bad = app
        .post_auth(
            &path,
            &s.buyer,
            &json!({"amount_fen": 100, "reason": "坏", "photo_urls": ["ftp://x"]}),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert!(bad.to_string().contains("photo_urls[0]"), "{bad}");
    app.post_auth(&path, &s.buyer, &json!({"quantity": 1, "reason": "坏"}))
        .await
        .assert_problem(422, "validation_failed");
    // more than was paid: 409 with what is left
    let p = app
        .post_auth(
            &path,
            &s.buyer,
            &json!({"amount_fen": 13_601, "reason": "坏"}),
        )
        .await
        .assert_problem(409, "refund_exceeds_paid");
    assert_eq!(p["remaining_fen"], 13_600);
    // only the buyer asks; strangers do not see the seller order
    app.post_auth(&path, &stranger, &ask)
        .await
        .assert_problem(404, "not_found");
    app.post_auth(&path, &s.seller, &ask)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.count("SELECT count(*) AS n FROM refund_requests"), 0);

    let r = app.post_auth(&path, &s.buyer, &ask).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let req = r.json();
    assert_eq!(req["status"], "requested");
    assert_eq!(req["amount_fen"], 6_800);
    assert_eq!(req["photo_urls"][0], "https://img.example/1.jpg");
    let rid = req["id"].as_str().unwrap().to_owned();
    // the buyer cannot approve it; a stranger cannot read it
    app.post_auth(
        &format!("/api/v1/refund-requests/{rid}/approve"),
        &s.buyer,
        &json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get_auth(&format!("/api/v1/refund-requests/{rid}"), &stranger)
        .await
        .assert_problem(404, "not_found");
    // the seller's queue shows it
    let queue = app
        .get_auth(
            &format!(
                "/api/v1/organizations/{}/refund-requests?status=requested",
                s.org
            ),
            &s.seller,
        )
        .await
        .json();
    assert_eq!(queue["items"][0]["id"], rid.as_str());

    // approved: nothing moves until the provider confirms
    let r = app
        .post_auth(
            &format!("/api/v1/refund-requests/{rid}/approve"),
            &s.seller,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'after_sales_refund'"
        ),
        0
    );
    // a forged notification is refused
    app.send(
        app.client
            .post(app.url("/api/v1/refunds/notify"))
            .header(
                "x-pay-timestamp",
                chrono::Utc::now().timestamp().to_string(),
            )
            .header("x-pay-signature", "00")
            .json(&json!({"refund_id": rid, "status": "succeeded", "amount_fen": 6800})),
    )
    .await
    .assert_problem(400, "invalid_signature");
    assert_eq!(confirm(&app, &rid).await, "refunded");
    assert_eq!(confirm(&app, &rid).await, "already_processed");
    let req = app
        .get_auth(&format!("/api/v1/refund-requests/{rid}"), &s.buyer)
        .await
        .json();
    assert_eq!(req["status"], "refunded");
    assert_eq!(req["after_completion"], false);
    // 4 % of 136.00 is 5.44; half the line comes back: 2.72
    assert_eq!(req["commission_returned_fen"], 272);
    let so_now = app
        .get_auth(&format!("/api/v1/seller-orders/{so}"), &s.seller)
        .await
        .json();
    assert_eq!(so_now["refunded_fen"], 6_800);
    assert_eq!(so_now["items"][0]["refunded_fen"], 6_800);
    // only the other box can still be asked for
    app.post_auth(
        &path,
        &s.buyer,
        &json!({"order_item_id": item, "quantity": 2, "reason": "坏"}),
    )
    .await
    .assert_problem(409, "refund_exceeds_paid");

    // completion pays the seller what is left, less the rest of the commission
    let oid = o["id"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/api/v1/orders/{oid}/confirm-receipt"),
            &s.buyer,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(seller_payable(&app, &s).await, -(6_800 - 272));
    let tb = app
        .get_auth("/api/v1/ledger/trial-balance", &s.admin)
        .await
        .json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"]);
    assert_eq!(balance(&tb, "buyer_funds_held"), 0);
    assert_eq!(balance(&tb, "provider_clearing"), 13_600 - 6_800);
    assert_eq!(balance(&tb, "commission_revenue"), -272);

    // the statement shows the refund on the order's line and reconciles
    let st = settle(&app, &s.admin).await;
    assert_eq!(st["gross_fen"], 13_600);
    assert_eq!(st["commission_fen"], 272);
    assert_eq!(st["refunds_fen"], 6_800);
    assert_eq!(st["net_payable_fen"], 6_528);
    assert_eq!(st["lines"][0]["refunded_fen"], 6_800);
    assert_eq!(
        st["lines"][0]["commission_bps"],
        json!([400]),
        "the rate is shown"
    );
    assert_eq!(st["lines"][0]["net_fen"], 6_528);
    assert_eq!(seller_payable(&app, &s).await, 0);
}

#[tokio::test]
async fn disputes_go_to_the_platform_and_refunds_after_completion_are_netted_on_the_next_statement()
{
    let app = spawn_app().await;
    let s = shop(&app, "b").await;
    let a = order_until(&app, &s, "as-b-1", 1, "completed").await;
    let st1 = settle(&app, &s.admin).await;
    assert_eq!(st1["net_payable_fen"], 6_800 - 272);

    // the buyer asks, the seller rejects, the buyer escalates, the platform approves
    let path = format!("/api/v1/seller-orders/{}/refund-requests", so_of(&a));
    let r = app
        .post_auth(
            &path,
            &s.buyer,
            &json!({"amount_fen": 5_000, "reason": "瓜是坏的"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.json()["id"].as_str().unwrap().to_owned();
    let act = |what: &'static str| format!("/api/v1/refund-requests/{rid}/{what}");
    app.post_auth(&act("escalate"), &s.buyer, &json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    app.post_auth(&act("reject"), &s.seller, &json!({"reason": " "}))
        .await
        .assert_problem(422, "validation_failed");
    let r = app
        .post_auth(
            &act("reject"),
            &s.seller,
            &json!({"reason": "照片看不出问题"}),
        )
        .await;
    assert_eq!(r.json()["status"], "rejected");
    assert_eq!(r.json()["note"], "照片看不出问题");
    app.post_auth(&act("escalate"), &s.seller, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    let r = app.post_auth(&act("escalate"), &s.buyer, &json!({})).await;
    assert_eq!(r.json()["status"], "escalated", "{}", r.text);
    app.post_auth(&act("decide"), &s.seller, &json!({"approve": true}))
        .await
        .assert_problem(403, "forbidden");
    let r = app
        .post_auth(
            &act("decide"),
            &s.admin,
            &json!({"approve": true, "note": "照片显示腐烂"}),
        )
        .await;
    assert_eq!(r.json()["status"], "approved", "{}", r.text);
    assert_eq!(confirm(&app, &rid).await, "refunded");
    let req = app
        .get_auth(&format!("/api/v1/refund-requests/{rid}"), &s.buyer)
        .await
        .json();
    assert_eq!(req["after_completion"], true);
    // floor(272 × 5000 / 6800) = 200
    assert_eq!(req["commission_returned_fen"], 200);
    // the seller's payable paid it (settled before): it is negative now
    assert_eq!(seller_payable(&app, &s).await, 5_000 - 200);

    // the seller refunds another 10.00 of the same order at once
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{}/refunds", so_of(&a)),
            &s.seller,
            &json!({"amount_fen": 1_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let given = r.json();
    assert_eq!(
        (given["status"].as_str(), given["origin"].as_str()),
        (Some("approved"), Some("seller"))
    );
    assert_eq!(
        confirm(&app, given["id"].as_str().unwrap()).await,
        "refunded"
    );
    // 6,000 of 6,800 refunded: floor(272 × 6000/6800) = 240 returned in all
    assert_eq!(seller_payable(&app, &s).await, 6_000 - 240);

    // the next statement carries the refunds; its negative net carries over
    let st2 = settle(&app, &s.admin).await;
    assert_eq!(st2["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(st2["gross_fen"], 0);
    assert_eq!(st2["refunds_fen"], 6_000);
    assert_eq!(st2["commission_fen"], -240);
    assert_eq!(st2["net_payable_fen"], -(6_000 - 240));
    let b = order_until(&app, &s, "as-b-2", 2, "completed").await;
    let st3 = settle(&app, &s.admin).await;
    assert_eq!(st3["carried_over_fen"], -(6_000 - 240));
    assert_eq!(st3["net_payable_fen"], 13_600 - 544 - (6_000 - 240));
    assert_eq!(st3["lines"][0]["seller_order_id"], so_of(&b).as_str());
    // the seller's payable is what the carried-over statement still owes
    assert_eq!(seller_payable(&app, &s).await, 0);
    let tb = app
        .get_auth("/api/v1/ledger/trial-balance", &s.admin)
        .await
        .json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"]);
    assert_eq!(balance(&tb, "commission_revenue"), -(272 - 240 + 544));

    // a dispute the platform closes moves nothing
    let r = app
        .post_auth(
            &path,
            &s.buyer,
            &json!({"amount_fen": 100, "reason": "还是坏"}),
        )
        .await;
    let q = r.json()["id"].as_str().unwrap().to_owned();
    for (who, what, body) in [
        (&s.seller, "reject", json!({"reason": "不是质量问题"})),
        (&s.buyer, "escalate", json!({})),
        (&s.admin, "decide", json!({"approve": false})),
    ] {
        let r = app
            .post_auth(&format!("/api/v1/refund-requests/{q}/{what}"), who, &body)
            .await;
        assert_eq!(r.status, 200, "{what}: {}", r.text);
    }
    let q = app
        .get_auth(&format!("/api/v1/refund-requests/{q}"), &s.buyer)
        .await
        .json();
    assert_eq!(q["status"], "closed");
    let list = app.get_auth(&path, &s.seller).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn when_a_request_is_allowed() {
    let app = spawn_app_with(|env| {
        env.insert("AFTER_SALES_WINDOW_DAYS".into(), "0".into());
    })
    .await;
    let s = shop(&app, "c").await;
    // not delivered yet: the buyer cannot ask, the seller can give part
    let shipped = order_until(&app, &s, "as-c-1", 2, "shipped").await;
    app.post_auth(
        &format!("/api/v1/seller-orders/{}/refund-requests", so_of(&shipped)),
        &s.buyer,
        &json!({"amount_fen": 100, "reason": "坏"}),
    )
    .await
    .assert_problem(409, "not_refundable");
    let r = app
        .post_auth(
            &format!("/api/v1/seller-orders/{}/refunds", so_of(&shipped)),
            &s.seller,
            &json!({"order_item_id": item_of(&shipped), "quantity": 1, "reason": "少发一箱"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["amount_fen"], 6_800);
    // a full refund is no longer possible once something shipped
    app.post_auth(
        &format!("/api/v1/seller-orders/{}/refunds", so_of(&shipped)),
        &s.seller,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    // nothing shipped: a partial refund is refused, the full one works
    let o = app
        .place_order(
            &s.buyer,
            "as-c-2",
            &json!({"items": order_lines(&[(&s.listing, 1)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&s.buyer, o["id"].as_str().unwrap()).await;
    let refunds = format!("/api/v1/seller-orders/{}/refunds", so_of(&o));
    app.post_auth(&refunds, &s.seller, &json!({"amount_fen": 100}))
        .await
        .assert_problem(409, "not_refundable");
    let r = app.post_auth(&refunds, &s.seller, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "refunded");
    // the payment provider is asked to return the money
    let so = so_of(&o);
    assert!(
        coopmart_tests::logs::text()
            .lines()
            .any(|l| l.contains("sandbox refund issued") && l.contains(&so)),
        "no provider refund for {so}"
    );
    // the window (0 days here) has closed right after delivery
    let d = order_until(&app, &s, "as-c-3", 1, "delivered").await;
    app.post_auth(
        &format!("/api/v1/seller-orders/{}/refund-requests", so_of(&d)),
        &s.buyer,
        &json!({"amount_fen": 100, "reason": "坏"}),
    )
    .await
    .assert_problem(409, "after_sales_window_closed");
}

#[tokio::test]
async fn concurrent_requests_and_confirmations_never_refund_more_than_was_paid() {
    let app = spawn_app().await;
    let s = shop(&app, "d").await;
    let o = order_until(&app, &s, "as-d-1", 3, "delivered").await;
    let path = format!("/api/v1/seller-orders/{}/refund-requests", so_of(&o));
    // 20 requests of 15.00 at once against 204.00 paid: at most 13 fit
    let body = json!({"amount_fen": 1_500, "reason": "坏了"});
    let asks = (0..20).map(|_| app.post_auth(&path, &s.buyer, &body));
    let replies = futures_util::future::join_all(asks).await;
    let mut ids = Vec::new();
    for r in &replies {
        match r.status {
            201 => ids.push(r.json()["id"].as_str().unwrap().to_owned()),
            409 => assert!(
                ["refund_exceeds_paid", "too_many_refund_requests"]
                    .contains(&r.json()["code"].as_str().unwrap()),
                "{}",
                r.text
            ),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(ids.len(), 13, "20,400 fen paid / 1,500 per request");
    // all approved at once, each confirmed twice at once
    let empty = json!({});
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/refund-requests/{id}/approve"))
        .collect();
    let approvals = paths.iter().map(|p| app.post_auth(p, &s.seller, &empty));
    for r in futures_util::future::join_all(approvals).await {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let confirms = ids.iter().chain(ids.iter()).map(|id| confirm(&app, id));
    let results = futures_util::future::join_all(confirms).await;
    assert_eq!(results.iter().filter(|r| *r == "refunded").count(), 13);
    assert_eq!(
        results.iter().filter(|r| *r == "already_processed").count(),
        13
    );
    // the books: one entry per refund, lines within what was paid
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'after_sales_refund'"
        ),
        13
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(refunded_fen), 0)::bigint AS n FROM order_items"),
        13 * 1_500
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM order_items WHERE refunded_fen > line_total_fen"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM ledger_accounts a WHERE balance_fen <> \
             (SELECT coalesce(sum(amount_fen), 0) FROM journal_lines l WHERE l.account_id = a.id)"
        ),
        0
    );
    let tb = app
        .get_auth("/api/v1/ledger/trial-balance", &s.admin)
        .await
        .json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"]);
    assert_eq!(balance(&tb, "buyer_funds_held"), -(20_400 - 13 * 1_500));
}
