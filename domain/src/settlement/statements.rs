//! Settlement runs: which completed seller orders a run settles, the
//! statement each seller gets, and the money each statement moves.
//!
//! A run for `period_end` with `hold_days` settles every seller order
//! completed on or before `min(period_end, today − hold_days)` and not
//! settled yet, and every after-sales refund paid after its seller order
//! completed and not settled yet — each exactly once. A seller's statement:
//! gross (items + freight), commission (net of what refunds gave back),
//! refunds (before completion, on its orders; after completion, on their
//! own lines), the negative balance carried over from its previous
//! statement, and `net = gross − commission − refunds + carried_over`. A positive net moves from the seller's payable to payouts
//! in transit; marking the statement paid moves it out through the bank.
//! A negative net is carried to the seller's next statement.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::after_sales::RefundRequestId;
use crate::coop::OrgId;
use crate::ledger::{Account, Entry, Source};
use crate::money::Fen;
use crate::orders::SellerOrderId;
use crate::typed_id;
use crate::validation::ValidationErrors;
use crate::wire_enum;

typed_id!(
    /// One settlement run.
    SettlementId
);
typed_id!(
    /// One seller's statement of a run.
    StatementId
);

wire_enum!(StatementStatus {
    Issued => "issued",
    Paid => "paid",
});

/// The last day a run settles.
pub fn cutoff(period_end: NaiveDate, hold_days: i64, today: NaiveDate) -> NaiveDate {
    period_end.min(today - Duration::days(hold_days))
}

pub const MAX_HOLD_DAYS: i64 = 90;

/// Checks a run's parameters.
pub fn check_run(
    period_end: NaiveDate,
    hold_days: i64,
    today: NaiveDate,
) -> Result<(), ValidationErrors> {
    let mut e = ValidationErrors::new();
    if !(0..=MAX_HOLD_DAYS).contains(&hold_days) {
        e.add("hold_days", format!("must be 0–{MAX_HOLD_DAYS}"));
    }
    if period_end > today {
        e.add("period_end", "is in the future");
    }
    e.into_result(())
}

/// A completed seller order a run may settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settleable {
    pub seller_order_id: SellerOrderId,
    pub seller_id: OrgId,
    pub completed_at: DateTime<Utc>,
    pub items: Fen,
    pub freight: Fen,
    pub commission: Fen,
    /// After-sales refunds paid before completion, and the commission they
    /// gave back.
    pub refunded: Fen,
    pub commission_returned: Fen,
}

/// An after-sales refund paid after its seller order completed (the
/// seller's payable paid it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleableRefund {
    pub refund_id: RefundRequestId,
    pub seller_order_id: SellerOrderId,
    pub seller_id: OrgId,
    pub refunded_at: DateTime<Utc>,
    pub amount: Fen,
    pub commission_returned: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub seller_order_id: SellerOrderId,
    pub completed_at: DateTime<Utc>,
    pub items: Fen,
    pub freight: Fen,
    /// Net of what refunds before completion gave back.
    pub commission: Fen,
    /// The rates its order lines snapshotted (basis points, distinct), read
    /// with the statement from the order lines (a run does not load them:
    /// it stays one pass over the seller orders).
    pub commission_bps: Vec<u32>,
    /// Refunded before completion.
    pub refunded: Fen,
    /// items + freight − commission − refunded: what completion credited.
    pub net: Fen,
}

/// A refund after completion on a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRefund {
    pub refund_id: RefundRequestId,
    pub seller_order_id: SellerOrderId,
    pub refunded_at: DateTime<Utc>,
    pub amount: Fen,
    pub commission_returned: Fen,
    /// commission_returned − amount: what the seller's payable paid.
    pub net: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementDraft {
    pub id: StatementId,
    pub seller_id: OrgId,
    pub gross: Fen,
    pub commission: Fen,
    pub refunds: Fen,
    pub carried_over: Fen,
    pub net_payable: Fen,
    pub lines: Vec<StatementLine>,
    pub refund_lines: Vec<StatementRefund>,
}

impl StatementDraft {
    /// What it moves on the ledger when issued (nothing when the net is not
    /// positive: it is carried over instead).
    pub fn issued_entry(&self) -> Option<Entry> {
        (self.net_payable.0 > 0).then(|| Entry {
            description: "statement issued".into(),
            source: Source {
                kind: "statement_issued",
                id: self.id.0,
            },
            lines: vec![
                (Account::SellerPayable(self.seller_id), self.net_payable),
                (Account::PayoutsInTransit, -self.net_payable),
            ],
        })
    }
}

/// The payout of a paid statement leaves through the bank.
pub fn paid_entry(statement: StatementId, net: Fen) -> Entry {
    Entry {
        description: "statement paid".into(),
        source: Source {
            kind: "statement_paid",
            id: statement.0,
        },
        lines: vec![
            (Account::PayoutsInTransit, net),
            (Account::ProviderClearing, -net),
        ],
    }
}

/// One statement per seller with anything to settle (sellers in id order,
/// lines in completion order, refunds in refund order). `carried` is each
/// seller's negative net carried from its previous statement.
pub fn build_statements(
    orders: &[Settleable],
    refunds: &[SettleableRefund],
    carried: &BTreeMap<OrgId, Fen>,
) -> Vec<StatementDraft> {
    let mut by_seller: BTreeMap<OrgId, (Vec<&Settleable>, Vec<&SettleableRefund>)> =
        BTreeMap::new();
    for o in orders {
        by_seller.entry(o.seller_id).or_default().0.push(o);
    }
    for r in refunds {
        by_seller.entry(r.seller_id).or_default().1.push(r);
    }
    by_seller
        .into_iter()
        .map(|(seller_id, (mut rows, mut refunds))| {
            rows.sort_by_key(|r| (r.completed_at, r.seller_order_id));
            refunds.sort_by_key(|r| (r.refunded_at, r.refund_id));
            let lines: Vec<StatementLine> = rows
                .iter()
                .map(|r| {
                    let commission = r.commission - r.commission_returned;
                    StatementLine {
                        seller_order_id: r.seller_order_id,
                        completed_at: r.completed_at,
                        items: r.items,
                        freight: r.freight,
                        commission,
                        commission_bps: Vec::new(),
                        refunded: r.refunded,
                        net: r.items + r.freight - commission - r.refunded,
                    }
                })
                .collect();
            let refund_lines: Vec<StatementRefund> = refunds
                .iter()
                .map(|r| StatementRefund {
                    refund_id: r.refund_id,
                    seller_order_id: r.seller_order_id,
                    refunded_at: r.refunded_at,
                    amount: r.amount,
                    commission_returned: r.commission_returned,
                    net: r.commission_returned - r.amount,
                })
                .collect();
            let gross: Fen = lines.iter().map(|l| l.items + l.freight).sum();
            let commission: Fen = lines.iter().map(|l| l.commission).sum::<Fen>()
                - refund_lines
                    .iter()
                    .map(|r| r.commission_returned)
                    .sum::<Fen>();
            let refunds: Fen = lines.iter().map(|l| l.refunded).sum::<Fen>()
                + refund_lines.iter().map(|r| r.amount).sum::<Fen>();
            let carried_over = carried.get(&seller_id).copied().unwrap_or(Fen::ZERO);
            StatementDraft {
                id: StatementId::new(),
                seller_id,
                gross,
                commission,
                refunds,
                carried_over,
                net_payable: gross - commission - refunds + carried_over,
                lines,
                refund_lines,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn statements_sum_their_lines_and_balance_on_the_ledger(
            rows in proptest::collection::vec((0..4usize, 1..1_000_000i64, 0..5_000i64, 0..=3_000u32, 0..=100i64), 0..40),
            refunds in proptest::collection::vec((0..4usize, 1..100_000i64, 0..=3_000u32), 0..10),
            carried in -50_000..=0i64,
        ) {
            let sellers: Vec<OrgId> = (0..4).map(|_| OrgId::new()).collect();
            let orders: Vec<Settleable> = rows.iter().map(|(s, items, freight, bp, pct)| {
                let commission = Fen(*items).apply_basis_points(*bp);
                let refunded = Fen(*items * pct / 100);
                Settleable {
                    seller_order_id: SellerOrderId::new(),
                    seller_id: sellers[*s],
                    completed_at: Utc::now(),
                    items: Fen(*items),
                    freight: Fen(*freight),
                    commission,
                    refunded,
                    commission_returned: crate::after_sales::commission_returned(commission, Fen(*items), Fen::ZERO, refunded),

                }
            }).collect();
            let late: Vec<SettleableRefund> = refunds.iter().map(|(s, amount, bp)| SettleableRefund {
                refund_id: RefundRequestId::new(),
                seller_order_id: SellerOrderId::new(),
                seller_id: sellers[*s],
                refunded_at: Utc::now(),
                amount: Fen(*amount),
                commission_returned: Fen(*amount).apply_basis_points(*bp),
            }).collect();
            let carry = BTreeMap::from([(sellers[0], Fen(carried))]);
            let statements = build_statements(&orders, &late, &carry);
            let settled: usize = statements.iter().map(|s| s.lines.len()).sum();
            prop_assert_eq!(settled, orders.len(), "every order exactly once");
            let settled: usize = statements.iter().map(|s| s.refund_lines.len()).sum();
            prop_assert_eq!(settled, late.len(), "every refund exactly once");
            for s in &statements {
                let lines_net: Fen = s.lines.iter().map(|l| l.net).sum::<Fen>()
                    + s.refund_lines.iter().map(|r| r.net).sum::<Fen>();
                prop_assert_eq!(s.gross - s.commission - s.refunds, lines_net);
                prop_assert_eq!(s.net_payable, s.gross - s.commission - s.refunds + s.carried_over);
                if let Some(e) = s.issued_entry() {
                    prop_assert!(e.is_balanced());
                    prop_assert!(s.net_payable.0 > 0);
                }
            }
            // what the statements pay is what completions credited less what refunds after completion debited
            let total_net: i64 = statements.iter().map(|s| (s.gross - s.commission - s.refunds).0).sum();
            let expected: i64 = orders.iter().map(|o| (o.items + o.freight - o.refunded - (o.commission - o.commission_returned)).0).sum::<i64>()
                - late.iter().map(|r| (r.amount - r.commission_returned).0).sum::<i64>();
            prop_assert_eq!(total_net, expected);
        }
    }

    #[test]
    fn the_cutoff_is_the_earlier_of_period_end_and_the_hold() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert_eq!(cutoff(d("2026-11-30"), 7, d("2026-12-20")), d("2026-11-30"));
        assert_eq!(cutoff(d("2026-11-30"), 7, d("2026-12-03")), d("2026-11-26"));
        assert!(check_run(d("2026-12-01"), 7, d("2026-11-25")).is_err());
        assert!(check_run(d("2026-11-01"), 91, d("2026-11-25")).is_err());
    }
}
