//! Request context: a request id on every request (accepted from
//! `X-Request-Id` when sane, generated otherwise, echoed on the response),
//! a tracing span carrying it so every log line of the request names it,
//! one access log line, and a last line of defence that turns any error
//! response that is not yet problem+json into one.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};
use domain::ids::RequestId;
use tracing::Instrument;

use crate::error::{ApiError, PROBLEM_JSON};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestId::parse)
        .unwrap_or_else(RequestId::generate);
    req.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let mut res = match result {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => {
            // An error escaping the inner services: answer with a problem
            // for its status, carrying the request id.
            let mut problem =
                ApiError::from_status(err.as_response_error().status_code()).error_response();
            if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
                problem.headers_mut().insert(X_REQUEST_ID, v);
            }
            span.in_scope(|| tracing::warn!(error = %err, "request failed in middleware"));
            return Err(InternalError::from_response(err.to_string(), problem).into());
        }
    };
    if res.status().as_u16() >= 400 && !is_problem(&res) && !is_page(&res) {
        let (req, old) = res.into_parts();
        let mut problem = ApiError::from_status(old.status()).error_response();
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(v) = old.headers().get(&name) {
                problem.headers_mut().insert(name, v.clone());
            }
        }
        res = ServiceResponse::new(req, problem);
    }
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    let status = res.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request finished");
        }
    });
    Ok(res)
}

/// A page rendered for people (the public trace page's friendly 404): its
/// own HTML stays. Nothing else in the API answers HTML.
fn is_page(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON))
}
