//! Settlement: commission rules, settlement runs and seller statements.

mod commission;
mod service;
mod statements;

pub use commission::*;
pub use service::*;
pub use statements::*;
