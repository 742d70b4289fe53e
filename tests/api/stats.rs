//! Sales statistics and unsalable alerts through the real server: figures
//! equal a sum over the orders the test placed (sealed days from the
//! rollup, today live), concurrent sealing seals each day once, an SMC sees
//! only its subtree, and an alert comes and goes with sales.

use coopmart_tests::{order_lines, spawn_app_with, TestApp};
use serde_json::{json, Value};

fn home() -> Value {
    json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000",
           "region_code": "110105", "line": "建国路1号"}})
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn org(app: &TestApp, token: &str, kind: &str, region: &str, parent: Option<&str>) -> String {
    let prefix = if kind == "farmer_coop" { "93" } else { "91" };
    let r = app
        .post_auth("/api/v1/organizations", token, &json!({"kind": kind, "name": format!("统计{kind}{region}"),
            "credit_code": coopmart_tests::credit_code(prefix), "region_code": region, "parent_id": parent,
            "contact_email": "org@example.com"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    id(&r.json())
}

async fn buy(app: &TestApp, buyer: &str, key: &str, lines: &[(&str, i32)], pay: bool) -> Value {
    let r = app
        .place_order(
            buyer,
            key,
            &json!({"items": order_lines(lines), "delivery": home()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let o = r.json();
    if pay {
        app.pay(buyer, o["id"].as_str().unwrap()).await;
    }
    o
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {report}"))
}

fn figures(v: &Value) -> (i64, i64, i64, i64) {
    (
        v["gross_fen"].as_i64().unwrap(),
        v["orders"].as_i64().unwrap(),
        v["units"].as_i64().unwrap(),
        v["refunds_fen"].as_i64().unwrap(),
    )
}

async fn report(
    app: &TestApp,
    token: &str,
    from: &str,
    to: &str,
    group: &str,
    org: Option<&str>,
) -> Value {
    let mut url = format!("/api/v1/stats/sales?from={from}&to={to}&group_by={group}");
    if let Some(o) = org {
        url.push_str(&format!("&org_id={o}"));
    }
    let r = app.get_auth(&url, token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn sales_figures_equal_the_orders_sealed_or_live_and_stay_within_the_subtree() {
    let app = spawn_app_with(|env| {
        env.insert("SALES_SEAL_MARGIN_SECS".into(), "0".into());
        // the test seals by hand
        env.insert("SALES_SEAL_INTERVAL_MS".into(), "3600000".into());
    })
    .await;
    let admin = app.admin_token().await;
    let province = org(&app, &admin, "supply_marketing_coop", "220102", None).await;
    let grassroots = org(&app, &admin, "grassroots_coop", "220106", Some(&province)).await;
    let coop_a = org(&app, &admin, "farmer_coop", "220106", Some(&grassroots)).await;
    let coop_b = org(&app, &admin, "farmer_coop", "110105", None).await;
    let fruit = app.category("fruit").await;
    let veg = app.category("vegetables").await;
    let base = json!({"tier_prices": [], "stock": 1000});
    let mut a1 = base.clone();
    a1["price_fen"] = json!(1000);
    let mut a2 = base.clone();
    a2["price_fen"] = json!(500);
    a2["category_id"] = json!(veg);
    let mut b1 = base.clone();
    b1["price_fen"] = json!(700);
    let a1 = id(&app.listing(&admin, &coop_a, a1).await);
    let a2 = id(&app.listing(&admin, &coop_a, a2).await);
    let b1 = id(&app.listing(&admin, &coop_b, b1).await);
    let buyer = app.user_token("stats-buyer@example.com").await;

    // o1: paid three days ago (backdated below); o2: paid, then rejected
    // (a full refund); o3: paid, shipped, one unit refunded; o4: unpaid
    let o1 = buy(&app, &buyer, "st-1", &[(&a1, 2), (&a2, 3)], true).await;
    let o2 = buy(&app, &buyer, "st-2", &[(&a1, 1)], true).await;
    let r = app
        .post_auth(
            &format!(
                "/api/v1/seller-orders/{}/reject",
                o2["seller_orders"][0]["id"].as_str().unwrap()
            ),
            &admin,
            &json!({"reason": "缺货"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o3 = buy(&app, &buyer, "st-3", &[(&b1, 4)], true).await;
    let so3 = o3["seller_orders"][0]["id"].as_str().unwrap().to_owned();
    for (step, body) in [
        ("accept", json!({})),
        ("ship", json!({"carrier": "邮政", "tracking_no": "EMS1"})),
    ] {
        let r = app
            .post_auth(
                &format!("/api/v1/seller-orders/{so3}/{step}"),
                &admin,
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let refund = app
        .post_auth(
            &format!("/api/v1/seller-orders/{so3}/refunds"),
            &admin,
            &json!({"order_item_id": o3["items"][0]["id"], "quantity": 1, "reason": "少发一箱"}),
        )
        .await;
    assert_eq!(refund.status, 201, "{}", refund.text);
    let r = app
        .post_json(
            &format!("/api/v1/sandbox/refunds/{}/succeed", id(&refund.json())),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    buy(&app, &buyer, "st-4", &[(&a2, 1)], false).await;
    let mut conn = app.db.connect();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE order_events SET occurred_at = occurred_at - interval '3 days' WHERE order_id = '{}'",
            id(&o1)
        )),
        &mut conn,
    )
    .unwrap();

    // four instances' sweeps at once seal each closed hour once, in order
    let seals: Vec<_> = (0..4)
        .map(|_| {
            let state = app.state.clone();
            tokio::task::spawn_blocking(move || state.stats.seal(chrono::Utc::now()).unwrap())
        })
        .collect();
    let mut sealed = 0;
    for s in seals {
        sealed += s.await.unwrap();
    }
    let hours = app.count("SELECT count(*) AS n FROM sales_hours");
    assert_eq!(sealed as i64, hours);
    assert!(hours >= 72, "{hours} hours sealed");
    assert_eq!(
        app.count("SELECT (extract(epoch FROM max(hour) - min(hour)) / 3600)::bigint + 1 AS n FROM sales_hours"),
        hours,
        "no gaps"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM sales_daily_sellers WHERE seller_id = '{coop_a}' AND gross_fen = 3500 \
              AND day = ((now() - interval '3 days') AT TIME ZONE INTERVAL '+08:00')::date"
        )),
        1,
        "o1's seller-day, once"
    );

    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let day = |d: i64| (today - chrono::Duration::days(d)).to_string();
    let (from, to) = (day(6), day(0));

    // the whole period: o1 from the rollup, the rest live
    let by_seller = report(&app, &admin, &from, &to, "seller", None).await;
    assert_eq!(
        figures(row(&by_seller, &coop_a)),
        (2000 + 1500 + 1000, 2, 6, 1000)
    );
    assert_eq!(figures(row(&by_seller, &coop_b)), (2800, 1, 4, 700));
    assert_eq!(figures(&by_seller["totals"]), (7300, 3, 10, 1700));
    assert_eq!(
        by_seller["items"][0]["key"],
        coop_a.as_str(),
        "largest gross first"
    );
    let by_category = report(&app, &admin, &from, &to, "category", None).await;
    assert_eq!(
        figures(row(&by_category, &fruit)),
        (2000 + 1000 + 2800, 3, 7, 1700)
    );
    assert_eq!(figures(row(&by_category, &veg)), (1500, 1, 3, 0));

    assert_eq!(
        figures(&by_category["totals"]),
        (7300, 3, 10, 1700),
        "orders counted once"
    );
    let by_region = report(&app, &admin, &from, &to, "region", None).await;
    assert_eq!(figures(row(&by_region, "220106")), (4500, 2, 6, 1000));
    assert_eq!(figures(row(&by_region, "110105")), (2800, 1, 4, 700));
    assert!(row(&by_region, "220106")["label"]
        .as_str()
        .unwrap()
        .contains("绿园区"));
    // a sealed day alone, and today alone
    let sealed_day = report(&app, &admin, &day(3), &day(3), "seller", None).await;
    assert_eq!(figures(&sealed_day["totals"]), (3500, 1, 5, 0));
    let today_only = report(&app, &admin, &day(0), &day(0), "seller", None).await;
    assert_eq!(figures(&today_only["totals"]), (3800, 2, 5, 1700));

    // the province's staff see their subtree only
    let smc = app.user_token("stats-smc@example.com").await;
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{province}/staff"),
            &admin,
            &json!({"email": "stats-smc@example.com", "role": "clerk"}),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text);
    let theirs = report(&app, &smc, &from, &to, "seller", None).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(figures(row(&theirs, &coop_a)), (4500, 2, 6, 1000));
    assert_eq!(figures(&theirs["totals"]), (4500, 2, 6, 1000));
    let narrowed = report(&app, &smc, &from, &to, "category", Some(&grassroots)).await;
    assert_eq!(figures(&narrowed["totals"]), (4500, 2, 6, 1000));
    app.get_auth(
        &format!("/api/v1/stats/sales?from={from}&to={to}&group_by=seller&org_id={coop_b}"),
        &smc,
    )
    .await
    .assert_problem(404, "not_found");
    app.get_auth(
        &format!("/api/v1/stats/sales?from={from}&to={to}&group_by=seller"),
        &buyer,
    )
    .await
    .assert_problem(403, "forbidden");
    // malformed and inconsistent parameters
    app.get_auth(
        &format!("/api/v1/stats/sales?from={from}&to={to}&group_by=month"),
        &admin,
    )
    .await
    .assert_problem(400, "invalid_query");
    app.get_auth(
        &format!("/api/v1/stats/sales?from={to}&to={from}&group_by=seller"),
        &admin,
    )
    .await
    .assert_problem(422, "validation_failed");
    // what the rollup holds equals what the history says, after a second seal
    let again = {
        let state = app.state.clone();
        tokio::task::spawn_blocking(move || state.stats.seal(chrono::Utc::now()).unwrap())
            .await
            .unwrap()
    };
    assert_eq!(again, 0);
    assert_eq!(
        report(&app, &admin, &from, &to, "seller", None).await,
        by_seller
    );
}

#[tokio::test]
async fn an_unsalable_alert_comes_and_goes_with_sales() {
    let app = spawn_app_with(|env| {
        env.insert("UNSALABLE_MIN_STOCK".into(), "100".into());
        env.insert("UNSALABLE_SELL_THROUGH_BP".into(), "1000".into());
    })
    .await;
    let admin = app.admin_token().await;
    let province = org(&app, &admin, "supply_marketing_coop", "220102", None).await;
    let coop = org(&app, &admin, "farmer_coop", "220106", Some(&province)).await;
    let elsewhere = org(&app, &admin, "supply_marketing_coop", "110105", None).await;
    let cabbage = id(&app
        .listing(
            &admin,
            &coop,
            json!({"title": "大白菜 10kg袋", "tier_prices": [], "price_fen": 1000, "stock": 200}),
        )
        .await);
    let small = id(&app
        .listing(&admin, &coop, json!({"tier_prices": [], "stock": 50}))
        .await);
    let alerts = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let r = app
                .get_auth(&format!("/api/v1/alerts/unsalable{q}"), &token)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json()["items"].as_array().unwrap().clone()
        }
    };
    let items = alerts(admin.clone(), "?region_code=22").await;
    let a = items
        .iter()
        .find(|a| a["listing_id"] == cabbage.as_str())
        .expect("cabbage is unsalable");
    assert_eq!(
        (
            a["stock"].as_i64(),
            a["sold_14d"].as_i64(),
            a["sell_through_bp"].as_i64()
        ),
        (Some(200), Some(0), Some(0))
    );
    assert_eq!(a["threshold"], 0.1);
    assert!(
        !items.iter().any(|a| a["listing_id"] == small.as_str()),
        "too little stock to alert"
    );
    assert!(alerts(admin.clone(), "?region_code=11").await.is_empty());
    // SMC staff: their subtree only
    let smc = app.user_token("alerts-smc@example.com").await;
    let other = app.user_token("alerts-other@example.com").await;
    for (org_id, email) in [
        (&province, "alerts-smc@example.com"),
        (&elsewhere, "alerts-other@example.com"),
    ] {
        let r = app
            .post_auth(
                &format!("/api/v1/organizations/{org_id}/staff"),
                &admin,
                &json!({"email": email, "role": "clerk"}),
            )
            .await;
        assert!(r.status == 200 || r.status == 201, "{}", r.text);
    }
    assert_eq!(alerts(smc.clone(), "").await.len(), 1);
    assert!(alerts(other.clone(), "").await.is_empty());
    let buyer = app.user_token("alerts-buyer@example.com").await;
    app.get_auth("/api/v1/alerts/unsalable", &buyer)
        .await
        .assert_problem(403, "forbidden");

    // 15 sold and paid: 15 / 200 = 7.5 % — still unsalable
    buy(&app, &buyer, "al-1", &[(&cabbage, 15)], true).await;
    let items = alerts(smc.clone(), "").await;
    assert_eq!(
        (
            items[0]["sold_14d"].as_i64(),
            items[0]["stock"].as_i64(),
            items[0]["sell_through_bp"].as_i64()
        ),
        (Some(15), Some(185), Some(750))
    );
    // an unpaid order does not sell
    buy(&app, &buyer, "al-2", &[(&cabbage, 10)], false).await;
    assert_eq!(alerts(smc.clone(), "").await[0]["sold_14d"], 15);
    // 10 more paid: 25 / 190 ≥ 10 % — the alert is gone
    buy(&app, &buyer, "al-3", &[(&cabbage, 10)], true).await;
    assert!(alerts(smc.clone(), "").await.is_empty());
    assert!(alerts(admin.clone(), "?region_code=2201").await.is_empty());
}
