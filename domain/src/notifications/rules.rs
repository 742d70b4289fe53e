//! The event catalogue, the audience rules, the retry schedule and the
//! template renderer.

use std::collections::BTreeMap;
use std::time::Duration;

/// Every event type, with whether partners may subscribe to it (internal
/// events reach people by e-mail only).
pub const EVENT_TYPES: &[(&str, bool)] = &[
    ("order.created", true),
    ("order.paid", true),
    ("order.cancelled", true),
    ("order.expired", true),
    ("order.completed", true),
    ("seller_order.accepted", true),
    ("seller_order.shipped", true),
    ("seller_order.delivered", true),
    ("seller_order.completed", true),
    ("seller_order.refunded", true),
    ("refund_request.created", true),
    ("refund_request.decided", true),
    ("refund_request.escalated", true),
    ("refund_request.refunded", true),
    ("group_buy.succeeded", true),
    ("group_buy.failed", true),
    ("listing.sold_out", true),
    ("listing.paused", true),
    ("trace.inspection_failed", true),
    ("membership.decided", false),
    ("statement.issued", false),
];

/// A type partners may subscribe to.
pub fn partner_may_subscribe(event_type: &str) -> bool {
    EVENT_TYPES
        .iter()
        .any(|(t, partners)| *t == event_type && *partners)
}

/// Who gets an e-mail of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// The user who placed the order (`buyer_user_id`; partners' orders: none).
    Buyer,
    /// The contact address of each seller of the order (`order_id`).
    SellersOfOrder,
    /// The applicant of a membership application (user or organization).
    Applicant,
    /// The contact address of the seller (`seller_id`).
    Seller,
}

/// The e-mails an event sends: (template, to whom). Templates live in
/// `templates/mail/<name>.{subject,txt,html}`.
pub fn mails_for(event_type: &str) -> &'static [(&'static str, Recipient)] {
    match event_type {
        "order.paid" => &[
            ("order_confirmation", Recipient::Buyer),
            ("new_order", Recipient::SellersOfOrder),
        ],
        "membership.decided" => &[("membership_decision", Recipient::Applicant)],
        "statement.issued" => &[("statement_issued", Recipient::Seller)],
        "refund_request.decided" => &[("after_sales_decision", Recipient::Buyer)],
        _ => &[],
    }
}

/// How long to wait before attempt `attempt + 1` after `attempt` failures:
/// `base × 2^(attempt−1)`, at most `max`, times a jitter factor in
/// `[0.5, 1.0]` (`jitter` in `[0, 1]`, drawn by the caller) so that many
/// deliveries failing together do not retry together.
pub fn retry_delay(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let capped = exp.min(max);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The body a webhook receives (and the deduplication key, `id`).
pub fn webhook_body(e: &Event) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "type": e.event_type,
        "version": e.version,
        "created_at": e.created_at,
        "data": e.payload,
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template {0}: unknown placeholder {{{{{1}}}}}")]
    Unknown(String, String),
    #[error("template {0}: unclosed placeholder")]
    Unclosed(String),
}

/// The values a template may use: the event's fields as text, and for each
/// `*_fen` amount a `*_yuan` rendering (`68.00`).
pub fn template_vars(e: &Event) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    vars.insert("event_id".to_owned(), e.id.to_string());
    vars.insert("event_type".to_owned(), e.event_type.clone());
    if let Some(obj) = e.payload.as_object() {
        for (k, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            if let (Some(stem), Some(fen)) = (k.strip_suffix("_fen"), v.as_i64()) {
                let sign = if fen < 0 { "-" } else { "" };
                let a = fen.unsigned_abs();
                vars.insert(
                    format!("{stem}_yuan"),
                    format!("{sign}{}.{:02}", a / 100, a % 100),
                );
            }
            vars.insert(k.clone(), text);
        }
    }
    if let Some(status) = vars.get("status").cloned() {
        let zh = match status.as_str() {
            "approved" => "已通过",
            "rejected" => "未通过",
            "closed" => "平台裁定不予退款",
            "refunded" => "已退款",
            other => other,
        };
        vars.insert("status_zh".to_owned(), zh.to_owned());
    }
    vars
}

/// Escapes text for HTML (values put into an HTML template).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A mail template: subject, plain text and HTML, Chinese first.
#[derive(Debug, Clone, Copy)]
pub struct MailTemplate {
    pub name: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// The e-mail of `template` about `event` to `to`: every placeholder filled
/// (values HTML-escaped in the HTML part), or an error.
pub fn compose_mail(
    template: &MailTemplate,
    event: &Event,
    to: &str,
) -> Result<crate::mail::OutgoingMail, TemplateError> {
    let vars = template_vars(event);
    let escaped: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.clone(), escape_html(v)))
        .collect();
    Ok(crate::mail::OutgoingMail {
        to: to.to_owned(),
        subject: render(template.name, template.subject.trim(), &vars)?,
        text_body: render(template.name, template.text, &vars)?,
        html_body: Some(render(template.name, template.html, &escaped)?),
    })
}

/// Replaces every `{{name}}` in `text` with its value; a name without a
/// value is an error (never rendered as empty).
pub fn render(
    name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed(name.to_owned()))?;
        let key = after[..end].trim();
        let value = vars
            .get(key)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned(), key.to_owned()))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An event of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: uuid::Uuid,
    pub seq: i64,
    pub event_type: String,
    pub version: i32,
    /// Partners who may receive it by webhook: the one that placed the
    /// order, or (public) all of them.
    pub partner_id: Option<uuid::Uuid>,
    pub public: bool,
    pub payload: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Whether a webhook may be sent to `ip`: not loopback, private,
/// link-local, unspecified, multicast, shared (100.64/10), documentation or
/// broadcast space, in IPv4 or IPv6 (including IPv4-mapped IPv6).
pub fn is_public_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

/// A webhook URL's shape: `http(s)://host[:port]/…`, at most 500
/// characters, no credentials. Returns the host and port to resolve.
pub fn webhook_target(url: &str) -> Result<(String, u16), &'static str> {
    if url.len() > 500 {
        return Err("must be at most 500 characters");
    }
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err("must be an http or https URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.chars().any(char::is_whitespace) {
        return Err("must name a host (no credentials, no spaces)");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("has a malformed IPv6 host")?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| "has a malformed port")?,
            None if after.is_empty() => default_port,
            None => return Err("has a malformed host"),
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| "has a malformed port")?),
            None => (authority.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return Err("must name a host");
    }
    Ok((host, port))
}
