//! Black-box tests through the real HTTP server. One binary, many modules:
//! one link step, tests run in parallel, each with its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod after_sales;
mod backup;
mod browser;
mod catalog;
mod coop;
mod delivery;
mod faults;
mod foundation;
mod identity;
mod ledger;
mod notifications;
mod orders;
mod replica;
mod search;
mod settlement;
mod stats;
mod trace;
