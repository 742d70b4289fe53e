//! Search with keyset cursors, hot lists per region, storefronts.

use std::collections::BTreeMap;

use domain::search::{RankKey, SearchError, SearchRequest, SearchSort};

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct SearchQueryParams {
    /// Words to find (Chinese, pinyin such as `tiangua`, initials such as
    /// `tg`; synonyms count): every word must be found in the title,
    /// variety, category or description. At most 50 characters.
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
    /// `relevance` (the default with `q`), `newest` (the default without),
    /// `price_asc`, `price_desc`, `popular`.
    #[param(schema_with = contract::one_of::<SearchSort>)]
    pub sort: Option<String>,
    /// Facets to count over every match: any of `category`, `region` (by
    /// province), `certification`, `grade`, `sale_mode`, comma-separated.
    #[param(schema_with = contract::facet_list)]
    pub facets: Option<String>,
    /// `next_cursor` of the previous page, with the same query and `sort`.
    #[param(schema_with = contract::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = contract::limit)]
    pub limit: Option<i64>,
}

/// One value of a facet.
#[derive(Serialize, ToSchema)]
pub struct FacetValueResponse {
    /// What to filter by (category id, 2-digit province code, wire value).
    pub value: String,
    /// Chinese name (吉林省, 绿色食品, 特级 …).
    pub label: String,
    pub count: u64,
}

/// A page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    pub items: Vec<ListingResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Counts per facet value over every match, most first (only the facets
    /// asked for; absent without `facets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<BTreeMap<String, Vec<FacetValueResponse>>>,
}

pub(crate) fn encode_cursor(sort: &str, c: SearchCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{sort}|{}|{}", c.key, c.id))
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "the cursor is not valid for this query")
}

fn cursor_text(raw: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid_cursor)
}

pub(crate) fn decode_cursor(sort: &str, raw: &str) -> Result<SearchCursor, ApiError> {
    let text = cursor_text(raw)?;
    let mut parts = text.split('|');
    let (Some(s), Some(k), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_cursor());
    };
    if s != sort {
        return Err(invalid_cursor());
    }
    Ok(SearchCursor {
        key: k.parse().map_err(|_| invalid_cursor())?,
        id: id.parse().map_err(|_| invalid_cursor())?,
    })
}

fn parse_limit(raw: Option<i64>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(pagination::DEFAULT_LIMIT as usize),
        Some(n) if (1..=pagination::MAX_LIMIT).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {}", pagination::MAX_LIMIT),
        )),
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Validation(v) => ApiError::validation(v),
            SearchError::Forbidden => ApiError::forbidden("forbidden", e.to_string()),
            SearchError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "search_unavailable",
                "search is starting on this instance; try again in a moment",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            SearchError::Unknown(e) => e.into(),
        }
    }
}

fn request(p: &SearchQueryParams) -> SearchRequest {
    SearchRequest {
        q: p.q.clone(),
        category: p.category.map(CategoryId),
        region_code: p.region_code.clone(),
        certification: p.certification.clone(),
        grade: p.grade.clone(),
        sale_mode: p.sale_mode.clone(),
        seller_id: p.seller_id.map(OrgId),
        min_price_fen: p.min_price_fen,
        max_price_fen: p.max_price_fen,
        sort: p.sort.clone(),
        facets: p.facets.clone(),
        after: None,
        limit: 0,
    }
}

/// The engine's path: ranked ids (and facets), then the listings from the
/// cache tiers (Postgres for the rest).
async fn engine_search(
    state: web::Data<AppState>,
    p: SearchQueryParams,
    mut r: SearchRequest,
) -> Result<Vec<u8>, ApiError> {
    r.limit = parse_limit(p.limit)?;
    let sort_label = r.sort_name().to_owned();
    if let Some(c) = &p.cursor {
        let text = cursor_text(c)?;
        r.after = Some(RankKey::parse_cursor(&sort_label, &text).ok_or_else(invalid_cursor)?);
    }
    let page = if r.stops_early() {
        state.search.search(&r)?
    } else {
        let s = state.clone();
        blocking(move || s.search.search(&r)).await?
    };
    let next_cursor = if page.more {
        page.hits.last().map(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.key.cursor_text(page.sort))
        })
    } else {
        None
    };
    let ids: Vec<ListingId> = page.hits.iter().map(|h| h.id).collect();
    let items = hydrate(&state, &ids).await?;
    let facets: Option<BTreeMap<String, Vec<FacetValueResponse>>> = p.facets.is_some().then(|| {
        page.facets
            .into_iter()
            .map(|(name, values)| {
                let values = values
                    .into_iter()
                    .map(|v| FacetValueResponse {
                        value: v.value,
                        label: v.label,
                        count: v.count,
                    })
                    .collect();
                (name.as_str().to_owned(), values)
            })
            .collect()
    });
    // The items are the cached listing bodies as they are (no re-encoding).
    let mut body = b"{\"items\":[".to_vec();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut body, &next_cursor).map_err(ApiError::internal)?;
    if let Some(f) = facets {
        body.extend_from_slice(b",\"facets\":");
        serde_json::to_writer(&mut body, &f).map_err(ApiError::internal)?;
    }
    body.push(b'}');
    Ok(body)
}

/// Listings in the order of `ids`: the cache's tiers first, one Postgres
/// query for the rest (which then fills the cache).
async fn hydrate(state: &web::Data<AppState>, ids: &[ListingId]) -> Result<Vec<Vec<u8>>, ApiError> {
    let keys: Vec<String> = ids.iter().map(ListingId::to_string).collect();
    let cached = state.listing_cache.details(&keys).await;
    let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(ids.len());
    let mut misses: Vec<(usize, infra::listing_cache::FillToken)> = Vec::new();
    for (i, c) in cached.into_iter().enumerate() {
        match c.map(|bytes| split_cached(&bytes)) {
            Ok(Some((_, body))) => out.push(Some(body)),
            Ok(None) => {
                out.push(None);
                misses.push((i, Default::default()));
            }
            Err(token) => {
                out.push(None);
                misses.push((i, token));
            }
        }
    }
    if !misses.is_empty() {
        let wanted: Vec<ListingId> = misses.iter().map(|(i, _)| ids[*i]).collect();
        let s = state.clone();
        let found = blocking(move || s.catalog.get_many(&wanted)).await?;
        for (i, token) in misses {
            let Some(l) = found.iter().find(|l| l.id == ids[i]) else {
                continue; // deleted since the engine saw it
            };
            let body = serde_json::to_vec(&ListingResponse::from(l)).map_err(ApiError::internal)?;
            if !matches!(l.status, ListingStatus::Draft | ListingStatus::Archived) {
                let mut cached = format!("{}\n", l.version).into_bytes();
                cached.extend_from_slice(&body);
                state
                    .listing_cache
                    .fill_detail(&keys[i], token, &cached)
                    .await;
            }
            out[i] = Some(body);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

pub(crate) async fn run_search(
    state: web::Data<AppState>,
    p: SearchQueryParams,
    user: Option<AuthUser>,
) -> Result<Vec<u8>, ApiError> {
    let r = request(&p);
    if r.needs_engine() {
        return engine_search(state, p, r).await;
    }
    let limit = parse_limit(p.limit)? as i64;
    let sort_label = r.sort_name().to_owned();
    let sort: Sort = sort_label.parse().unwrap_or(Sort::Newest);
    let after = p
        .cursor
        .as_deref()
        .map(|c| decode_cursor(&sort_label, c))
        .transpose()?;
    let params = SearchParams {
        q: None,
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
        include_sold_out: false,
        viewer: user.as_ref().map(viewer),
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
    serde_json::to_vec(&SearchResponse {
        items: rows.iter().map(ListingResponse::from).collect(),
        next_cursor,
        facets: None,
    })
    .map_err(ApiError::internal)
}

/// Search active listings (public). With `q`: every word must be found
/// (Chinese, pinyin or initials, synonyms, one typo in Latin words of five
/// letters or more), ranked exact title > every word in the title > in the
/// variety or category > in the description, then by sales and newest.
/// `facets` counts values over every match. Keyset pagination: pages stay
/// stable while listings are added.
#[utoipa::path(
    tag = "catalog",
    params(SearchQueryParams),
    responses(
        (status = 200, description = "A page of listings", body = SearchResponse),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: a token was sent but is invalid (a seller's staff sending theirs with `seller_id` reads their own latest writes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (unknown grade, certification, sort, facet …)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`search_unavailable`: this instance's search index is still being built (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings")]
pub async fn search_listings(
    state: web::Data<AppState>,
    params: web::Query<SearchQueryParams>,
    user: OptionalUser,
) -> Result<HttpResponse, ApiError> {
    let body = run_search(state, params.into_inner(), user.0).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[derive(Deserialize, IntoParams)]
pub struct SuggestParams {
    /// What the buyer has typed: Chinese, pinyin or initials.
    #[param(schema_with = contract::suggest_text)]
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionResponse {
    pub text: String,
    /// Active listings containing it.
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionsResponse {
    pub items: Vec<SuggestionResponse>,
}

/// Completions for the search box (public): words of the live catalog
/// starting with `q`, or whose pinyin or initials do (`tg` → 甜瓜), most
/// listings first (up to 10).
#[utoipa::path(
    tag = "catalog",
    params(SuggestParams),
    responses(
        (status = 200, description = "Up to 10 completions", body = SuggestionsResponse),
        (status = 400, description = "`invalid_query`: `q` is missing", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `q` has no letter or digit, or is too long", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`search_unavailable`: the index is still being built", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings/suggest")]
pub async fn suggest_listings(
    state: web::Data<AppState>,
    params: web::Query<SuggestParams>,
) -> Result<HttpResponse, ApiError> {
    let q = params.into_inner().q;
    let items = blocking(move || state.search.suggest(&q)).await?;
    Ok(HttpResponse::Ok().json(SuggestionsResponse {
        items: items
            .into_iter()
            .map(|s| SuggestionResponse {
                text: s.text,
                count: s.count,
            })
            .collect(),
    }))
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
        (status = 401, description = "`unauthorized`: a token was sent but is invalid (the seller's staff sending theirs read their own latest writes)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/storefronts/{org_id}")]
pub async fn storefront(
    state: web::Data<AppState>,
    org_id: web::Path<Uuid>,
    user: OptionalUser,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(org_id.into_inner());
    let viewer = user.0.as_ref().map(viewer);
    let (o, listings) =
        blocking(move || state.catalog.storefront(org, 50, viewer.as_ref())).await?;
    Ok(HttpResponse::Ok().json(StorefrontResponse {
        organization: o.into(),
        listings: listings.iter().map(ListingResponse::from).collect(),
    }))
}
