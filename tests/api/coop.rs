//! Cooperatives through the HTTP API: organizations, the membership
//! register, capital, votes, surplus distribution and access rules.

use coopmart_tests::{credit_code, spawn_app, TestApp};
use serde_json::{json, Value};

fn org_body(kind: &str, code: &str) -> Value {
    json!({"kind": kind, "name": "合心镇甜瓜专业合作社", "credit_code": code, "region_code": "220106", "contact_email": "coop@example.com"})
}

#[tokio::test]
async fn organization_validation_and_creation() {
    let app = spawn_app().await;
    let token = app.user_token("founder@example.com").await;

    let good = credit_code("93");
    let mut bad = good.clone().into_bytes();
    bad[5] = if bad[5] == b'1' { b'2' } else { b'1' };
    let bad = String::from_utf8(bad).unwrap();
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &token,
            &org_body("farmer_coop", &bad),
        )
        .await;
    let body = r.assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "credit_code");

    // farmer_coop needs a 93 code
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &token,
            &org_body("farmer_coop", &credit_code("91")),
        )
        .await;
    assert!(
        r.assert_problem(422, "validation_failed")["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("93")
    );

    // unknown county, unknown kind, bad e-mail: all reported together
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &token,
            &json!({"kind": "castle", "name": "x", "credit_code": credit_code("91"), "region_code": "999999", "contact_email": "nope"}),
        )
        .await;
    let fields: Vec<String> = r.assert_problem(422, "validation_failed")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["kind", "region_code", "contact_email"]);

    // grassroots_coop needs an SMC parent; SMCs need a platform admin
    app.post_auth(
        "/api/v1/organizations",
        &token,
        &org_body("grassroots_coop", &credit_code("91")),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post_auth(
        "/api/v1/organizations",
        &token,
        &org_body("supply_marketing_coop", &credit_code("91")),
    )
    .await
    .assert_problem(403, "forbidden");

    // success; the creator becomes admin staff
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &token,
            &org_body("farmer_coop", &good),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let org = r.json();
    assert_eq!(org["region_name"], "吉林省 长春市 绿园区");
    assert_eq!(org["status"], "active");
    let staff = app
        .get_auth(
            &format!(
                "/api/v1/organizations/{}/staff",
                org["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(staff.json()["items"][0]["role"], "admin");
    // duplicate credit code
    app.post_auth(
        "/api/v1/organizations",
        &token,
        &org_body("farmer_coop", &good),
    )
    .await
    .assert_problem(409, "credit_code_taken");
    // public read
    assert_eq!(
        app.get(&format!(
            "/api/v1/organizations/{}",
            org["id"].as_str().unwrap()
        ))
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn organization_tree_listing_and_cycles() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let province = app.create_org(&admin, "supply_marketing_coop", None).await;
    let pid = province["id"].as_str().unwrap();
    let county = app
        .create_org(&admin, "supply_marketing_coop", Some(pid))
        .await;
    let cid = county["id"].as_str().unwrap();
    let grassroots = app.create_org(&admin, "grassroots_coop", Some(cid)).await;

    let children = app
        .get(&format!("/api/v1/organizations/{cid}/children"))
        .await
        .json();
    assert_eq!(children["items"].as_array().unwrap().len(), 1);
    assert_eq!(children["items"][0]["id"], grassroots["id"]);

    // a stranger may not attach to the county SMC
    let stranger = app.user_token("stranger@example.com").await;
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &stranger,
            &json!({"kind": "farmer_coop", "name": "x", "credit_code": credit_code("93"), "region_code": "220106",
                    "parent_id": cid, "contact_email": "a@b.cn"}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    // a farmer_coop cannot be the parent of an SMC
    let fc = app.create_org(&stranger, "farmer_coop", None).await;
    let r = app
        .patch_auth(
            &format!("/api/v1/organizations/{pid}"),
            &admin,
            &json!({"parent_id": fc["id"]}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    // cycle: the province under its own child
    let r = app
        .patch_auth(
            &format!("/api/v1/organizations/{pid}"),
            &admin,
            &json!({"parent_id": cid}),
        )
        .await;
    r.assert_problem(422, "parent_cycle");
    // detaching with null works
    let r = app
        .patch_auth(
            &format!("/api/v1/organizations/{cid}"),
            &admin,
            &json!({"parent_id": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["parent_id"].is_null());

    // filters + cursor pagination over every SMC
    let mut seen = Vec::new();
    let mut url =
        "/api/v1/organizations?kind=supply_marketing_coop&region_code=2201&limit=1".to_owned();
    loop {
        let page = app.get(&url).await.json();
        for o in page["items"].as_array().unwrap() {
            seen.push(o["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/organizations?kind=supply_marketing_coop&region_code=2201&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, [pid, cid]);
    assert_eq!(
        app.get("/api/v1/organizations?region_code=11").await.json()["items"],
        json!([])
    );
    app.get("/api/v1/organizations?kind=castle")
        .await
        .assert_problem(422, "validation_failed");
}

async fn farmer_coop(app: &TestApp, admin_email: &str) -> (String, String) {
    let admin = app.user_token(admin_email).await;
    let org = app.create_org(&admin, "farmer_coop", None).await;
    (admin, org["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn membership_lifecycle_composition_and_history() {
    let app = spawn_app().await;
    let (admin, org) = farmer_coop(&app, "chair@example.com").await;
    for i in 0..4 {
        app.add_member(&admin, &org, &format!("farmer{i}@example.com"), true)
            .await;
    }
    // 4 farmers + 1 non-farmer = exactly 80%: allowed
    let (_, worker) = app
        .add_member(&admin, &org, "worker@example.com", false)
        .await;
    // a second non-farmer would make it 4/6 < 80%: refused, nothing written
    let (_, pending) = app
        .apply_as_new_user(&org, "trader@example.com", false)
        .await;
    let r = app.approve(&admin, &org, &pending).await;
    let body = r.assert_problem(422, "composition_farmer_share");
    assert!(body["detail"].as_str().unwrap().contains("80%"));
    assert_eq!(app.count("SELECT count(*) AS n FROM members"), 5);
    let apps = app
        .get_auth(
            &format!("/api/v1/organizations/{org}/membership-applications?status=pending"),
            &admin,
        )
        .await
        .json();
    assert_eq!(apps["items"].as_array().unwrap().len(), 1);
    // reject it; deciding twice is an invalid transition
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/membership-applications/{pending}/reject"),
            &admin,
            &json!({"reason": "非农户比例"}),
        )
        .await;
    assert_eq!(r.json()["status"], "rejected");
    app.approve(&admin, &org, &pending)
        .await
        .assert_problem(409, "invalid_transition");

    // contributions, suspension, withdrawal with capital returned
    let base = format!("/api/v1/organizations/{org}/members/{worker}");
    let r = app
        .post_auth(
            &format!("{base}/contributions"),
            &admin,
            &json!({"amount_fen": 500000, "form": "cash", "description": "入股"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.post_auth(
        &format!("{base}/contributions"),
        &admin,
        &json!({"amount_fen": 0, "form": "return"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .patch_auth(
            &base,
            &admin,
            &json!({"action": "suspend", "reason": "欠缴"}),
        )
        .await;
    assert_eq!(r.json()["status"], "suspended");
    app.patch_auth(&base, &admin, &json!({"action": "suspend"}))
        .await
        .assert_problem(409, "invalid_transition");
    app.post_auth(
        &format!("{base}/contributions"),
        &admin,
        &json!({"amount_fen": 100, "form": "cash"}),
    )
    .await
    .assert_problem(409, "member_not_active");
    let r = app
        .patch_auth(&base, &admin, &json!({"action": "reinstate"}))
        .await;
    assert_eq!(r.json()["status"], "active");
    let r = app
        .patch_auth(
            &base,
            &admin,
            &json!({"action": "withdraw", "reason": "退社"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "withdrawn");
    assert_eq!(r.json()["capital_returned_fen"], 500000);
    assert!(r.json()["left_at"].is_string());
    app.patch_auth(&base, &admin, &json!({"action": "expel"}))
        .await
        .assert_problem(409, "invalid_transition");
    let account = app
        .get_auth(&format!("{base}/account"), &admin)
        .await
        .json();
    assert_eq!(account["capital_fen"], 0);

    let member = app.get_auth(&base, &admin).await.json();
    let events: Vec<&str> = member["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "applied",
            "approved",
            "contribution",
            "suspended",
            "active",
            "withdrawn"
        ]
    );
    assert_eq!(
        member["history"][5]["details"]["capital_returned_fen"],
        500000
    );
    assert_eq!(member["history"][3]["reason"], "欠缴");
    // the former member may re-apply
    let again = app
        .login("worker@example.com", "Tomato-Field-42")
        .await
        .json();
    let token = again["access_token"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/membership-applications"),
            token,
            &json!({"applicant_type": "user", "is_farmer": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn organization_members_and_the_enterprise_limit_at_20() {
    let app = spawn_app().await;
    let (admin, org) = farmer_coop(&app, "chair20@example.com").await;
    let adds = (0..19).map(|i| {
        let (app, admin, org) = (&app, &admin, &org);
        async move {
            app.add_member(admin, org, &format!("f{i}@example.com"), true)
                .await
        }
    });
    futures_util::future::join_all(adds).await;
    // two enterprises apply, each through its own admin
    let mut apps = Vec::new();
    for i in 0..2 {
        let boss = app.user_token(&format!("boss{i}@example.com")).await;
        let ent = app.create_org(&boss, "enterprise", None).await;
        let r = app
            .post_auth(
                &format!("/api/v1/organizations/{org}/membership-applications"),
                &boss,
                &json!({"applicant_type": "organization", "applicant_organization_id": ent["id"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json()["applicant_type"], "organization");
        apps.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    // 19 farmers + 1 enterprise = 20 members: allowed
    assert_eq!(app.approve(&admin, &org, &apps[0]).await.status, 200);
    // a second enterprise (21 members, 2 organizations > 5%): refused
    app.approve(&admin, &org, &apps[1])
        .await
        .assert_problem(422, "composition_enterprise_limit");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM members WHERE member_organization_id IS NOT NULL"),
        1
    );

    // a user may not apply on behalf of an organization it does not run
    let outsider = app.user_token("outsider@example.com").await;
    let someone_elses = app.create_org(&admin, "family_farm", None).await;
    app.post_auth(
        &format!("/api/v1/organizations/{org}/membership-applications"),
        &outsider,
        &json!({"applicant_type": "organization", "applicant_organization_id": someone_elses["id"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    // an enterprise keeps no register
    let ent = app.create_org(&outsider, "enterprise", None).await;
    app.post_auth(
        &format!(
            "/api/v1/organizations/{}/membership-applications",
            ent["id"].as_str().unwrap()
        ),
        &admin,
        &json!({"applicant_type": "user"}),
    )
    .await
    .assert_problem(422, "membership_not_supported");
}

#[tokio::test]
async fn coop_union_members_are_farmer_coops() {
    let app = spawn_app().await;
    let chair = app.user_token("union@example.com").await;
    let union = app.create_org(&chair, "coop_union", None).await;
    let uid = union["id"].as_str().unwrap();
    let farmer = app.user_token("solo@example.com").await;
    app.post_auth(
        &format!("/api/v1/organizations/{uid}/membership-applications"),
        &farmer,
        &json!({"applicant_type": "user", "is_farmer": true}),
    )
    .await
    .assert_problem(422, "member_kind_not_allowed");
    let fc = app.create_org(&farmer, "farmer_coop", None).await;
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{uid}/membership-applications"),
            &farmer,
            &json!({"applicant_type": "organization", "applicant_organization_id": fc["id"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .approve(&chair, uid, r.json()["id"].as_str().unwrap())
        .await;
    assert_eq!(r.json()["status"], "approved");
}

#[tokio::test]
async fn concurrent_approvals_respect_the_composition_rule() {
    let app = spawn_app().await;
    let (admin, org) = farmer_coop(&app, "race-chair@example.com").await;
    for i in 0..4 {
        app.add_member(&admin, &org, &format!("rf{i}@example.com"), true)
            .await;
    }
    let mut pending = Vec::new();
    for i in 0..6 {
        pending.push(
            app.apply_as_new_user(&org, &format!("rn{i}@example.com"), false)
                .await
                .1,
        );
    }
    let results =
        futures_util::future::join_all(pending.iter().map(|a| app.approve(&admin, &org, a))).await;
    let approved = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        approved,
        1,
        "only one non-farmer fits 80%: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| r.json()["code"] == "composition_farmer_share"));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM members WHERE NOT is_farmer"),
        1
    );
}

#[tokio::test]
async fn votes_cap_additional_votes_at_20_percent() {
    let app = spawn_app().await;
    let admin = app.user_token("votes@example.com").await;
    let r = app
        .post_auth(
            "/api/v1/organizations",
            &admin,
            &json!({"kind": "farmer_coop", "name": "按出资附加表决权社", "credit_code": credit_code("93"), "region_code": "220106",
                    "contact_email": "v@example.com", "additional_vote_basis": "capital"}),
        )
        .await;
    let org = r.json()["id"].as_str().unwrap().to_owned();
    let mut members = Vec::new();
    for i in 0..10 {
        members.push(
            app.add_member(&admin, &org, &format!("v{i}@example.com"), true)
                .await
                .1,
        );
    }
    for (m, amount) in [
        (&members[0], 900_000),
        (&members[1], 300_000),
        (&members[2], 100),
    ] {
        let r = app
            .post_auth(
                &format!("/api/v1/organizations/{org}/members/{m}/contributions"),
                &admin,
                &json!({"amount_fen": amount, "form": "cash"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let v = app
        .get_auth(&format!("/api/v1/organizations/{org}/votes"), &admin)
        .await
        .json();
    assert_eq!(v["total_basic"], 10);
    assert_eq!(v["total_additional"], 2, "20% of 10");
    assert_eq!(v["basis"], "capital");
    let by_member = |id: &str| {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["member_id"] == id)
            .unwrap()["additional"]
            .as_i64()
            .unwrap()
    };
    // 2 votes split 75% / 25% / ~0%: 1.5 / 0.5 / 0.0002 → 1 / 0 / 0, and
    // the leftover vote goes to the largest remainder (member 1: 0.49996).
    assert_eq!(by_member(&members[0]), 1);
    assert_eq!(by_member(&members[1]), 1);
    assert_eq!(by_member(&members[2]), 0);
    for m in v["members"].as_array().unwrap() {
        assert_eq!(m["basic"], 1);
    }
    // suspended members have no vote
    app.patch_auth(
        &format!("/api/v1/organizations/{org}/members/{}", members[9]),
        &admin,
        &json!({"action": "suspend"}),
    )
    .await;
    let v = app
        .get_auth(&format!("/api/v1/organizations/{org}/votes"), &admin)
        .await
        .json();
    assert_eq!(v["total_basic"], 9);
    assert_eq!(v["total_additional"], 1);
}

#[tokio::test]
async fn surplus_preview_commit_and_ledger() {
    let app = spawn_app().await;
    let (admin, org) = farmer_coop(&app, "surplus@example.com").await;
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(
            app.add_member(&admin, &org, &format!("s{i}@example.com"), true)
                .await
                .1,
        );
    }
    let base = |m: &str| format!("/api/v1/organizations/{org}/members/{m}");
    for (m, volume, capital) in [
        (&members[0], 600, 100),
        (&members[1], 300, 100),
        (&members[2], 100, 0),
    ] {
        let r = app
            .post_auth(
                &format!("{}/transactions", base(m)),
                &admin,
                &json!({"fiscal_year": 2026, "amount_fen": volume, "source": "offline_delivery"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        if capital > 0 {
            app.post_auth(
                &format!("{}/contributions", base(m)),
                &admin,
                &json!({"amount_fen": capital, "form": "in_kind"}),
            )
            .await;
        }
    }
    app.post_auth(
        &format!("{}/quantifications", base(&members[2])),
        &admin,
        &json!({"kind": "reserve", "fiscal_year": 2026, "amount_fen": 200}),
    )
    .await;
    // duplicate references are refused
    let t = json!({"fiscal_year": 2026, "amount_fen": 5, "source": "offline_delivery", "reference": "DN-001"});
    assert_eq!(
        app.post_auth(&format!("{}/transactions", base(&members[0])), &admin, &t)
            .await
            .status,
        201
    );
    app.post_auth(&format!("{}/transactions", base(&members[0])), &admin, &t)
        .await
        .assert_problem(409, "duplicate_reference");

    let req = json!({"fiscal_year": 2026, "distributable_surplus_fen": 1_000_001, "patronage_ratio_bp": 6000});
    let preview = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/surplus-distributions/preview"),
            &admin,
            &req,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    let p = preview.json();
    assert_eq!(p["committed"], false);
    let allocations = p["allocations"].as_array().unwrap();
    let sum: i64 = allocations
        .iter()
        .map(|a| a["total_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 1_000_001, "allocations sum exactly");
    assert_eq!(p["patronage_pool_fen"], 600_001, "60% rounded up");
    let patronage: i64 = allocations
        .iter()
        .map(|a| a["patronage_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(patronage, 600_001);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM surplus_distributions"),
        0,
        "preview stores nothing"
    );

    app.post_auth(
        &format!("/api/v1/organizations/{org}/surplus-distributions/preview"),
        &admin,
        &json!({"fiscal_year": 2026, "distributable_surplus_fen": 100, "patronage_ratio_bp": 5999}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post_auth(
        &format!("/api/v1/organizations/{org}/surplus-distributions/preview"),
        &admin,
        &json!({"fiscal_year": 2025, "distributable_surplus_fen": 100}),
    )
    .await
    .assert_problem(422, "no_transaction_volume");

    let committed = app
        .post_auth(
            &format!("/api/v1/organizations/{org}/surplus-distributions"),
            &admin,
            &req,
        )
        .await;
    assert_eq!(committed.status, 201, "{}", committed.text);
    let c = committed.json();
    assert_eq!(c["committed"], true);
    assert_eq!(
        c["allocations"], p["allocations"],
        "commit matches the preview"
    );
    app.post_auth(
        &format!("/api/v1/organizations/{org}/surplus-distributions"),
        &admin,
        &req,
    )
    .await
    .assert_problem(409, "distribution_exists");
    let fetched = app
        .get_auth(
            &format!("/api/v1/organizations/{org}/surplus-distributions/2026"),
            &admin,
        )
        .await;
    assert_eq!(fetched.json()["allocations"], c["allocations"]);
    app.get_auth(
        &format!("/api/v1/organizations/{org}/surplus-distributions/2024"),
        &admin,
    )
    .await
    .assert_problem(404, "not_found");

    // the ledger entry balances to the fen and matches the allocations
    assert_eq!(
        app.count("SELECT coalesce(sum(amount_fen), 0)::bigint AS n FROM journal_lines"),
        0
    );
    assert_eq!(app.count("SELECT coalesce(sum(amount_fen), 0)::bigint AS n FROM journal_lines WHERE amount_fen > 0"), 1_000_001);
    // immutable
    let mut conn = app.db.connect();
    use diesel::RunQueryDsl;
    assert!(
        diesel::sql_query("UPDATE surplus_allocations SET total_fen = 0")
            .execute(&mut conn)
            .is_err()
    );
    assert!(diesel::sql_query("DELETE FROM journal_lines")
        .execute(&mut conn)
        .is_err());

    // refunds appear on member accounts
    let account = app
        .get_auth(&format!("{}/account", base(&members[0])), &admin)
        .await
        .json();
    let mine = c["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["member_id"] == members[0].as_str())
        .unwrap()["total_fen"]
        .clone();
    assert_eq!(
        account["refunds"],
        json!([{"fiscal_year": 2026, "amount_fen": mine}])
    );
    assert_eq!(
        account["transaction_volume"],
        json!([{"fiscal_year": 2026, "amount_fen": 605}])
    );
    let account2 = app
        .get_auth(&format!("{}/account", base(&members[2])), &admin)
        .await
        .json();
    assert_eq!(account2["reserve_share_fen"], 200);
}

#[tokio::test]
async fn register_access_is_object_level() {
    let app = spawn_app().await;
    let (admin_a, org_a) = farmer_coop(&app, "a-chair@example.com").await;
    let (admin_b, org_b) = farmer_coop(&app, "b-chair@example.com").await;
    let (member_token, member) = app
        .add_member(&admin_a, &org_a, "am@example.com", true)
        .await;
    let (_, pending) = app.apply_as_new_user(&org_a, "ap@example.com", true).await;

    // B's admin sees nothing of A's register: 404 everywhere
    for path in [
        format!("/api/v1/organizations/{org_a}/members"),
        format!("/api/v1/organizations/{org_a}/members/{member}"),
        format!("/api/v1/organizations/{org_a}/members/{member}/account"),
        format!("/api/v1/organizations/{org_a}/membership-applications"),
        format!("/api/v1/organizations/{org_a}/votes"),
        format!("/api/v1/organizations/{org_a}/staff"),
    ] {
        app.get_auth(&path, &admin_b)
            .await
            .assert_problem(404, "not_found");
    }
    app.approve(&admin_b, &org_a, &pending)
        .await
        .assert_problem(404, "not_found");
    app.patch_auth(
        &format!("/api/v1/organizations/{org_a}/members/{member}"),
        &admin_b,
        &json!({"action": "expel"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_auth(
        &format!("/api/v1/organizations/{org_a}/members/{member}/contributions"),
        &admin_b,
        &json!({"amount_fen": 1, "form": "cash"}),
    )
    .await
    .assert_problem(404, "not_found");
    // A's member id under B's coop is not found either
    app.get_auth(
        &format!("/api/v1/organizations/{org_b}/members/{member}"),
        &admin_b,
    )
    .await
    .assert_problem(404, "not_found");

    // the member reads its own account, not the list
    assert_eq!(
        app.get_auth(
            &format!("/api/v1/organizations/{org_a}/members/{member}/account"),
            &member_token
        )
        .await
        .status,
        200
    );
    app.get_auth(
        &format!("/api/v1/organizations/{org_a}/members"),
        &member_token,
    )
    .await
    .assert_problem(404, "not_found");

    // a clerk reads and records, but does not decide
    let clerk = app.user_token("clerk@example.com").await;
    let r = app
        .post_auth(
            &format!("/api/v1/organizations/{org_a}/staff"),
            &admin_a,
            &json!({"email": "clerk@example.com", "role": "clerk"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get_auth(&format!("/api/v1/organizations/{org_a}/members"), &clerk)
            .await
            .status,
        200
    );
    app.approve(&clerk, &org_a, &pending)
        .await
        .assert_problem(403, "forbidden");

    // platform admins read everything, change nothing
    let platform = app.admin_token().await;
    assert_eq!(
        app.get_auth(&format!("/api/v1/organizations/{org_a}/members"), &platform)
            .await
            .status,
        200
    );
    app.approve(&platform, &org_a, &pending)
        .await
        .assert_problem(403, "forbidden");

    // the last admin cannot be removed or demoted
    let me = app.get_auth("/api/v1/me", &admin_a).await.json();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/organizations/{org_a}/staff")))
                .bearer_auth(&admin_a)
                .json(&json!({"user_id": me["id"]})),
        )
        .await;
    r.assert_problem(409, "last_admin");
    app.post_auth(
        &format!("/api/v1/organizations/{org_a}/staff"),
        &admin_a,
        &json!({"user_id": me["id"], "role": "clerk"}),
    )
    .await
    .assert_problem(409, "last_admin");
    let clerk_id = app.get_auth("/api/v1/me", &clerk).await.json()["id"].clone();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/organizations/{org_a}/staff")))
                .bearer_auth(&admin_a)
                .json(&json!({"user_id": clerk_id})),
        )
        .await;
    assert_eq!(r.status, 204);
    app.get_auth(&format!("/api/v1/organizations/{org_a}/members"), &clerk)
        .await
        .assert_problem(404, "not_found");
}
