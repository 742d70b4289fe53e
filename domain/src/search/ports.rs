//! Ports of the search context.

use std::collections::HashMap;

use super::model::{EngineAnswer, EngineQuery, Suggestion};
use crate::catalog::CategoryId;

pub type Unknown = anyhow::Error;

/// A search engine over the active listings. Postgres stays the truth: an
/// engine is a copy kept current from it.
pub trait SearchIndex: Send + Sync {
    /// Has the engine caught up with the database since it started?
    fn ready(&self) -> bool;
    fn search(&self, q: &EngineQuery) -> Result<EngineAnswer, Unknown>;
    /// Words of the live catalog starting with `prefix` (normalised; Chinese,
    /// or Latin letters compared with their pinyin and initials), most
    /// listings first.
    fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, Unknown>;
}

/// Where the synonym groups are kept.
pub trait SynonymStore: Send + Sync {
    /// The groups and their version (bumped by every replacement).
    fn load(&self) -> Result<(i64, Vec<Vec<String>>), Unknown>;
    /// Replaces every group at once; returns the new version.
    fn replace(&self, groups: &[Vec<String>]) -> Result<i64, Unknown>;
}

/// Names of categories (facet labels).
pub trait CategoryLabels: Send + Sync {
    fn label(&self, id: CategoryId) -> Option<String>;
}

impl CategoryLabels for HashMap<CategoryId, String> {
    fn label(&self, id: CategoryId) -> Option<String> {
        self.get(&id).cloned()
    }
}
