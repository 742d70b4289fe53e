//! Two release-build API processes on one Postgres and Redis: 500 buyers
//! spread over both on one listing sell exactly its stock and each gets an
//! answer; a write on one is seen by the other's cache within a second;
//! the sweeps (expiry, sales count) and the outbox handle each item once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coopmart_tests::instance::Instance;
use coopmart_tests::{Http, SmtpSink, TestDb};
use serde_json::json;
use tokio::sync::Barrier;

use crate::market::{self, buyers, order_body, shop, stock_and_held};

const STOCK: i64 = 300;
const BUYERS: usize = 500;
const PAID: usize = 100;
/// Paid orders then shipped, delivered, auto-completed and settled.
const SETTLED: usize = 20;
/// Buyers joining the group buy that fails.
const GROUP: usize = 10;

async fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sell_exactly_the_stock_share_the_cache_and_sweep_once() {
    let db = TestDb::create();
    let smtp = SmtpSink::start();
    let env = market::env(&db, &smtp, &market::redis_prefix());
    let (a, b) = tokio::join!(Instance::start(&env), Instance::start(&env));
    let (api_a, api_b) = (Http::new(a.addr), Http::new(b.addr));
    let shop = shop(&api_a, STOCK).await;
    let listing = shop.listing.clone();

    // 500 buyers at once, alternating between the instances.
    let buyers = buyers(&db, &env, BUYERS);
    let start = Arc::new(Barrier::new(BUYERS));
    let tasks: Vec<_> = buyers
        .iter()
        .enumerate()
        .map(|(i, (_, token))| {
            let api = if i % 2 == 0 { &a } else { &b };
            let url = api.url("/api/v1/orders");
            let client = api_a.client.clone();
            let (token, body, start) = (token.clone(), order_body(&listing, 1), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("buy-{i}"))
                    .json(&body)
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await
                    .expect("every buyer gets an answer");
                let status = res.status().as_u16();
                let v: serde_json::Value = res.json().await.unwrap_or_default();
                (i, status, v)
            })
        })
        .collect();
    let mut answers: BTreeMap<(u16, String), usize> = BTreeMap::new();
    let mut created: Vec<(usize, String)> = Vec::new();
    let mut per_instance = [0usize; 2];
    for t in tasks {
        let (i, status, v) = t.await.unwrap();
        let code = v["code"].as_str().unwrap_or("").to_owned();
        *answers.entry((status, code)).or_default() += 1;
        if status == 201 {
            per_instance[i % 2] += 1;
            created.push((i, v["id"].as_str().unwrap().to_owned()));
        }
    }
    let expected: BTreeMap<(u16, String), usize> = [
        ((201, String::new()), STOCK as usize),
        ((409, "out_of_stock".to_owned()), BUYERS - STOCK as usize),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        answers, expected,
        "every buyer answered: sold or out of stock"
    );
    assert!(
        per_instance[0] > 0 && per_instance[1] > 0,
        "both instances sold: {per_instance:?}"
    );
    assert_eq!(stock_and_held(&db, &listing), (0, STOCK));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM orders"),
        STOCK,
        "one order per sale"
    );
    market::no_half_written_orders(&db);

    // A price change on A reaches B's cache (both tiers warm) within 1 s.
    let path = format!("/api/v1/listings/{listing}");
    for _ in 0..3 {
        assert_eq!(api_b.get(&path).await.json()["price_fen"], 6800);
    }
    let warm = api_b.get(&path).await;
    assert!(
        warm.header("x-cache").is_some_and(|c| c.starts_with("hit")),
        "B serves the listing from its cache: {:?}",
        warm.header("x-cache")
    );
    let r = api_a
        .patch_auth(&path, &shop.seller, &json!({"price_fen": 7300}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let changed = Instant::now();
    loop {
        if api_b.get(&path).await.json()["price_fen"] == 7300 {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "B still shows the old price after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // 100 buyers pay (through either instance); the rest run out of time.
    let tokens: HashMap<usize, String> = buyers
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (i, t.clone()))
        .collect();
    let payers: Vec<_> = created[..PAID].to_vec();
    let pay_tasks: Vec<_> = payers
        .iter()
        .map(|(i, order)| {
            let api = Http::new(if i % 2 == 0 { b.addr } else { a.addr });
            let (token, order) = (tokens[i].clone(), order.clone());
            tokio::spawn(async move {
                api.pay(&token, &order).await;
            })
        })
        .collect();
    for t in pay_tasks {
        t.await.unwrap();
    }
    assert_eq!(
        db.count("SELECT count(*) AS n FROM orders WHERE status = 'paid'"),
        PAID as i64
    );
    // the clock moves past the unpaid orders' deadline; both instances sweep
    db.exec("UPDATE orders SET expires_at = now() - interval '1 second' WHERE status = 'pending_payment'");
    wait_until("unpaid orders expired", Duration::from_secs(10), || {
        db.count("SELECT count(*) AS n FROM orders WHERE status = 'pending_payment'") == 0
    })
    .await;
    let unpaid = STOCK - PAID as i64;
    assert_eq!(
        db.count("SELECT count(*) AS n FROM orders WHERE status = 'expired'"),
        unpaid
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM order_events WHERE to_status = 'expired' AND seller_order_id IS NULL"
        ),
        unpaid,
        "each order expired once"
    );
    assert_eq!(
        stock_and_held(&db, &listing),
        (unpaid, PAID as i64),
        "each expired order's stock came back once"
    );
    // every ordered unit is counted for the hot lists once, whoever counts
    let sold = format!("SELECT sold_qty::bigint AS n FROM listings WHERE id = '{listing}'");
    wait_until("sales counted", Duration::from_secs(10), || {
        db.count(&sold) == STOCK
    })
    .await;

    // the outbox: one confirmation per paying buyer, one new-order mail per
    // paid order to the seller, and none for the unpaid
    wait_until("mails sent", Duration::from_secs(20), || {
        smtp.mails().len() >= 2 * PAID
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(db.count(&sold), STOCK, "sales counted only once");
    assert_eq!(db.count("SELECT count(*) AS n FROM uncounted_sales"), 0);
    let mails = smtp.mails();
    let mut to: HashMap<String, usize> = HashMap::new();
    for m in &mails {
        for r in &m.to {
            *to.entry(r.clone()).or_default() += 1;
        }
    }
    // (create_org gives the cooperative this contact address)
    assert_eq!(
        to.get("org@example.com"),
        Some(&PAID),
        "seller's new-order mails"
    );
    for (i, _) in &payers {
        assert_eq!(to.get(&buyers[*i].0), Some(&1), "buyer {i}'s confirmation");
    }
    assert_eq!(
        mails.len(),
        2 * PAID,
        "no mail twice, none for unpaid orders"
    );
    for api in [&api_a, &api_b] {
        let r = api.get("/readyz").await.json();
        assert_eq!(r["outbox"]["pending_deliveries"], 0, "{r}");
        assert_eq!(r["outbox"]["dead_deliveries"], 0, "{r}");
    }
    market::trial_balance(&api_b).await;

    // Twenty paid orders are shipped and delivered through either instance;
    // both instances' sweeps auto-complete them (each once), then a
    // settlement run is started on each instance at the same moment: one
    // statement, each seller order on it once.
    let shipped: Vec<String> = payers[..SETTLED]
        .iter()
        .map(|(_, order)| {
            db.db_strings(&format!(
                "SELECT id::text AS v FROM seller_orders WHERE order_id = '{order}'"
            ))
            .remove(0)
        })
        .collect();
    for (n, so) in shipped.iter().enumerate() {
        let api = if n % 2 == 0 { &api_a } else { &api_b };
        api.seller_order_through(&shop.seller, so, &["accept", "ship", "deliver"])
            .await;
    }
    let in_list = shipped
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    wait_until("auto-completed", Duration::from_secs(10), || {
        db.count(&format!(
            "SELECT count(*) AS n FROM seller_orders WHERE id IN ({in_list}) AND status = 'completed'"
        )) == SETTLED as i64
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM order_events WHERE seller_order_id IN ({in_list}) AND to_status = 'completed'"
        )),
        SETTLED as i64,
        "each seller order completed once"
    );
    let admin_a = api_a.admin_token().await;
    let admin_b = api_b.admin_token().await;
    let today = chrono::Utc::now().date_naive().to_string();
    let body = json!({"period_end": today, "hold_days": 0});
    let (x, y) = tokio::join!(
        api_a.post_auth("/api/v1/settlements", &admin_a, &body),
        api_b.post_auth("/api/v1/settlements", &admin_b, &body)
    );
    assert_eq!((x.status, y.status), (201, 201), "{} {}", x.text, y.text);
    assert_eq!(
        x.json()["statement_count"].as_i64().unwrap()
            + y.json()["statement_count"].as_i64().unwrap(),
        1,
        "one statement for the seller, whichever run made it"
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM statement_lines"),
        SETTLED as i64
    );
    assert_eq!(
        db.count("SELECT count(DISTINCT seller_order_id) AS n FROM statement_lines"),
        SETTLED as i64
    );

    // A group buy that misses its target: both instances' sweeps decide it
    // at the deadline; each paid order is refunded once, stock comes back
    // once, the outcome is recorded once.
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let group = api_a
        .listing(
            &shop.seller,
            &shop.org,
            json!({"sale_mode": "group_buy", "group_target_qty": 1000, "group_deadline": deadline,
                   "stock": 100, "min_order_qty": 1, "tier_prices": []}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let joiners: Vec<_> = (0..GROUP)
        .map(|i| {
            let api = Http::new(if i % 2 == 0 { a.addr } else { b.addr });
            let (token, group) = (buyers[BUYERS - 1 - i].1.clone(), group.clone());
            tokio::spawn(async move {
                let o = api
                    .send(
                        api.client
                            .post(api.url("/api/v1/orders"))
                            .bearer_auth(&token)
                            .header("idempotency-key", format!("group-{i}"))
                            .json(&order_body(&group, 1)),
                    )
                    .await;
                assert_eq!(o.status, 201, "{}", o.text);
                let oid = o.json()["id"].as_str().unwrap().to_owned();
                api.pay(&token, &oid).await;
            })
        })
        .collect();
    for j in joiners {
        j.await.unwrap();
    }
    let group_stock = format!("SELECT stock::bigint AS n FROM listings WHERE id = '{group}'");
    assert_eq!(db.count(&group_stock), 100 - GROUP as i64);
    let refunded = format!(
        "SELECT count(*) AS n FROM seller_orders s JOIN order_items i ON i.seller_order_id = s.id \
         WHERE i.listing_id = '{group}' AND s.status = 'refunded'"
    );
    wait_until("group buy decided", Duration::from_secs(15), || {
        db.count(&refunded) == GROUP as i64
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(db.count(&group_stock), 100, "stock returned once");
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM order_events e JOIN order_items i ON i.seller_order_id = e.seller_order_id \
             WHERE i.listing_id = '{group}' AND e.to_status = 'refunded'"
        )),
        GROUP as i64,
        "each refunded once"
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM journal_entries e JOIN order_items i ON i.seller_order_id = e.source_id \
             WHERE i.listing_id = '{group}' AND e.source_kind = 'seller_order_refunded'"
        )),
        GROUP as i64
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM group_buy_outcomes WHERE outcome = 'failed'"),
        1
    );
    market::trial_balance(&api_a).await;
}
