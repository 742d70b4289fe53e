//! coopmart's HTTP layer: routes, DTOs, authentication extractors,
//! problem+json errors and the OpenAPI document. Handlers are thin: parse,
//! call one use case, map the result.

pub mod auth;
pub mod config;
pub mod contract;
pub mod cors;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod middleware;
pub mod openapi;
pub mod openapi_shared;
pub mod outbox;
pub mod pagination;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod workers;
