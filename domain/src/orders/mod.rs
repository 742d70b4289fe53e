//! Orders, inventory and payment: multi-seller orders that never oversell.

pub mod model;
pub mod ports;
pub mod pricing;
pub mod service;
mod sweeps;

#[cfg(test)]
mod memory;
#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
mod service_tests;

pub use model::*;
pub use ports::*;
pub use pricing::*;
pub use service::*;
