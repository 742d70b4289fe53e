//! The problem responses every endpoint of a kind can answer, added to the
//! document in one place instead of on every handler: an operation with
//! parameters can answer 400, one with a body 413/415/422, one behind a
//! token 401, one with a path id 404, and everything that reaches the
//! database 503. A handler documents only what is specific to it (its own
//! codes and descriptions win: nothing here replaces an existing entry).

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::error::PROBLEM_JSON;

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn retry_after(description: &str) -> Response {
    let mut r = problem(description);
    r.headers.insert(
        "Retry-After".into(),
        HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .description(Some("Seconds to wait before retrying"))
            .build(),
    );
    r
}

fn add(op: &mut Operation, status: &str, response: impl FnOnce() -> Response) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::T(response()));
}

fn shared(path: &str, op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_params = !params.is_empty();
    let has_body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if has_params || has_body {
        add(op, "400", || {
            problem("`invalid_path_parameter`, `invalid_query`, `malformed_json`, `malformed_body`, or a header the endpoint requires")
        });
    }
    if has_body {
        add(op, "413", || problem("`payload_too_large`"));
        add(op, "415", || problem("`unsupported_media_type`"));
        add(op, "422", || problem("`validation_failed` (see `errors`)"));
    }
    if secured {
        add(op, "401", || {
            problem("`unauthorized`: missing, invalid or expired token")
        });
    }
    if has_path {
        add(op, "404", || {
            problem("`not_found` (also for resources of other owners)")
        });
    }
    if path.starts_with("/api/") {
        add(op, "503", || {
            retry_after("`database_unavailable`: the database could not be reached; `database_timeout`: a statement ran past `DATABASE_STATEMENT_TIMEOUT_MS` (a held lock, a slow server); nothing was written; retry after `Retry-After` seconds")
        });
    }
}

/// What the server accepts for a `uuid` (the hyphenated and the simple
/// form) and a `date` (ISO 8601 calendar date): stated as patterns too,
/// because generators of test data and clients do not all know the formats.
const UUID_PATTERN: &str = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$";
const DATE_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

fn format_patterns(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let pattern = match map.get("format").and_then(|f| f.as_str()) {
                Some("uuid") => Some(UUID_PATTERN),
                Some("date") => Some(DATE_PATTERN),
                _ => None,
            };
            if let Some(p) = pattern {
                map.entry("pattern").or_insert_with(|| p.into());
            }
            map.values_mut().for_each(format_patterns);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(format_patterns),
        _ => {}
    }
}

/// Adds `pattern` next to every `format: uuid` and `format: date`.
pub fn add_format_patterns(doc: &mut serde_json::Value) {
    format_patterns(doc);
}

/// The main flows as OpenAPI links (`source operation, status → target
/// operation with its parameters`), so a client or a stateful tester can
/// follow them: register → token; create organization → apply → approve →
/// member; create listing → publish; order → pay → paid → seller order
/// actions.
const LINKS: &[(&str, &str, &str, &[(&str, &str)])] = &[
    (
        "create_freight_template",
        "201",
        "get_freight_template",
        &[
            ("id", "$response.body#/org_id"),
            ("template_id", "$response.body#/id"),
        ],
    ),
    (
        "create_freight_template",
        "201",
        "replace_freight_template",
        &[
            ("id", "$response.body#/org_id"),
            ("template_id", "$response.body#/id"),
        ],
    ),
    (
        "create_freight_template",
        "201",
        "delete_freight_template",
        &[
            ("id", "$response.body#/org_id"),
            ("template_id", "$response.body#/id"),
        ],
    ),
    (
        "create_shipment",
        "201",
        "get_shipment",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_shipment",
        "201",
        "record_shipment_event",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "get_organization",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "update_organization",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "apply",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "list_applications",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "list_members",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "list_staff",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "list_children",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "votes",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "preview_surplus",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_organization",
        "201",
        "storefront",
        &[("org_id", "$response.body#/id")],
    ),
    (
        "apply",
        "201",
        "approve",
        &[("id", "$request.path.id"), ("app_id", "$response.body#/id")],
    ),
    (
        "apply",
        "201",
        "reject",
        &[("id", "$request.path.id"), ("app_id", "$response.body#/id")],
    ),
    (
        "approve",
        "200",
        "get_member",
        &[
            ("id", "$request.path.id"),
            ("member_id", "$response.body#/member_id"),
        ],
    ),
    (
        "approve",
        "200",
        "account",
        &[
            ("id", "$request.path.id"),
            ("member_id", "$response.body#/member_id"),
        ],
    ),
    (
        "approve",
        "200",
        "add_contribution",
        &[
            ("id", "$request.path.id"),
            ("member_id", "$response.body#/member_id"),
        ],
    ),
    (
        "approve",
        "200",
        "add_transaction",
        &[
            ("id", "$request.path.id"),
            ("member_id", "$response.body#/member_id"),
        ],
    ),
    (
        "approve",
        "200",
        "change_member",
        &[
            ("id", "$request.path.id"),
            ("member_id", "$response.body#/member_id"),
        ],
    ),
    (
        "create_listing",
        "201",
        "get_listing",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_listing",
        "201",
        "publish_listing",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_listing",
        "201",
        "update_listing",
        &[("id", "$response.body#/id")],
    ),
    (
        "publish_listing",
        "200",
        "pause_listing",
        &[("id", "$response.body#/id")],
    ),
    (
        "publish_listing",
        "200",
        "archive_listing",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_order",
        "201",
        "get_order",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_order",
        "201",
        "create_payment",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_order",
        "201",
        "cancel_order",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_order",
        "201",
        "get_seller_order",
        &[("id", "$response.body#/seller_orders/0/id")],
    ),
    (
        "create_payment",
        "201",
        "sandbox_succeed",
        &[("payment_id", "$response.body#/id")],
    ),
    (
        "create_payment",
        "201",
        "sandbox_fail",
        &[("payment_id", "$response.body#/id")],
    ),
    (
        "get_order",
        "200",
        "confirm_receipt",
        &[("id", "$response.body#/id")],
    ),
    (
        "get_order",
        "200",
        "accept_seller_order",
        &[("id", "$response.body#/seller_orders/0/id")],
    ),
    (
        "get_order",
        "200",
        "reject_seller_order",
        &[("id", "$response.body#/seller_orders/0/id")],
    ),
    (
        "accept_seller_order",
        "200",
        "ship_seller_order",
        &[("id", "$response.body#/id")],
    ),
    (
        "ship_seller_order",
        "200",
        "deliver_seller_order",
        &[("id", "$response.body#/id")],
    ),
    (
        "accept_seller_order",
        "200",
        "refund_seller_order",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_partner",
        "201",
        "get_partner",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_partner",
        "201",
        "update_partner",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_partner",
        "201",
        "rotate_secret",
        &[("id", "$response.body#/id")],
    ),
];

fn operations(api: &mut OpenApi) -> impl Iterator<Item = (&String, &mut Operation)> {
    api.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        .map(move |op| (path, op))
    })
}

/// Adds [`LINKS`] to the responses they start from, in the JSON form of the
/// document (utoipa 5.5 writes a link's `operationId` as `operation_id`).
pub fn add_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(id) = op
                .get("operationId")
                .and_then(|i| i.as_str())
                .map(str::to_owned)
            else {
                continue;
            };
            for (_, status, target, params) in LINKS.iter().filter(|l| l.0 == id) {
                let Some(response) = op
                    .get_mut("responses")
                    .and_then(|r| r.get_mut(*status))
                    .and_then(|r| r.as_object_mut())
                else {
                    continue;
                };
                let parameters: serde_json::Map<String, serde_json::Value> = params
                    .iter()
                    .map(|(n, e)| ((*n).to_owned(), (*e).into()))
                    .collect();
                let links = response
                    .entry("links")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(links) = links.as_object_mut() {
                    links.insert(
                        (*target).to_owned(),
                        serde_json::json!({"operationId": target, "parameters": parameters}),
                    );
                }
            }
        }
    }
}

/// Adds the shared responses to every operation of `api`.
pub fn add_shared_responses(api: &mut OpenApi) {
    for (path, op) in operations(api) {
        shared(path, op);
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_link_names_a_real_response_and_operation() {
        let doc = crate::openapi::document_value().expect("document");
        let mut ops = std::collections::HashMap::new();
        for item in doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for op in item.as_object().into_iter().flat_map(|i| i.values()) {
                if let Some(id) = op["operationId"].as_str() {
                    ops.insert(id.to_owned(), op.clone());
                }
            }
        }
        for (source, status, target, params) in LINKS {
            let op = &ops[*source];
            let link = &op["responses"][*status]["links"][*target];
            assert_eq!(link["operationId"], *target, "{source} {status} → {target}");
            let target_op = ops.get(*target);
            assert!(target_op.is_some(), "no operation {target}");
            let path_params: Vec<&str> = target_op
                .and_then(|o| o["parameters"].as_array())
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for p in path_params {
                assert!(
                    params.iter().any(|(n, _)| *n == p),
                    "link {source} → {target} does not fill path parameter {p}"
                );
            }
        }
    }

    #[test]
    fn uuids_and_dates_carry_patterns() {
        let doc = crate::openapi::document_value()
            .expect("document")
            .to_string();
        assert!(doc.contains(&serde_json::to_string(UUID_PATTERN).unwrap_or_default()));
        assert!(doc.contains(&serde_json::to_string(DATE_PATTERN).unwrap_or_default()));
    }
}
