//! What the search engine indexes, what it is asked, and what it answers.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::analysis::{self, AnalyzedQuery};
use crate::catalog::{CategoryId, CertKind, Grade, ListingId, SaleMode};
use crate::coop::OrgId;

/// An active listing as search sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    pub id: ListingId,
    pub seller_id: OrgId,
    pub title: String,
    pub variety: String,
    pub description: String,
    /// The listing's category and its ancestors, own first.
    pub category_path: Vec<CategoryId>,
    /// Names along the same path.
    pub category_names: Vec<String>,
    /// GB/T 2260 code (6, 9 or 12 digits).
    pub region_code: String,
    pub certifications: Vec<CertKind>,
    pub grade: Grade,
    pub sale_mode: SaleMode,
    pub price_fen: i64,
    pub sold_qty: i64,
    pub created_at: DateTime<Utc>,
}

impl SearchDoc {
    pub fn category(&self) -> Option<CategoryId> {
        self.category_path.first().copied()
    }

    /// Province of origin: the first two digits.
    pub fn province(&self) -> &str {
        self.region_code.get(..2).unwrap_or("")
    }

    /// The texts of the "meta" group: variety and category names.
    pub fn meta_texts(&self) -> Vec<&str> {
        std::iter::once(self.variety.as_str())
            .chain(self.category_names.iter().map(String::as_str))
            .collect()
    }
}

crate::wire_enum!(
    /// How results are ordered.
    SearchSort {
        /// Exact title, then every word in the title, then in variety or
        /// category, then in the description; ties by sales, then newest.
        Relevance => "relevance",
        Newest => "newest",
        PriceAsc => "price_asc",
        PriceDesc => "price_desc",
        Popular => "popular",
    }
);

crate::wire_enum!(
    /// Facets a response can count.
    FacetName {
        Category => "category",
        /// By province of origin.
        Region => "region",
        Certification => "certification",
        Grade => "grade",
        SaleMode => "sale_mode",
    }
);

/// How well a listing matches a query (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Description = 0,
    VarietyOrCategory = 1,
    AllWordsInTitle = 2,
    ExactTitle = 3,
}

impl Tier {
    pub fn from_u8(n: u8) -> Option<Self> {
        [
            Tier::Description,
            Tier::VarietyOrCategory,
            Tier::AllWordsInTitle,
            Tier::ExactTitle,
        ]
        .get(usize::from(n))
        .copied()
    }
}

/// Everything a result is ordered by; also the keyset cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankKey {
    pub tier: Tier,
    pub sold_qty: i64,
    pub created_us: i64,
    pub price_fen: i64,
    pub id: Uuid,
}

impl RankKey {
    /// The key of a document matching at `tier`; the tier is part of the
    /// key (and of cursors) only for relevance order.
    pub fn of(doc: &SearchDoc, tier: Tier, sort: SearchSort) -> Self {
        Self {
            tier: if sort == SearchSort::Relevance {
                tier
            } else {
                Tier::Description
            },
            sold_qty: doc.sold_qty,
            created_us: doc.created_at.timestamp_micros(),
            price_fen: doc.price_fen,
            id: doc.id.0,
        }
    }

    /// `Less` when `self` comes first under `sort`.
    pub fn cmp_for(&self, other: &Self, sort: SearchSort) -> Ordering {
        let desc = |a: i64, b: i64| b.cmp(&a);
        match sort {
            SearchSort::Relevance => other
                .tier
                .cmp(&self.tier)
                .then(desc(self.sold_qty, other.sold_qty))
                .then(desc(self.created_us, other.created_us))
                .then(other.id.cmp(&self.id)),
            SearchSort::Newest => {
                desc(self.created_us, other.created_us).then(other.id.cmp(&self.id))
            }
            SearchSort::PriceAsc => self
                .price_fen
                .cmp(&other.price_fen)
                .then(self.id.cmp(&other.id)),
            SearchSort::PriceDesc => {
                desc(self.price_fen, other.price_fen).then(other.id.cmp(&self.id))
            }
            SearchSort::Popular => desc(self.sold_qty, other.sold_qty)
                .then(desc(self.created_us, other.created_us))
                .then(other.id.cmp(&self.id)),
        }
    }
}

impl RankKey {
    /// The key as cursor text, tied to its sort (`e1|sort|…`).
    pub fn cursor_text(&self, sort: SearchSort) -> String {
        format!(
            "e1|{}|{}|{}|{}|{}|{}",
            sort.as_str(),
            self.tier as u8,
            self.sold_qty,
            self.created_us,
            self.price_fen,
            self.id
        )
    }

    /// A key from [`RankKey::cursor_text`], if it was made for `sort`.
    pub fn parse_cursor(sort: &str, text: &str) -> Option<Self> {
        let p: Vec<&str> = text.split('|').collect();
        let [v, s, tier, sold, created, price, id] = p.as_slice() else {
            return None;
        };
        if *v != "e1" || *s != sort {
            return None;
        }
        Some(Self {
            tier: Tier::from_u8(tier.parse().ok()?)?,
            sold_qty: sold.parse().ok()?,
            created_us: created.parse().ok()?,
            price_fen: price.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Filters (all must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    /// The category or any of its sub-categories.
    pub category: Option<CategoryId>,
    pub region_prefix: Option<String>,
    pub certification: Option<CertKind>,
    pub grade: Option<Grade>,
    pub sale_mode: Option<SaleMode>,
    pub seller_id: Option<OrgId>,
    pub min_price_fen: Option<i64>,
    pub max_price_fen: Option<i64>,
}

impl SearchFilters {
    pub fn accepts(&self, d: &SearchDoc) -> bool {
        self.category.is_none_or(|c| d.category_path.contains(&c))
            && self
                .region_prefix
                .as_deref()
                .is_none_or(|p| d.region_code.starts_with(p))
            && self
                .certification
                .is_none_or(|c| d.certifications.contains(&c))
            && self.grade.is_none_or(|g| d.grade == g)
            && self.sale_mode.is_none_or(|m| d.sale_mode == m)
            && self.seller_id.is_none_or(|s| d.seller_id == s)
            && self.min_price_fen.is_none_or(|p| d.price_fen >= p)
            && self.max_price_fen.is_none_or(|p| d.price_fen <= p)
    }
}

/// A question for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineQuery {
    pub text: AnalyzedQuery,
    pub filters: SearchFilters,
    pub sort: SearchSort,
    pub after: Option<RankKey>,
    pub limit: usize,
    pub facets: Vec<FacetName>,
}

/// Raw facet counts, keyed by the stored value (category id, province
/// code, wire value of an enum).
pub type FacetCounts = BTreeMap<FacetName, BTreeMap<String, u64>>;

/// One hit, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub id: ListingId,
    pub key: RankKey,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineAnswer {
    /// Up to `limit` hits after the cursor.
    pub hits: Vec<Hit>,
    /// Whether more hits follow the last one.
    pub more: bool,
    /// Counts over every match (ignoring the cursor), for requested facets.
    pub facets: FacetCounts,
}

/// A completion of what a buyer typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
    /// Live listings containing it.
    pub count: u64,
}

/// The literal rule, for one document: the best tier at which every word
/// is found, or None. Engines must agree with it (the brute-force engine
/// *is* it; the production engine is tested against it).
pub fn match_tier(doc: &SearchDoc, q: &AnalyzedQuery) -> Option<Tier> {
    if q.is_empty() {
        return Some(Tier::Description);
    }
    let title = analysis::normalize(&doc.title);
    let meta: Vec<String> = doc
        .meta_texts()
        .iter()
        .map(|t| analysis::normalize(t))
        .collect();
    let desc = analysis::normalize(&doc.description);
    let title_py = analysis::pinyin_tokens(&[&doc.title]);
    let meta_py = analysis::pinyin_tokens(&doc.meta_texts());
    let in_title = |w: &analysis::QueryWord| {
        w.texts.iter().any(|t| analysis::contains_word(&title, t))
            || title_py.iter().any(|p| w.pinyin_matches(p))
    };
    let in_meta = |w: &analysis::QueryWord| {
        w.texts
            .iter()
            .any(|t| meta.iter().any(|m| analysis::contains_word(m, t)))
            || meta_py.iter().any(|p| w.pinyin_matches(p))
    };
    let in_desc =
        |w: &analysis::QueryWord| w.texts.iter().any(|t| analysis::contains_word(&desc, t));
    if !q
        .words
        .iter()
        .all(|w| in_title(w) || in_meta(w) || in_desc(w))
    {
        return None;
    }
    Some(if q.words.iter().all(in_title) {
        if analysis::compact(&doc.title) == q.exact {
            Tier::ExactTitle
        } else {
            Tier::AllWordsInTitle
        }
    } else if q.words.iter().all(|w| in_title(w) || in_meta(w)) {
        Tier::VarietyOrCategory
    } else {
        Tier::Description
    })
}
