//! Test harness: every test gets the real HTTP server on port 0, its own
//! Postgres database cloned from a migrated template (dropped afterwards),
//! its own Redis key space, and a real in-process SMTP server it can read
//! mails from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod instance;
pub mod logs;
pub mod pg;
pub mod smtp;
pub mod webhook_sink;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

use actix_web::web;
use api::config::Settings;
use api::state::AppState;
use diesel::pg::PgConnection;
use diesel::{sql_query, Connection, RunQueryDsl};
use reqwest::header::HeaderMap;
use serde_json::Value;
use uuid::Uuid;

pub use smtp::{ReceivedMail, SmtpSink};

const TEMPLATE_DB: &str = "coopmart_template";
pub const TEST_JWT_KEY: &str = "test-signing-key-0123456789abcdef-0123456789";
pub const ADMIN_EMAIL: &str = "admin@coopmart.test";
pub const ADMIN_PASSWORD: &str = "Kx9-platform-secret-2026";

/// `DATABASE_URL` as set by `scripts/dev test`: a superuser on the private
/// test instance. The database name in it is replaced per test.
fn base_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at the dev Postgres; run the tests with `scripts/dev test`",
    )
}

fn url_for(db: &str) -> String {
    let base = base_url();
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database name");
    format!("{prefix}/{db}")
}

fn admin() -> PgConnection {
    PgConnection::establish(&url_for("postgres")).expect("connect to the postgres database")
}

/// Migrates the template database once per test process.
fn ensure_template() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let mut conn = admin();
        sql_query("SELECT pg_advisory_lock(4242)")
            .execute(&mut conn)
            .unwrap();
        let exists = sql_query(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE_DB}'"
        ))
        .execute(&mut conn)
        .unwrap()
            > 0;
        if !exists {
            sql_query(format!("CREATE DATABASE {TEMPLATE_DB}"))
                .execute(&mut conn)
                .unwrap();
        }
        {
            let url = secrecy::SecretString::from(url_for(TEMPLATE_DB));
            let mut tpl = infra::db::connect(&url).unwrap();
            infra::db::run_migrations(&mut tpl).unwrap();
        }
        sql_query("SELECT pg_advisory_unlock(4242)")
            .execute(&mut conn)
            .unwrap();
    });
}

/// A database of its own for one test, dropped on `Drop`.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> Self {
        ensure_template();
        let name = format!("coopmart_test_{}", Uuid::now_v7().simple());
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
            .execute(&mut admin())
            .unwrap();
        let url = url_for(&name);
        Self { name, url }
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }

    /// Runs `sql` (no result) against this database.
    pub fn exec(&self, sql: &str) {
        sql_query(sql).execute(&mut self.connect()).unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin());
    }
}

/// HTTP access to one running API: the helpers every test uses.
pub struct Http {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

/// The in-process server of one test (its HTTP helpers through `Deref`).
pub struct TestApp {
    pub http: Http,
    pub smtp: SmtpSink,
    pub state: web::Data<AppState>,
    pub redis_prefix: String,
    server: actix_web::dev::ServerHandle,
    pub db: TestDb,
}

/// Settings of a test app; tests override entries before spawning.
pub fn test_env(db: &TestDb, smtp: &SmtpSink, redis_prefix: &str) -> HashMap<String, String> {
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:56379/1".into());
    [
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("HTTP_WORKERS", "2".to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("DATABASE_POOL_SIZE", "8".to_owned()),
        ("DATABASE_CONNECT_TIMEOUT_MS", "2000".to_owned()),
        ("REDIS_URL", redis),
        ("REDIS_KEY_PREFIX", redis_prefix.to_owned()),
        ("MAIL_TRANSPORT", "smtp".to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp.port().to_string()),
        ("MAIL_FROM", "coopmart <noreply@coopmart.test>".to_owned()),
        ("BODY_LIMIT_BYTES", "65536".to_owned()),
        ("MIGRATE_ON_START", "false".to_owned()),
        ("SHUTDOWN_TIMEOUT_SECS", "1".to_owned()),
        ("JWT_KEYS", format!("test-1:{TEST_JWT_KEY}")),
        ("JWT_ACTIVE_KID", "test-1".to_owned()),
        ("BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
        ("BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
        ("RATE_LIMIT_PER_IP", "1000".to_owned()),
        ("RATE_LIMIT_PER_ACCOUNT", "1000".to_owned()),
        // the outbox worker: quick rounds and retries, webhooks to the test's
        // own loopback receivers
        ("OUTBOX_POLL_MS", "50".to_owned()),
        ("OUTBOX_RETRY_BASE_MS", "100".to_owned()),
        ("OUTBOX_RETRY_MAX_SECS", "1".to_owned()),
        ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("WEBHOOK_TIMEOUT_MS", "2000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Spawns the app with default test settings.
/// Waits until the instance's search index is built (as a load balancer
/// waits for `/readyz`).
pub async fn search_ready(state: &api::state::AppState) {
    for _ in 0..600 {
        if state.search.ready() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the search index was not built within 30 s");
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `tweak` edits its environment.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    logs::capture();
    let db = TestDb::create();
    let smtp = SmtpSink::start();
    let redis_prefix = format!("test:{}:", Uuid::now_v7().simple());
    let mut env = test_env(&db, &smtp, &redis_prefix);
    let own_db = env.get("DATABASE_URL").cloned();
    tweak(&mut env);
    let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("test settings");
    let app = api::startup::build(settings).expect("build app");
    let server = app.server.handle();
    tokio::spawn(app.server);
    // (a test that points the app at an unreachable database gets no index)
    if env.get("DATABASE_URL") == own_db.as_ref() {
        search_ready(&app.state).await;
    }
    TestApp {
        http: Http::new(app.addr),
        smtp,
        state: app.state,
        redis_prefix,
        server,
        db,
    }
}

impl Http {
    /// A partner created by `admin` with `scopes`, and a client-credentials
    /// token for it: (partner id, token).
    pub async fn partner(&self, admin: &str, name: &str, scopes: Value) -> (String, String) {
        let p = self
            .post_auth(
                "/api/v1/partners",
                admin,
                &serde_json::json!({"name": name, "scopes": scopes}),
            )
            .await
            .json();
        let token = self
            .send(
                self.client
                    .post(self.url("/api/v1/auth/token"))
                    .basic_auth(
                        p["client_id"].as_str().unwrap(),
                        p["client_secret"].as_str(),
                    )
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await
            .json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (p["id"].as_str().unwrap().to_owned(), token)
    }
}

impl TestApp {
    /// Another API instance (its own pools and background workers) on this
    /// app's database, Redis prefix and SMTP sink; `tweak` adjusts its
    /// settings. Returns its address; it runs until the test ends.
    pub async fn another_instance(
        &self,
        tweak: impl FnOnce(&mut HashMap<String, String>),
    ) -> std::net::SocketAddr {
        let mut env = test_env(&self.db, &self.smtp, &self.redis_prefix);
        tweak(&mut env);
        let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("test settings");
        let app = api::startup::build(settings).expect("build app");
        tokio::spawn(app.server);
        search_ready(&app.state).await;
        app.addr
    }
}

/// A response read whole: status, headers and body (JSON when it parses).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub async fn from(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Self {
            status,
            headers,
            text,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json body with `status` and `code`; returns it.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {}", self.text);
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string());
        assert_eq!(body["type"], format!("urn:coopmart:problem:{code}"));
        body
    }
}

impl Http {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        Reply::from(
            self.client
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        Reply::from(req.send().await.unwrap()).await
    }
}

impl Http {
    /// Registers an account with an e-mail; returns its JSON.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let r = self
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()
    }

    /// Password grant (JSON body).
    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/token",
            &serde_json::json!({"grant_type": "password", "username": username, "password": password}),
        )
        .await
    }

    /// Registers and logs in; returns the access token.
    pub async fn user_token(&self, email: &str) -> String {
        self.register(email, "Tomato-Field-42").await;
        let r = self.login(email, "Tomato-Field-42").await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// The bootstrapped platform admin's access token.
    pub async fn admin_token(&self) -> String {
        let r = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub async fn patch_auth(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .patch(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub async fn put_auth(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .put(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }
}

impl TestDb {
    /// Runs a scalar SQL count against this test's database.
    pub fn count(&self, sql: &str) -> i64 {
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.connect();
        sql_query(sql).get_result::<Count>(&mut conn).unwrap().n
    }

    /// Runs SQL returning one text column `v` against this test's database.
    pub fn db_strings(&self, sql: &str) -> Vec<String> {
        use diesel::sql_types::Text;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            v: String,
        }
        let mut conn = self.connect();
        sql_query(sql)
            .load::<Row>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| r.v)
            .collect()
    }
}

impl TestApp {
    pub fn count(&self, sql: &str) -> i64 {
        self.db.count(sql)
    }

    pub fn db_strings(&self, sql: &str) -> Vec<String> {
        self.db.db_strings(sql)
    }
}

impl std::ops::Deref for TestApp {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped WITH (FORCE) right after.
        let handle = self.server.clone();
        drop(tokio::spawn(async move { handle.stop(false).await }));
    }
}

/// A fresh, checksum-valid unified social credit code starting with `prefix`
/// (`93` for farmer cooperatives, `91` for companies).
pub fn credit_code(prefix: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let seed = Uuid::now_v7().as_u128() ^ Uuid::new_v4().as_u128();
    let mut body = prefix.to_owned();
    let mut n = seed;
    while body.len() < 17 {
        body.push(char::from(CHARS[(n % 31) as usize]));
        n /= 31;
    }
    let check = domain::coop::CreditCode::check_char(&body).unwrap();
    format!("{body}{check}")
}

impl Http {
    /// Creates an organization as `token`'s user; returns its JSON.
    pub async fn create_org(&self, token: &str, kind: &str, parent: Option<&str>) -> Value {
        let prefix = if kind == "farmer_coop" || kind == "coop_union" {
            "93"
        } else {
            "91"
        };
        let r = self
            .post_auth(
                "/api/v1/organizations",
                token,
                &serde_json::json!({
                    "kind": kind, "name": format!("测试{kind}"), "credit_code": credit_code(prefix),
                    "region_code": "220106", "parent_id": parent, "contact_email": "org@example.com"
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()
    }

    /// Registers a user, has them apply to `org` (as a farmer or not) and
    /// returns (user token, application id).
    pub async fn apply_as_new_user(
        &self,
        org: &str,
        email: &str,
        is_farmer: bool,
    ) -> (String, String) {
        let token = self.user_token(email).await;
        let r = self
            .post_auth(
                &format!("/api/v1/organizations/{org}/membership-applications"),
                &token,
                &serde_json::json!({"applicant_type": "user", "is_farmer": is_farmer}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (token, r.json()["id"].as_str().unwrap().to_owned())
    }

    /// Approves an application as `admin`; returns the reply.
    pub async fn approve(&self, admin: &str, org: &str, app: &str) -> Reply {
        self.post_auth(
            &format!("/api/v1/organizations/{org}/membership-applications/{app}/approve"),
            admin,
            &serde_json::json!({}),
        )
        .await
    }

    /// Adds a member (new user) and returns (user token, member id).
    pub async fn add_member(
        &self,
        admin: &str,
        org: &str,
        email: &str,
        is_farmer: bool,
    ) -> (String, String) {
        let (token, app) = self.apply_as_new_user(org, email, is_farmer).await;
        let r = self.approve(admin, org, &app).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (token, r.json()["member_id"].as_str().unwrap().to_owned())
    }
}

/// A private redis-server for tests that stop, kill and restart Redis
/// without disturbing the shared one.
pub struct RedisProcess {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisProcess {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self { port, child: None };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/dev installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("redis-server did not start on {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            std::process::Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status()
                .unwrap();
        }
    }

    /// SIGKILL: the server and its data are gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGSTOP: the server keeps its data but answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Keys matching `pattern` (through redis-cli).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--raw", "keys", pattern])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
    }
}

impl Http {
    /// Id of the first sub-category of the top-level category `code`.
    pub async fn category(&self, code: &str) -> String {
        let cats = self.get("/api/v1/categories").await.json();
        let top = cats["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()
            .clone();
        top["children"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Creates and publishes a listing for `seller`, `extra` overriding the
    /// defaults; returns its JSON.
    pub async fn listing(&self, token: &str, seller: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({
            "seller_id": seller, "title": "合心甜瓜 5kg箱", "category_id": self.category("fruit").await,
            "variety": "羊角蜜", "grade": "grade_1", "unit_label": "5kg箱", "unit_weight_grams": 5000,
            "price_fen": 6800, "tier_prices": [{"min_qty": 10, "price_fen": 6200}, {"min_qty": 50, "price_fen": 5800}],
            "stock": 300, "origin_region_code": "220106", "storage": "chilled", "sale_mode": "spot"
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.post_auth("/api/v1/listings", token, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let r = self
            .post_auth(
                &format!("/api/v1/listings/{id}/publish"),
                token,
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
}

/// `items` of an order body: `[(listing id, quantity)]`.
pub fn order_lines(lines: &[(&str, i32)]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|(id, q)| serde_json::json!({"listing_id": id, "quantity": q}))
            .collect(),
    )
}

impl Http {
    /// `POST /orders` with an Idempotency-Key.
    pub async fn place_order(&self, token: &str, key: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url("/api/v1/orders"))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(body),
        )
        .await
    }

    /// Pays an order in the sandbox; returns the sandbox's answer.
    /// Moves seller order `so` through `steps` (e.g. accept, ship,
    /// deliver) as `seller`, each answered 200.
    pub async fn seller_order_through(&self, seller: &str, so: &str, steps: &[&str]) {
        for step in steps {
            let body = if *step == "ship" {
                serde_json::json!({"carrier": "邮政", "tracking_no": "EMS1"})
            } else {
                serde_json::json!({})
            };
            let r = self
                .post_auth(&format!("/api/v1/seller-orders/{so}/{step}"), seller, &body)
                .await;
            assert_eq!(r.status, 200, "{step}: {}", r.text);
        }
    }

    pub async fn pay(&self, token: &str, order_id: &str) -> Value {
        let p = self
            .post_auth(
                &format!("/api/v1/orders/{order_id}/payments"),
                token,
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        let pid = p.json()["id"].as_str().unwrap().to_owned();
        let r = self
            .post_json(
                &format!("/api/v1/sandbox/payments/{pid}/succeed"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
}

/// Debian's Chromium (installed by scripts/dev), headless at a phone's size
/// (390 × 844) with a fresh profile and no background traffic: the command,
/// to which the caller adds its flags and URL, and the profile folder to
/// remove afterwards.
pub fn headless_chromium() -> (std::process::Command, std::path::PathBuf) {
    let exe = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("Chromium not found: scripts/dev installs Debian's chromium package");
    let profile = std::env::temp_dir().join(format!("coopmart-chromium-{}", Uuid::now_v7()));
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=390,844",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    (cmd, profile)
}
