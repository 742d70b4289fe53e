//! `GET /t/{code}`: the page a shopper's phone opens from the QR code on a
//! box — server-rendered Chinese HTML, one small response with its styles
//! inline, no scripts, fonts or images from elsewhere (rural connections
//! are slow), readable at a phone's width.

use std::fmt::Write as _;

use actix_web::http::{header, StatusCode};
use domain::notifications::escape_html as esc;
use domain::trace::{InspectionResult, TraceEvent, TraceEventType, TraceView};
use serde_json::Value;

use super::*;

const STYLE: &str = "body{margin:0;font:16px/1.5 system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;background:#f4f6f2;color:#1d2a1d}\
main{max-width:640px;margin:0 auto;padding:16px}\
h1{font-size:22px;margin:8px 0}\
.card{background:#fff;border-radius:12px;padding:14px 16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
.muted{color:#5b6b5b;font-size:14px}\
.pass{color:#17803d;font-weight:700}.fail{color:#c62828;font-weight:700}\
.badge{display:inline-block;border:1px solid #17803d;color:#17803d;border-radius:6px;padding:0 6px;margin:2px 4px 2px 0;font-size:13px}\
ol{list-style:none;padding:0;margin:0}\
li{border-left:3px solid #8bc34a;padding:0 0 12px 12px;margin-left:6px}\
li.corrected{opacity:.55;text-decoration:line-through}\
.code{font-family:monospace;letter-spacing:2px}";

fn step_name(t: TraceEventType) -> &'static str {
    match t {
        TraceEventType::Planting => "种植",
        TraceEventType::InputUse => "投入品使用",
        TraceEventType::Harvest => "采收",
        TraceEventType::Inspection => "质量检测",
        TraceEventType::Packing => "包装",
        TraceEventType::ColdStorage => "冷藏",
        TraceEventType::Shipping => "发运",
        TraceEventType::Delivery => "送达",
    }
}

fn cert_name(kind: domain::catalog::CertKind) -> &'static str {
    kind.label_zh()
}

fn result_html(r: InspectionResult) -> &'static str {
    match r {
        InspectionResult::Pass => "<span class=\"pass\">检测合格</span>",
        InspectionResult::Fail => "<span class=\"fail\">检测不合格</span>",
    }
}

fn text(e: &TraceEvent, key: &str) -> Option<String> {
    e.data.get(key).and_then(Value::as_str).map(esc)
}

/// What an event's data says, in a line.
fn details(e: &TraceEvent) -> String {
    let mut parts: Vec<String> = Vec::new();
    match e.event_type {
        TraceEventType::InputUse => {
            parts.extend(text(e, "product"));
            parts.extend(text(e, "dose").map(|d| format!("用量 {d}")));
        }
        TraceEventType::Inspection => {
            parts.extend(e.inspection_result().map(|r| result_html(r).to_owned()));
            parts.extend(text(e, "lab"));
            if let Some(items) = e.data.get("items").and_then(Value::as_array) {
                let items: Vec<String> = items.iter().filter_map(Value::as_str).map(esc).collect();
                parts.push(format!("项目：{}", items.join("、")));
            }
            parts.extend(text(e, "report_no").map(|n| format!("报告编号 {n}")));
        }
        TraceEventType::ColdStorage => {
            if let Some(t) = e.data.get("temperature_c").and_then(Value::as_f64) {
                parts.push(format!("{t:.1} ℃"));
            }
        }
        _ => {}
    }
    parts.join(" · ")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    )
}

/// The trace page of a batch.
pub fn render(v: &TraceView) -> String {
    let b = &v.batch;
    let mut h = String::new();
    let product = v
        .listings
        .first()
        .map_or_else(|| b.variety.clone(), |l| l.title.clone());
    let _ = write!(
        h,
        "<p class=\"muted\">农产品质量安全追溯 · 追溯码 <span class=\"code\">{}</span></p><h1>{}</h1>",
        esc(b.code.as_str()),
        esc(&product)
    );
    let _ = write!(
        h,
        "<section class=\"card\"><div>品种：{}</div><div>数量：{} {}</div>\
<div>生产者：{}</div><div>产地：{} {}</div></section>",
        esc(&b.variety),
        b.quantity,
        esc(&b.unit),
        esc(&v.producer.name),
        esc(&b.place.region_code.display_name()),
        esc(&b.place.description)
    );
    h.push_str("<section class=\"card\" id=\"inspection\"><div class=\"muted\">最新检测</div>");
    match v.inspection() {
        Some(e) => {
            let _ = write!(
                h,
                "<div>{}</div><div class=\"muted\">{}</div>",
                details(e),
                esc(&e.occurred_at.format("%Y-%m-%d %H:%M").to_string())
            );
        }
        None => h.push_str("<div>尚无检测记录</div>"),
    }
    h.push_str("</section>");
    let mut seen = std::collections::HashSet::new();
    let certs: Vec<String> = v
        .listings
        .iter()
        .flat_map(|l| l.certifications.iter())
        .filter(|c| seen.insert((c.kind, c.cert_no.as_str())))
        .map(|c| {
            format!(
                "<span class=\"badge\">{} {}</span>",
                cert_name(c.kind),
                esc(&c.cert_no)
            )
        })
        .collect();
    if !certs.is_empty() {
        let _ = write!(
            h,
            "<section class=\"card\"><div class=\"muted\">认证（三品一标）</div>{}</section>",
            certs.join("")
        );
    }
    h.push_str("<section class=\"card\"><div class=\"muted\">从田间到餐桌</div><ol>");
    for e in &v.events {
        let corrected = v.corrected_by(e.id).is_some();
        let _ = write!(
            h,
            "<li{}><strong>{}</strong> <span class=\"muted\">{}</span><div>{}</div><div class=\"muted\">{} {}</div></li>",
            if corrected { " class=\"corrected\"" } else { "" },
            step_name(e.event_type),
            esc(&e.occurred_at.format("%Y-%m-%d %H:%M").to_string()),
            details(e),
            esc(&e.place.region_code.display_name()),
            esc(&e.place.description)
        );
    }
    if v.events.is_empty() {
        h.push_str("<li>尚无记录</li>");
    }
    h.push_str("</ol></section><p class=\"muted\">coopmart 农产品追溯</p>");
    page(&format!("{product} · 追溯"), &h)
}

fn not_found_page() -> HttpResponse {
    let body = page(
        "未找到追溯信息",
        "<section class=\"card\"><h1>未找到追溯信息</h1>\
<p>请核对包装上的追溯码（8 位字母和数字），或重新扫描二维码。</p>\
<p class=\"muted\">Trace code not found.</p></section>",
    );
    HttpResponse::build(StatusCode::NOT_FOUND)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// The public trace page a QR code opens (HTML, for a phone; no login).
#[utoipa::path(
    tag = "trace",
    params(("code" = String, Path, description = "Batch code (case does not matter)")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "A friendly page: no such batch", content_type = "text/html", body = String),
    )
)]
#[get("/t/{code}")]
pub async fn trace_page(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Ok(code) = BatchCode::parse(&code) else {
        return Ok(not_found_page());
    };
    let s = state.clone();
    let span = tracing::Span::current();
    match web::block(move || span.in_scope(|| s.trace.public_view(&code))).await? {
        Ok(view) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
            .content_type("text/html; charset=utf-8")
            .body(render(&view))),
        Err(TraceError::NotFound) => Ok(not_found_page()),
        Err(e) => Err(e.into()),
    }
}
