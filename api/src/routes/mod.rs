//! Every route of the API, registered together with its OpenAPI operation.

pub mod health;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers all routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
}
