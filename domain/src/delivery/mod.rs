//! Delivery: freight templates (what shipping costs, where the seller does
//! not deliver) and shipments followed hub by hub to the buyer.

mod freight;
mod ports;
mod service;
mod shipments;

pub use freight::*;
pub use ports::*;
pub use service::*;
pub use shipments::*;
