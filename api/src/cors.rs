//! CORS for browser frontends (farmer storefronts on their own origins).
//!
//! `CORS_ALLOWED_ORIGINS` lists exact origins (`scheme://host[:port]`); an
//! origin not on it gets no CORS headers, so the browser keeps the response
//! from the page. No credentials mode: the API authenticates with bearer
//! tokens, never cookies. Written here rather than taken from actix-cors
//! because that crate answers a preflight from an unlisted origin with a
//! plain-text 400, and every error of this API is problem+json.

use std::collections::HashSet;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

/// Methods a preflight may ask for.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// Request headers the API reads.
pub const ALLOW_HEADERS: &str =
    "Authorization, Content-Type, Accept, Idempotency-Key, If-Match, If-None-Match, X-Request-Id";
/// Response headers a browser client needs to read.
pub const EXPOSE_HEADERS: &str = "ETag, X-Request-Id, Retry-After, Idempotent-Replayed, Location";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "600";

/// The allow-list, parsed once at start.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: Rc<HashSet<String>>,
}

impl CorsPolicy {
    pub fn new(origins: &[String]) -> Self {
        Self {
            origins: Rc::new(origins.iter().cloned().collect()),
        }
    }

    /// The request's `Origin` when it is on the list.
    fn allowed(&self, req: &ServiceRequest) -> Option<HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins.contains(text).then(|| origin.clone())
    }
}

/// Answers preflights from listed origins and adds CORS headers to their
/// responses; everything else passes through untouched. Only installed when
/// the allow-list is not empty (`startup::serve`).
pub async fn cors(
    policy: CorsPolicy,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origin = policy.allowed(&req);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, &origin) {
        let res = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(res)
}
