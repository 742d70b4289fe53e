//! Commission rules: basis points by category subtree and/or seller kind,
//! each in force from a date. The most specific rule in force wins: a rule
//! naming the line's own category beats one naming its top-level category,
//! which beats one naming none; naming the seller kind beats not naming it;
//! among equally specific rules the latest `effective_from` wins. The set
//! always holds a catch-all (no category, no kind), so every line has a
//! rate; the rate found is snapshotted on the order line.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::catalog::{Category, CategoryId};
use crate::coop::{OrgKind, Viewer};
use crate::validation::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommissionRule {
    pub category_id: Option<CategoryId>,
    pub seller_kind: Option<OrgKind>,
    pub rate_bp: u32,
    pub effective_from: NaiveDate,
}

/// The highest rate a rule may set (30 %).
pub const MAX_RATE_BP: u32 = 3_000;
pub const MAX_RULES: usize = 500;

/// The rate for a line of `category` (whose top-level category is `root`)
/// sold by a `kind` on `day`; `None` only when no rule is in force at all.
pub fn rate_for(
    rules: &[CommissionRule],
    category: CategoryId,
    root: CategoryId,
    kind: OrgKind,
    day: NaiveDate,
) -> Option<u32> {
    rules
        .iter()
        .filter(|r| r.effective_from <= day)
        .filter_map(|r| {
            let cat = match r.category_id {
                None => 0,
                Some(c) if c == category => 2,
                Some(c) if c == root => 1,
                Some(_) => return None,
            };
            let kind_score = match r.seller_kind {
                None => 0,
                Some(k) if k == kind => 1,
                Some(_) => return None,
            };
            Some(((cat, kind_score, r.effective_from), r.rate_bp))
        })
        .max_by_key(|(score, _)| *score)
        .map(|(_, rate)| rate)
}

/// A rule as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub category_id: Option<CategoryId>,
    pub seller_kind: Option<String>,
    pub rate_bp: i64,
    pub effective_from: NaiveDate,
}

/// Checks a whole set: known categories and kinds, rates 0–3000 bp, no two
/// rules for the same category, kind and date, and a catch-all in force
/// from the earliest date of the set.
pub fn validate_rules(
    input: &[RuleInput],
    categories: &[Category],
) -> Result<Vec<CommissionRule>, ValidationErrors> {
    let mut e = ValidationErrors::new();
    if input.len() > MAX_RULES {
        e.add("items", format!("at most {MAX_RULES} rules"));
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        if let Some(c) = r.category_id {
            if !categories.iter().any(|k| k.id == c) {
                e.add(format!("items[{i}].category_id"), "no such category");
            }
        }
        let kind = match r.seller_kind.as_deref().map(str::parse::<OrgKind>) {
            Some(Err(m)) => {
                e.add(format!("items[{i}].seller_kind"), m);
                None
            }
            Some(Ok(k)) => Some(k),
            None => None,
        };
        let rate = u32::try_from(r.rate_bp).ok().filter(|b| *b <= MAX_RATE_BP);
        if rate.is_none() {
            e.add(
                format!("items[{i}].rate_bp"),
                format!("must be 0–{MAX_RATE_BP}"),
            );
        }
        let rule = CommissionRule {
            category_id: r.category_id,
            seller_kind: kind,
            rate_bp: rate.unwrap_or(0),
            effective_from: r.effective_from,
        };
        if out.iter().any(|o: &CommissionRule| {
            o.category_id == rule.category_id
                && o.seller_kind == rule.seller_kind
                && o.effective_from == rule.effective_from
        }) {
            e.add(
                format!("items[{i}]"),
                "another rule has the same category, seller kind and effective_from",
            );
        }
        out.push(rule);
    }
    let earliest = out.iter().map(|r| r.effective_from).min();
    let catch_all = input
        .iter()
        .filter(|r| r.category_id.is_none() && r.seller_kind.is_none())
        .map(|r| r.effective_from)
        .min();
    if catch_all.is_none() || catch_all != earliest {
        e.add(
            "items",
            "needs a rule with neither category_id nor seller_kind, in force from the earliest effective_from",
        );
    }
    e.into_result(out)
}

pub type Unknown = anyhow::Error;

/// The rule set.
pub trait CommissionRules: Send + Sync {
    /// The current set (adapters may cache it for a moment).
    fn current(&self) -> Result<Arc<Vec<CommissionRule>>, Unknown>;
    /// Replaces the set in one transaction.
    fn replace(&self, rules: &[CommissionRule]) -> Result<(), Unknown>;
}

/// A rule set held in memory (tests, tools).
pub struct FixedRules(pub std::sync::Mutex<Arc<Vec<CommissionRule>>>);

impl FixedRules {
    pub fn new(rules: Vec<CommissionRule>) -> Self {
        Self(std::sync::Mutex::new(Arc::new(rules)))
    }
}

impl CommissionRules for FixedRules {
    fn current(&self) -> Result<Arc<Vec<CommissionRule>>, Unknown> {
        Ok(self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("rules lock poisoned"))?
            .clone())
    }

    fn replace(&self, rules: &[CommissionRule]) -> Result<(), Unknown> {
        *self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("rules lock poisoned"))? = Arc::new(rules.to_vec());
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct CommissionService {
    pub rules: Arc<dyn CommissionRules>,
    pub categories: Arc<dyn crate::catalog::ListingRepository>,
}

impl CommissionService {
    /// Platform admins only (others 404).
    pub fn list(&self, viewer: &Viewer) -> Result<Arc<Vec<CommissionRule>>, CommissionError> {
        if !viewer.platform_admin {
            return Err(CommissionError::NotFound);
        }
        Ok(self.rules.current()?)
    }

    pub fn replace(
        &self,
        viewer: &Viewer,
        input: &[RuleInput],
    ) -> Result<Arc<Vec<CommissionRule>>, CommissionError> {
        if !viewer.platform_admin {
            return Err(CommissionError::NotFound);
        }
        let rules = validate_rules(input, &self.categories.categories()?)?;
        self.rules.replace(&rules)?;
        Ok(self.rules.current()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_most_specific_rule_in_force_wins() {
        let (leaf, root, other) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        let rule = |c, k, bp, from: &str| CommissionRule {
            category_id: c,
            seller_kind: k,
            rate_bp: bp,
            effective_from: day(from),
        };
        let rules = vec![
            rule(None, None, 500, "2026-01-01"),
            rule(None, Some(OrgKind::FarmerCoop), 400, "2026-01-01"),
            rule(Some(root), None, 350, "2026-01-01"),
            rule(Some(root), Some(OrgKind::FarmerCoop), 300, "2026-01-01"),
            rule(Some(leaf), None, 250, "2026-01-01"),
            rule(Some(other), None, 100, "2026-01-01"),
            rule(None, None, 600, "2026-12-01"),
        ];
        let at = |c, k, d: &str| rate_for(&rules, c, root, k, day(d));
        assert_eq!(at(leaf, OrgKind::FarmerCoop, "2026-11-25"), Some(250));
        let sibling = CategoryId::new();
        assert_eq!(at(sibling, OrgKind::FarmerCoop, "2026-11-25"), Some(300));
        assert_eq!(at(sibling, OrgKind::Enterprise, "2026-11-25"), Some(350));
        // an unrelated root: only the kind and catch-all rules apply
        assert_eq!(
            rate_for(
                &rules,
                sibling,
                other,
                OrgKind::Enterprise,
                day("2026-11-25")
            ),
            Some(100)
        );
        let unrelated = CategoryId::new();
        assert_eq!(
            rate_for(
                &rules,
                unrelated,
                unrelated,
                OrgKind::FarmerCoop,
                day("2026-11-25")
            ),
            Some(400)
        );
        assert_eq!(
            rate_for(
                &rules,
                unrelated,
                unrelated,
                OrgKind::Enterprise,
                day("2026-11-25")
            ),
            Some(500)
        );
        // a later catch-all takes over from its date, and not before
        assert_eq!(
            rate_for(
                &rules,
                unrelated,
                unrelated,
                OrgKind::Enterprise,
                day("2026-12-01")
            ),
            Some(600)
        );
        assert_eq!(
            rate_for(
                &rules,
                unrelated,
                unrelated,
                OrgKind::Enterprise,
                day("2025-12-31")
            ),
            None
        );
    }

    #[test]
    fn a_set_needs_a_catch_all_and_sane_rates() {
        let input = |kind: Option<&str>, bp, from: &str| RuleInput {
            category_id: None,
            seller_kind: kind.map(str::to_owned),
            rate_bp: bp,
            effective_from: day(from),
        };
        assert!(validate_rules(&[input(None, 500, "2026-01-01")], &[]).is_ok());
        let e = validate_rules(
            &[
                input(Some("farmer_coop"), 400, "2026-01-01"),
                input(Some("dragon"), 5_000, "2026-01-01"),
                input(Some("farmer_coop"), 300, "2026-01-01"),
            ],
            &[],
        )
        .expect_err("invalid");
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "items[1].seller_kind",
                "items[1].rate_bp",
                "items[2]",
                "items"
            ]
        );
        // a catch-all that starts later than another rule leaves a gap
        assert!(validate_rules(
            &[
                input(Some("farmer_coop"), 400, "2026-01-01"),
                input(None, 500, "2026-02-01")
            ],
            &[]
        )
        .is_err());
    }
}
