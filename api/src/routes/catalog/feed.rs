//! The partner catalog feed (`catalog:read`): every published listing in order of last change.

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct ChangesParams {
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::feed_limit)]
    pub limit: Option<i64>,
}

/// Partner catalog sync (`catalog:read`): every published listing — active,
/// paused, sold out or archived — in order of last change. Store
/// `next_cursor` and call again for what changed since.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(ChangesParams),
    responses(
        (status = 200, description = "A page of listings, oldest change first", body = Page<ListingResponse>),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`insufficient_scope`, `partner_required`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/catalog/changes")]
pub async fn catalog_changes(
    state: web::Data<AppState>,
    _partner: PartnerWith<CatalogRead>,
    params: web::Query<ChangesParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let limit = match p.limit {
        None => 500,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "limit must be between 1 and 1000",
            ))
        }
    };
    let invalid = || ApiError::bad_request("invalid_cursor", "the cursor is not valid");
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => {
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(invalid)?;
            let (at, id) = text.split_once('|').ok_or_else(invalid)?;
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| invalid())?
                .with_timezone(&Utc);
            Some((at, id.parse::<ListingId>().map_err(|_| invalid())?))
        }
    };
    let rows = blocking(move || state.catalog.changes(after, limit)).await?;
    let next_cursor = rows
        .last()
        .map(|l| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                "{}|{}",
                l.updated_at.to_rfc3339(),
                l.id
            ))
        })
        .or(p.cursor);
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(ListingResponse::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}
