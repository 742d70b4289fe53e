//! Money is an integer number of fen (1 CNY = 100 fen). No floats.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Neg, Sub};

use serde::{Deserialize, Serialize};

/// An amount of money in fen (分), the smallest unit of the renminbi.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn value(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_mul(self, qty: i64) -> Option<Fen> {
        self.0.checked_mul(qty).map(Fen)
    }

    /// `self × bp / 10_000`, rounded half away from zero, computed in i128 so
    /// it cannot overflow for any i64 amount.
    pub fn apply_basis_points(self, bp: u32) -> Fen {
        let num = i128::from(self.0) * i128::from(bp);
        let half = 5_000_i128 * num.signum();
        let rounded = (num + half) / 10_000;
        Fen(i64::try_from(rounded).unwrap_or(if num < 0 { i64::MIN } else { i64::MAX }))
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

impl fmt::Display for Fen {
    /// Renders as yuan with two decimals, e.g. `¥68.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_round_half_away_from_zero() {
        assert_eq!(Fen(10_000).apply_basis_points(250), Fen(250));
        // 199 × 2.5% = 4.975 → 5
        assert_eq!(Fen(199).apply_basis_points(250), Fen(5));
        // 180 × 2.5% = 4.5 → 5 (half away from zero)
        assert_eq!(Fen(180).apply_basis_points(250), Fen(5));
        // 179 × 2.5% = 4.475 → 4
        assert_eq!(Fen(179).apply_basis_points(250), Fen(4));
        assert_eq!(Fen(-180).apply_basis_points(250), Fen(-5));
        assert_eq!(Fen(i64::MAX).apply_basis_points(10_000), Fen(i64::MAX));
    }

    #[test]
    fn displays_as_yuan() {
        assert_eq!(Fen(6800).to_string(), "¥68.00");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(-1234).to_string(), "-¥12.34");
    }

    #[test]
    fn sums_and_checked_ops() {
        assert_eq!([Fen(1), Fen(2), Fen(3)].into_iter().sum::<Fen>(), Fen(6));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(6200).checked_mul(10), Some(Fen(62_000)));
    }
}
