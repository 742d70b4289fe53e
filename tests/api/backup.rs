//! `scripts/dev backup` and `scripts/dev restore`: a backup restored into a
//! fresh database holds every order and ledger line, and serves the API.

use coopmart_tests::{order_lines, spawn_app, spawn_app_with, TestApp};
use diesel::sql_types::Text;
use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::json;

#[derive(QueryableByName)]
struct Digest {
    #[diesel(sql_type = Text)]
    d: String,
}

/// Row count and a digest of every row of the tables that hold the money.
fn digest(conn: &mut PgConnection) -> Vec<(String, String)> {
    [
        "orders",
        "seller_orders",
        "order_items",
        "payments",
        "journal_entries",
        "journal_lines",
        "ledger_accounts",
    ]
    .iter()
    .map(|t| {
        let d: Digest = sql_query(format!(
            "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS d FROM {t} x"
        ))
        .get_result(conn)
        .unwrap();
        (t.to_string(), d.d)
    })
    .collect()
}

fn dev(args: &[&str], database_url: &str) -> String {
    let out = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dev"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/dev {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn paid_orders(app: &TestApp) -> (String, String, i64) {
    let seller = app.user_token("backup-seller@example.com").await;
    let org = app.create_org(&seller, "farmer_coop", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = app
        .listing(&seller, &org, json!({"storage": "ambient"}))
        .await;
    let id = l["id"].as_str().unwrap();
    let buyer = app.user_token("backup-buyer@example.com").await;
    let home = json!({"method": "home_delivery", "address": {"recipient": "王芳", "phone": "13800000000", "region_code": "220106", "line": "合心镇1号"}});
    let mut last = (String::new(), 0);
    for n in 0..3 {
        let o = app
            .place_order(
                &buyer,
                &format!("backup-{n}"),
                &json!({"items": order_lines(&[(id, 2 + n)]), "delivery": home}),
            )
            .await
            .json();
        if n < 2 {
            app.pay(&buyer, o["id"].as_str().unwrap()).await;
        }
        last = (
            o["id"].as_str().unwrap().to_owned(),
            o["total_fen"].as_i64().unwrap(),
        );
    }
    (buyer, last.0, last.1)
}

#[tokio::test]
async fn a_restored_backup_holds_every_order_and_ledger_line() {
    let app = spawn_app().await;
    let (_, order, total) = paid_orders(&app).await;
    let before = digest(&mut app.db.connect());
    assert!(
        before
            .iter()
            .any(|(t, d)| t == "journal_lines" && !d.starts_with("0:")),
        "the fixture posted nothing: {before:?}"
    );

    let file = std::env::temp_dir().join(format!(
        "coopmart-backup-{}.dump",
        uuid::Uuid::now_v7().simple()
    ));
    let written = dev(&["backup", file.to_str().unwrap()], &app.db.url);
    assert_eq!(written, file.to_str().unwrap());
    let name = format!("coopmart_restore_{}", uuid::Uuid::now_v7().simple());
    let restored_url = dev(&["restore", file.to_str().unwrap(), &name], &app.db.url);
    assert!(
        restored_url.ends_with(&format!("/{name}")),
        "{restored_url}"
    );
    // a second restore into the same name is refused (nothing overwritten)
    let again = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dev"))
        .args(["restore", file.to_str().unwrap(), &name])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let after = digest(&mut PgConnection::establish(&restored_url).unwrap());
    assert_eq!(before, after, "the restored database differs");

    // the API runs on the restored database and sees the orders
    let restored = spawn_app_with(|env| {
        env.insert("DATABASE_URL".into(), restored_url.clone());
    })
    .await;
    let login = restored
        .login("backup-buyer@example.com", "Tomato-Field-42")
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = login.json()["access_token"].as_str().unwrap().to_owned();
    let r = restored
        .get_auth(&format!("/api/v1/orders/{order}"), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["total_fen"], total);
    drop(restored);
    std::fs::remove_file(&file).ok();
    let mut admin = PgConnection::establish(&app.db.url).unwrap();
    sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
}
