//! Search with keyset cursors, hot lists per region, storefronts.

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct SearchQueryParams {
    /// Words of the title or variety (Chinese works: 甜瓜, 羊角蜜); at most 50 characters.
    #[param(schema_with = contract::search_text)]
    pub q: Option<String>,
    /// Category id; sub-categories are included.
    pub category: Option<Uuid>,
    /// Origin GB/T 2260 prefix (`22`, `2201`, `220106`).
    #[param(schema_with = contract::region_prefix)]
    pub region_code: Option<String>,
    #[param(schema_with = contract::one_of::<domain::catalog::CertKind>)]
    pub certification: Option<String>,
    #[param(schema_with = contract::one_of::<domain::catalog::Grade>)]
    pub grade: Option<String>,
    /// At most `max_price_fen` when both are given.
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    #[param(schema_with = contract::one_of::<domain::catalog::SaleMode>)]
    pub sale_mode: Option<String>,
    pub seller_id: Option<Uuid>,
    /// `newest` (default), `price_asc`, `price_desc`, `popular`
    #[param(schema_with = contract::one_of::<Sort>)]
    pub sort: Option<String>,
    /// `next_cursor` of the previous page, with the same `sort`.
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

pub(crate) fn sort_name(sort: Option<&str>) -> &str {
    sort.unwrap_or("newest")
}

pub(crate) fn encode_cursor(sort: &str, c: SearchCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{sort}|{}|{}", c.key, c.id))
}

pub(crate) fn decode_cursor(sort: &str, raw: &str) -> Result<SearchCursor, ApiError> {
    let invalid =
        || ApiError::bad_request("invalid_cursor", "the cursor is not valid for this query");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.split('|');
    let (Some(s), Some(k), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if s != sort {
        return Err(invalid());
    }
    Ok(SearchCursor {
        key: k.parse().map_err(|_| invalid())?,
        id: id.parse().map_err(|_| invalid())?,
    })
}

pub(crate) async fn run_search(
    state: web::Data<AppState>,
    p: SearchQueryParams,
    max_limit: i64,
) -> Result<Page<ListingResponse>, ApiError> {
    let limit = match p.limit {
        None => pagination::DEFAULT_LIMIT,
        Some(n) if (1..=max_limit).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {max_limit}"),
            ))
        }
    };
    let sort_label = sort_name(p.sort.as_deref()).to_owned();
    let sort: Sort = sort_label.parse().unwrap_or(Sort::Newest);
    let after = p
        .cursor
        .as_deref()
        .map(|c| decode_cursor(&sort_label, c))
        .transpose()?;
    let params = SearchParams {
        q: p.q,
        category: p.category.map(CategoryId),
        region_code: p.region_code,
        certification: p.certification,
        grade: p.grade,
        min_price_fen: p.min_price_fen,
        max_price_fen: p.max_price_fen,
        sale_mode: p.sale_mode,
        seller_id: p.seller_id.map(OrgId),
        sort: p.sort,
        after,
        limit: limit + 1,
    };
    let mut rows = blocking(move || state.catalog.search(&params)).await?;
    let next_cursor = if rows.len() > usize::try_from(limit).unwrap_or(0) {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|l| {
            encode_cursor(
                &sort_label,
                SearchCursor {
                    key: sort_key(sort, l),
                    id: l.id,
                },
            )
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(ListingResponse::from).collect(),
        next_cursor,
    })
}

/// Search active and sold-out listings (public). Keyset pagination: pages
/// stay stable while listings are added.
#[utoipa::path(
    tag = "catalog",
    params(SearchQueryParams),
    responses(
        (status = 200, description = "A page of listings", body = Page<ListingResponse>),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (unknown grade, certification, sort …)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings")]
pub async fn search_listings(
    state: web::Data<AppState>,
    params: web::Query<SearchQueryParams>,
) -> Result<HttpResponse, ApiError> {
    let page = run_search(state, params.into_inner(), pagination::MAX_LIMIT).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
pub struct HotParams {
    /// Origin GB/T 2260 prefix; all regions when absent.
    #[param(schema_with = contract::region_prefix)]
    pub region_code: Option<String>,
}

/// Best-selling active listings, per region (public, cached).
#[utoipa::path(
    tag = "catalog",
    params(HotParams),
    responses(
        (status = 200, description = "Up to 20 listings, best sellers first", body = Page<ListingResponse>),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings/hot")]
pub async fn hot_listings(
    state: web::Data<AppState>,
    params: web::Query<HotParams>,
) -> Result<HttpResponse, ApiError> {
    let region = params.into_inner().region_code;
    domain::catalog::check_hot_region(region.as_deref())?;
    let region = region.unwrap_or_default();
    let fill_key = match state.listing_cache.hot(&region).await {
        Ok(bytes) => {
            return Ok(HttpResponse::Ok()
                .insert_header(("x-cache", "hit"))
                .content_type("application/json")
                .body(bytes.as_ref().clone()))
        }
        Err(key) => key,
    };
    let s = state.clone();
    let r = region.clone();
    let rows = blocking(move || {
        s.catalog
            .hot(if r.is_empty() { None } else { Some(r.as_str()) }, 20)
    })
    .await?;
    let page = Page {
        items: rows.iter().map(ListingResponse::from).collect::<Vec<_>>(),
        next_cursor: None,
    };
    let body = serde_json::to_vec(&page).map_err(ApiError::internal)?;
    state.listing_cache.fill_hot(fill_key, &body).await;
    Ok(HttpResponse::Ok()
        .insert_header(("x-cache", "miss"))
        .content_type("application/json")
        .body(body))
}

#[derive(Serialize, ToSchema)]
pub struct StorefrontResponse {
    pub organization: OrganizationResponse,
    /// Best sellers first (up to 50).
    pub listings: Vec<ListingResponse>,
}

/// A seller's storefront (public): the organization and its listings.
#[utoipa::path(
    tag = "catalog",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The storefront", body = StorefrontResponse),
    )
)]
#[get("/storefronts/{org_id}")]
pub async fn storefront(
    state: web::Data<AppState>,
    org_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(org_id.into_inner());
    let (o, listings) = blocking(move || state.catalog.storefront(org, 50)).await?;
    Ok(HttpResponse::Ok().json(StorefrontResponse {
        organization: o.into(),
        listings: listings.iter().map(ListingResponse::from).collect(),
    }))
}
