//! Cooperatives: organizations, the membership register, share capital,
//! votes and surplus distribution (农民专业合作社法, 供销合作社章程).

pub mod model;
pub mod ports;
pub mod rules;
pub mod service;

#[cfg(test)]
pub(crate) mod memory;
#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
mod service_tests;

pub use model::*;
pub use ports::*;
pub use rules::*;
pub use service::*;
