//! GB/T 2260 region codes: a 6-digit county code, optionally extended to 9
//! (township) or 12 (village) digits. The county prefix must be a known
//! county (data: `domain/data/regions.tsv`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

static DATA: &str = include_str!("../data/regions.tsv");

fn table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        DATA.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split_once('\t'))
            .collect()
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if !matches!(s.len(), 6 | 9 | 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a GB/T 2260 code of 6, 9 or 12 digits");
        }
        if !table().contains_key(&s[..6]) {
            return Err("is not a known county code");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit county code.
    pub fn county(&self) -> &str {
        &self.0[..6]
    }

    /// "province city county", e.g. "吉林省 长春市 绿园区".
    pub fn display_name(&self) -> String {
        let t = table();
        let c = self.county();
        let mut parts: Vec<&str> = Vec::new();
        for key in [&c[..2], &c[..4], c] {
            if let Some(name) = t.get(key) {
                if parts.last() != Some(name) && *name != "市辖区" && *name != "县" {
                    parts.push(name);
                }
            }
        }
        parts.join(" ")
    }
}

/// The name of a province (`22` → 吉林省).
pub fn province_name(code: &str) -> Option<&'static str> {
    table().get(code).copied()
}

/// A prefix filter (`11`, `1101`, `110105`, …): digits only, at most 12.
pub fn is_valid_prefix(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 12 && raw.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_counties_and_extensions() {
        assert!(RegionCode::parse("220106").is_ok());
        assert!(RegionCode::parse("110105").is_ok());
        assert!(RegionCode::parse("441900").is_ok(), "city without counties");
        assert!(RegionCode::parse("220106001").is_ok());
        assert!(RegionCode::parse("220106001001").is_ok());
        assert!(RegionCode::parse("999999").is_err());
        assert!(RegionCode::parse("22010").is_err());
        assert!(RegionCode::parse("2201060").is_err());
        assert!(RegionCode::parse("22010a").is_err());
        assert_eq!(
            RegionCode::parse("220106").map(|r| r.display_name()),
            Ok("吉林省 长春市 绿园区".to_owned())
        );
        assert!(table().len() > 3000);
    }

    #[test]
    fn prefixes() {
        assert!(is_valid_prefix("11"));
        assert!(!is_valid_prefix(""));
        assert!(!is_valid_prefix("11a"));
    }
}
