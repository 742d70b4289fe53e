//! coopmart's domain: entities, value objects, rules and ports (traits the
//! adapters in `infra` implement). Nothing here performs I/O.

pub mod after_sales;
pub mod catalog;
pub mod coop;
pub mod delivery;
pub mod identity;
pub mod ids;
pub mod ledger;
pub mod mail;
pub mod money;
pub mod notifications;
pub mod orders;
pub mod region;
pub mod search;
pub mod settlement;
pub mod stats;
pub mod trace;
pub mod validation;
pub mod wire;
