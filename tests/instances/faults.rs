//! Faults a running process meets, each followed by the invariants: the
//! API killed with SIGKILL while orders are created and payments notified
//! (clients retry on the other instance with the same Idempotency-Key, the
//! provider re-sends its notification), and Redis gone mid-run under a
//! mixed load on two instances.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coopmart_tests::instance::Instance;
use coopmart_tests::{Http, RedisProcess, SmtpSink, TestDb};
use serde_json::json;

use crate::market::{self, buyers, order_body, shop, stock_and_held};

const STOCK: i64 = 100_000;

/// Sends until answered: a cut connection or a 5xx is retried (same key)
/// on the next instance in `targets`, as a client behind a load balancer
/// would. Returns the final status and body, and how many tries it took.
async fn until_answered(
    client: &reqwest::Client,
    targets: &[String],
    path: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value, usize) {
    for attempt in 0..200 {
        let base = &targets[attempt % targets.len()];
        let res = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(res) = res {
            let status = res.status().as_u16();
            if status < 500 {
                let v = res.json().await.unwrap_or_default();
                return (status, v, attempt + 1);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} {key}: no answer after 200 tries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_orders_and_payment_notifications_loses_and_duplicates_nothing() {
    let db = TestDb::create();
    let smtp = SmtpSink::start();
    let env = market::env(&db, &smtp, &market::redis_prefix());
    let (mut a, b) = tokio::join!(Instance::start(&env), Instance::start(&env));
    let (api_a, api_b) = (Http::new(a.addr), Http::new(b.addr));
    let shop = shop(&api_a, STOCK).await;
    let buyers = buyers(&db, &env, 16);

    // Orders: 16 clients on A (B behind it), A killed mid-run, restarted.
    let stop = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<Vec<(String, u16, String, usize)>>> = Arc::default();
    let targets = vec![a.url(""), b.url("")];
    let clients: Vec<_> = buyers
        .iter()
        .enumerate()
        .map(|(c, (_, token))| {
            let (client, targets, token) = (api_a.client.clone(), targets.clone(), token.clone());
            let (stop, results) = (stop.clone(), results.clone());
            let body = order_body(&shop.listing, 1);
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let key = format!("kill-{c}-{i}");
                    let (status, v, tries) =
                        until_answered(&client, &targets, "/api/v1/orders", &token, &key, &body)
                            .await;
                    let id = v["id"].as_str().unwrap_or_default().to_owned();
                    results.lock().unwrap().push((key, status, id, tries));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    a.kill();
    let killed_at = results.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.restart().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let results = results.lock().unwrap().clone();
    assert!(killed_at > 0, "orders were being placed when A was killed");
    let statuses: BTreeMap<u16, usize> = results.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.1).or_default() += 1;
        m
    });
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [201],
        "{statuses:?}"
    );
    assert!(
        results.iter().any(|r| r.3 > 1),
        "some orders were retried after the kill"
    );
    let ids: std::collections::HashSet<&str> = results.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(ids.len(), results.len(), "one order per key");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM orders"),
        results.len() as i64,
        "no order the client was not told about"
    );
    let (stock, held) = stock_and_held(&db, &shop.listing);
    assert_eq!(stock + held, STOCK);
    assert_eq!(held, results.len() as i64);
    market::no_half_written_orders(&db);

    // Payments: the sandbox notifies A, which is killed mid-stream; the
    // provider re-sends every notification (to B).
    let owner: HashMap<String, String> = results
        .iter()
        .map(|(key, _, id, _)| {
            let c: usize = key.split('-').nth(1).unwrap().parse().unwrap();
            (id.clone(), buyers[c].1.clone())
        })
        .collect();
    let mut payments = Vec::new();
    for (order, token) in &owner {
        let p = api_b
            .post_auth(
                &format!("/api/v1/orders/{order}/payments"),
                token,
                &json!({}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        payments.push(p.json()["id"].as_str().unwrap().to_owned());
    }
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let notifier = {
        let (client, base, payments, sent) = (
            api_a.client.clone(),
            a.url(""),
            payments.clone(),
            sent.clone(),
        );
        tokio::spawn(async move {
            for chunk in payments.chunks(8) {
                let calls = chunk.iter().map(|pid| {
                    client
                        .post(format!("{base}/api/v1/sandbox/payments/{pid}/succeed"))
                        .timeout(Duration::from_secs(5))
                        .send()
                });
                let answered = futures_util::future::join_all(calls).await;
                sent.fetch_add(
                    answered.iter().filter(|r| r.is_ok()).count(),
                    Ordering::Relaxed,
                );
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent.load(Ordering::Relaxed) < payments.len() / 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill();
    notifier.await.unwrap();
    let paid_before_resend =
        db.count("SELECT count(*) AS n FROM payments WHERE status = 'succeeded'");
    assert!(
        paid_before_resend > 0 && paid_before_resend < payments.len() as i64,
        "the kill landed mid-stream: {paid_before_resend} of {} paid",
        payments.len()
    );
    let mut results_of_resend: BTreeMap<String, usize> = BTreeMap::new();
    for pid in &payments {
        let r = api_b
            .post_json(
                &format!("/api/v1/sandbox/payments/{pid}/succeed"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let result = r.json()["notify_body"]["result"]
            .as_str()
            .unwrap()
            .to_owned();
        *results_of_resend.entry(result).or_default() += 1;
    }
    assert_eq!(
        results_of_resend
            .get("already_processed")
            .copied()
            .unwrap_or(0) as i64,
        paid_before_resend,
        "{results_of_resend:?}"
    );
    a.restart().await;
    let n = payments.len() as i64;
    assert_eq!(
        db.count("SELECT count(*) AS n FROM payments WHERE status = 'succeeded'"),
        n
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM orders WHERE status = 'paid'"),
        n
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM order_events WHERE to_status = 'paid' AND seller_order_id IS NULL"),
        n,
        "each order paid once"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM journal_entries e JOIN payments p ON p.id = e.source_id \
             WHERE p.status = 'succeeded'"
        ),
        n,
        "one ledger entry per payment"
    );
    market::trial_balance(&api_b).await;
    // every paid order's confirmation reaches its buyer (at least once:
    // a mail sent just before a kill may be sent again)
    let started = Instant::now();
    loop {
        let mails = smtp.mails();
        let confirmed = buyers
            .iter()
            .filter(|(email, _)| mails.iter().any(|m| m.to.contains(email)))
            .count();
        let ordering = owner
            .values()
            .collect::<std::collections::HashSet<_>>()
            .len();
        if confirmed == ordering {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{confirmed} of {ordering} buyers got their confirmation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_gone_mid_run_under_load_on_two_instances() {
    let db = TestDb::create();
    let smtp = SmtpSink::start();
    let mut redis = RedisProcess::start();
    let mut env = market::env(&db, &smtp, &market::redis_prefix());
    env.insert("REDIS_URL".into(), redis.url());
    let (a, b) = tokio::join!(Instance::start(&env), Instance::start(&env));
    let (api_a, api_b) = (Http::new(a.addr), Http::new(b.addr));
    let shop = shop(&api_a, STOCK).await;
    let buyers = buyers(&db, &env, 8);
    let detail = format!("/api/v1/listings/{}", shop.listing);

    let stop = Arc::new(AtomicBool::new(false));
    let tally: Arc<Mutex<BTreeMap<(&'static str, u16), usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for (c, (_, token)) in buyers.iter().enumerate() {
        let base = if c % 2 == 0 { a.url("") } else { b.url("") };
        let (client, token, stop, tally) = (
            api_a.client.clone(),
            token.clone(),
            stop.clone(),
            tally.clone(),
        );
        let body = order_body(&shop.listing, 1);
        let detail = detail.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let order = client
                    .post(format!("{base}/api/v1/orders"))
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("redis-{c}-{i}"))
                    .json(&body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                let read = client
                    .get(format!("{base}{detail}"))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                let search = client
                    .get(format!("{base}/api/v1/listings?q=甜瓜"))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                let mut t = tally.lock().unwrap();
                *t.entry(("order", order)).or_default() += 1;
                *t.entry(("read", read)).or_default() += 1;
                *t.entry(("search", search)).or_default() += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = tally.lock().unwrap().clone();
    // degraded, not down: the load balancer keeps both instances
    for api in [&api_a, &api_b] {
        let r = api.get("/readyz").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["redis"], "degraded");
    }
    // a write while Redis is away is read back on the other instance
    let r = api_a
        .patch_auth(&detail, &shop.seller, &json!({"price_fen": 7100}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(api_b.get(&detail).await.json()["price_fen"], 7100);
    tokio::time::sleep(Duration::from_millis(700)).await;
    redis.restart();
    // back without restarting the API
    let back = Instant::now();
    for api in [&api_a, &api_b] {
        loop {
            if api.get("/readyz").await.json()["redis"] == "ok" {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "Redis not used again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let tally = tally.lock().unwrap().clone();
    let before: usize = during.values().sum();
    let total: usize = tally.values().sum();
    assert!(total > before, "load went on after Redis died: {tally:?}");
    let ok = |k: &'static str, s: u16| tally.get(&(k, s)).copied().unwrap_or(0);
    assert_eq!(
        ok("order", 201) + ok("read", 200) + ok("search", 200),
        total,
        "every request succeeded while Redis was gone: {tally:?}"
    );
    let orders = ok("order", 201) as i64;
    assert_eq!(db.count("SELECT count(*) AS n FROM orders"), orders);
    assert_eq!(stock_and_held(&db, &shop.listing), (STOCK - orders, orders));
    market::no_half_written_orders(&db);
    // with Redis back, caches are coherent again: a write on A shows on B
    for _ in 0..3 {
        api_b.get(&detail).await;
    }
    let r = api_a
        .patch_auth(&detail, &shop.seller, &json!({"price_fen": 7400}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let changed = Instant::now();
    while api_b.get(&detail).await.json()["price_fen"] != 7400 {
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "B's cache is stale"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
