//! The public trace of a batch: JSON, and QR codes of its page.

use actix_web::http::header;

use super::*;

/// The chain of a batch from field to table, without login: producer,
/// origin, the current inspection, the listings that sell it and every
/// event in recording order.
#[utoipa::path(
    tag = "trace",
    params(("code" = String, Path, description = "Batch code (case does not matter)")),
    responses(
        (status = 200, description = "The trace", body = TraceResponse),
    )
)]
#[get("/trace/{code}")]
pub async fn get_trace(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code_of(&code)?;
    let s = state.clone();
    let view = blocking(move || s.trace.public_view(&code)).await?;
    Ok(HttpResponse::Ok().json(TraceResponse::of(&view, &state.public_base_url)))
}

/// The batch must exist: a QR code is never printed for a code that is not.
async fn existing(state: &web::Data<AppState>, raw: &str) -> Result<BatchCode, ApiError> {
    let code = code_of(raw)?;
    let s = state.clone();
    let c = code.clone();
    blocking(move || s.trace.batch(&c)).await?;
    Ok(code)
}

/// A QR code (SVG) of the batch's public page `{PUBLIC_BASE_URL}/t/{code}`.
#[utoipa::path(
    tag = "trace",
    params(("code" = String, Path, description = "Batch code")),
    responses(
        (status = 200, description = "The QR code", content_type = "image/svg+xml", body = String),
    )
)]
#[get("/trace/{code}/qr.svg")]
pub async fn trace_qr_svg(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = existing(&state, &code).await?;
    let svg = qr::svg(&trace_url(&state.public_base_url, &code))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .content_type("image/svg+xml")
        .body(svg))
}

/// A QR code (PNG) of the batch's public page `{PUBLIC_BASE_URL}/t/{code}`.
#[utoipa::path(
    tag = "trace",
    params(("code" = String, Path, description = "Batch code")),
    responses(
        (status = 200, description = "The QR code", content_type = "image/png", body = Vec<u8>),
    )
)]
#[get("/trace/{code}/qr.png")]
pub async fn trace_qr_png(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = existing(&state, &code).await?;
    let png = qr::png(&trace_url(&state.public_base_url, &code))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .content_type("image/png")
        .body(png))
}
