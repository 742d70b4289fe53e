//! Pure cooperative rules: farmer_coop composition, votes, surplus
//! distribution with largest-remainder rounding.

use std::cmp::Ordering;

use crate::money::Fen;

use super::model::MemberId;

// ---- composition (农民专业合作社法 第二十条) ---------------------------------

/// Headcount of a cooperative's members (active and suspended).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Composition {
    /// Natural persons who are farmers.
    pub farmers: u32,
    /// Natural persons who are not farmers.
    pub other_persons: u32,
    /// Enterprises, institutions and social organizations.
    pub organizations: u32,
}

impl Composition {
    pub fn total(&self) -> u32 {
        self.farmers + self.other_persons + self.organizations
    }

    pub fn with(mut self, is_organization: bool, is_farmer: bool) -> Self {
        match (is_organization, is_farmer) {
            (true, _) => self.organizations += 1,
            (false, true) => self.farmers += 1,
            (false, false) => self.other_persons += 1,
        }
        self
    }
}

/// Which composition rule an approval would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositionViolation {
    /// Farmers must be at least 80% of all members.
    FarmerShare,
    /// With ≤ 20 members at most one enterprise/institution member; above 20
    /// at most 5% of members.
    EnterpriseLimit,
}

impl CompositionViolation {
    pub fn code(self) -> &'static str {
        match self {
            CompositionViolation::FarmerShare => "composition_farmer_share",
            CompositionViolation::EnterpriseLimit => "composition_enterprise_limit",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CompositionViolation::FarmerShare => "farmers must be at least 80% of a farmer cooperative's members",
            CompositionViolation::EnterpriseLimit => {
                "a farmer cooperative with up to 20 members may have one enterprise/institution member, above 20 at most 5%"
            }
        }
    }
}

/// Checks a farmer_coop's composition after a change (integer arithmetic:
/// exactly 80% and exactly 5% pass).
pub fn check_farmer_coop_composition(c: Composition) -> Result<(), CompositionViolation> {
    let total = u64::from(c.total());
    if total == 0 {
        return Ok(());
    }
    if u64::from(c.farmers) * 100 < total * 80 {
        return Err(CompositionViolation::FarmerShare);
    }
    let orgs = u64::from(c.organizations);
    let ok = if total <= 20 {
        orgs <= 1
    } else {
        orgs * 100 <= total * 5
    };
    if ok {
        Ok(())
    } else {
        Err(CompositionViolation::EnterpriseLimit)
    }
}

// ---- largest remainder -------------------------------------------------------

/// Splits `pool` (≥ 0) across `weights` (≥ 0) proportionally. Each share is
/// first floored; the units left over go one each to the largest remainders
/// (ties: earlier entry first, so callers order entries by member id). The
/// shares always sum exactly to `pool` when any weight is positive; with
/// all-zero weights every share is 0.
pub fn largest_remainder(pool: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if pool <= 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let pool = i128::from(pool);
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(usize, i128)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let num = pool * i128::from((*w).max(0));
        shares.push(num / total);
        remainders.push((i, num % total));
    }
    let assigned: i128 = shares.iter().sum();
    let mut left = pool - assigned;
    remainders.sort_by(|a, b| match b.1.cmp(&a.1) {
        Ordering::Equal => a.0.cmp(&b.0),
        o => o,
    });
    for (i, _) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
        .into_iter()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
        .collect()
}

// ---- votes (第二十二条) --------------------------------------------------------

/// Additional votes may total at most 20% of basic votes.
pub const MAX_ADDITIONAL_VOTE_BP: i64 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteInput {
    pub member_id: MemberId,
    /// Capital or transaction volume, per the coop's rule.
    pub basis: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Votes {
    pub member_id: MemberId,
    pub basic: i64,
    pub additional: i64,
}

/// One basic vote per active member; a pool of additional votes
/// (⌊20% × basic total⌋) shared by basis with largest remainders. Members
/// are processed in id order so ties are deterministic.
pub fn allocate_votes(members: &[VoteInput], use_additional: bool) -> Vec<Votes> {
    let mut sorted: Vec<&VoteInput> = members.iter().collect();
    sorted.sort_by_key(|m| m.member_id);
    let basic_total = i64::try_from(sorted.len()).unwrap_or(i64::MAX);
    let pool = if use_additional {
        basic_total * MAX_ADDITIONAL_VOTE_BP / 10_000
    } else {
        0
    };
    let weights: Vec<i64> = sorted.iter().map(|m| m.basis.max(0)).collect();
    let extra = largest_remainder(pool, &weights);
    sorted
        .iter()
        .zip(extra)
        .map(|(m, additional)| Votes {
            member_id: m.member_id,
            basic: 1,
            additional,
        })
        .collect()
}

// ---- surplus distribution (第四十四条) -------------------------------------------

/// At least 60% of distributable surplus is refunded by transaction volume.
pub const MIN_PATRONAGE_BP: u32 = 6_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurplusInput {
    pub member_id: MemberId,
    /// Transaction volume with the coop in the fiscal year.
    pub transaction_volume: Fen,
    /// Capital + quantified reserve + quantified subsidies.
    pub capital_basis: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub member_id: MemberId,
    pub patronage: Fen,
    pub capital: Fen,
    pub total: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurplusPlan {
    pub distributable: Fen,
    pub patronage_ratio_bp: u32,
    pub patronage_pool: Fen,
    pub capital_pool: Fen,
    pub allocations: Vec<Allocation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurplusError {
    NonPositiveSurplus,
    /// Ratio below 60% or above 100%.
    RatioOutOfRange,
    NoMembers,
    /// Nobody traded with the coop this year: nothing to refund by volume.
    NoTransactionVolume,
    /// The capital pool is positive but nobody has capital, reserve or subsidy shares.
    NoCapitalBasis,
}

/// The patronage pool is rounded **up** (so it is never below the ratio);
/// the capital pool is the rest. Each pool is split by largest remainder, so
/// allocations sum exactly to the distributable surplus.
pub fn plan_surplus(
    distributable: Fen,
    patronage_ratio_bp: u32,
    members: &[SurplusInput],
) -> Result<SurplusPlan, SurplusError> {
    if distributable.0 <= 0 {
        return Err(SurplusError::NonPositiveSurplus);
    }
    if !(MIN_PATRONAGE_BP..=10_000).contains(&patronage_ratio_bp) {
        return Err(SurplusError::RatioOutOfRange);
    }
    if members.is_empty() {
        return Err(SurplusError::NoMembers);
    }
    let mut sorted: Vec<&SurplusInput> = members.iter().collect();
    sorted.sort_by_key(|m| m.member_id);
    let num = i128::from(distributable.0) * i128::from(patronage_ratio_bp);
    let patronage_pool = i64::try_from((num + 9_999) / 10_000).unwrap_or(distributable.0);
    let capital_pool = distributable.0 - patronage_pool;
    let volumes: Vec<i64> = sorted
        .iter()
        .map(|m| m.transaction_volume.0.max(0))
        .collect();
    let bases: Vec<i64> = sorted.iter().map(|m| m.capital_basis.0.max(0)).collect();
    if volumes.iter().all(|v| *v == 0) {
        return Err(SurplusError::NoTransactionVolume);
    }
    if capital_pool > 0 && bases.iter().all(|b| *b == 0) {
        return Err(SurplusError::NoCapitalBasis);
    }
    let patronage = largest_remainder(patronage_pool, &volumes);
    let capital = largest_remainder(capital_pool, &bases);
    let allocations = sorted
        .iter()
        .zip(patronage.iter().zip(capital.iter()))
        .map(|(m, (p, c))| Allocation {
            member_id: m.member_id,
            patronage: Fen(*p),
            capital: Fen(*c),
            total: Fen(p + c),
        })
        .collect();
    Ok(SurplusPlan {
        distributable,
        patronage_ratio_bp,
        patronage_pool: Fen(patronage_pool),
        capital_pool: Fen(capital_pool),
        allocations,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn comp(farmers: u32, other_persons: u32, organizations: u32) -> Composition {
        Composition {
            farmers,
            other_persons,
            organizations,
        }
    }

    #[test]
    fn farmer_share_boundary_is_inclusive() {
        // exactly 80%
        assert_eq!(check_farmer_coop_composition(comp(4, 1, 0)), Ok(()));
        assert_eq!(check_farmer_coop_composition(comp(16, 4, 0)), Ok(()));
        // just below
        assert_eq!(
            check_farmer_coop_composition(comp(3, 1, 0)),
            Err(CompositionViolation::FarmerShare)
        );
        assert_eq!(
            check_farmer_coop_composition(comp(15, 4, 0)),
            Err(CompositionViolation::FarmerShare)
        );
        assert_eq!(check_farmer_coop_composition(comp(1, 0, 0)), Ok(()));
    }

    #[test]
    fn enterprise_limit_at_20_and_21_members() {
        // 20 members: one organization allowed, two not
        assert_eq!(check_farmer_coop_composition(comp(19, 0, 1)), Ok(()));
        assert_eq!(
            check_farmer_coop_composition(comp(18, 0, 2)),
            Err(CompositionViolation::EnterpriseLimit)
        );
        // 21 members: 5% of 21 = 1.05 → one allowed, two not
        assert_eq!(check_farmer_coop_composition(comp(20, 0, 1)), Ok(()));
        assert_eq!(
            check_farmer_coop_composition(comp(19, 0, 2)),
            Err(CompositionViolation::EnterpriseLimit)
        );
        // 40 members: exactly 5% → two allowed, three not
        assert_eq!(check_farmer_coop_composition(comp(38, 0, 2)), Ok(()));
        assert_eq!(
            check_farmer_coop_composition(comp(37, 0, 3)),
            Err(CompositionViolation::EnterpriseLimit)
        );
    }

    #[test]
    fn largest_remainder_examples() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(100, &[1, 2, 3]), vec![17, 33, 50]);
        assert_eq!(largest_remainder(5, &[0, 0]), vec![0, 0]);
        assert_eq!(largest_remainder(0, &[1, 2]), vec![0, 0]);
        assert_eq!(
            largest_remainder(1, &[5, 5]),
            vec![1, 0],
            "ties go to the earlier entry"
        );
    }

    fn mid(n: u128) -> MemberId {
        MemberId(Uuid::from_u128(n))
    }

    #[test]
    fn additional_votes_capped_at_20_percent() {
        let members: Vec<VoteInput> = (1..=25)
            .map(|i| VoteInput {
                member_id: mid(i),
                basis: if i <= 2 { 1_000 } else { 0 },
            })
            .collect();
        let votes = allocate_votes(&members, true);
        let basic: i64 = votes.iter().map(|v| v.basic).sum();
        let additional: i64 = votes.iter().map(|v| v.additional).sum();
        assert_eq!(basic, 25);
        assert_eq!(additional, 5, "20% of 25");
        assert_eq!(votes[0].additional, 3);
        assert_eq!(votes[1].additional, 2);
        // 9 members: 20% = 1.8 → 1 additional vote
        let nine: Vec<VoteInput> = (1..=9)
            .map(|i| VoteInput {
                member_id: mid(i),
                basis: i as i64,
            })
            .collect();
        assert_eq!(
            allocate_votes(&nine, true)
                .iter()
                .map(|v| v.additional)
                .sum::<i64>(),
            1
        );
        assert_eq!(
            allocate_votes(&nine, false)
                .iter()
                .map(|v| v.additional)
                .sum::<i64>(),
            0
        );
    }

    #[test]
    fn surplus_example() {
        let members = vec![
            SurplusInput {
                member_id: mid(1),
                transaction_volume: Fen(600),
                capital_basis: Fen(100),
            },
            SurplusInput {
                member_id: mid(2),
                transaction_volume: Fen(300),
                capital_basis: Fen(100),
            },
            SurplusInput {
                member_id: mid(3),
                transaction_volume: Fen(100),
                capital_basis: Fen(0),
            },
        ];
        let plan = plan_surplus(Fen(1_001), 6_000, &members).unwrap_or_else(|e| panic!("{e:?}"));
        // 60% of 1001 = 600.6 → rounded up to 601
        assert_eq!(plan.patronage_pool, Fen(601));
        assert_eq!(plan.capital_pool, Fen(400));
        let totals: Vec<i64> = plan.allocations.iter().map(|a| a.total.0).collect();
        // patronage: 360.6/180.3/60.1 → 360,180,60 + 1 to the largest remainder (first)
        assert_eq!(plan.allocations[0].patronage, Fen(361));
        assert_eq!(plan.allocations[1].patronage, Fen(180));
        assert_eq!(plan.allocations[2].patronage, Fen(60));
        assert_eq!(totals.iter().sum::<i64>(), 1_001);
        assert_eq!(
            plan_surplus(Fen(0), 6_000, &members),
            Err(SurplusError::NonPositiveSurplus)
        );
        assert_eq!(
            plan_surplus(Fen(10), 5_999, &members),
            Err(SurplusError::RatioOutOfRange)
        );
        assert_eq!(
            plan_surplus(Fen(10), 10_001, &members),
            Err(SurplusError::RatioOutOfRange)
        );
        let idle = vec![SurplusInput {
            member_id: mid(1),
            transaction_volume: Fen(0),
            capital_basis: Fen(5),
        }];
        assert_eq!(
            plan_surplus(Fen(10), 6_000, &idle),
            Err(SurplusError::NoTransactionVolume)
        );
        let no_capital = vec![SurplusInput {
            member_id: mid(1),
            transaction_volume: Fen(5),
            capital_basis: Fen(0),
        }];
        assert_eq!(
            plan_surplus(Fen(10), 6_000, &no_capital),
            Err(SurplusError::NoCapitalBasis)
        );
        // 100% by volume needs no capital basis
        assert!(plan_surplus(Fen(10), 10_000, &no_capital).is_ok());
    }

    proptest! {
        #[test]
        fn largest_remainder_sums_exactly(pool in 0i64..10_000_000_000, weights in prop::collection::vec(0i64..1_000_000_000, 1..40)) {
            let shares = largest_remainder(pool, &weights);
            prop_assert_eq!(shares.len(), weights.len());
            if weights.iter().any(|w| *w > 0) {
                prop_assert_eq!(shares.iter().sum::<i64>(), pool);
            }
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0);
                if *w == 0 { prop_assert_eq!(*s, 0); }
            }
        }

        #[test]
        fn surplus_allocations_sum_exactly_and_refund_at_least_60_percent(
            surplus in 1i64..100_000_000_000,
            ratio in 6_000u32..=10_000,
            members in prop::collection::vec((1i64..1_000_000_000, 1i64..1_000_000_000), 1..60),
        ) {
            let inputs: Vec<SurplusInput> = members.iter().enumerate().map(|(i, (v, c))| SurplusInput {
                member_id: mid(i as u128 + 1),
                transaction_volume: Fen(*v),
                capital_basis: Fen(*c),
            }).collect();
            let plan = plan_surplus(Fen(surplus), ratio, &inputs).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let total: i64 = plan.allocations.iter().map(|a| a.total.0).sum();
            prop_assert_eq!(total, surplus);
            let patronage: i64 = plan.allocations.iter().map(|a| a.patronage.0).sum();
            prop_assert_eq!(patronage, plan.patronage_pool.0);
            // ≥ ratio (and so ≥ 60%), in exact integer arithmetic
            prop_assert!(i128::from(patronage) * 10_000 >= i128::from(surplus) * i128::from(ratio));
            prop_assert!(i128::from(patronage) * 10_000 >= i128::from(surplus) * 6_000);
            for a in &plan.allocations {
                prop_assert_eq!(a.total.0, a.patronage.0 + a.capital.0);
                prop_assert!(a.patronage.0 >= 0 && a.capital.0 >= 0);
            }
        }

        #[test]
        fn additional_votes_never_exceed_20_percent(bases in prop::collection::vec(0i64..1_000_000, 1..200)) {
            let members: Vec<VoteInput> = bases.iter().enumerate().map(|(i, b)| VoteInput { member_id: mid(i as u128 + 1), basis: *b }).collect();
            let votes = allocate_votes(&members, true);
            let basic: i64 = votes.iter().map(|v| v.basic).sum();
            let additional: i64 = votes.iter().map(|v| v.additional).sum();
            prop_assert_eq!(basic, members.len() as i64);
            prop_assert!(additional * 100 <= basic * 20);
        }
    }
}
