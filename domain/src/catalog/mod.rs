//! Listings and the catalog: produce offered by seller organizations.

pub mod model;
pub mod ports;
pub mod search;
pub mod service;

pub use model::*;
pub use ports::*;
pub use search::*;
pub use service::*;
