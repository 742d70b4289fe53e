//! Traceability through the real server: batches and append-only events,
//! the public trace, a failed inspection pausing listings (also for cached
//! reads, also against a publish racing it), QR codes that decode to the
//! trace page, and that page in a real browser at a phone's size.

use coopmart_tests::{spawn_app, TestApp};
use diesel::RunQueryDsl;
use serde_json::{json, Value};

/// A coop with an admin, a batch of it and the admin's token.
async fn coop_with_batch(app: &TestApp, email: &str) -> (String, String, String) {
    let token = app.user_token(email).await;
    let org = app.create_org(&token, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_auth(
            "/api/v1/trace/batches",
            &token,
            &json!({"producer_id": org, "category_id": app.category("fruit").await, "variety": "羊角蜜",
                    "region_code": "220106", "location": "合心镇岳家村3号地块", "quantity": 2000, "unit": "kg"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let code = r.json()["code"].as_str().unwrap().to_owned();
    (token, org, code)
}

fn inspection(result: &str) -> Value {
    json!({"type": "inspection", "occurred_at": "2026-07-08T09:30:00+08:00",
           "location": {"region_code": "220106", "description": "长春市农产品质量检测中心"},
           "data": {"lab": "长春市农产品质量检测中心", "items": ["农药残留", "重金属"], "result": result,
                    "report_no": "JC-2026-0708"}})
}

async fn record(app: &TestApp, token: &str, code: &str, body: &Value) -> Value {
    let r = app
        .post_auth(&format!("/api/v1/trace/batches/{code}/events"), token, body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn batches_record_append_only_events_and_the_public_sees_the_chain() {
    let app = spawn_app().await;
    let (token, org, code) = coop_with_batch(&app, "trace-producer@example.com").await;
    assert_eq!(code.len(), 8);
    assert!(code
        .bytes()
        .all(|b| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&b)));

    let planting = record(
        &app,
        &token,
        &code,
        &json!({"type": "planting", "occurred_at": "2026-04-01T08:00:00+08:00",
        "location": {"region_code": "220106", "description": "3号地块"}, "data": {}}),
    )
    .await;
    assert_eq!(planting["seq"], 1);
    assert_eq!(planting["occurred_at"], "2026-04-01T08:00:00+08:00");
    let passed = record(&app, &token, &code, &inspection("pass")).await;
    assert_eq!(passed["seq"], 2);
    assert_eq!(passed["paused_listing_ids"], json!([]));

    // refusals write nothing: missing step data, an unknown type, a stranger
    let bad = app
        .post_auth(
            &format!("/api/v1/trace/batches/{code}/events"),
            &token,
            &json!({"type": "inspection", "occurred_at": "2099-01-01T00:00:00+08:00",
                    "location": {"region_code": "999999"}, "data": {"lab": "x"}}),
        )
        .await;
    let p = bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "occurred_at",
        "location.region_code",
        "data.items",
        "data.result",
        "data.report_no",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    app.post_auth(
        &format!("/api/v1/trace/batches/{code}/events"),
        &token,
        &json!({"type": "sowing",
        "occurred_at": "2026-04-01T08:00:00+08:00", "location": {"region_code": "220106"}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let stranger = app.user_token("trace-stranger@example.com").await;
    app.post_auth(
        &format!("/api/v1/trace/batches/{code}/events"),
        &stranger,
        &inspection("fail"),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_auth(
        "/api/v1/trace/batches",
        &stranger,
        &json!({"producer_id": org,
        "category_id": app.category("fruit").await, "variety": "羊角蜜", "region_code": "220106",
        "location": "x", "quantity": 1, "unit": "kg"}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(app.count("SELECT count(*) AS n FROM trace_events"), 2);
    assert_eq!(app.count("SELECT count(*) AS n FROM trace_batches"), 1);

    // a listing names the batch (typed in lower case); a batch of another
    // seller or no batch at all is refused
    let listing = app
        .listing(&token, &org, json!({"trace_batch_code": code.to_lowercase(),
            "certifications": [{"kind": "green", "cert_no": "LB-18-2207", "valid_until": "2028-01-01"}]}))
        .await;
    assert_eq!(listing["trace_batch_code"], code.as_str());
    // an order line keeps the batch of what was sold
    let buyer = app.user_token("trace-buyer-1@example.com").await;
    let order = app
        .place_order(&buyer, "trace-order-1", &json!({"items": [{"listing_id": listing["id"], "quantity": 2}],
            "delivery": {"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000",
            "region_code": "110105", "line": "建国路1号"}}}))
        .await;
    assert_eq!(order.status, 201, "{}", order.text);
    assert_eq!(order.json()["items"][0]["trace_batch_code"], code.as_str());
    let id = order.json()["id"].as_str().unwrap().to_owned();
    let read = app
        .get_auth(&format!("/api/v1/orders/{id}"), &buyer)
        .await
        .json();
    assert_eq!(
        read["seller_orders"][0]["items"][0]["trace_batch_code"],
        code.as_str()
    );
    let (other_token, other_org, other_code) =
        coop_with_batch(&app, "trace-other@example.com").await;
    for bad_code in [code.as_str(), "ZZZZZZZZ", "TB-0001"] {
        let r = app
            .post_auth("/api/v1/listings", &other_token, &json!({"seller_id": other_org, "title": "甜瓜",
                "category_id": app.category("fruit").await, "variety": "羊角蜜", "grade": "grade_1",
                "unit_label": "箱", "unit_weight_grams": 5000, "price_fen": 100, "stock": 1,
                "origin_region_code": "220106", "storage": "chilled", "trace_batch_code": bad_code}))
            .await;
        let p = r.assert_problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], "trace_batch_code", "{bad_code}");
    }
    assert_ne!(other_code, code);

    // the public trace, without login, case-insensitive code
    let t = app
        .get(&format!("/api/v1/trace/{}", code.to_lowercase()))
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let t = t.json();
    assert_eq!(t["code"], code.as_str());
    assert_eq!(t["producer"]["id"], org.as_str());
    assert_eq!(t["producer"]["region_code"], "220106");
    assert_eq!(t["inspection"]["result"], "pass");
    assert_eq!(t["inspection"]["report_no"], "JC-2026-0708");
    assert_eq!(t["listings"][0]["id"], listing["id"]);
    assert_eq!(t["listings"][0]["certifications"][0]["kind"], "green");
    let seqs: Vec<i64> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(t["trace_url"], format!("http://{}/t/{code}", app.addr));
    app.get("/api/v1/trace/ZZZZZZZZ")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/trace/not-a-code")
        .await
        .assert_problem(404, "not_found");

    // corrections: a new event naming the old one, once, with the same step
    let fix = record(&app, &token, &code, &json!({"type": "planting", "occurred_at": "2026-04-02T08:00:00+08:00",
        "location": {"region_code": "220106", "description": "3号地块"}, "data": {"note": "日期更正"},
        "corrects": planting["id"]})).await;
    assert_eq!(fix["corrects"], planting["id"]);
    let mut again = json!({"type": "planting", "occurred_at": "2026-04-03T08:00:00+08:00",
        "location": {"region_code": "220106"}, "corrects": planting["id"]});
    app.post_auth(
        &format!("/api/v1/trace/batches/{code}/events"),
        &token,
        &again,
    )
    .await
    .assert_problem(409, "already_corrected");
    again["type"] = json!("harvest");
    again["corrects"] = fix["id"].clone();
    app.post_auth(
        &format!("/api/v1/trace/batches/{code}/events"),
        &token,
        &again,
    )
    .await
    .assert_problem(422, "validation_failed");
    let t = app.get(&format!("/api/v1/trace/{code}")).await.json();
    assert_eq!(t["events"][0]["corrected_by"], fix["id"]);

    // the database itself refuses to change or remove an event
    let mut conn = app.db.connect();
    for sql in [
        "UPDATE trace_events SET place = 'elsewhere'",
        "DELETE FROM trace_events",
        "TRUNCATE trace_events CASCADE",
    ] {
        assert!(diesel::sql_query(sql).execute(&mut conn).is_err(), "{sql}");
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM trace_events WHERE place = '3号地块'"),
        2
    );
}

#[tokio::test]
async fn a_failed_inspection_pauses_the_batchs_listings_at_once_also_for_cached_reads() {
    let app = spawn_app().await;
    let (token, org, code) = coop_with_batch(&app, "trace-fail@example.com").await;
    let active = app
        .listing(&token, &org, json!({"trace_batch_code": code}))
        .await;
    let sold_out = app
        .listing(&token, &org, json!({"trace_batch_code": code, "stock": 0}))
        .await;
    assert_eq!(sold_out["status"], "sold_out");
    let unrelated = app.listing(&token, &org, json!({})).await;
    let id = active["id"].as_str().unwrap();
    // warm both cache tiers
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/api/v1/listings/{id}")).await.json()["status"],
            "active"
        );
    }
    let failed = record(&app, &token, &code, &inspection("fail")).await;
    let mut paused: Vec<String> = failed["paused_listing_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    paused.sort();
    let mut expected = vec![id.to_owned(), sold_out["id"].as_str().unwrap().to_owned()];
    expected.sort();
    assert_eq!(paused, expected);
    // no cached read shows it buyable afterwards
    let r = app.get(&format!("/api/v1/listings/{id}")).await;
    assert_eq!(
        r.json()["status"],
        "paused",
        "x-cache {:?}",
        r.header("x-cache")
    );
    assert_eq!(
        app.get(&format!(
            "/api/v1/listings/{}",
            unrelated["id"].as_str().unwrap()
        ))
        .await
        .json()["status"],
        "active"
    );
    // nobody can buy it; the seller cannot publish it again
    let buyer = app.user_token("trace-buyer@example.com").await;
    let order = json!({"items": [{"listing_id": id, "quantity": 1}], "delivery": {"method": "home_delivery",
        "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "110105", "line": "建国路1号"}}});
    let r = app.place_order(&buyer, "trace-fail-1", &order).await;
    assert!(r.status == 409 || r.status == 422, "{}", r.text);
    app.post_auth(
        &format!("/api/v1/listings/{id}/publish"),
        &token,
        &json!({}),
    )
    .await
    .assert_problem(409, "inspection_failed");
    // the events went out with the change: the inspection and each pause
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox_events WHERE type = 'trace.inspection_failed'"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox_events WHERE type = 'listing.paused'"),
        2
    );
    // a correcting inspection that passes lets the seller publish again
    let mut fix = inspection("pass");
    fix["corrects"] = failed["id"].clone();
    record(&app, &token, &code, &fix).await;
    let r = app
        .post_auth(
            &format!("/api/v1/listings/{id}/publish"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "active");
}

#[tokio::test]
async fn publishing_while_an_inspection_fails_never_leaves_a_listing_buyable() {
    let app = spawn_app().await;
    let (token, org, code) = coop_with_batch(&app, "trace-race@example.com").await;
    // eight drafts of the batch
    let mut drafts = Vec::new();
    for i in 0..8 {
        let r = app
            .post_auth(
                "/api/v1/listings",
                &token,
                &json!({"seller_id": org, "title": format!("甜瓜 {i}"),
                "category_id": app.category("fruit").await, "variety": "羊角蜜", "grade": "grade_1",
                "unit_label": "箱", "unit_weight_grams": 5000, "price_fen": 6800, "stock": 10,
                "origin_region_code": "220106", "storage": "chilled", "trace_batch_code": code}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        drafts.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let publishes = drafts.iter().map(|id| {
        let app = &app;
        let token = token.clone();
        async move {
            app.post_auth(
                &format!("/api/v1/listings/{id}/publish"),
                &token,
                &json!({}),
            )
            .await
            .status
        }
    });
    let fail = async {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        record(&app, &token, &code, &inspection("fail")).await
    };
    let (statuses, failed) = tokio::join!(futures_util::future::join_all(publishes), fail);
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    // whatever the order: nothing of the failed batch is active, and every
    // publish that won before the inspection was paused by it
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM listings WHERE trace_batch_code = '{code}' AND status = 'active'")),
        0
    );
    let won = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(failed["paused_listing_ids"].as_array().unwrap().len(), won);
}

/// The DOM after the page loaded, in headless Chromium at a phone's size.
fn dump_dom(url: &str) -> String {
    let (mut cmd, profile) = coopmart_tests::headless_chromium();
    let out = cmd
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn decode_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn the_qr_code_decodes_to_the_trace_page_which_renders_on_a_phone() {
    let app = spawn_app().await;
    let (token, org, code) = coop_with_batch(&app, "trace-qr@example.com").await;
    app.listing(&token, &org, json!({"title": "合心甜瓜 5kg箱", "trace_batch_code": code,
        "certifications": [{"kind": "green", "cert_no": "LB-18-2207", "valid_until": "2028-01-01"}]}))
        .await;
    record(&app, &token, &code, &inspection("pass")).await;

    let png = app
        .client
        .get(app.url(&format!("/api/v1/trace/{code}/qr.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let url = decode_qr(&png.bytes().await.unwrap());
    assert_eq!(url, format!("http://{}/t/{code}", app.addr));
    let svg = app.get(&format!("/api/v1/trace/{code}/qr.svg")).await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text.contains("<svg") && svg.text.contains("</svg>"));
    app.get("/api/v1/trace/ZZZZZZZZ/qr.png")
        .await
        .assert_problem(404, "not_found");

    // the page: one small response, nothing loaded from elsewhere
    let page = app.get(&format!("/t/{code}")).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text.len() < 16 * 1024, "{} bytes", page.text.len());
    for external in ["<script", "src=", "<link", "@import", "url("] {
        assert!(!page.text.contains(external), "{external}");
    }
    // and in a real browser at a phone's size
    let dom = dump_dom(&url);
    assert!(dom.contains("检测合格"), "{dom}");
    assert!(dom.contains("合心甜瓜 5kg箱"), "{dom}");
    assert!(dom.contains("绿色食品"), "{dom}");
    assert!(dom.contains("长春市农产品质量检测中心"), "{dom}");
    assert!(dom.contains(&code), "{dom}");

    // an unknown code: a friendly page with status 404
    let missing = app.get("/t/ZZZZZZZZ").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("未找到追溯信息"));
    let dom = dump_dom(&format!("http://{}/t/ZZZZZZZZ", app.addr));
    assert!(dom.contains("未找到追溯信息"), "{dom}");
}
