//! CORS in a real browser: headless Chromium (Debian's package, installed by
//! scripts/dev) opens a page served from another loopback origin; the page
//! reads a listing, logs in and places an order with `fetch`, and reports
//! what it saw back to the server that served it. A page from an origin
//! that is not on `CORS_ALLOWED_ORIGINS` can do none of it.

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use coopmart_tests::spawn_app_with;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const PASSWORD: &str = "Tomato-Field-42";

/// The page: three fetches against the API, then a report to its own origin.
fn page(api: &str, listing: &str, user: &str, tag: &str) -> String {
    let order = json!({"items": [{"listing_id": listing, "quantity": 2}],
        "delivery": {"method": "home_delivery", "address": {"recipient": "王芳",
        "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}}});
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>storefront</title><script>
const API = {api:?};
async function step(name, f) {{
  try {{ return Object.assign({{name, ok: true}}, await f()); }}
  catch (e) {{ return {{name, ok: false, error: String(e)}}; }}
}}
(async () => {{
  const out = [];
  out.push(await step("listing", async () => {{
    const r = await fetch(API + "/api/v1/listings/{listing}");
    const j = await r.json();
    return {{status: r.status, title: j.title, etag: r.headers.get("ETag"),
             request_id: r.headers.get("X-Request-Id")}};
  }}));
  let token = "";
  out.push(await step("token", async () => {{
    const r = await fetch(API + "/api/v1/auth/token", {{method: "POST",
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{grant_type: "password", username: {user:?}, password: {PASSWORD:?}}})}});
    const j = await r.json();
    token = j.access_token || "";
    return {{status: r.status}};
  }}));
  out.push(await step("order", async () => {{
    const r = await fetch(API + "/api/v1/orders", {{method: "POST",
      headers: {{"Content-Type": "application/json", "Authorization": "Bearer " + token,
                "Idempotency-Key": "browser-{tag}"}},
      body: JSON.stringify({order})}});
    const j = await r.json();
    return {{status: r.status, id: j.id, total_fen: j.total_fen,
             request_id: r.headers.get("X-Request-Id")}};
  }}));
  await fetch("/report", {{method: "POST", body: JSON.stringify(out)}});
}})();
</script>"#
    )
}

/// Serves `html` at `/` from `listener` and forwards each `/report` body.
fn page_server(listener: TcpListener, html: String, tx: mpsc::UnboundedSender<String>) {
    let server = HttpServer::new(move || {
        let html = html.clone();
        let tx = tx.clone();
        App::new()
            .route(
                "/",
                web::get().to(move || {
                    let html = html.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(html)
                    }
                }),
            )
            .route(
                "/report",
                web::post().to(move |body: String| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(body);
                        HttpResponse::NoContent().finish()
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
}

struct Browser(Child, std::path::PathBuf);

impl Browser {
    fn open(url: &str) -> Self {
        let (mut cmd, profile) = coopmart_tests::headless_chromium();
        let child = cmd
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        Self(child, profile)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

async fn visit(url: &str, rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<Value> {
    let _browser = Browser::open(url);
    let report = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("the page reports within 60 s")
        .expect("a report");
    serde_json::from_str(&report).unwrap()
}

fn step<'a>(report: &'a [Value], name: &str) -> &'a Value {
    report.iter().find(|s| s["name"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_origin_buys_in_the_browser_and_another_origin_cannot() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let denied = TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_origin = format!("http://{}", allowed.local_addr().unwrap());
    let denied_origin = format!("http://{}", denied.local_addr().unwrap());
    let origins = format!("https://shop.example,{allowed_origin}");
    let app = spawn_app_with(move |env| {
        env.insert("CORS_ALLOWED_ORIGINS".into(), origins);
    })
    .await;
    let seller = app.user_token("seller@browser.test").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listing = app.listing(&seller, &org, json!({"stock": 50})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = "buyer@browser.test";
    app.register(user, PASSWORD).await;
    let api = format!("http://{}", app.addr);

    let (tx, mut rx) = mpsc::unbounded_channel();
    page_server(allowed, page(&api, &listing, user, "allowed"), tx.clone());
    page_server(denied, page(&api, &listing, user, "denied"), tx);

    let report = visit(&format!("{allowed_origin}/"), &mut rx).await;
    let got = step(&report, "listing");
    assert_eq!(got["ok"], true, "{report:?}");
    assert_eq!(got["status"], 200);
    assert_eq!(got["title"], "合心甜瓜 5kg箱");
    assert!(got["etag"].is_string(), "ETag is exposed: {got}");
    assert!(
        got["request_id"].is_string(),
        "X-Request-Id is exposed: {got}"
    );
    assert_eq!(step(&report, "token")["status"], 200, "{report:?}");
    let order = step(&report, "order");
    assert_eq!(order["status"], 201, "{report:?}");
    assert_eq!(order["total_fen"], 2 * 6800);
    let order_id = order["id"].as_str().unwrap().to_owned();

    let report = visit(&format!("{denied_origin}/"), &mut rx).await;
    for name in ["listing", "token", "order"] {
        let s = step(&report, name);
        assert_eq!(s["ok"], false, "{name} must fail from {denied_origin}: {s}");
        assert!(s["error"].as_str().unwrap().contains("TypeError"), "{s}");
    }
    // The preflight failed, so the order was never sent: only the allowed
    // page's order exists.
    let ids: Vec<String> = app.db_strings("SELECT id::text AS v FROM orders");
    assert_eq!(ids, vec![order_id]);
}

#[tokio::test]
async fn preflight_lists_methods_and_headers_and_unlisted_origins_get_nothing() {
    let app = spawn_app_with(|env| {
        env.insert("CORS_ALLOWED_ORIGINS".into(), "https://shop.example".into());
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/orders"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
    };
    let r = app.send(preflight("https://shop.example")).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let methods = r.header("access-control-allow-methods").unwrap();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
        "if-none-match",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    assert!(r.header("x-request-id").is_some());

    // An origin not on the list: no CORS headers on the preflight…
    let r = app.send(preflight("https://evil.example")).await;
    assert!(
        r.header("access-control-allow-origin").is_none(),
        "{:?}",
        r.headers
    );
    // …nor on an ordinary response, which still works for non-browsers.
    let r = app
        .send(
            app.client
                .get(app.url("/api/v1/categories"))
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    // A listed origin's ordinary response exposes the headers clients read,
    // also on errors.
    let r = app
        .send(
            app.client
                .get(app.url("/api/v1/nope"))
                .header("origin", "https://shop.example"),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let exposed = r.header("access-control-expose-headers").unwrap();
    for h in ["ETag", "X-Request-Id", "Retry-After", "Idempotent-Replayed"] {
        assert!(exposed.contains(h), "{exposed}");
    }
}

#[tokio::test]
async fn without_an_allow_list_there_are_no_cors_headers() {
    let app = coopmart_tests::spawn_app().await;
    let r = app
        .send(
            app.client
                .get(app.url("/api/v1/categories"))
                .header("origin", "https://shop.example"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/listings"))
                .header("origin", "https://shop.example")
                .header("access-control-request-method", "GET"),
        )
        .await;
    // No CORS: OPTIONS is not a method of the route.
    r.assert_problem(405, "method_not_allowed");
}
