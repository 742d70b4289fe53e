//! Adapters for coopmart's ports: Postgres through diesel, Redis, SMTP.
//! SQL lives only in this crate.

pub mod after_sales;
pub mod cache;
pub mod catalog;
pub mod commission;
pub mod coop;
pub mod db;
pub mod delivery;
pub mod identity;
pub mod ledger;
pub mod listing_cache;
pub mod mail;
pub mod mail_templates;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod rate_limit;
pub mod schema;
pub mod search;
pub mod settlement;
pub mod stats;
pub mod trace;
pub mod webhooks;
