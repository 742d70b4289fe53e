//! Categories, listings, search, hot lists, storefronts and the partner
//! catalog feed. Reads are public and cached (see `infra::listing_cache`);
//! writes need staff of the seller and invalidate the cache after commit.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::{
    sort_key, CatalogError, Category, CategoryId, CertificationInput, Listing, ListingId,
    ListingInput, ListingStatus, SaleTerms, SearchCursor, SearchParams, Sort, StatusAction,
    TierPrice,
};
use domain::coop::{MemberId, OrgId};
use infra::listing_cache::Tier;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::{double_option, viewer, OrganizationResponse};
use crate::auth::{AuthUser, CatalogRead, OptionalUser, PartnerWith};
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::telemetry::blocking;

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Validation(v) => ApiError::validation(v),
            CatalogError::NotFound => ApiError::not_found(),
            CatalogError::Forbidden(m) => ApiError::forbidden("forbidden", m),
            CatalogError::Stale { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                format!("the listing has changed; current version is {current} (fetch it again)"),
            )
            .with_header(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{current}\""))
                    .unwrap_or(HeaderValue::from_static("\"0\"")),
            ),
            CatalogError::InvalidTransition { from, action } => ApiError::conflict(
                "invalid_transition",
                format!("a {from} listing cannot {action}"),
            ),
            CatalogError::Unknown(e) => e.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[schema(no_recursion)]
    pub children: Vec<CategoryResponse>,
}

fn tree(all: &[Category], parent: Option<CategoryId>) -> Vec<CategoryResponse> {
    all.iter()
        .filter(|c| c.parent_id == parent)
        .map(|c| CategoryResponse {
            id: c.id.0,
            code: c.code.clone(),
            name: c.name.clone(),
            children: tree(all, Some(c.id)),
        })
        .collect()
}

/// The category tree (public).
#[utoipa::path(tag = "catalog", responses((status = 200, description = "Top-level categories with their children", body = Page<CategoryResponse>)))]
#[get("/categories")]
pub async fn categories(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = blocking(move || state.catalog.categories()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: tree(&all, None),
        next_cursor: None,
    }))
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct CertificationBody {
    /// `pollution_free`, `green`, `organic`, `geographic_indication` (三品一标)
    pub kind: String,
    pub cert_no: String,
    /// Expired certificates are refused.
    pub valid_until: NaiveDate,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
pub struct TierBody {
    pub min_qty: i32,
    pub price_fen: i64,
}

/// Listing fields. On create, `seller_id`, `title`, `category_id`,
/// `unit_label`, `unit_weight_grams`, `price_fen`, `stock` and
/// `origin_region_code` are required; on PATCH every field is optional and
/// `null` clears the nullable ones.
#[derive(Deserialize, ToSchema, Default)]
pub struct ListingBody {
    /// The selling organization (create only).
    pub seller_id: Option<Uuid>,
    /// A current member of the seller coop who supplied the produce.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub supplier_member_id: Option<Option<Uuid>>,
    #[schema(example = "合心甜瓜 5kg箱")]
    pub title: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<Uuid>,
    #[schema(example = "羊角蜜")]
    pub variety: Option<String>,
    /// `premium`, `grade_1`, `grade_2`, `ungraded`
    pub grade: Option<String>,
    #[schema(example = "5kg箱")]
    pub unit_label: Option<String>,
    #[schema(example = 5000)]
    pub unit_weight_grams: Option<i32>,
    #[schema(example = 6800)]
    pub price_fen: Option<i64>,
    /// `min_qty` strictly ascending, `price_fen` strictly descending and below `price_fen`.
    pub tier_prices: Option<Vec<TierBody>>,
    pub min_order_qty: Option<i32>,
    pub stock: Option<i32>,
    #[schema(example = "220106")]
    pub origin_region_code: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub harvest_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, nullable)]
    pub shelf_life_days: Option<Option<i32>>,
    /// `ambient`, `chilled`, `frozen`
    pub storage: Option<String>,
    pub certifications: Option<Vec<CertificationBody>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub trace_batch_code: Option<Option<String>>,
    pub images: Option<Vec<String>>,
    /// `spot`, `presale` (needs `ship_from_date`), `group_buy` (needs `group_target_qty`, `group_deadline`)
    pub sale_mode: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub ship_from_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, nullable)]
    pub group_target_qty: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable)]
    pub group_deadline: Option<Option<DateTime<Utc>>>,
}

impl ListingBody {
    fn into_input(self) -> ListingInput {
        ListingInput {
            supplier_member_id: self.supplier_member_id.map(|m| m.map(MemberId)),
            title: self.title,
            description: self.description,
            category_id: self.category_id.map(CategoryId),
            variety: self.variety,
            grade: self.grade,
            unit_label: self.unit_label,
            unit_weight_grams: self.unit_weight_grams,
            price_fen: self.price_fen,
            tier_prices: self.tier_prices.map(|t| {
                t.into_iter()
                    .map(|t| TierPrice {
                        min_qty: t.min_qty,
                        price_fen: t.price_fen,
                    })
                    .collect()
            }),
            min_order_qty: self.min_order_qty,
            stock: self.stock,
            origin_region_code: self.origin_region_code,
            harvest_date: self.harvest_date,
            shelf_life_days: self.shelf_life_days,
            storage: self.storage,
            certifications: self.certifications.map(|c| {
                c.into_iter()
                    .map(|c| CertificationInput {
                        kind: c.kind,
                        cert_no: c.cert_no,
                        valid_until: c.valid_until,
                    })
                    .collect()
            }),
            trace_batch_code: self.trace_batch_code,
            images: self.images,
            sale_mode: self.sale_mode,
            ship_from_date: self.ship_from_date,
            group_target_qty: self.group_target_qty,
            group_deadline: self.group_deadline,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListingResponse {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub supplier_member_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub category_id: Uuid,
    pub variety: String,
    pub grade: &'static str,
    pub unit_label: String,
    pub unit_weight_grams: i32,
    pub price_fen: i64,
    pub tier_prices: Vec<TierBody>,
    pub min_order_qty: i32,
    pub stock: i32,
    pub origin_region_code: String,
    pub origin_region_name: String,
    pub harvest_date: Option<NaiveDate>,
    pub shelf_life_days: Option<i32>,
    pub storage: &'static str,
    pub certifications: Vec<CertificationBody>,
    pub trace_batch_code: Option<String>,
    pub images: Vec<String>,
    pub sale_mode: &'static str,
    pub ship_from_date: Option<NaiveDate>,
    pub group_target_qty: Option<i32>,
    pub group_deadline: Option<DateTime<Utc>>,
    /// `draft`, `active`, `paused`, `sold_out`, `archived`
    pub status: &'static str,
    /// Active with stock: can be ordered now.
    pub buyable: bool,
    /// Also the ETag (`"<version>"`); send it as `If-Match` when updating.
    pub version: i32,
    pub sold_qty: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Listing> for ListingResponse {
    fn from(l: &Listing) -> Self {
        let f = &l.fields;
        let (ship, target, deadline) = match &f.sale {
            SaleTerms::Spot => (None, None, None),
            SaleTerms::Presale { ship_from } => (Some(*ship_from), None, None),
            SaleTerms::GroupBuy {
                target_qty,
                deadline,
            } => (None, Some(*target_qty), Some(*deadline)),
        };
        Self {
            id: l.id.0,
            seller_id: l.seller_id.0,
            supplier_member_id: f.supplier_member_id.map(|m| m.0),
            title: f.title.clone(),
            description: f.description.clone(),
            category_id: f.category_id.0,
            variety: f.variety.clone(),
            grade: f.grade.as_str(),
            unit_label: f.unit_label.clone(),
            unit_weight_grams: f.unit_weight_grams,
            price_fen: f.price.0,
            tier_prices: f
                .tier_prices
                .iter()
                .map(|t| TierBody {
                    min_qty: t.min_qty,
                    price_fen: t.price_fen,
                })
                .collect(),
            min_order_qty: f.min_order_qty,
            stock: f.stock,
            origin_region_code: f.origin_region_code.as_str().to_owned(),
            origin_region_name: f.origin_region_code.display_name(),
            harvest_date: f.harvest_date,
            shelf_life_days: f.shelf_life_days,
            storage: f.storage.as_str(),
            certifications: f
                .certifications
                .iter()
                .map(|c| CertificationBody {
                    kind: c.kind.as_str().to_owned(),
                    cert_no: c.cert_no.clone(),
                    valid_until: c.valid_until,
                })
                .collect(),
            trace_batch_code: f.trace_batch_code.clone(),
            images: f.images.clone(),
            sale_mode: f.sale.mode().as_str(),
            ship_from_date: ship,
            group_target_qty: target,
            group_deadline: deadline,
            status: l.status.as_str(),
            buyable: l.is_buyable(),
            version: l.version,
            sold_qty: l.sold_qty,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `If-Match` as a version: `None` when absent or `*`.
fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
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

fn not_modified(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*")
        })
}

/// Answers a listing body with its ETag, honouring `If-None-Match`.
fn respond(
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
fn split_cached(bytes: &[u8]) -> Option<(i32, Vec<u8>)> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    let version = std::str::from_utf8(&bytes[..nl]).ok()?.parse().ok()?;
    Some((version, bytes[nl + 1..].to_vec()))
}

/// After a committed write: invalidate the cache, answer with the new ETag.
async fn written(
    state: &AppState,
    listing: &Listing,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    state
        .listing_cache
        .invalidate(&listing.id.to_string())
        .await;
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

fn sort_name(sort: Option<&str>) -> &str {
    sort.unwrap_or("newest")
}

fn encode_cursor(sort: &str, c: SearchCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{sort}|{}|{}", c.key, c.id))
}

fn decode_cursor(sort: &str, raw: &str) -> Result<SearchCursor, ApiError> {
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

async fn run_search(
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

async fn status_action(
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
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id"), ("If-Match" = Option<String>, Header, description = "Optional ETag")),
    responses(
        (status = 200, description = "Published", body = ListingResponse),
        (status = 409, description = "`invalid_transition`", body = Problem, content_type = "application/problem+json"),
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
