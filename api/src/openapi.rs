//! The OpenAPI document, collected from the registered handlers so a route
//! and its documentation are declared in one place.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{FieldErrorBody, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "coopmart API",
        description = "Agricultural produce marketplace for farmer cooperatives and the supply-and-marketing cooperative system. \
Money is integer fen (CNY). Errors are application/problem+json with a stable `code`.",
    ),
    components(schemas(Problem, FieldErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "identity", description = "Accounts, OAuth2 tokens (password, refresh_token, client_credentials)"),
        (name = "partners", description = "Mall integration clients (platform admin)"),
        (name = "audit", description = "Audit log (platform admin)"),
        (name = "organizations", description = "Organizations in a tree, and their staff"),
        (name = "membership", description = "Membership register, share capital, member accounts, votes"),
        (name = "surplus", description = "Surplus distribution (盈余分配)"),
        (name = "catalog", description = "Categories, listings, search, hot lists, storefronts, partner catalog feed"),
        (name = "orders", description = "Orders (Idempotency-Key), payments and the provider notification"),
        (name = "seller orders", description = "Seller fulfilment, refunds, service-station pickups"),
        (name = "after-sales", description = "After-sales refunds (售后): requests, decisions, disputes, the provider's confirmation"),
        (name = "delivery", description = "Freight templates (运费模板) and shipments followed from the county hub to the village station"),
        (name = "ledger", description = "The double-entry ledger: accounts, lines, trial balance"),
        (name = "settlement", description = "Settlement runs, seller statements (JSON, CSV) and payouts"),
        (name = "trace", description = "Traceability (质量安全追溯): batches, EPCIS-shaped events, the public trace, QR codes and the trace page"),
        (name = "stats", description = "Sales statistics (监测统计) and unsalable-produce alerts (滞销预警) for platform and supply-and-marketing staff"),
        (name = "sandbox", description = "The built-in sandbox payment provider (PAYMENT_PROVIDER=sandbox)"),
    )
)]
pub struct ApiDoc;

impl ApiDoc {
    /// The base document (info, shared schemas, security schemes) before the
    /// routes add their paths.
    pub fn openapi_base() -> utoipa::openapi::OpenApi {
        <ApiDoc as OpenApi>::openapi()
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The full document: the base above plus every registered route, with
/// the problem responses every endpoint of its kind can answer.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi_base())
        .configure(crate::routes::configure)
        .split_for_parts();
    crate::openapi_shared::add_shared_responses(&mut api);
    api
}

/// The document as served and committed: [`document`] with the patterns of
/// formats and the links of the main flows added to its JSON.
pub fn document_value() -> Result<serde_json::Value, serde_json::Error> {
    served_json(&document())
}

/// [`document_value`] of a document already built (start-up builds it once
/// for the route table and serves this).
pub fn served_json(api: &utoipa::openapi::OpenApi) -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(api)?;
    crate::openapi_shared::add_format_patterns(&mut doc);
    crate::openapi_shared::add_links(&mut doc);
    Ok(doc)
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document_value()?)?;
    json.push('\n');
    Ok(json)
}
