//! Buyer search: checks a request, analyses its words with the current
//! synonyms, asks the engine, labels the facets; synonym administration;
//! suggestions.

use std::sync::{Arc, PoisonError, RwLock};

use super::analysis::{analyze_query, normalize, AnalyzedQuery};
use super::model::*;
use super::ports::*;
use super::synonyms::Synonyms;
use crate::catalog::{CategoryId, CertKind, Grade, SaleMode};
use crate::coop::{OrgId, Viewer};
use crate::region::{is_valid_prefix, province_name};
use crate::validation::ValidationErrors;

pub const MAX_QUERY_CHARS: usize = 50;
pub const MAX_SUGGEST_CHARS: usize = 20;
pub const SUGGESTIONS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("platform administrators only")]
    Forbidden,
    /// The engine has not caught up with the database yet.
    #[error("search is starting")]
    Unavailable,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// A search as the buyer sent it (wire values, unchecked).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: Option<String>,
    pub category: Option<CategoryId>,
    pub region_code: Option<String>,
    pub certification: Option<String>,
    pub grade: Option<String>,
    pub sale_mode: Option<String>,
    pub seller_id: Option<OrgId>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
    pub sort: Option<String>,
    /// Comma-separated facet names.
    pub facets: Option<String>,
    pub after: Option<RankKey>,
    pub limit: usize,
}

impl SearchRequest {
    /// The engine answers text queries, relevance order and facets; plain
    /// browsing by filters and a sort is an indexed keyset scan in Postgres.
    pub fn needs_engine(&self) -> bool {
        self.q.as_deref().is_some_and(|q| !q.trim().is_empty())
            || self.facets.is_some()
            || self.sort.as_deref() == Some(SearchSort::Relevance.as_str())
    }

    /// Does the engine stop once the page is full? In relevance and
    /// popularity order without facets it does (the index is stored by
    /// sales), so such a search is short enough to run where the request
    /// is served rather than being handed to another thread.
    pub fn stops_early(&self) -> bool {
        self.facets.is_none()
            && matches!(
                self.sort_name().parse::<SearchSort>(),
                Ok(SearchSort::Relevance | SearchSort::Popular)
            )
    }

    /// The order asked for: relevance when there is text, else newest.
    pub fn sort_name(&self) -> &str {
        match (&self.sort, self.q.as_deref().map(str::trim)) {
            (Some(s), _) => s,
            (None, Some(q)) if !q.is_empty() => SearchSort::Relevance.as_str(),
            _ => SearchSort::Newest.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    pub more: bool,
    pub sort: SearchSort,
    pub facets: Vec<(FacetName, Vec<FacetValue>)>,
}

pub struct SearchService {
    index: Arc<dyn SearchIndex>,
    store: Arc<dyn SynonymStore>,
    synonyms: RwLock<(i64, Arc<Synonyms>)>,
    categories: Arc<dyn CategoryLabels>,
}

impl SearchService {
    pub fn new(
        index: Arc<dyn SearchIndex>,
        store: Arc<dyn SynonymStore>,
        categories: Arc<dyn CategoryLabels>,
    ) -> Self {
        Self {
            index,
            store,
            synonyms: RwLock::new((-1, Arc::new(Synonyms::default()))),
            categories,
        }
    }

    pub fn ready(&self) -> bool {
        self.index.ready()
    }

    fn current(&self) -> Arc<Synonyms> {
        self.synonyms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Reloads the synonyms when their version moved (every instance polls
    /// this, so a replacement reaches all of them). Returns the version.
    pub fn refresh_synonyms(&self) -> Result<i64, SearchError> {
        let (version, groups) = self.store.load()?;
        let known = self
            .synonyms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if version != known {
            // Stored groups were checked when they were written; a group
            // that no longer parses is skipped rather than losing the rest.
            let parsed = Synonyms::parse(groups.clone()).or_else(|e| {
                tracing::warn!(error = %e, "stored synonyms do not parse; keeping the valid groups");
                Synonyms::parse(
                    groups
                        .into_iter()
                        .filter(|g| Synonyms::parse(vec![g.clone()]).is_ok())
                        .collect(),
                )
            })?;
            *self
                .synonyms
                .write()
                .unwrap_or_else(PoisonError::into_inner) = (version, Arc::new(parsed));
        }
        Ok(version)
    }

    pub fn synonyms(&self) -> Result<Vec<Vec<String>>, SearchError> {
        self.refresh_synonyms()?;
        Ok(self.current().groups().to_vec())
    }

    /// Replaces the synonym groups (platform administrators).
    pub fn replace_synonyms(
        &self,
        viewer: &Viewer,
        groups: Vec<Vec<String>>,
    ) -> Result<Vec<Vec<String>>, SearchError> {
        if !viewer.platform_admin {
            return Err(SearchError::Forbidden);
        }
        let parsed = Synonyms::parse(groups)?;
        let version = self.store.replace(parsed.groups())?;
        let groups = parsed.groups().to_vec();
        *self
            .synonyms
            .write()
            .unwrap_or_else(PoisonError::into_inner) = (version, Arc::new(parsed));
        Ok(groups)
    }

    /// The words of `q` under the current synonyms.
    pub fn analyze(&self, q: &str) -> AnalyzedQuery {
        analyze_query(q, &self.current())
    }

    pub fn search(&self, r: &SearchRequest) -> Result<SearchPage, SearchError> {
        let mut e = ValidationErrors::new();
        if r.q
            .as_deref()
            .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
        {
            e.add("q", format!("must be at most {MAX_QUERY_CHARS} characters"));
        }
        if r.region_code
            .as_deref()
            .is_some_and(|p| !is_valid_prefix(p))
        {
            e.add(
                "region_code",
                "must be a prefix of digits (e.g. 22 or 220106)",
            );
        }
        let certification = parse_opt::<CertKind>(&mut e, "certification", &r.certification);
        let grade = parse_opt::<Grade>(&mut e, "grade", &r.grade);
        let sale_mode = parse_opt::<SaleMode>(&mut e, "sale_mode", &r.sale_mode);
        let sort = r
            .sort_name()
            .parse::<SearchSort>()
            .map_err(|m| e.add("sort", m))
            .unwrap_or(SearchSort::Relevance);
        if let (Some(lo), Some(hi)) = (r.min_price_fen, r.max_price_fen) {
            if lo > hi {
                e.add("min_price_fen", "must not exceed max_price_fen");
            }
        }
        let mut facets = Vec::new();
        for name in r.facets.iter().flat_map(|f| f.split(',')).map(str::trim) {
            match name.parse::<FacetName>() {
                Ok(f) if !facets.contains(&f) => facets.push(f),
                Ok(_) => {}
                Err(m) => e.add("facets", m),
            }
        }
        e.into_result(())?;
        if !self.index.ready() {
            return Err(SearchError::Unavailable);
        }
        let query = EngineQuery {
            text: r.q.as_deref().map(|q| self.analyze(q)).unwrap_or_default(),
            filters: SearchFilters {
                category: r.category,
                region_prefix: r.region_code.clone(),
                certification,
                grade,
                sale_mode,
                seller_id: r.seller_id,
                min_price_fen: r.min_price_fen,
                max_price_fen: r.max_price_fen,
            },
            sort,
            after: r.after,
            limit: r.limit,
            facets,
        };
        let answer = self.index.search(&query)?;
        let facets = query
            .facets
            .iter()
            .map(|f| {
                let counts = answer.facets.get(f).cloned().unwrap_or_default();
                (*f, self.label(*f, counts))
            })
            .collect();
        Ok(SearchPage {
            hits: answer.hits,
            more: answer.more,
            sort,
            facets,
        })
    }

    /// Facet values with their labels, most listings first.
    fn label(
        &self,
        facet: FacetName,
        counts: std::collections::BTreeMap<String, u64>,
    ) -> Vec<FacetValue> {
        let mut out: Vec<FacetValue> = counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(value, count)| {
                let label = match facet {
                    FacetName::Category => value
                        .parse::<uuid::Uuid>()
                        .ok()
                        .and_then(|id| self.categories.label(CategoryId(id))),
                    FacetName::Region => province_name(&value).map(str::to_owned),
                    FacetName::Certification => value
                        .parse::<CertKind>()
                        .ok()
                        .map(|c| c.label_zh().to_owned()),
                    FacetName::Grade => {
                        value.parse::<Grade>().ok().map(|g| g.label_zh().to_owned())
                    }
                    FacetName::SaleMode => value
                        .parse::<SaleMode>()
                        .ok()
                        .map(|m| m.label_zh().to_owned()),
                };
                FacetValue {
                    label: label.unwrap_or_else(|| value.clone()),
                    value,
                    count,
                }
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        out
    }

    /// Completions of what a buyer typed (1–20 characters).
    pub fn suggest(&self, q: &str) -> Result<Vec<Suggestion>, SearchError> {
        let prefix: String = normalize(q)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let n = q.trim().chars().count();
        if n == 0 || n > MAX_SUGGEST_CHARS || prefix.is_empty() {
            return Err(ValidationErrors::single(
                "q",
                format!("must have 1 to {MAX_SUGGEST_CHARS} characters, letters or digits"),
            )
            .into());
        }
        if !self.index.ready() {
            return Err(SearchError::Unavailable);
        }
        Ok(self.index.suggest(&prefix, SUGGESTIONS)?)
    }
}

fn parse_opt<T: std::str::FromStr<Err = String>>(
    e: &mut ValidationErrors,
    field: &str,
    raw: &Option<String>,
) -> Option<T> {
    raw.as_deref()
        .and_then(|v| v.parse::<T>().map_err(|m| e.add(field, m)).ok())
}
