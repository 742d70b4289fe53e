//! Buyer search through the HTTP server: relevance, synonyms, pinyin,
//! facets, suggestions, pagination, freshness across instances, Redis down.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use coopmart_tests::{spawn_app, spawn_app_with, TestApp};
use diesel::prelude::*;
use serde_json::{json, Value};

async fn seller(app: &TestApp, email: &str) -> (String, String) {
    let token = app.user_token(email).await;
    let org = app.create_org(&token, "farmer_coop", None).await;
    (token, org["id"].as_str().unwrap().to_owned())
}

async fn search(app: &TestApp, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/listings?{query}")).await;
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json()
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    search(app, query).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap().to_owned())
        .collect()
}

fn set_sold(app: &TestApp, id: &Value, sold: i64) {
    diesel::sql_query(format!(
        "UPDATE listings SET sold_qty = {sold} WHERE id = '{}'",
        id.as_str().unwrap()
    ))
    .execute(&mut app.db.connect())
    .unwrap();
}

#[tokio::test]
async fn relevance_synonyms_pinyin_and_typos() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "relevance@example.com").await;
    let veg = app.category("vegetables").await;
    let l = |title: &str, variety: &str, description: &str| json!({"title": title, "variety": variety, "description": description, "tier_prices": []});
    let gift = app
        .listing(&token, &org, l("新鲜水果礼盒", "", "内含甜瓜两个"))
        .await;
    let jilin = app.listing(&token, &org, l("吉林甜瓜 5kg", "", "")).await;
    app.listing(&token, &org, l("合心农场", "甜瓜", "")).await;
    app.listing(&token, &org, l("甜瓜", "", "")).await;
    let sheep = app.listing(&token, &org, l("羊角蜜甜瓜", "", "")).await;
    app.listing(&token, &org, l("坝上马铃薯", "", "")).await;
    app.listing(
        &token,
        &org,
        json!({"title": "黄心土豆", "variety": "", "category_id": veg, "tier_prices": []}),
    )
    .await;
    app.listing(&token, &org, l("新疆西瓜", "麒麟", "")).await;
    set_sold(&app, &gift["id"], 900);
    set_sold(&app, &sheep["id"], 10);
    set_sold(&app, &jilin["id"], 10);

    // another write so the engine has certainly seen the sales figures
    app.listing(&token, &org, l("苹果", "", "")).await;
    assert_eq!(
        titles(&app, "q=甜瓜").await,
        [
            "甜瓜",
            "羊角蜜甜瓜",
            "吉林甜瓜 5kg",
            "合心农场",
            "新鲜水果礼盒"
        ],
        "exact title, every word in the title (sales 10 = 10: newest first), variety, description"
    );
    assert_eq!(
        titles(&app, "q=甜瓜&sort=price_asc&limit=2").await.len(),
        2,
        "other sorts work with text"
    );
    // synonyms both ways, and by pinyin
    for q in ["土豆", "马铃薯", "洋芋", "tudou"] {
        let mut got = titles(&app, &format!("q={q}")).await;
        got.sort();
        assert_eq!(got, ["坝上马铃薯", "黄心土豆"], "{q}");
    }
    // pinyin, initials, one typo in words of five letters or more: pinyin
    // covers title, variety and category, not the description…
    for q in ["tg", "tiangau", "tianguaa"] {
        let got = titles(&app, &format!("q={q}")).await;
        // no exact title here: sales first (10, 10 newer first, 0)
        assert_eq!(
            got,
            ["羊角蜜甜瓜", "吉林甜瓜 5kg", "甜瓜", "合心农场"],
            "{q}"
        );
    }
    // …but a pinyin that spells a synonym term finds what the term finds
    assert_eq!(titles(&app, "q=tiangua").await.len(), 5);
    assert_eq!(titles(&app, "q=xigua").await, ["新疆西瓜"]);
    assert_eq!(
        titles(&app, "q=tienguo").await,
        Vec::<String>::new(),
        "two typos"
    );
    assert_eq!(
        titles(&app, "q=qilin").await,
        ["新疆西瓜"],
        "pinyin of the variety"
    );

    // platform admins replace the synonyms; everyone reads them
    let admin = app.admin_token().await;
    let r = app
        .put_auth(
            "/api/v1/search/synonyms",
            &token,
            &json!({"items": [{"terms": ["甜瓜", "香瓜"]}]}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let r = app
        .put_auth(
            "/api/v1/search/synonyms",
            &admin,
            &json!({"items": [{"terms": ["甜瓜"]}, {"terms": ["苹果", "apple"]}]}),
        )
        .await;
    let body = r.assert_problem(422, "validation_failed");
    assert!(body.to_string().contains("items[0].terms"), "{body}");
    assert!(body.to_string().contains("items[1].terms[1]"), "{body}");
    assert_eq!(titles(&app, "q=蜜瓜").await, Vec::<String>::new());
    let r = app
        .put_auth(
            "/api/v1/search/synonyms",
            &admin,
            &json!({"items": [{"terms": ["甜瓜", "蜜瓜"]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/search/synonyms").await.json(),
        json!({"items": [{"terms": ["甜瓜", "蜜瓜"]}]})
    );
    assert_eq!(titles(&app, "q=蜜瓜").await.len(), 5);
    assert_eq!(
        titles(&app, "q=土豆").await,
        ["黄心土豆"],
        "the old groups are gone"
    );
}

/// Counts of the facet values over every item of a complete result.
fn brute_force(items: &[Value]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut bump = |facet: &str, value: &str| {
        *out.entry(facet.into())
            .or_default()
            .entry(value.into())
            .or_default() += 1;
    };
    for l in items {
        bump("category", l["category_id"].as_str().unwrap());
        bump("region", &l["origin_region_code"].as_str().unwrap()[..2]);
        bump("grade", l["grade"].as_str().unwrap());
        bump("sale_mode", l["sale_mode"].as_str().unwrap());
        let mut kinds: Vec<&str> = l["certifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        kinds.dedup();
        for k in kinds {
            bump("certification", k);
        }
    }
    out
}

#[tokio::test]
async fn facets_equal_a_brute_force_count_and_pages_are_stable() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "facets@example.com").await;
    let veg = app.category("vegetables").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(30))
        .date_naive()
        .to_string();
    let regions = ["220106", "650105", "110105", "220102"];
    let places = ["吉林", "新疆", "有机"];
    let grades = ["premium", "grade_1", "grade_2"];
    for i in 0..14 {
        let title = format!("{}甜瓜 {i}号", places[i % 3]);
        let price = 1000 + 100 * i as i64;
        let mut body = json!({
            "title": title,
            "tier_prices": [],
            "price_fen": price,
            "origin_region_code": regions[i % 4],
            "grade": grades[i % 3],
        });
        if i % 4 == 1 {
            body["certifications"] = json!([
                {"kind": "green", "cert_no": "LB-1", "valid_until": "2031-01-01"},
                {"kind": "organic", "cert_no": "OR-1", "valid_until": "2031-01-01"}
            ]);
        }
        if i % 5 == 2 {
            body["category_id"] = json!(veg);
        }
        if i % 6 == 3 {
            body["sale_mode"] = json!("presale");
            body["ship_from_date"] = json!(future);
        }
        app.listing(&token, &org, body).await;
    }
    app.listing(&token, &org, json!({"title": "苹果", "tier_prices": []}))
        .await;
    let all = "category,region,certification,grade,sale_mode";
    for filter in [
        "q=甜瓜",
        "q=甜瓜&region_code=22",
        "q=tiangua&certification=green",
        "q=甜瓜&max_price_fen=1800",
        "region_code=65",
        "",
    ] {
        let first = search(&app, &format!("{filter}&facets={all}&limit=3")).await;
        let mut items: Vec<Value> = Vec::new();
        let mut url = format!("{filter}&limit=4");
        loop {
            let page = search(&app, &url).await;
            assert!(page.get("facets").is_none(), "no facets unless asked");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("{filter}&limit=4&cursor={c}"),
                None => break,
            }
        }
        let want = brute_force(&items);
        for facet in all.split(',') {
            let got: BTreeMap<String, u64> = first["facets"][facet]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["value"].as_str().unwrap().to_owned(),
                        v["count"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                want.get(facet).cloned().unwrap_or_default(),
                "{filter}: {facet}"
            );
        }
        let mut ids: Vec<&str> = items.iter().map(|l| l["id"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), items.len(), "{filter}: a listing on two pages");
    }
    let f = search(&app, "q=甜瓜&facets=region,certification").await["facets"].clone();
    assert_eq!(
        f["region"][0],
        json!({"value": "22", "label": "吉林省", "count": 7})
    );
    assert!(f["certification"]
        .as_array()
        .unwrap()
        .contains(&json!({"value": "green", "label": "绿色食品", "count": 4})));

    // relevance pages: a listing added between pages shows up nowhere twice
    // and hides nothing
    let first = search(&app, "q=甜瓜&limit=5").await;
    app.listing(&token, &org, json!({"title": "甜瓜", "tier_prices": []}))
        .await;
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = search(&app, &format!("q=甜瓜&limit=5&cursor={cursor}")).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((n, seen.len()), (14, 14));
    // a cursor belongs to its query's sort
    app.get(&format!(
        "/api/v1/listings?q=甜瓜&sort=newest&cursor={cursor}"
    ))
    .await
    .assert_problem(400, "invalid_cursor");
    app.get("/api/v1/listings?q=甜瓜&facets=category,colour")
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn suggestions_complete_what_buyers_type() {
    let app = spawn_app().await;
    let (token, org) = seller(&app, "suggest@example.com").await;
    for t in ["吉林甜瓜", "甜瓜礼盒", "甜玉米", "西瓜"] {
        app.listing(
            &token,
            &org,
            json!({"title": t, "variety": "", "tier_prices": []}),
        )
        .await;
    }
    for q in ["甜", "tg", "tiang", "TIAN"] {
        let r = app.get(&format!("/api/v1/listings/suggest?q={q}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json()["items"][0],
            json!({"text": "甜瓜", "count": 2}),
            "{q}"
        );
    }
    let r = app.get("/api/v1/listings/suggest?q=tiany").await.json();
    assert_eq!(r["items"][0]["text"], "甜玉米");
    app.get("/api/v1/listings/suggest?q=%21%21")
        .await
        .assert_problem(422, "validation_failed");
    // paused listings stop counting
    let list = search(&app, "q=甜瓜礼盒").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    app.post_auth(&format!("/api/v1/listings/{id}/pause"), &token, &json!({}))
        .await;
    let r = app.get("/api/v1/listings/suggest?q=tg").await.json();
    assert_eq!(r["items"][0], json!({"text": "甜瓜", "count": 1}));
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["search"], json!({"status": "ok", "documents": 3}));
}

#[tokio::test]
async fn a_paused_listing_leaves_search_on_another_instance_within_a_second() {
    let app = spawn_app().await;
    let other = app.another_instance(|_| {}).await;
    let (token, org) = seller(&app, "fresh@example.com").await;
    let paused = app
        .listing(
            &token,
            &org,
            json!({"title": "延边苹果梨 A", "tier_prices": []}),
        )
        .await;
    let sold = app
        .listing(
            &token,
            &org,
            json!({"title": "延边苹果梨 B", "tier_prices": []}),
        )
        .await;
    let archived = app
        .listing(
            &token,
            &org,
            json!({"title": "延边苹果梨 C", "tier_prices": []}),
        )
        .await;
    let client = reqwest::Client::new();
    let count = |q: &'static str| {
        let client = client.clone();
        async move {
            let r: Value = client
                .get(format!("http://{other}/api/v1/listings?q={q}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["items"].as_array().unwrap().len()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while count("苹果梨").await < 3 {
        assert!(
            Instant::now() < deadline,
            "new listings never reached the other instance"
        );
    }
    let id = |l: &Value| l["id"].as_str().unwrap().to_owned();
    let changes: [(String, &str, Value); 3] = [
        (
            format!("/api/v1/listings/{}/pause", id(&paused)),
            "post",
            json!({}),
        ),
        (
            format!("/api/v1/listings/{}", id(&sold)),
            "patch",
            json!({"stock": 0}),
        ),
        (
            format!("/api/v1/listings/{}/archive", id(&archived)),
            "post",
            json!({}),
        ),
    ];
    for (expected, (path, method, body)) in (0..3).rev().zip(changes) {
        let r = if method == "post" {
            app.post_auth(&path, &token, &body).await
        } else {
            app.patch_auth(&path, &token, &body).await
        };
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            titles(&app, "q=苹果梨").await.len(),
            expected,
            "the writer's instance at once"
        );
        let start = Instant::now();
        while count("苹果梨").await > expected {
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "{path}: still found after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn search_works_with_redis_down() {
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:9/0".into());
        env.insert("REDIS_TIMEOUT_MS".into(), "100".into());
    })
    .await;
    let (token, org) = seller(&app, "noredis@example.com").await;
    app.listing(
        &token,
        &org,
        json!({"title": "五常大米 10kg", "tier_prices": []}),
    )
    .await;
    assert_eq!(titles(&app, "q=dami").await, ["五常大米 10kg"]);
    let f = search(&app, "q=大米&facets=grade").await;
    assert_eq!(f["facets"]["grade"][0]["count"], 1);
    assert_eq!(app.get("/readyz").await.json()["redis"], "degraded");
}
