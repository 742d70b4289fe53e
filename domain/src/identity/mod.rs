//! Identity and access: accounts, credentials, tokens, partners, audit.

pub mod model;
pub mod ports;
pub mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
