//! Buyer search over the active listings: relevance, synonyms, pinyin,
//! facets and suggestions. The rules live here; the engine (tantivy, in
//! `infra`) is a port, and a brute-force engine states the rules literally
//! for the tests.

pub mod analysis;
pub mod memory;
pub mod model;
pub mod ports;
pub mod service;
pub mod synonyms;
#[cfg(test)]
mod tests;

pub use model::*;
pub use ports::*;
pub use service::*;
pub use synonyms::Synonyms;
