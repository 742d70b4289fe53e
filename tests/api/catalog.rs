//! Listings, search, caching and the partner catalog feed.

use std::time::Duration;

use coopmart_tests::{spawn_app, spawn_app_with, RedisProcess, TestApp};
use serde_json::{json, Value};

async fn seller(app: &TestApp, email: &str) -> (String, String) {
    let token = app.user_token(email).await;
    let org = app.create_org(&token, "farmer_coop", None).await;
    (token, org["id"].as_str().unwrap().to_owned())
}

fn errors_of(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_validate_publish_and_ownership() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "melon@example.com").await;
    let category = app.category("fruit").await;
    let base = json!({"seller_id": org, "title": "合心甜瓜", "category_id": category, "unit_label": "5kg箱",
                      "unit_weight_grams": 5000, "price_fen": 6800, "stock": 10, "origin_region_code": "220106"});

    // tier validation: ascending quantities, strictly descending prices
    let mut bad = base.clone();
    bad["tier_prices"] =
        json!([{"min_qty": 50, "price_fen": 6200}, {"min_qty": 10, "price_fen": 6300}]);
    let r = app.post_auth("/api/v1/listings", &token, &bad).await;
    let body = r.assert_problem(422, "validation_failed");
    assert_eq!(errors_of(&body), ["tier_prices[1]", "tier_prices[1]"]);
    // several field errors at once, nothing written
    let mut bad = base.clone();
    bad["price_fen"] = json!(0);
    bad["origin_region_code"] = json!("999999");
    bad["sale_mode"] = json!("presale");
    bad["certifications"] =
        json!([{"kind": "green", "cert_no": "LB-1", "valid_until": "2020-01-01"}]);
    let body = app
        .post_auth("/api/v1/listings", &token, &bad)
        .await
        .assert_problem(422, "validation_failed");
    let fields = errors_of(&body);
    for f in [
        "price_fen",
        "origin_region_code",
        "certifications[0]",
        "ship_from_date",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM listings"), 0);

    // a stranger cannot list for this seller
    let stranger = app.user_token("stranger@example.com").await;
    app.post_auth("/api/v1/listings", &stranger, &base)
        .await
        .assert_problem(403, "forbidden");

    // created as a draft, with an ETag
    let r = app.post_auth("/api/v1/listings", &token, &base).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let listing = r.json();
    let id = listing["id"].as_str().unwrap();
    assert_eq!(listing["status"], "draft");
    assert_eq!(listing["buyable"], false);
    // drafts are private
    app.get(&format!("/api/v1/listings/{id}"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_auth(&format!("/api/v1/listings/{id}"), &token)
            .await
            .status,
        200
    );
    app.get_auth(&format!("/api/v1/listings/{id}"), "garbage")
        .await
        .assert_problem(401, "unauthorized");

    // another organization's staff: 404 on every write
    let (other, _) = seller(&app, "rival@example.com").await;
    app.patch_auth(
        &format!("/api/v1/listings/{id}"),
        &other,
        &json!({"price_fen": 1}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_auth(
        &format!("/api/v1/listings/{id}/publish"),
        &other,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");

    let r = app
        .post_auth(
            &format!("/api/v1/listings/{id}/publish"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.json()["status"], "active");
    assert_eq!(r.json()["buyable"], true);
    let public = app.get(&format!("/api/v1/listings/{id}")).await;
    assert_eq!(public.status, 200);
    assert_eq!(public.json()["origin_region_name"], "吉林省 长春市 绿园区");
    app.post_auth(
        &format!("/api/v1/listings/{id}/publish"),
        &token,
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");

    // the supplier must be a member of the seller coop
    let r = app
        .patch_auth(
            &format!("/api/v1/listings/{id}"),
            &token,
            &json!({"supplier_member_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(
        errors_of(&r.assert_problem(422, "validation_failed")),
        ["supplier_member_id"]
    );
    let (_, member) = app
        .add_member(&token, &org, "grower@example.com", true)
        .await;
    let r = app
        .patch_auth(
            &format!("/api/v1/listings/{id}"),
            &token,
            &json!({"supplier_member_id": member}),
        )
        .await;
    assert_eq!(r.json()["supplier_member_id"], member.as_str());
}

#[tokio::test]
async fn etags_304_and_stale_if_match_412() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "etag@example.com").await;
    let listing = app.listing(&token, &org, json!({})).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let r = app.get(&path).await;
    let tag = r.header("etag").unwrap().to_owned();
    assert_eq!(tag, "\"2\"");
    let r = app
        .send(app.client.get(app.url(&path)).header("if-none-match", &tag))
        .await;
    assert_eq!(r.status, 304);
    assert!(r.text.is_empty());

    // a stale If-Match is refused and changes nothing
    let r = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&token)
                .header("if-match", "\"1\"")
                .json(&json!({"price_fen": 7000})),
        )
        .await;
    r.assert_problem(412, "precondition_failed");
    assert_eq!(app.get(&path).await.json()["price_fen"], 6800);
    // the current one works and yields a new ETag
    let r = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&token)
                .header("if-match", &tag)
                .json(&json!({"price_fen": 7000})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"3\""));
    // the old ETag no longer matches
    let r = app
        .send(app.client.get(app.url(&path)).header("if-none-match", &tag))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["price_fen"], 7000);
    // two editors with the same version: exactly one wins
    let t = "\"3\"";
    let (a, b) = tokio::join!(
        app.send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&token)
                .header("if-match", t)
                .json(&json!({"stock": 1}))
        ),
        app.send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&token)
                .header("if-match", t)
                .json(&json!({"stock": 2}))
        ),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
}

/// Reads a listing until it satisfies `ok` (at most `within`).
async fn eventually(
    app: &TestApp,
    path: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + within;
    loop {
        let r = app.get(path).await;
        if r.status == 200 && ok(&r.json()) {
            return r.json();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {within:?}: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_kind_of_write_invalidates_the_cache() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "cache@example.com").await;
    let listing = app.listing(&token, &org, json!({"stock": 5})).await;
    let id = listing["id"].as_str().unwrap();
    let path = format!("/api/v1/listings/{id}");
    assert_eq!(app.get(&path).await.header("x-cache"), Some("miss"));
    let second = app.get(&path).await;
    assert!(
        second.header("x-cache").unwrap().starts_with("hit"),
        "{:?}",
        second.header("x-cache")
    );

    // edit → read-after-write shows it at once
    app.patch_auth(
        &path,
        &token,
        &json!({"price_fen": 7100, "title": "合心甜瓜 礼盒"}),
    )
    .await;
    let r = app.get(&path).await.json();
    assert_eq!(
        (r["price_fen"].clone(), r["title"].clone()),
        (json!(7100), json!("合心甜瓜 礼盒"))
    );
    app.get(&path).await; // cached again
                          // pause → not buyable at once
    app.post_auth(&format!("{path}/pause"), &token, &json!({}))
        .await;
    let r = app.get(&path).await.json();
    assert_eq!(
        (r["status"].clone(), r["buyable"].clone()),
        (json!("paused"), json!(false))
    );
    // publish → buyable again
    app.post_auth(&format!("{path}/publish"), &token, &json!({}))
        .await;
    app.get(&path).await;
    assert_eq!(app.get(&path).await.json()["buyable"], true);
    // stock to zero → sold_out at once
    app.patch_auth(&path, &token, &json!({"stock": 0})).await;
    let r = app.get(&path).await.json();
    assert_eq!(
        (
            r["status"].clone(),
            r["buyable"].clone(),
            r["stock"].clone()
        ),
        (json!("sold_out"), json!(false), json!(0))
    );
    // stock back → active
    app.patch_auth(&path, &token, &json!({"stock": 3})).await;
    assert_eq!(app.get(&path).await.json()["status"], "active");
    // archive → gone from public reads
    app.post_auth(&format!("{path}/archive"), &token, &json!({}))
        .await;
    app.get(&path).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn writes_on_one_instance_reach_the_other_instances_cache() {
    let a = spawn_app().await;
    let (token, org) = seller(&a, "two@example.com").await;
    let listing = a.listing(&token, &org, json!({})).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let (db_url, prefix) = (a.db.url.clone(), a.redis_prefix.clone());
    let b = spawn_app_with(|env| {
        env.insert("DATABASE_URL".into(), db_url);
        env.insert("REDIS_KEY_PREFIX".into(), prefix);
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await; // b subscribes
    b.get(&path).await;
    assert!(b
        .get(&path)
        .await
        .header("x-cache")
        .unwrap()
        .starts_with("hit"));
    a.post_auth(&format!("{path}/pause"), &token, &json!({}))
        .await;
    // b's in-process tier is evicted through Redis pub/sub (and expires within 1 s regardless)
    let seen = eventually(&b, &path, Duration::from_millis(1000), |l| {
        l["status"] == "paused"
    })
    .await;
    assert_eq!(seen["buyable"], false);
}

#[tokio::test]
async fn redis_killed_mid_test_and_restarted() {
    let mut redis = RedisProcess::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
    })
    .await;
    let (token, org) = seller(&app, "outage@example.com").await;
    let listing = app.listing(&token, &org, json!({})).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    app.get(&path).await;
    assert!(app
        .get(&path)
        .await
        .header("x-cache")
        .unwrap()
        .starts_with("hit"));

    redis.kill();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // reads fall back to Postgres, writes keep working, readiness says degraded
    let r = app.get(&path).await;
    assert_eq!(r.status, 200);
    let r = app
        .patch_auth(&path, &token, &json!({"price_fen": 7300}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&path).await.json()["price_fen"], 7300);
    assert_eq!(app.get("/readyz").await.json()["redis"], "degraded");

    redis.restart();
    // back without a restart of the API: the cache is used again
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = app.get(&path).await;
        assert_eq!(r.json()["price_fen"], 7300);
        if r.header("x-cache").unwrap().starts_with("hit") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "cache not used again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!redis.keys("*listing:*").is_empty());
    assert_eq!(app.get("/readyz").await.json()["redis"], "ok");
}

#[tokio::test]
async fn writes_while_redis_hangs_never_leave_stale_cache() {
    let redis = RedisProcess::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
    })
    .await;
    let (token, org) = seller(&app, "frozen@example.com").await;
    let listing = app.listing(&token, &org, json!({})).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    app.get(&path).await;
    assert!(app
        .get(&path)
        .await
        .header("x-cache")
        .unwrap()
        .starts_with("hit"));
    // Redis keeps the cached copy but stops answering; the pause cannot
    // invalidate it now.
    redis.freeze();
    let r = app
        .post_auth(&format!("{path}/pause"), &token, &json!({}))
        .await;
    assert_eq!(r.json()["status"], "paused");
    assert_eq!(app.get(&path).await.json()["status"], "paused");
    redis.thaw();
    // once Redis answers again the deferred invalidation is replayed: the
    // old "active" copy is never served
    for _ in 0..30 {
        assert_eq!(app.get(&path).await.json()["status"], "paused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/listings?{query}")).await;
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_filters_sorting_and_stable_pagination() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "search@example.com").await;
    let cats = app.get("/api/v1/categories").await.json();
    let fruit = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "fruit")
        .unwrap()
        .clone();
    let melon = fruit["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "fruit.melon")
        .unwrap()["id"]
        .clone();
    let tea = app.category("tea").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(30))
        .date_naive()
        .to_string();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    app.listing(&token, &org, json!({"tier_prices": [], "title": "合心甜瓜", "variety": "羊角蜜", "category_id": melon, "price_fen": 3000,
        "certifications": [{"kind": "green", "cert_no": "LB-18-2001", "valid_until": "2030-01-01"}], "grade": "premium"})).await;
    app.listing(&token, &org, json!({"tier_prices": [], "title": "新疆哈密瓜", "variety": "西州蜜", "category_id": melon, "price_fen": 5000,
        "origin_region_code": "650105", "sale_mode": "presale", "ship_from_date": future})).await;
    app.listing(&token, &org, json!({"tier_prices": [], "title": "西湖龙井 250g", "variety": "龙井43", "category_id": tea, "price_fen": 9000,
        "origin_region_code": "330106", "certifications": [{"kind": "geographic_indication", "cert_no": "AGI-0001", "valid_until": "2031-01-01"}]})).await;
    app.listing(&token, &org, json!({"tier_prices": [], "title": "五常大米 10kg", "variety": "稻花香", "category_id": app.category("grain_oil").await,
        "price_fen": 12000, "origin_region_code": "230102", "sale_mode": "group_buy", "group_target_qty": 100, "group_deadline": deadline})).await;

    assert_eq!(ids(&app, "q=甜瓜").await, ["合心甜瓜"]);
    assert_eq!(ids(&app, "q=羊角蜜").await, ["合心甜瓜"]);
    assert_eq!(
        ids(&app, "q=瓜&sort=price_asc").await,
        ["合心甜瓜", "新疆哈密瓜"]
    );
    assert_eq!(ids(&app, "q=西瓜").await, Vec::<String>::new());
    assert_eq!(ids(&app, "q=100%25").await, Vec::<String>::new());
    assert_eq!(
        ids(
            &app,
            &format!("category={}&sort=price_desc", fruit["id"].as_str().unwrap())
        )
        .await,
        ["新疆哈密瓜", "合心甜瓜"]
    );
    assert_eq!(ids(&app, "region_code=65").await, ["新疆哈密瓜"]);
    assert_eq!(
        ids(&app, "certification=geographic_indication").await,
        ["西湖龙井 250g"]
    );
    assert_eq!(ids(&app, "grade=premium").await, ["合心甜瓜"]);
    assert_eq!(
        ids(
            &app,
            "min_price_fen=4000&max_price_fen=10000&sort=price_asc"
        )
        .await,
        ["新疆哈密瓜", "西湖龙井 250g"]
    );
    assert_eq!(ids(&app, "sale_mode=group_buy").await, ["五常大米 10kg"]);
    assert_eq!(
        ids(&app, &format!("seller_id={org}&sort=price_desc")).await,
        ["五常大米 10kg", "西湖龙井 250g", "新疆哈密瓜", "合心甜瓜"]
    );
    app.get("/api/v1/listings?grade=best")
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/listings?sort=random")
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/listings?limit=0")
        .await
        .assert_problem(400, "invalid_query");

    // keyset pages: a listing added between pages shows up nowhere twice
    let first = app
        .get("/api/v1/listings?sort=price_asc&limit=2")
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    app.listing(
        &token,
        &org,
        json!({"tier_prices": [], "title": "插队的便宜苹果", "price_fen": 100}),
    )
    .await;
    let second = app
        .get(&format!(
            "/api/v1/listings?sort=price_asc&limit=2&cursor={cursor}"
        ))
        .await
        .json();
    let titles: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["合心甜瓜", "新疆哈密瓜", "西湖龙井 250g", "五常大米 10kg"]
    );
    // a cursor belongs to its sort
    app.get(&format!("/api/v1/listings?sort=newest&cursor={cursor}"))
        .await
        .assert_problem(400, "invalid_cursor");

    // newest first walks everything exactly once
    let mut seen = Vec::new();
    let mut url = "/api/v1/listings?limit=2".to_owned();
    loop {
        let page = app.get(&url).await.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/listings?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn hot_lists_storefronts_and_paused_listings() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "hot@example.com").await;
    let a = app
        .listing(&token, &org, json!({"title": "长春甜瓜"}))
        .await;
    app.listing(
        &token,
        &org,
        json!({"title": "新疆哈密瓜", "origin_region_code": "650105"}),
    )
    .await;
    let hot = app.get("/api/v1/listings/hot?region_code=22").await;
    assert_eq!(hot.header("x-cache"), Some("miss"));
    let titles: Vec<String> = hot.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["长春甜瓜"]);
    assert_eq!(
        app.get("/api/v1/listings/hot?region_code=22")
            .await
            .header("x-cache"),
        Some("hit")
    );
    // pausing removes it from the hot list at once
    app.post_auth(
        &format!("/api/v1/listings/{}/pause", a["id"].as_str().unwrap()),
        &token,
        &json!({}),
    )
    .await;
    let hot = app.get("/api/v1/listings/hot?region_code=22").await.json();
    assert_eq!(hot["items"], json!([]));
    assert_eq!(
        app.get("/api/v1/listings/hot").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // paused listings are hidden from search but readable by link
    assert_eq!(ids(&app, "q=甜瓜").await, Vec::<String>::new());
    assert_eq!(
        app.get(&format!("/api/v1/listings/{}", a["id"].as_str().unwrap()))
            .await
            .json()["status"],
        "paused"
    );

    let front = app.get(&format!("/api/v1/storefronts/{org}")).await.json();
    assert_eq!(front["organization"]["id"], org.as_str());
    assert_eq!(front["listings"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/storefronts/{}", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn partner_catalog_feed_needs_catalog_read() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "feed@example.com").await;
    let one = app.listing(&token, &org, json!({"title": "一号"})).await;
    app.listing(&token, &org, json!({"title": "二号"})).await;
    // a draft is not in the feed
    let mut draft = json!({"seller_id": org, "title": "草稿", "category_id": app.category("tea").await, "unit_label": "盒",
                           "unit_weight_grams": 250, "price_fen": 100, "stock": 1, "origin_region_code": "220106"});
    draft["storage"] = json!("ambient");
    assert_eq!(
        app.post_auth("/api/v1/listings", &token, &draft)
            .await
            .status,
        201
    );

    let admin = app.admin_token().await;
    let mk = |scopes: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let p = app
                .post_auth(
                    "/api/v1/partners",
                    admin,
                    &json!({"name": "商城", "scopes": scopes}),
                )
                .await
                .json();
            let r = app
                .send(
                    app.client
                        .post(app.url("/api/v1/auth/token"))
                        .basic_auth(
                            p["client_id"].as_str().unwrap(),
                            p["client_secret"].as_str(),
                        )
                        .form(&[("grant_type", "client_credentials")]),
                )
                .await;
            r.json()["access_token"].as_str().unwrap().to_owned()
        }
    };
    let reader = mk(json!(["catalog:read"])).await;
    let orders_only = mk(json!(["orders:read"])).await;
    app.get_auth("/api/v1/catalog/changes", &orders_only)
        .await
        .assert_problem(403, "insufficient_scope");
    app.get_auth("/api/v1/catalog/changes", &token)
        .await
        .assert_problem(403, "partner_required");
    app.get("/api/v1/catalog/changes")
        .await
        .assert_problem(401, "unauthorized");

    let page = app
        .get_auth("/api/v1/catalog/changes?limit=1000", &reader)
        .await
        .json();
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["一号", "二号"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    // nothing new since the cursor; then a pause shows up, paused state included
    assert_eq!(
        app.get_auth(&format!("/api/v1/catalog/changes?cursor={cursor}"), &reader)
            .await
            .json()["items"],
        json!([])
    );
    app.post_auth(
        &format!("/api/v1/listings/{}/pause", one["id"].as_str().unwrap()),
        &token,
        &json!({}),
    )
    .await;
    let page = app
        .get_auth(&format!("/api/v1/catalog/changes?cursor={cursor}"), &reader)
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["status"], "paused");
    app.get_auth("/api/v1/catalog/changes?limit=5000", &reader)
        .await
        .assert_problem(400, "invalid_query");
}
