#![allow(clippy::expect_used)]

use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn event(payload: serde_json::Value) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        seq: 1,
        event_type: "order.paid".into(),
        version: 1,
        partner_id: None,
        public: false,
        payload,
        created_at: chrono::Utc::now(),
    }
}

#[test]
fn templates_render_every_placeholder_or_fail() {
    let e = event(
        serde_json::json!({"number": "CM1", "total_fen": 94100, "refund_fen": -5, "note": null}),
    );
    let vars = template_vars(&e);
    assert_eq!(
        render("t", "订单 {{number}} 已支付 ¥{{ total_yuan }}", &vars),
        Ok("订单 CM1 已支付 ¥941.00".to_owned())
    );
    assert_eq!(vars.get("refund_yuan").map(String::as_str), Some("-0.05"));
    assert_eq!(vars.get("note").map(String::as_str), Some(""));
    assert_eq!(
        render("t", "{{missing}}", &vars),
        Err(TemplateError::Unknown("t".into(), "missing".into()))
    );
    assert_eq!(
        render("t", "{{number", &vars),
        Err(TemplateError::Unclosed("t".into()))
    );
}

#[test]
fn mails_fill_every_part_and_escape_html() {
    let t = MailTemplate {
        name: "after_sales_decision",
        subject: "售后 {{status_zh}}\n",
        text: "{{note}}",
        html: "<p>{{note}}</p>",
    };
    let e = event(serde_json::json!({"status": "rejected", "note": "<b>不是</b> & 好"}));
    let m = compose_mail(&t, &e, "buyer@example.com").expect("renders");
    assert_eq!(m.subject, "售后 未通过");
    assert_eq!(m.text_body, "<b>不是</b> & 好");
    assert_eq!(
        m.html_body.as_deref(),
        Some("<p>&lt;b&gt;不是&lt;/b&gt; &amp; 好</p>")
    );
}

#[test]
fn who_hears_of_what() {
    assert!(partner_may_subscribe("order.paid"));
    assert!(partner_may_subscribe("listing.sold_out"));
    assert!(
        !partner_may_subscribe("statement.issued"),
        "a seller's statement is private"
    );
    assert!(!partner_may_subscribe("membership.decided"));
    assert!(!partner_may_subscribe("order.nonsense"));
    assert_eq!(mails_for("order.paid").len(), 2);
    assert_eq!(
        mails_for("statement.issued"),
        &[("statement_issued", Recipient::Seller)]
    );
    assert!(mails_for("listing.paused").is_empty());
    let body = webhook_body(&event(serde_json::json!({"order_id": "x"})));
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["version"], 1);
    assert_eq!(body["data"]["order_id"], "x");
}

proptest! {
    #[test]
    fn retries_back_off_exponentially_with_jitter_and_a_cap(attempt in 1u32..40, jitter in 0.0..=1.0f64) {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        let d = retry_delay(attempt, base, max, jitter);
        let full = base.saturating_mul(2u32.saturating_pow(attempt - 1)).min(max);
        prop_assert!(d >= full / 2 && d <= full, "{d:?} for {full:?}");
        prop_assert!(retry_delay(attempt + 1, base, max, 1.0) >= retry_delay(attempt, base, max, 1.0));
    }
}

#[test]
fn webhooks_go_to_public_http_targets_only() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    for private in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ] {
        assert!(!is_public_ip(ip(private)), "{private}");
    }
    for public in ["8.8.8.8", "203.119.1.1", "2400:3200::1"] {
        assert!(is_public_ip(ip(public)), "{public}");
    }
    assert_eq!(
        webhook_target("https://mall.example/hooks?x=1"),
        Ok(("mall.example".into(), 443))
    );
    assert_eq!(
        webhook_target("http://127.0.0.1:9000/h"),
        Ok(("127.0.0.1".into(), 9000))
    );
    assert_eq!(webhook_target("http://[::1]:81/"), Ok(("::1".into(), 81)));
    for bad in [
        "ftp://x",
        "https://user:pw@mall.example/",
        "https:///x",
        "http://a:b/",
        "javascript:alert(1)",
    ] {
        assert!(webhook_target(bad).is_err(), "{bad}");
    }
}

#[test]
fn who_manages_a_partners_webhooks_and_what_a_subscription_may_name() {
    use crate::identity::{PartnerId, Principal, Scope, Scopes, UserId};
    let mall = PartnerId::new();
    let with = |scopes: &[Scope]| Principal::Partner {
        id: mall,
        scopes: Scopes(scopes.iter().copied().collect()),
    };
    assert!(may_manage(&with(&[Scope::WebhooksManage]), mall));
    assert!(
        !may_manage(&with(&[Scope::OrdersWrite]), mall),
        "the scope is needed"
    );
    assert!(
        !may_manage(&with(&[Scope::WebhooksManage]), PartnerId::new()),
        "its own only"
    );
    let admin = Principal::User {
        id: UserId::new(),
        platform_admin: true,
    };
    let user = Principal::User {
        id: UserId::new(),
        platform_admin: false,
    };
    assert!(may_manage(&admin, mall));
    assert!(!may_manage(&user, mall));

    let types = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        check_subscription(
            Some("https://mall.example/h"),
            Some(&types(&["order.paid", "order.paid"]))
        ),
        Ok(Some(types(&["order.paid"]))),
        "duplicates collapse"
    );
    let e = check_subscription(Some("ftp://x"), Some(&types(&["statement.issued"])))
        .expect_err("refused");
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["url", "event_types[0]"]);
    assert!(
        check_subscription(None, Some(&[])).is_err(),
        "at least one type"
    );
}
