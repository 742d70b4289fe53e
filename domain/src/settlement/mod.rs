//! Settlement: commission rules (and, next, settlement runs and statements).

mod commission;

pub use commission::*;
