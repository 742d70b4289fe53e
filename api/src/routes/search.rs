//! Search administration: the synonym groups (土豆 / 马铃薯 / 洋芋).

use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::organizations::viewer;
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::telemetry::blocking;

/// Terms that find each other's listings.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SynonymGroup {
    /// 2–20 terms of 1–20 Chinese characters; a term belongs to one group.
    #[schema(example = json!(["土豆", "马铃薯", "洋芋"]), min_items = 2, max_items = 20)]
    pub terms: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SynonymsBody {
    /// At most 1,000 groups.
    #[schema(max_items = 1000)]
    pub items: Vec<SynonymGroup>,
}

fn body(groups: Vec<Vec<String>>) -> SynonymsBody {
    SynonymsBody {
        items: groups
            .into_iter()
            .map(|terms| SynonymGroup { terms })
            .collect(),
    }
}

/// The synonym groups search uses (public).
#[utoipa::path(
    tag = "catalog",
    responses((status = 200, description = "Every group", body = SynonymsBody))
)]
#[get("/search/synonyms")]
pub async fn get_synonyms(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let groups = blocking(move || state.search.synonyms()).await?;
    Ok(HttpResponse::Ok().json(body(groups)))
}

/// Replace every synonym group (platform admin). Every instance uses the
/// new groups within a second; nothing is re-indexed.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = SynonymsBody,
    responses(
        (status = 200, description = "The groups now in use (terms normalised)", body = SynonymsBody),
        (status = 403, description = "`forbidden`: not a platform admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a group of fewer than 2 terms, a term that is not Chinese, a term in two groups …", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/search/synonyms")]
pub async fn put_synonyms(
    state: web::Data<AppState>,
    user: AuthUser,
    req: Json<SynonymsBody>,
) -> Result<HttpResponse, ApiError> {
    let v = viewer(&user);
    let groups: Vec<Vec<String>> = req
        .into_inner()
        .items
        .into_iter()
        .map(|g| g.terms)
        .collect();
    let groups = blocking(move || state.search.replace_synonyms(&v, groups)).await?;
    Ok(HttpResponse::Ok().json(body(groups)))
}
