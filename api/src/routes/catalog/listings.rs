//! Creating, reading (ETag, If-None-Match, the cache tiers), editing (If-Match) and the status changes of listings.

use super::*;

pub(crate) fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `If-Match` as a version: `None` when absent or `*`.
pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = v.to_str().unwrap_or_default().trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i32>()
        .map(Some)
        .map_err(|_| {
            ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "If-Match does not name a version of this listing",
            )
        })
}

pub(crate) fn not_modified(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*")
        })
}

/// Answers a listing body with its ETag, honouring `If-None-Match`.
pub(crate) fn respond(
    req: &HttpRequest,
    version: i32,
    body: Vec<u8>,
    cache: &'static str,
    status: StatusCode,
) -> HttpResponse {
    let tag = etag(version);
    let unchanged = status == StatusCode::OK && not_modified(req, &tag);
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-cache", cache));
    if unchanged {
        return res.finish();
    }
    res.content_type("application/json").body(body)
}

/// Cached form: "<version>\n<json>".
pub(crate) fn split_cached(bytes: &[u8]) -> Option<(i32, Vec<u8>)> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    let version = std::str::from_utf8(&bytes[..nl]).ok()?.parse().ok()?;
    Some((version, bytes[nl + 1..].to_vec()))
}

/// After a committed write: invalidate the cache, answer with the new ETag.
pub(crate) async fn written(
    state: &AppState,
    listing: &Listing,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    state
        .listing_cache
        .invalidate(&listing.id.to_string())
        .await;
    state.search_caught_up().await;
    let body = serde_json::to_vec(&ListingResponse::from(listing)).map_err(ApiError::internal)?;
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag(listing.version)));
    Ok(res.content_type("application/json").body(body))
}

/// Create a listing (staff of `seller_id`); it starts as `draft`.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = ListingBody,
    responses(
        (status = 201, description = "Created (draft); ETag carries the version", body = ListingResponse),
        (status = 403, description = "`forbidden`: not staff of the seller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (tiers, certificates, sale mode, region …)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings")]
pub async fn create_listing(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ListingBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let Some(seller) = body.seller_id else {
        return Err(ApiError::validation(
            domain::validation::ValidationErrors::single("seller_id", "is required"),
        ));
    };
    let input = body.into_input();
    let s = state.clone();
    let listing = blocking(move || {
        s.catalog
            .create(&viewer(&user), OrgId(seller), &input, Utc::now())
    })
    .await?;
    written(&state, &listing, StatusCode::CREATED).await
}

/// One listing (public; drafts and archived listings only for the seller's
/// staff). `ETag` + `If-None-Match` → 304. `X-Cache` says where it came from.
#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Listing id")),
    responses(
        (status = 200, description = "The listing", body = ListingResponse),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 401, description = "`unauthorized`: a token was sent but is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings/{id}")]
pub async fn get_listing(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: OptionalUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ListingId(id.into_inner());
    let key = id.to_string();
    let token = match state.listing_cache.detail(&key).await {
        Ok((bytes, tier)) => {
            if let Some((version, body)) = split_cached(&bytes) {
                let label = if tier == Tier::Local {
                    "hit-local"
                } else {
                    "hit"
                };
                return Ok(respond(&req, version, body, label, StatusCode::OK));
            }
            Default::default()
        }
        Err(token) => token,
    };
    let s = state.clone();
    let listing = blocking(move || s.catalog.get(user.0.as_ref().map(viewer).as_ref(), id)).await?;
    let body = serde_json::to_vec(&ListingResponse::from(&listing)).map_err(ApiError::internal)?;
    if !matches!(
        listing.status,
        ListingStatus::Draft | ListingStatus::Archived
    ) {
        let mut cached = format!("{}\n", listing.version).into_bytes();
        cached.extend_from_slice(&body);
        state.listing_cache.fill_detail(&key, token, &cached).await;
    }
    Ok(respond(&req, listing.version, body, "miss", StatusCode::OK))
}

/// Update a listing (seller staff). Send the ETag as `If-Match`: a stale
/// version gets 412. Stock changes move `active ⇄ sold_out`.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id"), ("If-Match" = Option<String>, Header, description = "ETag of the version being edited")),
    request_body = ListingBody,
    responses(
        (status = 200, description = "Updated; new ETag", body = ListingResponse),
        (status = 404, description = "`not_found` (also for another organization's staff)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`: stale If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/listings/{id}")]
pub async fn update_listing(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ListingBody>,
) -> Result<HttpResponse, ApiError> {
    let id = ListingId(id.into_inner());
    let expected = if_match(&req)?;
    let body = body.into_inner();
    if body.seller_id.is_some() {
        return Err(ApiError::validation(
            domain::validation::ValidationErrors::single("seller_id", "cannot be changed"),
        ));
    }
    let input = body.into_input();
    let s = state.clone();
    let listing = blocking(move || {
        s.catalog
            .update(&viewer(&user), id, expected, &input, Utc::now())
    })
    .await?;
    written(&state, &listing, StatusCode::OK).await
}

pub(crate) async fn status_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: Uuid,
    action: StatusAction,
) -> Result<HttpResponse, ApiError> {
    let id = ListingId(id);
    let expected = if_match(&req)?;
    let s = state.clone();
    let listing = blocking(move || {
        s.catalog
            .change_status(&viewer(&user), id, expected, action)
    })
    .await?;
    written(&state, &listing, StatusCode::OK).await
}

/// Publish a draft or paused listing: `active` (or `sold_out` without stock).
/// A listing whose trace batch stands failed (its current inspection
/// failed) is not published.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id"), ("If-Match" = Option<String>, Header, description = "Optional ETag")),
    responses(
        (status = 200, description = "Published", body = ListingResponse),
        (status = 409, description = "`invalid_transition`, or `inspection_failed`: the listing's trace batch failed its inspection", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings/{id}/publish")]
pub async fn publish_listing(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    status_action(state, req, user, id.into_inner(), StatusAction::Publish).await
}

/// Pause an active or sold-out listing (not buyable until published again).
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id"), ("If-Match" = Option<String>, Header, description = "Optional ETag")),
    responses(
        (status = 200, description = "Paused", body = ListingResponse),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings/{id}/pause")]
pub async fn pause_listing(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    status_action(state, req, user, id.into_inner(), StatusAction::Pause).await
}

/// Archive a listing (final).
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id"), ("If-Match" = Option<String>, Header, description = "Optional ETag")),
    responses(
        (status = 200, description = "Archived", body = ListingResponse),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings/{id}/archive")]
pub async fn archive_listing(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    status_action(state, req, user, id.into_inner(), StatusAction::Archive).await
}
