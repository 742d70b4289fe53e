//! The database going away: PostgreSQL restarted or stopped under load.
//! Clients see 503 `database_unavailable` with `Retry-After` (never 500),
//! retry with the same Idempotency-Key, and nothing is lost or duplicated.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coopmart_tests::pg::PgProcess;
use coopmart_tests::{spawn_app_with, TestApp};
use diesel::{sql_query, Connection, RunQueryDsl};
use serde_json::{json, Value};

const STOCK: i64 = 100_000;

#[derive(Default)]
struct Tally {
    /// status → count, over every attempt.
    statuses: BTreeMap<u16, usize>,
    /// Problem codes of the 5xx answers.
    codes: BTreeMap<String, usize>,
    /// When each 201 arrived, and the order id it named, per key.
    created: Vec<(Instant, String, String)>,
    /// When each 503 arrived.
    unavailable: Vec<Instant>,
    /// A 503 without `Retry-After`.
    missing_retry_after: usize,
}

async fn app_on(pg: &PgProcess) -> TestApp {
    let url = pg.url("coopmart");
    spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), url);
        env.insert("MIGRATE_ON_START".into(), "true".into());
        env.insert("DATABASE_CONNECT_TIMEOUT_MS".into(), "1000".into());
        env.insert("HTTP_WORKERS".into(), "2".into());
    })
    .await
}

/// A seller with one listing of `STOCK` units, and a buyer token.
async fn market(app: &TestApp) -> (String, String) {
    let seller = app.user_token("seller@faults.test").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = app
        .listing(&seller, &org, json!({"stock": STOCK, "tier_prices": []}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (listing, app.user_token("buyer@faults.test").await)
}

/// `clients` loops placing one-unit orders with fresh keys until `stop`,
/// retrying each key after a 503 until it is answered 201.
fn load(
    app: &TestApp,
    clients: usize,
    listing: &str,
    token: &str,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..clients)
        .map(|c| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/orders"));
            let (token, stop, tally) = (token.to_owned(), stop.clone(), tally.clone());
            let body = json!({"items": [{"listing_id": listing, "quantity": 1}],
                "delivery": {"method": "home_delivery", "address": {"recipient": "王芳",
                "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}}});
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let key = format!("fault-{c}-{i}");
                    loop {
                        let res = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("idempotency-key", &key)
                            .json(&body)
                            .timeout(Duration::from_secs(10))
                            .send()
                            .await;
                        let Ok(res) = res else {
                            *tally.lock().unwrap().statuses.entry(0).or_default() += 1;
                            break;
                        };
                        let status = res.status().as_u16();
                        let retry_after = res.headers().contains_key("retry-after");
                        let v: Value = res.json().await.unwrap_or(Value::Null);
                        let done = {
                            let mut t = tally.lock().unwrap();
                            *t.statuses.entry(status).or_default() += 1;
                            match status {
                                201 => {
                                    let id = v["id"].as_str().unwrap_or_default().to_owned();
                                    t.created.push((Instant::now(), key.clone(), id));
                                    true
                                }
                                503 => {
                                    t.unavailable.push(Instant::now());
                                    if !retry_after {
                                        t.missing_retry_after += 1;
                                    }
                                    *t.codes
                                        .entry(v["code"].as_str().unwrap_or("?").to_owned())
                                        .or_default() += 1;
                                    false
                                }
                                _ => {
                                    *t.codes
                                        .entry(v["code"].as_str().unwrap_or("?").to_owned())
                                        .or_default() += 1;
                                    true
                                }
                            }
                        };
                        if done {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect()
}

/// Orders in the database, and the listing's stock + units ordered.
fn ledger_of_stock(pg: &PgProcess, listing: &str) -> (i64, i64) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::pg::PgConnection::establish(&pg.url("coopmart")).unwrap();
    let one = |conn: &mut diesel::pg::PgConnection, sql: String| -> i64 {
        sql_query(sql).get_result::<Row>(conn).unwrap().n
    };
    let orders = one(&mut conn, "SELECT count(*)::bigint AS n FROM orders".into());
    let stock = one(
        &mut conn,
        format!("SELECT stock::bigint AS n FROM listings WHERE id = '{listing}'"),
    );
    let sold = one(
        &mut conn,
        "SELECT coalesce(sum(quantity), 0)::bigint AS n FROM order_items".into(),
    );
    (orders, stock + sold)
}

fn check_consistent(pg: &PgProcess, listing: &str, t: &Tally) {
    let keys: HashSet<&str> = t.created.iter().map(|(_, k, _)| k.as_str()).collect();
    let ids: HashSet<&str> = t.created.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(keys.len(), t.created.len(), "a key answered 201 twice");
    assert_eq!(ids.len(), keys.len(), "two keys share an order");
    let (orders, stock_plus_sold) = ledger_of_stock(pg, listing);
    assert_eq!(
        orders as usize,
        keys.len(),
        "orders in the database = keys answered 201 (none lost, none duplicated)"
    );
    assert_eq!(
        stock_plus_sold, STOCK,
        "stock + units ordered = initial stock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_order_load_answers_503_then_recovers() {
    let pg = PgProcess::start();
    pg.create_db("coopmart");
    let app = app_on(&pg).await;
    let (listing, buyer) = market(&app).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients = load(&app, 8, &listing, &buyer, stop.clone(), tally.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = tally.lock().unwrap().created.len();
    assert!(before > 0, "orders succeed before the restart");

    let pg = tokio::task::spawn_blocking(move || {
        pg.restart();
        pg
    })
    .await
    .unwrap();
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let t = tally.lock().unwrap();
    eprintln!(
        "restart under load: statuses {:?}, codes {:?}, orders {}",
        t.statuses,
        t.codes,
        t.created.len()
    );
    let unexpected: Vec<_> = t
        .statuses
        .keys()
        .filter(|s| ![201, 503].contains(*s))
        .collect();
    let internal: Vec<String> = coopmart_tests::logs::text()
        .lines()
        .filter(|l| l.contains("internal error"))
        .map(str::to_owned)
        .collect();
    assert!(
        unexpected.is_empty(),
        "only 201 and 503: {:?}; internal errors logged: {internal:#?}",
        t.statuses
    );
    assert!(
        t.codes.keys().all(|c| c == "database_unavailable"),
        "{:?}",
        t.codes
    );
    assert_eq!(t.missing_retry_after, 0, "every 503 carries Retry-After");
    let first_after = t
        .created
        .iter()
        .map(|(at, _, _)| *at)
        .filter(|at| *at > restarted)
        .min()
        .expect("orders succeed after the restart");
    assert!(
        first_after - restarted < Duration::from_secs(1),
        "recovered {:?} after the restart",
        first_after - restarted
    );
    let late = t
        .unavailable
        .iter()
        .filter(|at| **at > restarted + Duration::from_secs(1))
        .count();
    assert_eq!(
        late, 0,
        "no 503 once the database is back (dead connections dropped)"
    );
    check_consistent(&pg, &listing, &t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_for_30_s_fails_fast_with_503_everywhere_then_the_next_request_succeeds() {
    let pg = PgProcess::start();
    pg.create_db("coopmart");
    let app = app_on(&pg).await;
    let (listing, buyer) = market(&app).await;
    // Warm the pool: these connections all die with the server.
    for _ in 0..4 {
        assert_eq!(
            app.get(&format!("/api/v1/listings/{listing}")).await.status,
            200
        );
    }
    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();

    // For 30 s, every endpoint family answers 503 database_unavailable,
    // quickly, round after round (the pool keeps failing fast; nothing
    // queues up behind the dead server).
    let families = [
        "/api/v1/organizations?limit=1",
        "/api/v1/orders",
        "/api/v1/me",
        "/api/v1/seller-orders?org_id=0190f5a0-0000-7000-8000-000000000001&limit=1",
        "/api/v1/ledger/accounts/0190f5a0-0000-7000-8000-000000000001",
        "/api/v1/statements/0190f5a0-0000-7000-8000-000000000001",
        "/api/v1/shipments/0190f5a0-0000-7000-8000-000000000001",
        "/api/v1/organizations/0190f5a0-0000-7000-8000-000000000001/freight-templates",
        "/api/v1/stats/sales?from=2026-01-01&to=2026-01-31&group_by=seller",
        "/api/v1/trace/ABCDEFGH",
    ];
    let down_since = Instant::now();
    let mut rounds = 0;
    while down_since.elapsed() < Duration::from_secs(30) {
        rounds += 1;
        for path in families {
            let started = Instant::now();
            let r = app.get_auth(path, &buyer).await;
            assert_eq!(r.status, 503, "{path}: {}", r.text);
            let p = r.assert_problem(503, "database_unavailable");
            assert_eq!(r.header("retry-after"), Some("1"), "{path}");
            assert!(p.get("detail").is_some());
            assert!(
                started.elapsed() < Duration::from_millis(1500),
                "{path} took {:?} after {:?} down",
                started.elapsed(),
                down_since.elapsed()
            );
        }
        // the category tree is fixed data held in memory: still served
        assert_eq!(app.get("/api/v1/categories").await.status, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(rounds >= 10, "{rounds} rounds in 30 s");
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&buyer)
                .header("idempotency-key", "while-down")
                .json(&json!({"items": [{"listing_id": listing, "quantity": 1}],
                    "delivery": {"method": "home_delivery", "address": {"recipient": "王芳",
                    "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}}})),
        )
        .await;
    r.assert_problem(503, "database_unavailable");
    // /readyz says why.
    app.get("/readyz").await.assert_problem(503, "not_ready");

    let pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    let back = Instant::now();
    // The next request succeeds (allowing the pool's reconnect back-off).
    loop {
        let r = app.get_auth("/api/v1/orders", &buyer).await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "still {} {:?} after the database came back",
            r.status,
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (orders, stock_plus_sold) = ledger_of_stock(&pg, &listing);
    assert_eq!(
        orders, 0,
        "the order sent while the database was down was not written"
    );
    assert_eq!(stock_plus_sold, STOCK);
}

/// A held lock (or a slow server): writes stuck behind it time out with 503
/// `database_timeout` and write nothing, reads and `/healthz` keep answering,
/// and the same write succeeds once the lock is gone.
#[tokio::test]
async fn writes_behind_a_held_lock_time_out_with_503_and_the_server_stays_responsive() {
    let app = spawn_app_with(|env| {
        env.insert("DATABASE_STATEMENT_TIMEOUT_MS".into(), "400".into());
        env.insert("DATABASE_POOL_SIZE".into(), "4".into());
        env.insert("DATABASE_CONNECT_TIMEOUT_MS".into(), "500".into());
    })
    .await;
    let seller = app.user_token("locked-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = app.listing(&seller, &org, json!({})).await;
    let id = listing["id"].as_str().unwrap().to_owned();
    let version = listing["version"].as_i64().unwrap();

    // another client holds the listing's row lock
    let mut holder = diesel::PgConnection::establish(&app.db.url).unwrap();
    sql_query("BEGIN").execute(&mut holder).unwrap();
    sql_query(format!(
        "SELECT 1 FROM listings WHERE id = '{id}' FOR UPDATE"
    ))
    .execute(&mut holder)
    .unwrap();

    let path = format!("/api/v1/listings/{id}");
    let started = Instant::now();
    let writes: Vec<_> = (0..12)
        .map(|n| {
            let client = app.client.clone();
            let url = app.url(&path);
            let token = seller.clone();
            tokio::spawn(async move {
                let r = client
                    .patch(url)
                    .bearer_auth(token)
                    .json(&json!({"price_fen": 7000 + n}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().contains_key("retry-after");
                let body: Value = r.json().await.unwrap_or_default();
                (
                    status,
                    retry,
                    body["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
        })
        .collect();
    // meanwhile the server answers liveness and reads at once
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(app.get("/healthz").await.status, 200);
        assert!(
            t.elapsed() < Duration::from_millis(200),
            "healthz took {:?}",
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut codes = Vec::new();
    for w in writes {
        let (status, retry, code) = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a write hung behind the lock")
            .unwrap();
        assert_eq!(status, 503, "{code}");
        assert!(retry, "503 without Retry-After");
        codes.push(code);
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(codes.iter().any(|c| c == "database_timeout"), "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c == "database_timeout" || c == "database_unavailable"),
        "{codes:?}"
    );
    sql_query("ROLLBACK").execute(&mut holder).unwrap();

    // nothing was written; the same write now goes through
    let now = app.get(&path).await.json();
    assert_eq!(
        now["version"].as_i64().unwrap(),
        version,
        "a timed-out write changed the listing"
    );
    let r = app
        .patch_auth(&path, &seller, &json!({"price_fen": 7100}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["version"].as_i64().unwrap(), version + 1);
}
