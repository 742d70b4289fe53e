//! Freight templates (运费模板): what a seller charges to send its produce
//! to a destination, and where it does not deliver at all.
//!
//! A template prices one group of items (the items of one seller order that
//! use it) by weight in grams or by pieces: the rule of the longest region
//! prefix matching the destination (else the template's default rule; with
//! no default, only the listed regions are served) charges `first_fen` for
//! up to `first_unit` units and `additional_fen` for every further
//! `additional_unit` or part of one. Chilled and frozen produce adds the
//! cold-chain surcharge once per group. When the seller order's items reach
//! `free_over_fen` the group ships free. A destination under one of the
//! `no_delivery_regions` is refused, whatever the rules say.

use serde::{Deserialize, Serialize};

use crate::coop::OrgId;
use crate::money::Fen;
use crate::typed_id;
use crate::validation::ValidationErrors;
use crate::wire_enum;

typed_id!(
    /// A seller's freight template.
    FreightTemplateId
);

wire_enum!(FreightMode {
    /// Units are grams: the listing's `unit_weight_grams` × quantity.
    Weight => "weight",
    /// Units are pieces: the quantity.
    Piece => "piece",
});

/// First unit + additional units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub first_unit: i64,
    pub first_fen: i64,
    pub additional_unit: i64,
    pub additional_fen: i64,
}

impl Rate {
    /// The charge for `units` (≥ 0): `first_fen` covers up to `first_unit`,
    /// then `additional_fen` per started `additional_unit`. `None` on
    /// overflow.
    pub fn charge(&self, units: i64) -> Option<Fen> {
        if units <= self.first_unit {
            return Some(Fen(self.first_fen));
        }
        let extra = units - self.first_unit;
        // Rounded up: a started additional unit is charged in full.
        let steps = extra.checked_add(self.additional_unit - 1)? / self.additional_unit;
        steps
            .checked_mul(self.additional_fen)?
            .checked_add(self.first_fen)
            .map(Fen)
    }
}

/// A rate for destinations under any of `regions` (GB/T 2260 prefixes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRule {
    pub regions: Vec<String>,
    #[serde(flatten)]
    pub rate: Rate,
}

/// The pricing part of a template (stored as one document, and read with
/// the listings when an order is priced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreightSpec {
    pub mode: FreightMode,
    pub rules: Vec<RegionRule>,
    /// For destinations no rule names; `None`: only those are served.
    pub default_rule: Option<Rate>,
    /// The seller order's items at or above this ship free.
    pub free_over_fen: Option<i64>,
    pub no_delivery_regions: Vec<String>,
    pub cold_chain_surcharge_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightTemplate {
    pub id: FreightTemplateId,
    pub org_id: OrgId,
    pub name: String,
    pub is_default: bool,
    pub spec: FreightSpec,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The destination is not served by the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotDeliverable,
    Overflow,
}

/// What one template prices: the units of its items, whether any is
/// chilled or frozen, and the seller order's items total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parcel {
    pub units: i64,
    pub cold_chain: bool,
    pub items_total: Fen,
}

fn matches(prefix: &str, region: &str) -> bool {
    region.starts_with(prefix)
}

impl FreightSpec {
    /// Whether the template delivers to `region` at all.
    pub fn delivers_to(&self, region: &str) -> bool {
        !self.no_delivery_regions.iter().any(|p| matches(p, region))
            && self.rate_for(region).is_some()
    }

    /// The rate of the longest prefix matching `region`, else the default.
    pub fn rate_for(&self, region: &str) -> Option<Rate> {
        self.rules
            .iter()
            .flat_map(|r| r.regions.iter().map(move |p| (p, r.rate)))
            .filter(|(p, _)| matches(p, region))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, rate)| rate)
            .or(self.default_rule)
    }

    /// The freight of one parcel to `region`.
    pub fn charge(&self, region: &str, parcel: Parcel) -> Result<Fen, Refusal> {
        if self.no_delivery_regions.iter().any(|p| matches(p, region)) {
            return Err(Refusal::NotDeliverable);
        }
        let rate = self.rate_for(region).ok_or(Refusal::NotDeliverable)?;
        if self
            .free_over_fen
            .is_some_and(|f| parcel.items_total.0 >= f)
        {
            return Ok(Fen::ZERO);
        }
        let base = rate.charge(parcel.units).ok_or(Refusal::Overflow)?;
        let surcharge = if parcel.cold_chain {
            Fen(self.cold_chain_surcharge_fen)
        } else {
            Fen::ZERO
        };
        base.checked_add(surcharge).ok_or(Refusal::Overflow)
    }
}

/// Limits of a template.
pub const MAX_RULES: usize = 100;
pub const MAX_REGIONS: usize = 100;
pub const MAX_UNIT: i64 = 1_000_000_000;
pub const MAX_FREIGHT_FEN: i64 = 10_000_000;
pub const MAX_TEMPLATES_PER_ORG: usize = 50;

/// A template as a seller sends it (every field, for create and replace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInput {
    pub name: String,
    pub mode: String,
    pub is_default: bool,
    pub rules: Vec<RegionRule>,
    pub default_rule: Option<Rate>,
    pub free_over_fen: Option<i64>,
    pub no_delivery_regions: Vec<String>,
    pub cold_chain_surcharge_fen: i64,
}

/// A region prefix of a template: a province (2 digits), city (4) or county (6).
fn region_prefix_ok(p: &str) -> bool {
    matches!(p.len(), 2 | 4 | 6) && p.bytes().all(|b| b.is_ascii_digit())
}

fn check_rate(e: &mut ValidationErrors, field: &str, r: &Rate) {
    for (name, v) in [
        ("first_unit", r.first_unit),
        ("additional_unit", r.additional_unit),
    ] {
        if !(1..=MAX_UNIT).contains(&v) {
            e.add(format!("{field}.{name}"), format!("must be 1–{MAX_UNIT}"));
        }
    }
    for (name, v) in [
        ("first_fen", r.first_fen),
        ("additional_fen", r.additional_fen),
    ] {
        if !(0..=MAX_FREIGHT_FEN).contains(&v) {
            e.add(
                format!("{field}.{name}"),
                format!("must be 0–{MAX_FREIGHT_FEN}"),
            );
        }
    }
}

impl TemplateInput {
    /// Checks every field; returns the name (trimmed) and the spec.
    pub fn validate(&self) -> Result<(String, FreightSpec), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            e.add("name", "must be 1–50 characters");
        }
        let mode = self
            .mode
            .parse::<FreightMode>()
            .map_err(|m| e.add("mode", m))
            .ok();
        if self.rules.len() > MAX_RULES {
            e.add("rules", format!("at most {MAX_RULES} rules"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.regions.is_empty() || rule.regions.len() > MAX_REGIONS {
                e.add(
                    format!("rules[{i}].regions"),
                    format!("must name 1–{MAX_REGIONS} regions"),
                );
            }
            for (j, p) in rule.regions.iter().enumerate() {
                if !region_prefix_ok(p) {
                    e.add(
                        format!("rules[{i}].regions[{j}]"),
                        "must be a province (2 digits), city (4) or county (6) code",
                    );
                } else if !seen.insert(p.as_str()) {
                    e.add(
                        format!("rules[{i}].regions[{j}]"),
                        "is named by an earlier rule",
                    );
                }
            }
            check_rate(&mut e, &format!("rules[{i}]"), &rule.rate);
        }
        if let Some(d) = &self.default_rule {
            check_rate(&mut e, "default_rule", d);
        }
        if self.rules.is_empty() && self.default_rule.is_none() {
            e.add(
                "rules",
                "a template needs at least one rule or a default_rule",
            );
        }
        if self
            .free_over_fen
            .is_some_and(|f| !(1..=crate::catalog::MAX_PRICE_FEN).contains(&f))
        {
            e.add(
                "free_over_fen",
                format!("must be 1–{}", crate::catalog::MAX_PRICE_FEN),
            );
        }
        if self.no_delivery_regions.len() > MAX_REGIONS {
            e.add(
                "no_delivery_regions",
                format!("at most {MAX_REGIONS} regions"),
            );
        }
        let mut refused = std::collections::HashSet::new();
        for (j, p) in self.no_delivery_regions.iter().enumerate() {
            if !region_prefix_ok(p) {
                e.add(
                    format!("no_delivery_regions[{j}]"),
                    "must be a province (2 digits), city (4) or county (6) code",
                );
            } else if seen.contains(p.as_str()) {
                e.add(
                    format!("no_delivery_regions[{j}]"),
                    "is also priced by a rule",
                );
            } else if !refused.insert(p.as_str()) {
                e.add(format!("no_delivery_regions[{j}]"), "is listed twice");
            }
        }
        if !(0..=MAX_FREIGHT_FEN).contains(&self.cold_chain_surcharge_fen) {
            e.add(
                "cold_chain_surcharge_fen",
                format!("must be 0–{MAX_FREIGHT_FEN}"),
            );
        }
        match (mode, e.is_empty()) {
            (Some(mode), true) => Ok((
                name.to_owned(),
                FreightSpec {
                    mode,
                    rules: self.rules.clone(),
                    default_rule: self.default_rule,
                    free_over_fen: self.free_over_fen,
                    no_delivery_regions: self.no_delivery_regions.clone(),
                    cold_chain_surcharge_fen: self.cold_chain_surcharge_fen,
                },
            )),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
#[path = "freight_tests.rs"]
mod tests;
