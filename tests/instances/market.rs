//! What the suite's tests share: settings for process instances, a seller
//! with a listing, many buyers, and the invariants checked after each run.

use std::collections::HashMap;

use coopmart_tests::{test_env, Http, Reply, SmtpSink, TestDb};
use domain::identity::{AccessTokenCodec, Principal, UserId};
use serde_json::{json, Value};
use uuid::Uuid;

/// Test settings for a process instance: quick sweeps and sales counts,
/// rate limits out of the way of hundreds of buyers from one address.
pub fn env(db: &TestDb, smtp: &SmtpSink, prefix: &str) -> HashMap<String, String> {
    let mut env = test_env(db, smtp, prefix);
    for (k, v) in [
        ("RATE_LIMIT_PER_IP", "1000000"),
        ("RATE_LIMIT_PER_ACCOUNT", "1000000"),
        ("DATABASE_POOL_SIZE", "16"),
        ("ORDER_SWEEP_INTERVAL_MS", "100"),
        ("SALES_COUNT_INTERVAL_MS", "300"),
        ("SEARCH_REFRESH_MS", "200"),
        // delivered seller orders complete after a second (the sweep)
        ("ORDER_AUTO_COMPLETE_SECS", "1"),
    ] {
        env.insert(k.into(), v.into());
    }
    env
}

pub fn redis_prefix() -> String {
    format!("test:{}:", Uuid::now_v7().simple())
}

pub fn order_body(listing: &str, quantity: i32) -> Value {
    json!({"items": [{"listing_id": listing, "quantity": quantity}],
        "delivery": {"method": "home_delivery", "address": {"recipient": "王芳",
        "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}}})
}

pub struct Shop {
    pub seller: String,
    pub org: String,
    pub listing: String,
}

/// A farmer cooperative (its admin registered through the API) with one
/// published listing of `stock` units at 68.00.
pub async fn shop(api: &Http, stock: i64) -> Shop {
    let seller_email = format!("seller-{}@instances.test", Uuid::now_v7().simple());
    let seller = api.user_token(&seller_email).await;
    let org = api.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = api
        .listing(&seller, &org, json!({"stock": stock, "tier_prices": []}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Shop {
        seller,
        org,
        listing,
    }
}

/// `n` buyer accounts written straight to the database (no password
/// hashing for hundreds of sign-ups) with access tokens signed by the key
/// the instances verify: (user email, token).
pub fn buyers(db: &TestDb, env: &HashMap<String, String>, n: usize) -> Vec<(String, String)> {
    let settings =
        api::config::Settings::from_lookup(&|k| env.get(k).cloned()).expect("test settings");
    let a = &settings.auth;
    let codec = infra::identity::JwtCodec::new(
        &a.jwt_issuer,
        &a.jwt_audience,
        chrono::Duration::hours(1),
        &a.jwt_keys,
        &a.jwt_active_kid,
    )
    .unwrap();
    let tag = Uuid::now_v7().simple().to_string();
    let mut out = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::now_v7();
        let email = format!("buyer-{i}-{tag}@instances.test");
        values.push(format!("('{id}', '{email}', 'not-a-hash', '买家{i}')"));
        let (token, _) = codec
            .issue(
                &Principal::User {
                    id: UserId(id),
                    platform_admin: false,
                },
                chrono::Utc::now(),
            )
            .unwrap();
        out.push((email, token));
    }
    db.exec(&format!(
        "INSERT INTO users (id, email, password_hash, display_name) VALUES {}",
        values.join(", ")
    ));
    out
}

/// Σ ordered units of `listing` in orders still holding stock, and its
/// stock: together they must always equal what the seller put up.
pub fn stock_and_held(db: &TestDb, listing: &str) -> (i64, i64) {
    let stock = db.count(&format!(
        "SELECT stock::bigint AS n FROM listings WHERE id = '{listing}'"
    ));
    let held = db.count(&format!(
        "SELECT COALESCE(sum(i.quantity), 0)::bigint AS n FROM order_items i \
         JOIN orders o ON o.id = i.order_id \
         WHERE i.listing_id = '{listing}' AND o.status NOT IN ('expired', 'cancelled')"
    ));
    (stock, held)
}

/// No order half written: every order has its seller orders and lines,
/// every seller order its lines, and no Idempotency-Key names two orders.
pub fn no_half_written_orders(db: &TestDb) {
    for (what, sql) in [
        (
            "orders without lines",
            "SELECT count(*) AS n FROM orders o WHERE NOT EXISTS \
             (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
        ),
        (
            "orders without seller orders",
            "SELECT count(*) AS n FROM orders o WHERE NOT EXISTS \
             (SELECT 1 FROM seller_orders s WHERE s.order_id = o.id)",
        ),
        (
            "seller orders without lines",
            "SELECT count(*) AS n FROM seller_orders s WHERE NOT EXISTS \
             (SELECT 1 FROM order_items i WHERE i.seller_order_id = s.id)",
        ),
    ] {
        assert_eq!(db.count(sql), 0, "{what}");
    }
}

/// The ledger's trial balance through the API (platform admin): debits =
/// credits; returns it.
pub async fn trial_balance(api: &Http) -> Value {
    let admin = api.admin_token().await;
    let r: Reply = api.get_auth("/api/v1/ledger/trial-balance", &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tb = r.json();
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"], "{tb}");
    tb
}
