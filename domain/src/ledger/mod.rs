//! The double-entry ledger: accounts, and the journal entry each business
//! event posts. Amounts are integer fen; debits positive, credits negative;
//! an entry's lines sum to zero (the database refuses any other, and any
//! change to a posted line). This module says which accounts each event
//! moves; `infra::ledger` posts it in the transaction of the event.

mod ports;
mod service;

pub use ports::*;
pub use service::*;

use crate::coop::{MemberId, OrgId};
use crate::money::Fen;
use crate::wire_enum;

wire_enum!(AccountType {
    /// Money held at the payment provider (asset).
    ProviderClearing => "provider_clearing",
    /// Paid by buyers, not yet earned by sellers (liability).
    BuyerFundsHeld => "buyer_funds_held",
    /// Owed to a seller organization (liability).
    SellerPayable => "seller_payable",
    /// The platform's commission (revenue).
    CommissionRevenue => "commission_revenue",
    /// Settled to sellers, not yet confirmed paid by the bank (liability).
    PayoutsInTransit => "payouts_in_transit",
    /// Owed to a cooperative member (liability).
    MemberPayable => "member_payable",
    /// A cooperative's undistributed surplus (equity).
    CoopEquity => "coop_equity",
});

wire_enum!(AccountKind {
    Asset => "asset",
    Liability => "liability",
    Equity => "equity",
    Revenue => "revenue",
    Expense => "expense",
});

impl AccountType {
    pub fn kind(self) -> AccountKind {
        match self {
            Self::ProviderClearing => AccountKind::Asset,
            Self::BuyerFundsHeld
            | Self::SellerPayable
            | Self::PayoutsInTransit
            | Self::MemberPayable => AccountKind::Liability,
            Self::CommissionRevenue => AccountKind::Revenue,
            Self::CoopEquity => AccountKind::Equity,
        }
    }
}

/// An account, by what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    ProviderClearing,
    BuyerFundsHeld,
    SellerPayable(OrgId),
    CommissionRevenue,
    PayoutsInTransit,
    MemberPayable(MemberId),
    CoopEquity(OrgId),
}

impl Account {
    pub fn account_type(self) -> AccountType {
        match self {
            Self::ProviderClearing => AccountType::ProviderClearing,
            Self::BuyerFundsHeld => AccountType::BuyerFundsHeld,
            Self::SellerPayable(_) => AccountType::SellerPayable,
            Self::CommissionRevenue => AccountType::CommissionRevenue,
            Self::PayoutsInTransit => AccountType::PayoutsInTransit,
            Self::MemberPayable(_) => AccountType::MemberPayable,
            Self::CoopEquity(_) => AccountType::CoopEquity,
        }
    }

    /// The organization or member it belongs to (platform accounts: none).
    pub fn owner(self) -> Option<uuid::Uuid> {
        match self {
            Self::SellerPayable(o) | Self::CoopEquity(o) => Some(o.0),
            Self::MemberPayable(m) => Some(m.0),
            _ => None,
        }
    }

    /// Its stable code (one account per code). The platform's accounts are
    /// kept in [`PLATFORM_SHARDS`] shards (`platform:<type>:<shard>`): every
    /// payment moves them, and one balance row per account would make all
    /// payments queue on its lock. An entry's shard comes from its cause
    /// ([`Entry::shard`]); reports add the shards up by type.
    pub fn code(self, shard: u8) -> String {
        match self {
            Self::SellerPayable(o) => format!("org:{o}:seller_payable"),
            Self::CoopEquity(o) => format!("coop:{o}:undistributed_surplus"),
            Self::MemberPayable(m) => format!("member:{m}:payable"),
            other => format!("platform:{}:{shard}", other.account_type()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ProviderClearing => "provider clearing (支付机构待清算)",
            Self::BuyerFundsHeld => "buyer funds held (买家待结算款)",
            Self::SellerPayable(_) => "seller payable (应付卖家)",
            Self::CommissionRevenue => "platform commission (平台佣金收入)",
            Self::PayoutsInTransit => "payouts in transit (在途结算款)",
            Self::MemberPayable(_) => "member payable (返还盈余)",
            Self::CoopEquity(_) => "undistributed surplus (盈余)",
        }
    }
}

/// What caused an entry (one entry per cause: posting twice is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kind: &'static str,
    pub id: uuid::Uuid,
}

/// A journal entry to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub description: String,
    pub source: Source,
    /// (account, amount): debits positive, credits negative; zero lines are
    /// dropped.
    pub lines: Vec<(Account, Fen)>,
}

/// How many rows each platform account is spread over.
pub const PLATFORM_SHARDS: u8 = 16;

impl Entry {
    /// The shard of the platform accounts this entry moves.
    pub fn shard(&self) -> u8 {
        u8::try_from(self.source.id.as_u128() % u128::from(PLATFORM_SHARDS)).unwrap_or(0)
    }

    /// Lines sum to zero.
    pub fn is_balanced(&self) -> bool {
        self.lines
            .iter()
            .map(|(_, a)| i128::from(a.0))
            .sum::<i128>()
            == 0
    }
}

/// The buyer paid: the provider holds the money for the buyer.
pub fn payment_captured(payment: uuid::Uuid, amount: Fen) -> Entry {
    Entry {
        description: "payment captured".into(),
        source: Source {
            kind: "payment",
            id: payment,
        },
        lines: vec![
            (Account::ProviderClearing, amount),
            (Account::BuyerFundsHeld, -amount),
        ],
    }
}

/// A payment returned whole (it came for an order that had expired or was
/// cancelled).
pub fn payment_refunded(payment: uuid::Uuid, amount: Fen) -> Entry {
    Entry {
        description: "payment refunded".into(),
        source: Source {
            kind: "payment_refund",
            id: payment,
        },
        lines: vec![
            (Account::BuyerFundsHeld, amount),
            (Account::ProviderClearing, -amount),
        ],
    }
}

/// A seller order completed: the buyer's money becomes the seller's, less
/// the commission on its items (freight is the seller's in full). After-sales
/// refunds paid before completion (`refunded`, with the commission they gave
/// back, `commission_returned`) left the held money already.
pub fn seller_order_completed(
    seller_order: uuid::Uuid,
    seller: OrgId,
    paid: CompletedAmounts,
) -> Entry {
    let gross = paid.items + paid.freight - paid.refunded;
    let commission = paid.commission - paid.commission_returned;
    Entry {
        description: "seller order completed".into(),
        source: Source {
            kind: "seller_order_completed",
            id: seller_order,
        },
        lines: vec![
            (Account::BuyerFundsHeld, gross),
            (Account::SellerPayable(seller), -(gross - commission)),
            (Account::CommissionRevenue, -commission),
        ],
    }
}

/// What a completed seller order earns: as ordered, less what was refunded
/// before completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompletedAmounts {
    pub items: Fen,
    pub freight: Fen,
    pub commission: Fen,
    pub refunded: Fen,
    pub commission_returned: Fen,
}

/// A seller order refunded in full before it completed: the held money goes
/// back to the buyer through the provider.
pub fn seller_order_refunded(seller_order: uuid::Uuid, amount: Fen) -> Entry {
    Entry {
        description: "seller order refunded before completion".into(),
        source: Source {
            kind: "seller_order_refunded",
            id: seller_order,
        },
        lines: vec![
            (Account::BuyerFundsHeld, amount),
            (Account::ProviderClearing, -amount),
        ],
    }
}

/// A committed surplus distribution: the coop's undistributed surplus
/// becomes payable to its members.
pub fn surplus_distributed(
    distribution: uuid::Uuid,
    fiscal_year: i32,
    coop: OrgId,
    distributable: Fen,
    allocations: &[(MemberId, Fen)],
) -> Entry {
    let mut lines = vec![(Account::CoopEquity(coop), distributable)];
    lines.extend(
        allocations
            .iter()
            .filter(|(_, a)| a.0 > 0)
            .map(|(m, a)| (Account::MemberPayable(*m), -*a)),
    );
    Entry {
        description: format!("surplus distribution {fiscal_year}"),
        source: Source {
            kind: "surplus_distribution",
            id: distribution,
        },
        lines,
    }
}

#[cfg(test)]
mod tests;
