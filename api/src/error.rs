//! The one error envelope of the API: `application/problem+json` (RFC 9457)
//! with a stable machine-readable `code`. Every error leaves the server in
//! this shape, including actix's own extractor and routing errors. A 5xx body
//! never carries internal text: the cause is logged with the request id.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use domain::validation::ValidationErrors;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The JSON field (dotted path for nested fields).
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details with a stable `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference identifying the problem type: `urn:coopmart:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// Present for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
    /// Extra members specific to the code (e.g. `checks` for `not_ready`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An error that renders as problem+json (boxed: errors travel through many
/// `Result`s and should stay one pointer wide).
#[derive(Debug)]
pub struct ApiError {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: &'static str,
    detail: Option<String>,
    errors: Vec<FieldErrorBody>,
    headers: Vec<(HeaderName, HeaderValue)>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.inner.status.as_u16(), self.inner.code)?;
        if let Some(d) = &self.inner.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                code,
                detail: Some(detail.into()),
                errors: Vec::new(),
                headers: Vec::new(),
                extra: None,
            }),
        }
    }

    /// A problem for `status` with the default code and no detail.
    pub fn from_status(status: StatusCode) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                code: default_code(status),
                detail: None,
                errors: Vec::new(),
                headers: Vec::new(),
                extra: None,
            }),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.push((name, value));
        self
    }

    pub fn with_extra(mut self, key: &str, value: serde_json::Value) -> Self {
        self.inner
            .extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_owned(), value);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    pub fn code(&self) -> &'static str {
        self.inner.code
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the resource does not exist",
        )
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"coopmart\""),
        )
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "one or more fields are invalid",
        );
        e.inner.errors = errors
            .0
            .into_iter()
            .map(|f| FieldErrorBody {
                field: f.field,
                message: f.message,
            })
            .collect();
        e
    }

    /// A body that is JSON but not of the expected shape: 422, naming what
    /// serde found wrong (without its line/column noise).
    pub fn body_shape(e: &serde_json::Error) -> Self {
        let mut errors = ValidationErrors::new();
        errors.add("body", strip_position(&e.to_string()));
        Self::validation(errors)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let secs = retry_after_secs.max(1);
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry after {secs} s"),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            e = e.with_header(header::RETRY_AFTER, v);
        }
        e
    }

    /// An unexpected failure. The cause is logged (with the request id of the
    /// current span); the client only learns that something went wrong.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The database could not be reached (a failed checkout, a connection
    /// lost mid-query): 503 `database_unavailable` with `Retry-After`, which
    /// clients retry. Nothing was written: the transaction did not commit.
    pub fn database_unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unavailable; retry shortly",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// A statement ran past `DATABASE_STATEMENT_TIMEOUT_MS` (a held lock, a
    /// slow server): 503 `database_timeout` with `Retry-After`; nothing was
    /// written (the transaction rolled back).
    pub fn database_timeout(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database statement timed out");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_timeout",
            "the database did not answer in time; retry shortly",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// A dependency the request needs is down.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "dependency unavailable");
        Self::from_status(StatusCode::SERVICE_UNAVAILABLE)
    }

    pub fn body(&self) -> Problem {
        let server_error = self.inner.status.is_server_error();
        Problem {
            type_: format!("urn:coopmart:problem:{}", self.inner.code),
            title: self
                .inner
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            status: self.inner.status.as_u16(),
            detail: if server_error && self.inner.status != StatusCode::SERVICE_UNAVAILABLE {
                None
            } else {
                self.inner.detail.clone()
            },
            code: self.inner.code.to_owned(),
            errors: self.inner.errors.clone(),
            extra: self.inner.extra.clone(),
        }
    }
}

/// The code used when only a status is known.
pub fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        409 => "conflict",
        412 => "precondition_failed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        503 => "service_unavailable",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.inner.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.inner.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        for (k, v) in &self.inner.headers {
            res.insert_header((k.clone(), v.clone()));
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| b"{}".to_vec());
        res.body(body)
    }
}

/// A use case's `Unknown` error: 503 when the database went away, else 500.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if infra::db::is_unavailable(e.as_ref()) {
            Self::database_unavailable(format!("{e:#}"))
        } else if infra::db::is_timeout(e.as_ref()) {
            Self::database_timeout(format!("{e:#}"))
        } else {
            Self::internal(format!("{e:#}"))
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::validation(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

// ---- actix extractor errors ------------------------------------------------

/// Maps JSON body errors: malformed JSON → 400, wrong shape → 422, wrong
/// content type → 415, too large → 413.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::body_shape(e),
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(
            "malformed_json",
            format!("request body is not valid JSON: {}", e),
        ),
        _ => ApiError::bad_request("malformed_body", "the request body could not be read"),
    };
    api.into()
}

/// serde's messages end with " at line 1 column 42"; the position is noise
/// for API clients.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

pub fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    if let Some(e) = crate::fallback::wrong_method_on_fixed_path(req) {
        return e.into();
    }
    let PathError::Deserialize(e) = &err else {
        return ApiError::bad_request("invalid_path_parameter", "invalid path parameter").into();
    };
    ApiError::bad_request(
        "invalid_path_parameter",
        format!("invalid path parameter: {e}"),
    )
    .into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        QueryPayloadError::Deserialize(e) => format!("invalid query string: {e}"),
        _ => "invalid query string".to_owned(),
    };
    ApiError::bad_request("invalid_query", detail).into()
}

pub fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        UrlencodedError::Overflow { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {limit} bytes"),
        ),
        UrlencodedError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/x-www-form-urlencoded",
        ),
        UrlencodedError::Parse(e) => {
            ApiError::bad_request("malformed_body", format!("invalid form body: {e}"))
        }
        _ => ApiError::bad_request("malformed_body", "the request body could not be read"),
    };
    api.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_detail() {
        let e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "relation \"users\" does not exist",
        );
        let body = e.body();
        assert_eq!(body.detail, None);
        assert_eq!(body.code, "internal_error");
        assert_eq!(body.type_, "urn:coopmart:problem:internal_error");
    }

    #[test]
    fn validation_lists_fields() {
        let e = ApiError::validation(ValidationErrors::single("email", "is required"));
        let body = e.body();
        assert_eq!(body.status, 422);
        assert_eq!(body.errors.len(), 1);
        assert_eq!(body.errors[0].field, "email");
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let e = ApiError::rate_limited(7);
        let res = e.error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            res.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
    }

    #[test]
    fn strips_serde_positions() {
        assert_eq!(
            strip_position("missing field `email` at line 1 column 2"),
            "missing field `email`"
        );
    }
}
