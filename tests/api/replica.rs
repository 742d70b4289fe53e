//! A real streaming read replica (pg_basebackup, hot standby) behind
//! `DATABASE_READ_URL`: browsing reads it, writes and the reads that fill
//! the cache go to the primary, a seller reads its own writes, the search
//! engine follows the replica and waits for it after a write, and reads fall
//! back to the primary while the replica is down.

use std::time::{Duration, Instant};

use coopmart_tests::pg::PgProcess;
use coopmart_tests::{spawn_app_with, TestApp};
use serde_json::{json, Value};

fn titles(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `path` (anonymous) until `want` holds for its titles, or panics.
async fn until(app: &TestApp, path: &str, within: Duration, want: impl Fn(&[String]) -> bool) {
    let started = Instant::now();
    loop {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if want(&titles(&r.json())) {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{path}: still {:?} after {within:?}",
            titles(&r.json())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_reads_go_to_a_streaming_replica_with_read_your_writes_and_fallback() {
    let primary = PgProcess::start();
    primary.create_db("coopmart");
    let replica = PgProcess::replica_of(&primary);
    assert_eq!(
        replica.count("postgres", "SELECT pg_is_in_recovery()::int"),
        1,
        "the replica is a hot standby"
    );
    let (primary_url, replica_url) = (primary.url("coopmart"), replica.url("coopmart"));
    let app = spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), primary_url);
        env.insert("DATABASE_READ_URL".into(), replica_url);
        env.insert("MIGRATE_ON_START".into(), "true".into());
        env.insert("SEARCH_REFRESH_MS".into(), "100".into());
    })
    .await;
    // no index is awaited for a database of the test's own: wait here
    coopmart_tests::search_ready(&app.state).await;

    let seller = app.user_token("seller@replica.test").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = app
        .listing(&seller, &org, json!({"title": "白城甜瓜 一号"}))
        .await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let browse = format!("/api/v1/listings?seller_id={org}");
    until(&app, &browse, Duration::from_secs(5), |t| {
        t == ["白城甜瓜 一号"]
    })
    .await;

    // Replay paused: the replica stands still while the primary moves on.
    replica.exec("postgres", "SELECT pg_wal_replay_pause()");
    let second = app
        .listing(&seller, &org, json!({"title": "洮南绿豆 二号"}))
        .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let r = app
        .patch_auth(
            &format!("/api/v1/listings/{first_id}"),
            &seller,
            &json!({"title": "白城甜瓜 改版"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // writes went to the primary; the replica has not seen them
    let in_primary = "SELECT count(*) FROM listings WHERE status = 'active'";
    assert_eq!(primary.count("coopmart", in_primary), 2);
    assert_eq!(replica.count("coopmart", in_primary), 1);

    // an anonymous buyer browses the replica: the old state
    for path in [browse.clone(), format!("/api/v1/storefronts/{org}")] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        let shown = if path.contains("storefronts") {
            json!({"items": v["listings"]})
        } else {
            v
        };
        assert_eq!(
            titles(&shown),
            ["白城甜瓜 一号"],
            "{path} is read from the replica"
        );
    }
    // the seller reads its own writes (the primary), in both views
    let mine = app.get_auth(&browse, &seller).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let mut own = titles(&mine.json());
    own.sort();
    assert_eq!(own, ["洮南绿豆 二号", "白城甜瓜 改版"]);
    let store = app
        .get_auth(&format!("/api/v1/storefronts/{org}"), &seller)
        .await
        .json();
    assert_eq!(store["listings"].as_array().unwrap().len(), 2);
    // a listing by id (what fills the cache) is read from the primary
    let r = app.get(&format!("/api/v1/listings/{second_id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["title"], "洮南绿豆 二号");
    let r = app.get(&format!("/api/v1/listings/{first_id}")).await;
    assert_eq!(r.json()["title"], "白城甜瓜 改版");

    // Replay resumed: the replica catches up, browsing shows the writes,
    // and the search engine (which follows the replica) finds them.
    replica.exec("postgres", "SELECT pg_wal_replay_resume()");
    until(&app, &browse, Duration::from_secs(5), |t| t.len() == 2).await;
    until(
        &app,
        "/api/v1/listings?q=改版",
        Duration::from_secs(5),
        |t| t == ["白城甜瓜 改版"],
    )
    .await;
    // A write waits for the replica to replay it before the engine polls:
    // the writer's next search shows it at once.
    let r = app
        .patch_auth(
            &format!("/api/v1/listings/{second_id}"),
            &seller,
            &json!({"title": "洮南绿豆 精选"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/api/v1/listings?q=精选").await.json();
    assert_eq!(
        titles(&r),
        ["洮南绿豆 精选"],
        "search shows the write at once"
    );

    // The replica stops: reads fall back to the primary, quickly.
    replica.stop();
    for _ in 0..5 {
        let started = Instant::now();
        let r = app.get(&browse).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(titles(&r.json()).len(), 2);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a fallback read took {:?}",
            started.elapsed()
        );
    }
    // writes made while it is down are read (from the primary) and searched
    app.listing(&seller, &org, json!({"title": "镇赉大米 三号"}))
        .await;
    until(&app, &browse, Duration::from_secs(2), |t| t.len() == 3).await;
    until(
        &app,
        "/api/v1/listings?q=大米",
        Duration::from_secs(3),
        |t| t == ["镇赉大米 三号"],
    )
    .await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);
}
