//! Cursor pagination: lists return `{items, next_cursor}`; the cursor is an
//! opaque token the client passes back as `?cursor=`.

use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `limit` clamped to 1..=MAX_LIMIT.
pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// A query parameter that names one of an enum's values (`status=…`); any
/// other value is 400 invalid_query, as for every malformed parameter.
pub fn enum_param<T: std::str::FromStr<Err = String>>(
    name: &str,
    raw: Option<&str>,
) -> Result<Option<T>, ApiError> {
    raw.map(|v| {
        v.parse::<T>()
            .map_err(|m| ApiError::bad_request("invalid_query", format!("{name}: {m}")))
    })
    .transpose()
}

pub fn encode_id(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_id(cursor: &str) -> Result<Uuid, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| ApiError::bad_request("invalid_cursor", "the cursor is not valid"))
}

/// Builds a page from `limit + 1` fetched rows: the extra row only proves
/// there is a next page.
pub fn page<T: ToSchema, R>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> Uuid,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode_id(key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}
