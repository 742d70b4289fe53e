//! Cooperative value objects and entities.

use crate::wire_enum;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::UserId;
use crate::money::Fen;
use crate::region::RegionCode;
use crate::typed_id;

typed_id!(
    /// An organization (cooperative, SMC, enterprise, station …).
    OrgId
);
typed_id!(
    /// A membership of one member in one cooperative.
    MemberId
);
typed_id!(
    /// A membership application.
    ApplicationId
);

wire_enum!(
    /// The kinds of organization in the glossary.
    OrgKind {
        SupplyMarketingCoop => "supply_marketing_coop",
        GrassrootsCoop => "grassroots_coop",
        FarmerCoop => "farmer_coop",
        CoopUnion => "coop_union",
        Enterprise => "enterprise",
        FamilyFarm => "family_farm",
        ServiceStation => "service_station",
        /// A county logistics hub (县级物流配送中心): warehousing, sorting, pre-cooling.
        LogisticsHub => "logistics_hub",
    }
);

wire_enum!(
    StaffRole {
        Admin => "admin",
        Clerk => "clerk",
    }
);

wire_enum!(
    MemberStatus {
        Active => "active",
        Suspended => "suspended",
        Withdrawn => "withdrawn",
        Expelled => "expelled",
    }
);

wire_enum!(
    ApplicationStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
);

wire_enum!(
    ContributionForm {
        Cash => "cash",
        InKind => "in_kind",
        /// Capital paid back when membership ends (negative amount).
        Return => "return",
    }
);

wire_enum!(
    /// What additional votes (附加表决权) are allotted by.
    AdditionalVoteBasis {
        None => "none",
        Capital => "capital",
        TransactionVolume => "transaction_volume",
    }
);

wire_enum!(
    TransactionSource {
        /// Produce delivered to the coop outside the platform.
        OfflineDelivery => "offline_delivery",
        /// A completed platform order of a listing the member supplied.
        PlatformSale => "platform_sale",
        /// The member's own completed purchase from the coop.
        PlatformPurchase => "platform_purchase",
    }
);

wire_enum!(
    QuantificationKind {
        /// Reserve fund (公积金) quantified to the member.
        Reserve => "reserve",
        /// Government subsidy (财政补助) quantified to the member.
        Subsidy => "subsidy",
    }
);

impl OrgKind {
    /// Kinds that belong to the supply-and-marketing system itself; creating
    /// a top-level SMC needs a platform admin.
    pub fn needs_platform_admin(self) -> bool {
        matches!(self, OrgKind::SupplyMarketingCoop)
    }

    /// Kinds that keep a membership register.
    pub fn has_members(self) -> bool {
        matches!(
            self,
            OrgKind::SupplyMarketingCoop
                | OrgKind::GrassrootsCoop
                | OrgKind::FarmerCoop
                | OrgKind::CoopUnion
        )
    }

    /// Which kinds may be this kind's parent in the organization tree.
    /// `None` in the list means "may be top-level".
    pub fn allowed_parents(self) -> &'static [Option<OrgKind>] {
        use OrgKind::*;
        match self {
            SupplyMarketingCoop => &[None, Some(SupplyMarketingCoop)],
            GrassrootsCoop => &[Some(SupplyMarketingCoop)],
            FarmerCoop => &[None, Some(GrassrootsCoop), Some(SupplyMarketingCoop)],
            CoopUnion => &[None, Some(GrassrootsCoop), Some(SupplyMarketingCoop)],
            Enterprise => &[None, Some(SupplyMarketingCoop), Some(GrassrootsCoop)],
            FamilyFarm => &[None, Some(FarmerCoop), Some(CoopUnion)],
            ServiceStation => &[
                None,
                Some(GrassrootsCoop),
                Some(SupplyMarketingCoop),
                Some(FarmerCoop),
                Some(CoopUnion),
                Some(Enterprise),
            ],
            LogisticsHub => &[
                None,
                Some(SupplyMarketingCoop),
                Some(GrassrootsCoop),
                Some(Enterprise),
            ],
        }
    }
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters from
/// `0123456789ABCDEFGHJKLMNPQRTUWXY`, the last a check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CreditCode(String);

const CREDIT_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl CreditCode {
    /// The check character for the first 17 characters, or `None` when one
    /// of them is outside the alphabet.
    pub fn check_char(first17: &str) -> Option<char> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (b, w) in bytes.iter().zip(CREDIT_WEIGHTS) {
            let v = CREDIT_CHARS.iter().position(|c| c == b)?;
            sum += u32::try_from(v).ok()? * w;
        }
        let check = (31 - sum % 31) % 31;
        CREDIT_CHARS
            .get(usize::try_from(check).ok()?)
            .map(|c| char::from(*c))
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_ascii_uppercase();
        if s.len() != 18 || !s.bytes().all(|b| CREDIT_CHARS.contains(&b)) {
            return Err("must be 18 characters from 0-9 and A-Y without I, O, S, V, Z");
        }
        let expected = Self::check_char(&s[..17]).ok_or("has an invalid character")?;
        if s.as_bytes()[17] != expected as u8 {
            return Err("check character does not match (GB 32100)");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 登记管理部门码 + 机构类别码: `93` = farmer professional cooperative.
    pub fn is_farmer_coop(&self) -> bool {
        self.0.starts_with("93")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub kind: OrgKind,
    pub name: String,
    pub credit_code: CreditCode,
    pub region_code: RegionCode,
    pub parent_id: Option<OrgId>,
    pub contact_email: String,
    pub additional_vote_basis: AdditionalVoteBasis,
    /// Service stations: what a buyer pays per seller order picked up there.
    pub pickup_fee: Fen,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub user_id: UserId,
    pub role: StaffRole,
    pub display_name: String,
    pub email: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// Who applies or is a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRef {
    User(UserId),
    Organization(OrgId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: ApplicationId,
    pub organization_id: OrgId,
    pub applicant: MemberRef,
    pub is_farmer: bool,
    pub note: Option<String>,
    pub status: ApplicationStatus,
    pub member_id: Option<MemberId>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub organization_id: OrgId,
    pub member: MemberRef,
    pub is_farmer: bool,
    pub status: MemberStatus,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

/// One line of a member's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    pub id: uuid::Uuid,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor_id: Option<UserId>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub id: uuid::Uuid,
    pub member_id: MemberId,
    pub amount: Fen,
    pub form: ContributionForm,
    pub description: Option<String>,
    pub contributed_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearVolume {
    pub fiscal_year: i32,
    pub amount: Fen,
}

/// A member's account (成员账户).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub member_id: MemberId,
    pub capital: Fen,
    pub reserve_share: Fen,
    pub subsidy_share: Fen,
    pub transaction_volume: Vec<YearVolume>,
    pub refunds: Vec<YearVolume>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real published codes (and ones made valid by `check_char`).
    #[test]
    fn credit_code_checksums() {
        // Valid: check char computed for known 17-char bodies.
        for body in [
            "91350100M000100Y4",
            "93220106MA0Y3XXX0",
            "12100000400000624",
        ] {
            let check = CreditCode::check_char(body);
            assert!(check.is_some(), "{body}");
            let code = format!("{body}{}", check.unwrap_or('0'));
            assert!(CreditCode::parse(&code).is_ok(), "{code}");
        }
        // Published codes: the example of GB 32100-2015 itself, and a
        // registered enterprise.
        for code in ["91350100M000100Y43", "91110000100010433L"] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
        assert!(CreditCode::parse("91350100M000100Y44").is_err());
        // Invalid: one character changed.
        let body = "93220106MA0Y3XXX0";
        let good = format!("{body}{}", CreditCode::check_char(body).unwrap_or('0'));
        let mut bad = good.clone().into_bytes();
        bad[10] = if bad[10] == b'1' { b'2' } else { b'1' };
        let bad = String::from_utf8(bad).unwrap_or_default();
        assert_eq!(
            CreditCode::parse(&bad),
            Err("check character does not match (GB 32100)")
        );
        // Forbidden letters and wrong length.
        assert!(CreditCode::parse("93220106MA0Y3XXXI1").is_err());
        assert!(CreditCode::parse("9322010").is_err());
        // Lower case is normalised.
        assert_eq!(
            CreditCode::parse(&good.to_lowercase()).map(|c| c.0),
            Ok(good.clone())
        );
        assert!(CreditCode::parse(&good)
            .map(|c| c.is_farmer_coop())
            .unwrap_or(false));
    }

    #[test]
    fn check_char_maps_31_to_zero() {
        // Σ ≡ 0 (mod 31) → 31 − 0 = 31 → '0'
        assert_eq!(CreditCode::check_char("00000000000000000"), Some('0'));
        // Σ = 1 → 30 → 'Y'
        assert_eq!(CreditCode::check_char("10000000000000000"), Some('Y'));
    }

    #[test]
    fn parent_rules() {
        assert!(OrgKind::GrassrootsCoop
            .allowed_parents()
            .iter()
            .all(Option::is_some));
        assert!(OrgKind::FarmerCoop.allowed_parents().contains(&None));
        assert!(!OrgKind::SupplyMarketingCoop
            .allowed_parents()
            .contains(&Some(OrgKind::FarmerCoop)));
        assert_eq!("coop_union".parse::<OrgKind>(), Ok(OrgKind::CoopUnion));
        assert!("farm".parse::<OrgKind>().is_err());
    }
}
