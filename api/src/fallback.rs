//! What answers when no route matched: 405 with `Allow` when the path exists
//! under another method, 404 otherwise. The route table is the OpenAPI
//! document, which lists every registered route.

use actix_web::dev::ResourceDef;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_doc(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut routes = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods: Vec<&'static str> = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect();
            routes.push((ResourceDef::new(path.as_str()), methods));
        }
        for fixed in ["/openapi.json", "/docs", "/docs/{tail}*"] {
            routes.push((ResourceDef::new(fixed), vec!["GET"]));
        }
        Self(routes)
    }

    /// Methods served for `path` by its most specific routes: those with
    /// the most fixed segments among the routes that match it. A fixed
    /// segment beats a parameter, so `/listings/hot` answers for its path
    /// alone and the methods of `/listings/{id}` do not apply to it.
    pub fn allowed_most_specific(&self, path: &str) -> Option<Vec<&'static str>> {
        let fixed = |def: &ResourceDef| {
            def.pattern().map_or(0, |p| {
                p.split('/')
                    .filter(|s| !s.is_empty() && !s.contains('{'))
                    .count()
            })
        };
        let matching: Vec<_> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .collect();
        let best = matching.iter().map(|(def, _)| fixed(def)).max()?;
        let mut found: Vec<&'static str> = matching
            .iter()
            .filter(|(def, _)| fixed(def) == best)
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        found.sort_unstable();
        found.dedup();
        Some(found)
    }

    /// Methods served for `path`, if any route matches it. A fixed route
    /// (`/listings/hot`) answers for its path alone: the methods of a sibling
    /// with a parameter (`/listings/{id}`) do not apply to it.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        self.allowed_most_specific(path)
    }
}

/// 405 with `Allow` listing `methods`.
pub fn method_not_allowed(req: &HttpRequest, methods: &[&str]) -> ApiError {
    let allow = methods.join(", ");
    let err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed here; allowed: {allow}", req.method()),
    );
    match HeaderValue::from_str(&allow) {
        Ok(v) => err.with_header(header::ALLOW, v),
        Err(_) => err,
    }
}

/// A request for a fixed path (`PATCH /listings/hot`) that a parameterised
/// route under another method (`PATCH /listings/{id}`) caught: 405, since the
/// path exists, rather than a complaint about the parameter.
pub fn wrong_method_on_fixed_path(req: &HttpRequest) -> Option<ApiError> {
    let table = req.app_data::<web::Data<RouteTable>>()?;
    let methods = table.allowed_most_specific(req.path())?;
    (!methods.contains(&req.method().as_str())).then(|| method_not_allowed(req, &methods))
}

pub async fn no_route(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    Err(match table.allowed(req.path()) {
        Some(methods) => method_not_allowed(&req, &methods),
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route"),
    })
}
