//! Health, readiness, the error model, request ids, OpenAPI, mail harness.

use std::time::Duration;

use coopmart_tests::{spawn_app, spawn_app_with};
use domain::mail::OutgoingMail;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_without_io() {
    // Postgres and Redis both unreachable: liveness must not care.
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            "postgres://x:y@127.0.0.1:1/none".into(),
        );
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:1/0".into());
    })
    .await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_ok_when_postgres_and_redis_answer() {
    let app = spawn_app().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(
        (&v["status"], &v["postgres"], &v["redis"]),
        (&json!("ok"), &json!("ok"), &json!("ok")),
        "{v}"
    );
    // the outbox's backlog is part of readiness
    assert!(v["outbox"]["pending_deliveries"].is_i64(), "{v}");
    assert!(v["outbox"]["undispatched_events"].is_i64(), "{v}");
}

#[tokio::test]
async fn readyz_degraded_when_only_redis_is_down() {
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:1/0".into());
    })
    .await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(
        (&v["status"], &v["postgres"], &v["redis"]),
        (&json!("degraded"), &json!("ok"), &json!("degraded")),
        "{v}"
    );
}

#[tokio::test]
async fn readyz_503_problem_when_postgres_is_down() {
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            "postgres://x:y@127.0.0.1:1/none".into(),
        );
        env.insert("DATABASE_CONNECT_TIMEOUT_MS".into(), "300".into());
    })
    .await;
    let r = app.get("/readyz").await;
    let body = r.assert_problem(503, "not_ready");
    assert_eq!(body["checks"]["postgres"], "down");
    assert_eq!(body["checks"]["redis"], "ok");
    assert!(
        !r.text.contains("127.0.0.1:1"),
        "leaks internals: {}",
        r.text
    );
}

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let app = spawn_app().await;
    app.get("/nope").await.assert_problem(404, "not_found");
    app.get("/api/v1/nope")
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let r = app.post_json("/healthz", &json!({})).await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"));
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let r = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "trace-abc.123"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc.123"));

    let r = app.get("/healthz").await;
    let generated = r.header("x-request-id").unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(generated).unwrap().get_version_num(),
        7
    );

    // Too long to be trusted: replaced, not echoed.
    let long = "a".repeat(200);
    let r = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", &long),
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some(long.as_str()));

    // Errors carry it too.
    let r = app
        .send(
            app.client
                .get(app.url("/nope"))
                .header("x-request-id", "err-1"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("err-1"));
}

#[tokio::test]
async fn openapi_document_is_served_and_matches_the_committed_file() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .expect("openapi/openapi.json exists; run `scripts/dev openapi`"),
    )
    .unwrap();
    assert_eq!(
        served.json(),
        committed,
        "openapi/openapi.json is stale: run `scripts/dev openapi` and commit"
    );
    assert_eq!(
        api::openapi::document_json().unwrap(),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .unwrap(),
        "openapi/openapi.json is stale: run `scripts/dev openapi` and commit"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_from_vendored_assets() {
    let app = spawn_app().await;
    let r = app.get("/docs/").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("swagger-ui"), "{}", r.text);
    let r = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(r.status, 200);
    assert!(r.text.len() > 100_000);
}

#[tokio::test]
async fn mailer_delivers_over_real_smtp() {
    let app = spawn_app().await;
    let mailer = app.state.mailer.clone();
    let mail = OutgoingMail {
        to: "li@example.com".into(),
        subject: "订单确认".into(),
        text_body: "您好，您的订单已确认。".into(),
        html_body: None,
    };
    tokio::task::spawn_blocking(move || mailer.send(&mail))
        .await
        .unwrap()
        .unwrap();
    let got = app
        .smtp
        .wait_for("li@example.com", Duration::from_secs(5))
        .await
        .expect("mail received");
    assert_eq!(got.from, "noreply@coopmart.test");
    assert!(
        got.body().contains("您好，您的订单已确认。"),
        "{}",
        got.data
    );
}

#[test]
fn env_example_parses_into_valid_settings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../.env.example");
    let pairs: std::collections::HashMap<String, String> = dotenvy::from_path_iter(path)
        .expect(".env.example exists")
        .map(|item| item.expect(".env.example parses"))
        .collect();
    let settings =
        api::config::Settings::from_lookup(&|k| pairs.get(k).cloned()).expect("valid settings");
    assert!(settings.bind_addr.ip().is_loopback());
    // The documented bootstrap admin must pass the password policy.
    let email =
        domain::identity::Email::parse(settings.auth.bootstrap_admin_email.as_deref().unwrap())
            .unwrap();
    let password = pairs["BOOTSTRAP_ADMIN_PASSWORD"].clone();
    assert!(domain::identity::Password::parse(&password, Some(&email), None).is_ok());
}

/// The README's walkthrough, pasted as a newcomer would (every `sh` block
/// after the two set-up commands), against a server with the demo data:
/// register, create a coop, let a farmer join, list produce, order, pay.
#[tokio::test]
async fn readme_walkthrough_runs() {
    let app = spawn_app_with(|env| {
        // the accounts the README uses are those of .env.example
        env.insert(
            "BOOTSTRAP_ADMIN_EMAIL".into(),
            "admin@coopmart.local".into(),
        );
        env.insert(
            "BOOTSTRAP_ADMIN_PASSWORD".into(),
            "Platform-Dev-2026-change-me".into(),
        );
    })
    .await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || api::seed::run(&state))
        .await
        .unwrap()
        .unwrap();
    // the demo catalog is in the search index (as after `scripts/dev run`)
    app.state.search_caught_up().await;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (line.trim_start().starts_with("```"), current.as_mut()) {
            (true, None) if line.trim() == "```sh" => current = Some(String::new()),
            (true, Some(_)) => blocks.extend(current.take()),
            (false, Some(b)) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    assert!(blocks[0].contains("scripts/dev run"), "{}", blocks[0]);
    let script: String = blocks[1..]
        .concat()
        .lines()
        // the placeholder credentials of the partner step cannot be pasted
        .filter(|l| !l.contains("cm_…:SECRET"))
        .map(|l| l.replace("API=http://127.0.0.1:8080", &format!("API={}", app.url(""))))
        .collect::<Vec<_>>()
        .join("\n");
    // one answer per line, so the output can be read back
    let script = format!("curl() {{ command curl \"$@\"; echo; }}\n{script}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("set -euo pipefail\n{script}"))
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let order = lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["number"].is_string())
        .unwrap_or_else(|| panic!("no order in the output:\n{stdout}"));
    assert_eq!(order["status"], "completed", "{order}");
    assert_eq!(
        order["items"][0]["unit_price_fen"], 6200,
        "tier price: {order}"
    );
    // 50 kg of chilled melons to Beijing: ¥12 + 49 × ¥6 + ¥15 cold chain
    assert_eq!(order["freight_fen"], 1200 + 49 * 600 + 1500, "{order}");
    assert_eq!(order["total_fen"], 62_000 + 32_100, "{order}");
    let quote = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["seller_orders"].is_array() && v["number"].is_null())
        .unwrap_or_else(|| panic!("no quote in the output:\n{stdout}"));
    assert_eq!(quote["total_fen"], order["total_fen"], "{quote}");
    let parcel = &order["seller_orders"][0]["shipments"][0];
    assert_eq!(parcel["tracking_no"], "9876543210123", "{order}");
    assert_eq!(parcel["events"][0]["type"], "hub_received", "{order}");
    assert_eq!(order["seller_orders"][0]["status"], "completed", "{order}");
    let json_lines: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect();
    let pinyin = json_lines
        .iter()
        .find(|v| v["facets"].is_object())
        .unwrap_or_else(|| panic!("no faceted search in the output:\n{stdout}"));
    assert!(
        pinyin["items"][0]["title"]
            .as_str()
            .unwrap()
            .contains("甜瓜"),
        "{pinyin}"
    );
    assert!(
        pinyin["facets"]["region"][0]["count"].as_u64().unwrap() > 0,
        "{pinyin}"
    );
    let suggest = json_lines
        .iter()
        .find(|v| v["items"][0]["text"].is_string() && v["items"][0]["count"].is_number())
        .unwrap_or_else(|| panic!("no suggestions in the output:\n{stdout}"));
    assert!(
        suggest["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["text"] == "甜瓜"),
        "{suggest}"
    );
    let run = json_lines
        .iter()
        .find(|v| v["statement_count"].is_number())
        .unwrap_or_else(|| panic!("no settlement in the output:\n{stdout}"));
    assert_eq!(run["statement_count"], 1, "{run}");
    let statement = json_lines
        .iter()
        .find(|v| v["items"][0]["net_payable_fen"].is_number())
        .unwrap_or_else(|| panic!("no statement in the output:\n{stdout}"));
    let st = &statement["items"][0];
    assert_eq!(st["gross_fen"], 94_100, "{statement}");
    // one box (62.00) refunded after completion gave back 4 % of it
    assert_eq!(st["refunds_fen"], 6_200, "{statement}");
    assert_eq!(st["commission_fen"], 2_480 - 248, "{statement}");
    assert_eq!(
        st["refunds"][0]["commission_returned_fen"], 248,
        "{statement}"
    );
    assert_eq!(
        st["net_payable_fen"],
        94_100 - 2_480 - (6_200 - 248),
        "{statement}"
    );
    assert!(stdout.contains(r#""result":"refunded""#), "{stdout}");
    let tb = json_lines
        .iter()
        .find(|v| v["total_debits_fen"].is_number())
        .unwrap_or_else(|| panic!("no trial balance in the output:\n{stdout}"));
    assert_eq!(tb["total_debits_fen"], tb["total_credits_fen"], "{tb}");
    // the trace: the public chain names the listing and the passed
    // inspection, and the phone page shows it
    let trace = json_lines
        .iter()
        .find(|v| v["events"].is_array() && v["trace_url"].is_string())
        .unwrap_or_else(|| panic!("no trace in the output:\n{stdout}"));
    assert_eq!(trace["inspection"]["result"], "pass", "{trace}");
    assert_eq!(trace["listings"][0]["title"], "合心甜瓜 5kg箱", "{trace}");
    assert!(stdout.lines().any(|l| l == "检测合格"), "{stdout}");
    // the walkthrough's seller in the sales figures: the melons sold and
    // the box refunded
    let stats = json_lines
        .iter()
        .find(|v| v["group_by"] == "seller")
        .unwrap_or_else(|| panic!("no sales figures in the output:\n{stdout}"));
    let melons = stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["gross_fen"] == 62_000)
        .unwrap_or_else(|| panic!("the melon coop is not in {stats}"));
    assert_eq!(melons["units"], 10, "{stats}");
    assert_eq!(melons["refunds_fen"], 6_200, "{stats}");
    let alerts = json_lines
        .iter()
        .find(|v| {
            v["items"].is_array()
                && v["next_cursor"].is_null()
                && v["items"][0]["sell_through"].is_number()
        })
        .unwrap_or_else(|| panic!("no unsalable alerts in the output:\n{stdout}"));
    assert!(alerts["items"].as_array().unwrap().len() <= 3, "{alerts}");
    assert!(stdout.contains(r#""notify_status":200"#), "{stdout}");
    assert!(stdout.contains(r#""client_secret""#), "{stdout}");
}
