//! Identity and access through the HTTP API.

use std::time::Duration;

use base64::Engine;
use coopmart_tests::{logs, spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, TEST_JWT_KEY};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const PASSWORD: &str = "Tomato-Field-42";

#[tokio::test]
async fn register_login_and_me() {
    let app = spawn_app().await;
    let user = app.register("Li.Ming@Example.com", PASSWORD).await;
    assert_eq!(user["email"], "li.ming@example.com");
    assert_eq!(user["display_name"], "li.ming");
    assert!(user["id"].is_string() && user["created_at"].is_string());
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let r = app.login("li.ming@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let tokens = r.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 43);

    let me = app
        .get_auth("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["id"], user["id"]);
    assert_eq!(me.json()["roles"], json!(["buyer"]));
}

#[tokio::test]
async fn register_with_phone_and_login_with_a_form_body() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"phone": "+86 139-1234-5678", "password": PASSWORD, "display_name": "王芳"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["phone"], "13912345678");
    assert_eq!(r.json()["display_name"], "王芳");
    let r = app
        .send(app.client.post(app.url("/api/v1/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", "13912345678"),
            ("password", PASSWORD),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn invalid_registration_lists_every_field_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.count("SELECT count(*) AS n FROM users");
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "not-an-email", "phone": "12345", "password": "short"}),
        )
        .await;
    let body = r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "phone", "password"]);
    assert_eq!(app.count("SELECT count(*) AS n FROM users"), before);
}

#[tokio::test]
async fn duplicate_account_is_409() {
    let app = spawn_app().await;
    app.register("dup@example.com", PASSWORD).await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "DUP@example.com", "password": PASSWORD}),
        )
        .await;
    r.assert_problem(409, "account_exists");
}

#[tokio::test]
async fn actix_errors_are_problems() {
    let app = spawn_app().await;
    // malformed JSON
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    r.assert_problem(400, "malformed_json");
    // valid JSON, wrong shape
    let r = app
        .post_json("/api/v1/auth/register", &json!({"email": "a@b.cn"}))
        .await;
    let body = r.assert_problem(422, "validation_failed");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("password"));
    // wrong content type
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
    r.assert_problem(415, "unsupported_media_type");
    // body over BODY_LIMIT_BYTES (64 KiB in tests)
    let big = json!({"email": "a@b.cn", "password": "x".repeat(70_000)});
    app.post_json("/api/v1/auth/register", &big)
        .await
        .assert_problem(413, "payload_too_large");
    // bad path parameter
    let admin = app.admin_token().await;
    app.get_auth("/api/v1/partners/not-a-uuid", &admin)
        .await
        .assert_problem(400, "invalid_path_parameter");
    // bad query parameter
    app.get_auth("/api/v1/audit-log?limit=lots", &admin)
        .await
        .assert_problem(400, "invalid_query");
    // method not allowed on an API route
    let r = app.send(app.client.delete(app.url("/api/v1/me"))).await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"));
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn sign(claims: &Value, key: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
}

fn claims(sub: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": "coopmart", "aud": "coopmart-api", "sub": sub, "iat": now, "exp": now + exp_offset,
           "jti": "t-1", "typ": "user", "roles": ["buyer", "platform_admin"]})
}

#[tokio::test]
async fn forged_and_broken_tokens_are_401() {
    let app = spawn_app().await;
    let user = app.register("victim@example.com", PASSWORD).await;
    let sub = user["id"].as_str().unwrap();

    // Control: a token built the same way with the right key works.
    let good = sign(&claims(sub, 600), TEST_JWT_KEY, "test-1");
    assert_eq!(app.get_auth("/api/v1/me", &good).await.status, 200);

    let mut bad: Vec<(&str, String)> = Vec::new();
    // alg: none, no signature
    bad.push((
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT", "kid": "test-1"})),
            b64(&claims(sub, 600))
        ),
    ));
    // signed with another key
    bad.push((
        "wrong key",
        sign(
            &claims(sub, 600),
            "another-key-another-key-another-key-0000",
            "test-1",
        ),
    ));
    // unknown key id
    bad.push(("unknown kid", sign(&claims(sub, 600), TEST_JWT_KEY, "nope")));
    // expired
    bad.push(("expired", sign(&claims(sub, -5), TEST_JWT_KEY, "test-1")));
    // wrong audience
    let mut c = claims(sub, 600);
    c["aud"] = json!("another-api");
    bad.push(("wrong aud", sign(&c, TEST_JWT_KEY, "test-1")));
    // wrong issuer
    let mut c = claims(sub, 600);
    c["iss"] = json!("someone-else");
    bad.push(("wrong iss", sign(&c, TEST_JWT_KEY, "test-1")));
    // missing exp
    let mut c = claims(sub, 600);
    c.as_object_mut().unwrap().remove("exp");
    bad.push(("missing exp", sign(&c, TEST_JWT_KEY, "test-1")));
    // HS384 instead of the pinned HS256
    let mut h = Header::new(Algorithm::HS384);
    h.kid = Some("test-1".into());
    bad.push((
        "hs384",
        jsonwebtoken::encode(
            &h,
            &claims(sub, 600),
            &EncodingKey::from_secret(TEST_JWT_KEY.as_bytes()),
        )
        .unwrap(),
    ));
    // tampered payload: a real token's payload swapped for one claiming admin
    let r = app.login("victim@example.com", PASSWORD).await;
    let real = r.json()["access_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = real.split('.').collect();
    bad.push((
        "tampered",
        format!("{}.{}.{}", parts[0], b64(&claims(sub, 6000)), parts[2]),
    ));
    bad.push(("garbage", "not.a.jwt".into()));

    for (name, token) in bad {
        let r = app.get_auth("/api/v1/me", &token).await;
        assert_eq!(r.status, 401, "{name}: {}", r.text);
        r.assert_problem(401, "unauthorized");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // No token at all
    app.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthorized");
    // The real token still works.
    assert_eq!(app.get_auth("/api/v1/me", &real).await.status, 200);
}

async fn refresh(app: &TestApp, token: &str) -> coopmart_tests::Reply {
    app.post_json(
        "/api/v1/auth/token",
        &json!({"grant_type": "refresh_token", "refresh_token": token}),
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    app.register("rot@example.com", PASSWORD).await;
    let first = app.login("rot@example.com", PASSWORD).await.json();
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = refresh(&app, r1).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let r2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get_auth(
            "/api/v1/me",
            second.json()["access_token"].as_str().unwrap()
        )
        .await
        .status,
        200
    );

    // r1 was rotated: presenting it again is theft (or a bug) → family revoked.
    let reused = refresh(&app, r1).await;
    let body = reused.assert_problem(400, "invalid_grant");
    assert_eq!(body["error"], "invalid_grant");
    // ... so the legitimate newest token is dead too.
    refresh(&app, &r2)
        .await
        .assert_problem(400, "invalid_grant");
    // A separate login (another family) is unaffected.
    let other = app.login("rot@example.com", PASSWORD).await.json();
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );

    let admin = app.admin_token().await;
    let log = app
        .get_auth("/api/v1/audit-log?action=auth.token_family_revoked", &admin)
        .await
        .json();
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["items"][0]["details"]["reason"], "refresh_token_reuse");
}

#[tokio::test]
async fn concurrent_refresh_with_one_token_rotates_once() {
    let app = spawn_app().await;
    app.register("race@example.com", PASSWORD).await;
    let tokens = app.login("race@example.com", PASSWORD).await.json();
    let r1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let results = futures_util::future::join_all((0..12).map(|_| refresh(&app, &r1))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "exactly one concurrent use may rotate: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| r.json()["code"] == "invalid_grant"));
    // Rotated once: 2 rows in the family; the reuse revoked both.
    assert_eq!(app.count("SELECT count(*) AS n FROM refresh_tokens"), 2);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL"),
        0
    );
}

#[tokio::test]
async fn revoke_logs_out_and_ignores_unknown_tokens() {
    let app = spawn_app().await;
    app.register("bye@example.com", PASSWORD).await;
    let tokens = app.login("bye@example.com", PASSWORD).await.json();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/revoke"))
                .form(&[("token", refresh_token)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    refresh(&app, refresh_token)
        .await
        .assert_problem(400, "invalid_grant");
    let r = app
        .post_json("/api/v1/auth/revoke", &json!({"token": "never-issued"}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn token_endpoint_oauth_errors() {
    let app = spawn_app().await;
    app.register("oauth@example.com", PASSWORD).await;
    let r = app.login("oauth@example.com", "wrong-passw0rd").await;
    let body = r.assert_problem(400, "invalid_grant");
    assert_eq!(body["error"], "invalid_grant");
    app.login("nobody@example.com", PASSWORD)
        .await
        .assert_problem(400, "invalid_grant");
    app.post_json("/api/v1/auth/token", &json!({"grant_type": "magic"}))
        .await
        .assert_problem(400, "unsupported_grant_type");
    app.post_json("/api/v1/auth/token", &json!({"grant_type": "password"}))
        .await
        .assert_problem(400, "invalid_request");
    app.post_json(
        "/api/v1/auth/token",
        &json!({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}),
    )
    .await
    .assert_problem(401, "invalid_client");
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("content-type", "text/plain")
                .body("x"),
        )
        .await;
    r.assert_problem(415, "unsupported_media_type");

    // Failed logins are audited with the caller's IP.
    let admin = app.admin_token().await;
    let log = app
        .get_auth("/api/v1/audit-log?action=auth.login_failed", &admin)
        .await
        .json();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[0]["ip"], "127.0.0.1");
    assert!(items[0]["request_id"].is_string());
}

#[tokio::test]
async fn rate_limit_per_ip_triggers_and_recovers() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_IP".into(), "3".into());
        env.insert("RATE_LIMIT_WINDOW_SECS".into(), "2".into());
    })
    .await;
    // Invalid registrations are cheap (no hashing) but still count.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": format!("rl{i}@example.com"), "password": "short"}),
            )
            .await;
        statuses.push(r.status);
    }
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "rl-ok@example.com", "password": PASSWORD}),
        )
        .await;
    statuses.push(r.status);
    assert_eq!(statuses, [422, 422, 422, 429]);
    r.assert_problem(429, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // The refused request wrote nothing.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE email = 'rl-ok@example.com'"),
        0
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "rl-after@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "recovered after the window: {}", r.text);
}

#[tokio::test]
async fn rate_limit_per_account_on_token_endpoint() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_ACCOUNT".into(), "2".into());
        env.insert("RATE_LIMIT_WINDOW_SECS".into(), "30".into());
    })
    .await;
    app.register("target@example.com", PASSWORD).await;
    app.register("other@example.com", PASSWORD).await;
    assert_eq!(
        app.login("target@example.com", "wrong-passw0rd")
            .await
            .status,
        400
    );
    assert_eq!(
        app.login("TARGET@example.com", "wrong-passw0rd")
            .await
            .status,
        400
    );
    // Third attempt on the same account, even with the right password: 429.
    let r = app.login("target@example.com", PASSWORD).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() <= 30);
    // Another account from the same IP is fine.
    assert_eq!(app.login("other@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn rate_limit_is_shared_between_instances_through_redis() {
    let a = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_ACCOUNT".into(), "2".into());
        env.insert("RATE_LIMIT_WINDOW_SECS".into(), "30".into());
    })
    .await;
    let prefix = a.redis_prefix.clone();
    let b = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_ACCOUNT".into(), "2".into());
        env.insert("RATE_LIMIT_WINDOW_SECS".into(), "30".into());
        env.insert("REDIS_KEY_PREFIX".into(), prefix);
    })
    .await;
    assert_eq!(a.login("shared@example.com", PASSWORD).await.status, 400);
    assert_eq!(a.login("shared@example.com", PASSWORD).await.status, 400);
    b.login("shared@example.com", PASSWORD)
        .await
        .assert_problem(429, "rate_limited");
}

#[tokio::test]
async fn rate_limit_falls_back_in_process_when_redis_is_down() {
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:1/0".into());
        env.insert("RATE_LIMIT_PER_ACCOUNT".into(), "2".into());
        env.insert("RATE_LIMIT_WINDOW_SECS".into(), "30".into());
    })
    .await;
    assert_eq!(
        app.login("fallback@example.com", PASSWORD).await.status,
        400
    );
    assert_eq!(
        app.login("fallback@example.com", PASSWORD).await.status,
        400
    );
    app.login("fallback@example.com", PASSWORD)
        .await
        .assert_problem(429, "rate_limited");
}

async fn create_partner(app: &TestApp, admin: &str, scopes: Value) -> Value {
    let r = app
        .post_auth(
            "/api/v1/partners",
            admin,
            &json!({"name": "全国供销合作社商城", "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
}

async fn client_token(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> coopmart_tests::Reply {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    app.send(app.client.post(app.url("/api/v1/auth/token")).form(&form))
        .await
}

#[tokio::test]
async fn partner_clients_lifecycle() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let p = create_partner(&app, &admin, json!(["catalog:read", "orders:read"])).await;
    let (id, client_id, secret) = (
        p["id"].as_str().unwrap(),
        p["client_id"].as_str().unwrap(),
        p["client_secret"].as_str().unwrap(),
    );
    assert_eq!(p["scopes"], json!(["catalog:read", "orders:read"]));
    assert_eq!(p["status"], "active");
    // The secret is stored hashed and never shown again.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM partners WHERE secret_hash = '{secret}'"
        )),
        0
    );
    let fetched = app
        .get_auth(&format!("/api/v1/partners/{id}"), &admin)
        .await;
    assert!(fetched.json().get("client_secret").is_none());

    // client_credentials via form body
    let r = client_token(&app, client_id, secret, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["scope"], "catalog:read orders:read");
    assert!(r.json().get("refresh_token").is_none());
    let partner_token = r.json()["access_token"].as_str().unwrap().to_owned();
    // ... via HTTP Basic with a narrower scope
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("authorization", format!("Basic {basic}"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "catalog:read"),
                ]),
        )
        .await;
    assert_eq!(r.json()["scope"], "catalog:read");
    // Beyond its scopes → invalid_scope
    client_token(&app, client_id, secret, Some("orders:write"))
        .await
        .assert_problem(400, "invalid_scope");
    // Wrong secret → invalid_client
    client_token(&app, client_id, "wrong", None)
        .await
        .assert_problem(401, "invalid_client");
    // A partner token is not a user token.
    app.get_auth("/api/v1/me", &partner_token)
        .await
        .assert_problem(403, "user_required");
    // ... nor an admin one.
    app.get_auth("/api/v1/partners", &partner_token)
        .await
        .assert_problem(403, "forbidden");

    // Rotate: old secret dead, new one works.
    let rotated = app
        .post_auth(
            &format!("/api/v1/partners/{id}/rotate-secret"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    client_token(&app, client_id, secret, None)
        .await
        .assert_problem(401, "invalid_client");
    assert_eq!(
        client_token(&app, client_id, &new_secret, None)
            .await
            .status,
        200
    );

    // Disable: issued tokens stop working at once, no new ones.
    let r = app
        .patch_auth(
            &format!("/api/v1/partners/{id}"),
            &admin,
            &json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(r.json()["status"], "disabled");
    let t = client_token(&app, client_id, &new_secret, None).await;
    t.assert_problem(401, "invalid_client");
    let r = app.get_auth("/api/v1/me", &partner_token).await;
    r.assert_problem(401, "unauthorized");

    // Validation and ownership.
    let r = app
        .post_auth(
            "/api/v1/partners",
            &admin,
            &json!({"name": "", "scopes": ["orders:delete"]}),
        )
        .await;
    let body = r.assert_problem(422, "validation_failed");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    app.get_auth(
        &format!("/api/v1/partners/{}", uuid::Uuid::now_v7()),
        &admin,
    )
    .await
    .assert_problem(404, "not_found");
    let buyer = app.user_token("buyer@example.com").await;
    app.post_auth(
        "/api/v1/partners",
        &buyer,
        &json!({"name": "x", "scopes": ["catalog:read"]}),
    )
    .await
    .assert_problem(403, "forbidden");

    // Every admin action is in the audit log.
    let log = app
        .get_auth("/api/v1/audit-log?limit=200", &admin)
        .await
        .json();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "partner.created",
        "partner.secret_rotated",
        "partner.updated",
        "auth.login_succeeded",
        "auth.client_auth_failed",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn audit_log_is_admin_only_and_paginates() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..5 {
        app.login(&format!("ghost{i}@example.com"), PASSWORD).await;
    }
    let buyer = app.user_token("nosy@example.com").await;
    app.get_auth("/api/v1/audit-log", &buyer)
        .await
        .assert_problem(403, "forbidden");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit-log?action=auth.login_failed&limit=2&cursor={c}"),
            None => "/api/v1/audit-log?action=auth.login_failed&limit=2".to_owned(),
        };
        let page = app.get_auth(&path, &admin).await.json();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["details"]["username"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "ghost4@example.com",
            "ghost3@example.com",
            "ghost2@example.com",
            "ghost1@example.com",
            "ghost0@example.com"
        ]
    );
    app.get_auth("/api/v1/audit-log?cursor=zzz", &admin)
        .await
        .assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn bootstrap_admin_exists_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get_auth("/api/v1/me", &admin).await.json();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["roles"], json!(["buyer", "platform_admin"]));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE is_platform_admin"),
        1
    );
}

#[tokio::test]
async fn passwords_and_secrets_never_appear_in_logs_or_responses() {
    let app = spawn_app().await;
    let password = "Zebra-Quartz-7731-unique";
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "careful@example.com", "password": password}),
        )
        .await;
    assert!(!r.text.contains(password));
    let r = app.login("careful@example.com", password).await;
    assert!(!r.text.contains(password));
    let r = app
        .login("careful@example.com", "Wrong-Zebra-9999-unique")
        .await;
    assert!(!r.text.contains("Wrong-Zebra"));
    let admin = app.admin_token().await;
    let p = create_partner(&app, &admin, json!(["catalog:read"])).await;
    let secret = p["client_secret"].as_str().unwrap().to_owned();
    client_token(&app, p["client_id"].as_str().unwrap(), &secret, None).await;
    let audit = app.get_auth("/api/v1/audit-log?limit=200", &admin).await;
    assert!(
        !audit.text.contains(password)
            && !audit.text.contains(&secret)
            && !audit.text.contains("Wrong-Zebra")
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = logs::text();
    assert!(logs.contains("request finished"), "log capture works");
    assert!(!logs.contains(password), "password leaked into logs");
    assert!(
        !logs.contains("Wrong-Zebra"),
        "failed password leaked into logs"
    );
    assert!(!logs.contains(&secret), "client secret leaked into logs");
    assert!(!logs.contains(TEST_JWT_KEY), "signing key leaked into logs");
}
