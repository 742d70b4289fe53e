//! Orders, inventory and payment: multi-seller orders that never oversell.

pub mod model;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
