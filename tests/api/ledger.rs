//! Every money movement on the double-entry ledger, through the API.

use coopmart_tests::{order_lines, spawn_app, TestApp};
use diesel::RunQueryDsl;
use serde_json::{json, Value};

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "220106", "line": "合心镇1号"}})
}

async fn trial_balance(app: &TestApp, admin: &str) -> Value {
    let r = app.get_auth("/api/v1/ledger/trial-balance", admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tb = r.json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"], "{tb}");
    tb
}

fn by_type(tb: &Value, t: &str) -> (i64, i64) {
    tb["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == t)
        .map(|r| {
            (
                r["debits_fen"].as_i64().unwrap(),
                r["credits_fen"].as_i64().unwrap(),
            )
        })
        .unwrap_or((0, 0))
}

/// Every account's balance is the sum of its lines.
fn balances_are_sums(app: &TestApp) {
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM ledger_accounts a
              WHERE a.balance_fen <> coalesce((SELECT sum(amount_fen) FROM journal_lines l WHERE l.account_id = a.id), 0)"
        ),
        0
    );
}

#[tokio::test]
async fn payments_completions_and_refunds_post_balanced_entries() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let seller = app.user_token("ledger-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // freight: ¥8 per seller order, so completion shows it goes to the seller
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/freight-templates"),
            &seller,
            &json!({"name": "统一运费", "mode": "piece", "is_default": true,
                    "default_rule": {"first_unit": 100, "first_fen": 800, "additional_unit": 1, "additional_fen": 0}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let l = app
        .listing(&seller, &org, json!({"storage": "ambient"}))
        .await;
    let id = l["id"].as_str().unwrap();
    let buyer = app.user_token("ledger-buyer@example.com").await;

    let o = app
        .place_order(
            &buyer,
            "led-1",
            &json!({"items": order_lines(&[(id, 10)]), "delivery": home()}),
        )
        .await
        .json();
    let total = o["total_fen"].as_i64().unwrap();
    assert_eq!(total, 62_000 + 800);
    let commission = o["seller_orders"][0]["commission_fen"].as_i64().unwrap();
    assert_eq!(commission, 2_480, "4 % of the items only");
    app.pay(&buyer, o["id"].as_str().unwrap()).await;
    let tb = trial_balance(&app, &admin).await;
    assert_eq!(by_type(&tb, "provider_clearing"), (total, 0));
    assert_eq!(by_type(&tb, "buyer_funds_held"), (0, total));

    let so = o["seller_orders"][0]["id"].as_str().unwrap();
    app.seller_order_through(&seller, so, &["accept", "ship", "deliver"])
        .await;
    let oid = o["id"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/api/v1/orders/{oid}/confirm-receipt"),
            &buyer,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tb = trial_balance(&app, &admin).await;
    assert_eq!(by_type(&tb, "buyer_funds_held"), (0, 0));
    assert_eq!(by_type(&tb, "seller_payable"), (0, total - commission));
    assert_eq!(by_type(&tb, "commission_revenue"), (0, commission));

    // the seller reads its own account; the line names its cause
    let accounts = app
        .get_auth(
            &format!("/api/v1/organizations/{org}/ledger-accounts"),
            &seller,
        )
        .await
        .json();
    let payable = &accounts["items"][0];
    assert_eq!(payable["type"], "seller_payable");
    assert_eq!(payable["balance_fen"], -(total - commission));
    let aid = payable["id"].as_str().unwrap();
    let detail = app
        .get_auth(&format!("/api/v1/ledger/accounts/{aid}"), &seller)
        .await
        .json();
    assert_eq!(
        detail["lines"]["items"][0]["source_kind"],
        "seller_order_completed"
    );
    assert_eq!(detail["lines"]["items"][0]["source_id"], so);
    assert_eq!(
        detail["lines"]["items"][0]["amount_fen"],
        -(total - commission)
    );
    // nobody else does
    let other = app.user_token("ledger-other@example.com").await;
    app.get_auth(&format!("/api/v1/ledger/accounts/{aid}"), &other)
        .await
        .assert_problem(404, "not_found");
    app.get_auth(
        &format!("/api/v1/organizations/{org}/ledger-accounts"),
        &other,
    )
    .await
    .assert_problem(404, "not_found");
    app.get_auth("/api/v1/ledger/trial-balance", &seller)
        .await
        .assert_problem(404, "not_found");

    // a refund before completion gives the held money back
    let o2 = app
        .place_order(
            &buyer,
            "led-2",
            &json!({"items": order_lines(&[(id, 1)]), "delivery": home()}),
        )
        .await
        .json();
    app.pay(&buyer, o2["id"].as_str().unwrap()).await;
    let so2 = o2["seller_orders"][0]["id"].as_str().unwrap();
    app.seller_order_through(&seller, so2, &["accept", "refunds"])
        .await;
    let tb = trial_balance(&app, &admin).await;
    assert_eq!(
        by_type(&tb, "provider_clearing"),
        (total, 0),
        "refund left the provider"
    );
    assert_eq!(by_type(&tb, "buyer_funds_held"), (0, 0));
    balances_are_sums(&app);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'seller_order_refunded'"
        ),
        1
    );
}

#[tokio::test]
async fn the_database_refuses_unbalanced_entries_and_changes_to_posted_lines() {
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let unbalanced = diesel::sql_query(
        "SELECT post_entry(gen_random_uuid(), 'broken', 'test', gen_random_uuid(), now(),
                ARRAY['platform:provider_clearing', 'platform:buyer_funds_held'], ARRAY['a', 'b'],
                ARRAY['provider_clearing', 'buyer_funds_held'], ARRAY['asset', 'liability'],
                ARRAY[NULL, NULL]::uuid[], ARRAY[100, -99]::int8[])",
    )
    .execute(&mut conn);
    let err = unbalanced.expect_err("an unbalanced entry is refused");
    assert!(err.to_string().contains("does not balance"), "{err}");
    diesel::sql_query(
        "SELECT post_entry(gen_random_uuid(), 'ok', 'test', gen_random_uuid(), now(),
                ARRAY['platform:provider_clearing', 'platform:buyer_funds_held'], ARRAY['a', 'b'],
                ARRAY['provider_clearing', 'buyer_funds_held'], ARRAY['asset', 'liability'],
                ARRAY[NULL, NULL]::uuid[], ARRAY[100, -100]::int8[])",
    )
    .execute(&mut conn)
    .expect("a balanced entry posts");
    for sql in [
        "UPDATE journal_lines SET amount_fen = amount_fen + 1",
        "DELETE FROM journal_lines",
        "DELETE FROM journal_entries",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    balances_are_sums(&app);
    assert_eq!(app.count("SELECT count(*) AS n FROM journal_lines"), 2);
}

/// The sandbox provider confirms an after-sales refund.
async fn confirm_refund(app: &TestApp, refund: &Value) {
    let id = refund["id"].as_str().unwrap();
    let r = app
        .post_json(&format!("/api/v1/sandbox/refunds/{id}/succeed"), &json!({}))
        .await;
    assert_eq!(r.json()["notify_body"]["result"], "refunded", "{}", r.text);
}

/// In the style of Jepsen's bank test: money moves in every way at once
/// (orders, payments, completions, full refunds, partial refunds before and
/// after completion, settlement runs) and the books must hold afterwards.
#[tokio::test]
async fn concurrent_orders_payments_completions_and_refunds_keep_the_books_balanced() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let seller = app.user_token("bank-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app
        .listing(&seller, &org, json!({"stock": 1000, "tier_prices": []}))
        .await;
    let id = l["id"].as_str().unwrap().to_owned();
    let buyer = app.user_token("bank-buyer@example.com").await;
    // 16 orders at once, paid at once
    let orders: Vec<Value> = futures_util::future::join_all((0..16).map(|n| {
        let body = json!({"items": order_lines(&[(&id, 1 + n % 3)]), "delivery": home()});
        let (app, buyer) = (&app, &buyer);
        async move {
            app.place_order(buyer, &format!("bank-{n}"), &body)
                .await
                .json()
        }
    }))
    .await;
    futures_util::future::join_all(
        orders
            .iter()
            .map(|o| app.pay(&buyer, o["id"].as_str().unwrap())),
    )
    .await;
    // a quarter completes; a quarter is refunded in full; a quarter gets
    // 10.00 back from the seller before completing; a quarter completes and
    // then gets 15.00 back after a buyer's request — while two settlement
    // runs go, all at once
    let today = chrono::Utc::now().date_naive().to_string();
    let settle = |admin: String, today: String| {
        let app = &app;
        async move {
            let r = app
                .post_auth(
                    "/api/v1/settlements",
                    &admin,
                    &json!({"period_end": today, "hold_days": 0}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    };
    let runs = futures_util::future::join(
        settle(admin.clone(), today.clone()),
        settle(admin.clone(), today.clone()),
    );
    let work = futures_util::future::join_all(orders.iter().enumerate().map(|(n, o)| {
        let so = o["seller_orders"][0]["id"].as_str().unwrap().to_owned();
        let oid = o["id"].as_str().unwrap().to_owned();
        let (app, seller, buyer) = (&app, &seller, &buyer);
        async move {
            if n % 4 == 1 {
                app.seller_order_through(seller, &so, &["refunds"]).await;
                return;
            }
            app.seller_order_through(seller, &so, &["accept", "ship", "deliver"])
                .await;
            if n % 4 == 2 {
                let r = app
                    .post_auth(
                        &format!("/api/v1/seller-orders/{so}/refunds"),
                        seller,
                        &json!({"amount_fen": 1_000, "reason": "少了两个"}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.text);
                confirm_refund(app, &r.json()).await;
            }
            let r = app
                .post_auth(
                    &format!("/api/v1/orders/{oid}/confirm-receipt"),
                    buyer,
                    &json!({}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            if n % 4 == 3 {
                let r = app
                    .post_auth(
                        &format!("/api/v1/seller-orders/{so}/refund-requests"),
                        buyer,
                        &json!({"amount_fen": 1_500, "reason": "有两个坏了"}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.text);
                let rid = r.json()["id"].as_str().unwrap().to_owned();
                let r = app
                    .post_auth(
                        &format!("/api/v1/refund-requests/{rid}/approve"),
                        seller,
                        &json!({}),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
                confirm_refund(app, &r.json()).await;
            }
        }
    }));
    futures_util::future::join(runs, work).await;
    // a last run settles whatever completed or was refunded after the two
    settle(admin.clone(), today.clone()).await;
    let total = |o: &Value| o["total_fen"].as_i64().unwrap();
    let paid: i64 = orders.iter().map(total).sum();
    let completed: Vec<&Value> = orders
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 4 != 1)
        .map(|(_, o)| o)
        .collect();
    let refunded: i64 = orders
        .iter()
        .enumerate()
        .map(|(n, o)| match n % 4 {
            1 => total(o),
            2 => 1_000,
            3 => 1_500,
            _ => 0,
        })
        .sum();
    let gross: i64 = completed.iter().map(|o| total(o)).sum();
    let mut commission: i64 = completed
        .iter()
        .map(|o| o["seller_orders"][0]["commission_fen"].as_i64().unwrap())
        .sum();
    for o in &completed {
        let so = o["seller_orders"][0]["id"].as_str().unwrap();
        let list = app
            .get_auth(
                &format!("/api/v1/seller-orders/{so}/refund-requests"),
                &seller,
            )
            .await
            .json();
        for r in list["items"].as_array().unwrap() {
            assert_eq!(r["status"], "refunded");
            commission -= r["commission_returned_fen"].as_i64().unwrap();
        }
    }
    let tb = trial_balance(&app, &admin).await;
    assert_eq!(
        by_type(&tb, "provider_clearing"),
        (paid - refunded, 0),
        "paid {paid}, refunded {refunded}"
    );
    assert_eq!(by_type(&tb, "buyer_funds_held"), (0, 0));
    assert_eq!(by_type(&tb, "commission_revenue"), (0, commission));
    // everything completed or refunded after completion is on exactly one
    // statement, and the statements are what the ledger moved
    let statements = app
        .get_auth(&format!("/api/v1/organizations/{org}/statements"), &seller)
        .await
        .json();
    let items = statements["items"].as_array().unwrap();
    let sum = |f: &str| items.iter().map(|s| s[f].as_i64().unwrap()).sum::<i64>();
    let issued: i64 = items
        .iter()
        .map(|s| s["net_payable_fen"].as_i64().unwrap().max(0))
        .sum();
    assert_eq!(sum("gross_fen"), gross);
    assert_eq!(sum("commission_fen"), commission);
    assert_eq!(
        sum("gross_fen") - sum("commission_fen") - sum("refunds_fen"),
        paid - refunded - commission,
        "statements move what the buyers kept paid, less commission"
    );
    assert_eq!(by_type(&tb, "payouts_in_transit"), (0, issued));
    let (d, c) = by_type(&tb, "seller_payable");
    assert_eq!(d - c, issued - (paid - refunded - commission));
    assert_eq!(app.count("SELECT count(*) AS n FROM statement_lines"), 12);
    assert_eq!(app.count("SELECT count(*) AS n FROM statement_refunds"), 4);
    balances_are_sums(&app);
    // one entry per cause
    assert_eq!(
        app.count("SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'payment'"),
        16
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM journal_entries WHERE source_kind = 'after_sales_refund'"
        ),
        8
    );
}

#[tokio::test]
async fn commission_rules_set_the_rate_each_order_line_keeps() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let seeded = app
        .get_auth("/api/v1/commission-rules", &admin)
        .await
        .json();
    assert_eq!(seeded["items"].as_array().unwrap().len(), 5, "{seeded}");
    let seller = app.user_token("rules-seller@example.com").await;
    app.get_auth("/api/v1/commission-rules", &seller)
        .await
        .assert_problem(404, "not_found");
    app.send(
        app.client
            .put(app.url("/api/v1/commission-rules"))
            .bearer_auth(&seller)
            .json(&json!({"items": []})),
    )
    .await
    .assert_problem(404, "not_found");
    // no catch-all: refused, the set is unchanged
    let fruit_leaf = app.category("fruit").await;
    let cats = app.get("/api/v1/categories").await.json();
    let fruit = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "fruit")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = |items: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            app.send(
                app.client
                    .put(app.url("/api/v1/commission-rules"))
                    .bearer_auth(admin)
                    .json(&json!({"items": items})),
            )
            .await
        }
    };
    put(json!([{"category_id": fruit, "seller_kind": null, "rate_bp": 250, "effective_from": "2026-01-01"}]))
        .await
        .assert_problem(422, "validation_failed");
    let r = put(json!([
        {"category_id": null, "seller_kind": null, "rate_bp": 500, "effective_from": "2026-01-01"},
        {"category_id": fruit, "seller_kind": null, "rate_bp": 250, "effective_from": "2026-01-01"},
        {"category_id": fruit, "seller_kind": "farmer_coop", "rate_bp": 200, "effective_from": "2099-01-01"}
    ]))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);

    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app
        .listing(
            &seller,
            &org,
            json!({"category_id": fruit_leaf, "tier_prices": []}),
        )
        .await;
    let buyer = app.user_token("rules-buyer@example.com").await;
    let o = app
        .place_order(
            &buyer,
            "rules-1",
            &json!({"items": order_lines(&[(l["id"].as_str().unwrap(), 1)]), "delivery": home()}),
        )
        .await
        .json();
    // the fruit subtree's rule; the farmer-coop one is not in force yet
    assert_eq!(o["items"][0]["commission_bp"], 250, "{o}");
    assert_eq!(o["seller_orders"][0]["commission_fen"], 170);
    // a later change does not touch the placed order
    let r = put(json!([{"category_id": null, "seller_kind": null, "rate_bp": 800, "effective_from": "2026-01-01"}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let oid = o["id"].as_str().unwrap();
    let again = app
        .get_auth(&format!("/api/v1/orders/{oid}"), &buyer)
        .await
        .json();
    assert_eq!(again["items"][0]["commission_bp"], 250);
}
