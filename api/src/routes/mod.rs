//! Every route of the API, registered together with its OpenAPI operation.

pub mod after_sales;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod commission;
pub mod delivery;
pub mod health;
pub mod ledger;
pub mod membership;
pub mod orders;
pub mod organizations;
pub mod partners;
pub mod search;
pub mod settlement;
pub mod stats;
pub mod trace;
pub mod webhooks;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers all routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(trace::trace_page);
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
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::update_webhook)
            .service(webhooks::delete_webhook)
            .service(webhooks::rotate_webhook_secret)
            .service(webhooks::list_webhook_deliveries)
            .service(webhooks::redeliver)
            .service(audit::list_audit)
            .service(organizations::create_organization)
            .service(organizations::list_organizations)
            .service(organizations::get_organization)
            .service(organizations::update_organization)
            .service(organizations::list_children)
            .service(organizations::list_staff)
            .service(organizations::add_staff)
            .service(organizations::remove_staff)
            .service(membership::apply)
            .service(membership::list_applications)
            .service(membership::approve)
            .service(membership::reject)
            .service(membership::list_members)
            .service(membership::get_member)
            .service(membership::change_member)
            .service(membership::add_contribution)
            .service(membership::add_transaction)
            .service(membership::add_quantification)
            .service(membership::account)
            .service(membership::votes)
            .service(membership::preview_surplus)
            .service(membership::commit_surplus)
            .service(membership::get_surplus)
            .service(catalog::categories)
            .service(catalog::create_listing)
            .service(catalog::search_listings)
            .service(catalog::suggest_listings)
            .service(search::get_synonyms)
            .service(search::put_synonyms)
            .service(catalog::hot_listings)
            .service(catalog::get_listing)
            .service(catalog::update_listing)
            .service(catalog::publish_listing)
            .service(catalog::pause_listing)
            .service(catalog::archive_listing)
            .service(catalog::storefront)
            .service(catalog::catalog_changes)
            .service(orders::quote_order)
            .service(orders::create_order)
            .service(orders::list_orders)
            .service(orders::get_order)
            .service(orders::cancel_order)
            .service(orders::confirm_receipt)
            .service(orders::create_payment)
            .service(orders::payment_notify)
            .service(orders::sandbox_succeed)
            .service(orders::sandbox_fail)
            .service(orders::list_seller_orders)
            .service(orders::get_seller_order)
            .service(orders::accept_seller_order)
            .service(orders::reject_seller_order)
            .service(orders::ship_seller_order)
            .service(orders::create_shipment)
            .service(delivery::get_shipment)
            .service(delivery::record_shipment_event)
            .service(ledger::get_ledger_account)
            .service(ledger::list_org_ledger_accounts)
            .service(ledger::trial_balance)
            .service(commission::get_commission_rules)
            .service(commission::put_commission_rules)
            .service(settlement::run_settlement)
            .service(settlement::get_settlement)
            .service(settlement::list_settlement_statements)
            .service(settlement::list_org_statements)
            .service(settlement::get_statement)
            .service(settlement::mark_statement_paid)
            .service(delivery::list_freight_templates)
            .service(delivery::create_freight_template)
            .service(delivery::get_freight_template)
            .service(delivery::replace_freight_template)
            .service(delivery::delete_freight_template)
            .service(orders::deliver_seller_order)
            .service(orders::refund_seller_order)
            .service(orders::list_stations)
            .service(orders::station_pickup)
            .service(after_sales::create_refund_request)
            .service(after_sales::list_seller_order_refund_requests)
            .service(after_sales::list_org_refund_requests)
            .service(after_sales::get_refund_request)
            .service(after_sales::approve_refund_request)
            .service(after_sales::reject_refund_request)
            .service(after_sales::escalate_refund_request)
            .service(after_sales::decide_refund_request)
            .service(after_sales::refund_notify)
            .service(after_sales::sandbox_refund_succeed)
            .service(after_sales::sandbox_refund_fail)
            .service(trace::create_batch)
            .service(trace::record_trace_event)
            .service(trace::get_trace)
            .service(trace::trace_qr_svg)
            .service(trace::trace_qr_png)
            .service(stats::sales_stats)
            .service(stats::unsalable_alerts),
    );
}
