//! Every route of the API, registered together with its OpenAPI operation.

pub mod audit;
pub mod auth;
pub mod health;
pub mod partners;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers all routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
    cfg.service(
        scope("/api/v1")
            .service(auth::register)
            .service(auth::token)
            .service(auth::revoke)
            .service(auth::me)
            .service(partners::create_partner)
            .service(partners::list_partners)
            .service(partners::get_partner)
            .service(partners::rotate_secret)
            .service(partners::update_partner)
            .service(audit::list_audit),
    );
}
