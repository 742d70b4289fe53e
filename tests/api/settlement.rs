//! Settlement runs, statements, payouts and their ledger, through the API.

use std::time::Duration;

use coopmart_tests::{order_lines, spawn_app, TestApp};
use serde_json::{json, Value};

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "220106", "line": "合心镇1号"}})
}

/// A completed seller order of `qty` melons; returns the order.
async fn completed_order(
    app: &TestApp,
    seller: &str,
    buyer: &str,
    listing: &str,
    key: &str,
    qty: i32,
) -> Value {
    let o = app
        .place_order(
            buyer,
            key,
            &json!({"items": order_lines(&[(listing, qty)]), "delivery": home()}),
        )
        .await
        .json();
    let oid = o["id"].as_str().unwrap();
    app.pay(buyer, oid).await;
    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    app.seller_order_through(seller, so, &["accept", "ship", "deliver"])
        .await;
    let r = app
        .post_auth(
            &format!("/api/v1/orders/{oid}/confirm-receipt"),
            buyer,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    o
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

async fn run(app: &TestApp, admin: &str, hold_days: i64) -> Value {
    let r = app
        .post_auth(
            "/api/v1/settlements",
            admin,
            &json!({"period_end": today(), "hold_days": hold_days}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
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

#[tokio::test]
async fn a_settlement_run_issues_statements_that_reconcile_to_the_ledger() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let seller = app.user_token("settle-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app.listing(&seller, &org, json!({"tier_prices": []})).await;
    let id = l["id"].as_str().unwrap();
    let buyer = app.user_token("settle-buyer@example.com").await;
    let a = completed_order(&app, &seller, &buyer, id, "st-a", 2).await;
    let b = completed_order(&app, &seller, &buyer, id, "st-b", 3).await;
    let gross = a["total_fen"].as_i64().unwrap() + b["total_fen"].as_i64().unwrap();
    let commission = a["seller_orders"][0]["commission_fen"].as_i64().unwrap()
        + b["seller_orders"][0]["commission_fen"].as_i64().unwrap();

    // only platform admins run settlements
    app.post_auth(
        "/api/v1/settlements",
        &seller,
        &json!({"period_end": today(), "hold_days": 0}),
    )
    .await
    .assert_problem(404, "not_found");
    // held for 7 days: nothing completed today is settled yet
    assert_eq!(run(&app, &admin, 7).await["statement_count"], 0);
    // two runs at once: the orders are settled once
    let (x, y) = tokio::join!(run(&app, &admin, 0), run(&app, &admin, 0));
    assert_eq!(
        x["statement_count"].as_i64().unwrap() + y["statement_count"].as_i64().unwrap(),
        1
    );
    let sid = if x["statement_count"] == 1 {
        x["id"].clone()
    } else {
        y["id"].clone()
    };
    assert_eq!(
        run(&app, &admin, 0).await["statement_count"],
        0,
        "nothing is settled twice"
    );

    let list = app
        .get_auth(
            &format!("/api/v1/settlements/{}/statements", sid.as_str().unwrap()),
            &admin,
        )
        .await
        .json();
    let st = list["items"][0].clone();
    assert_eq!(st["seller_id"], org.as_str());
    assert_eq!(st["gross_fen"], gross);
    assert_eq!(st["commission_fen"], commission);
    assert_eq!(st["refunds_fen"], 0);
    assert_eq!(st["carried_over_fen"], 0);
    assert_eq!(st["net_payable_fen"], gross - commission);
    assert_eq!(st["status"], "issued");
    assert_eq!(st["lines"].as_array().unwrap().len(), 2);
    let line_net: i64 = st["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["net_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(line_net, gross - commission);

    // the ledger: the seller's payable is settled into payouts in transit
    let tb = app
        .get_auth("/api/v1/ledger/trial-balance", &admin)
        .await
        .json();
    assert_eq!(balance(&tb, "seller_payable"), 0);
    assert_eq!(balance(&tb, "payouts_in_transit"), -(gross - commission));
    // the seller reads it; others do not
    let stid = st["id"].as_str().unwrap();
    let mine = app
        .get_auth(&format!("/api/v1/organizations/{org}/statements"), &seller)
        .await
        .json();
    assert_eq!(mine["items"][0]["id"], stid);
    app.get_auth(&format!("/api/v1/statements/{stid}"), &buyer)
        .await
        .assert_problem(404, "not_found");
    app.get_auth(&format!("/api/v1/organizations/{org}/statements"), &buyer)
        .await
        .assert_problem(404, "not_found");

    // CSV with a byte-order mark, Chinese headers
    let csv = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/statements/{stid}")))
                .bearer_auth(&seller)
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text.starts_with('\u{feff}'), "BOM");
    assert!(csv.text.contains("应付净额"));
    assert_eq!(
        csv.text.lines().filter(|l| l.contains(".")).count(),
        3,
        "summary + 2 orders:\n{}",
        csv.text
    );

    // e-mailed to the seller's contact address
    let mail = app
        .smtp
        .wait_for_text("org@example.com", stid, Duration::from_secs(5))
        .await
        .expect("statement mail (through the outbox)");
    assert!(mail.text().contains(stid), "{}", mail.text());
    assert!(mail.text().contains("应付净额"), "{}", mail.text());

    // paid once, with the bank's reference; the payout leaves the books
    let r = app
        .post_auth(
            &format!("/api/v1/statements/{stid}/mark-paid"),
            &admin,
            &json!({"bank_reference": "ICBC-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "paid");
    app.post_auth(
        &format!("/api/v1/statements/{stid}/mark-paid"),
        &admin,
        &json!({"bank_reference": "ICBC-1"}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    let tb = app
        .get_auth("/api/v1/ledger/trial-balance", &admin)
        .await
        .json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"]);
    assert_eq!(balance(&tb, "payouts_in_transit"), 0);
    assert_eq!(
        balance(&tb, "provider_clearing"),
        commission,
        "the platform keeps its commission"
    );
    assert_eq!(balance(&tb, "commission_revenue"), -commission);
}
