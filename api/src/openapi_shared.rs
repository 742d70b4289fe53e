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
            retry_after("`database_unavailable`: the database could not be reached; retry after `Retry-After` seconds")
        });
    }
}

/// Adds the shared responses to every operation of `api`.
pub fn add_shared_responses(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            shared(path, op);
        }
    }
}
