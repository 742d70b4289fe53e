//! Traceability from field to table (质量安全追溯): batches with a short
//! printable code, append-only events after GS1 EPCIS, a public trace view,
//! and a failed inspection pausing the batch's listings at once.

mod model;
mod ports;
mod service;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

pub use model::*;
pub use ports::*;
pub use service::*;
