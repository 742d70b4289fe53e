//! Settlement use cases: runs (platform admins), statements (the seller's
//! staff and platform admins; others 404), payouts, the CSV download and
//! the statement e-mail.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::commission::Unknown;
use super::statements::*;
use crate::coop::{OrgId, OrgRepository, Viewer};
use crate::identity::UserId;
use crate::money::Fen;
use crate::validation::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub id: SettlementId,
    pub period_end: NaiveDate,
    pub hold_days: i64,
    pub cutoff: NaiveDate,
    pub statement_count: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub draft: StatementDraft,
    pub settlement_id: SettlementId,
    pub status: StatementStatus,
    pub bank_reference: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub enum MarkPaid {
    Paid(Box<Statement>),
    NotFound,
    AlreadyPaid,
}

/// Builds the statements of a run from what the store loaded (locked).
pub type Build<'a> =
    &'a dyn Fn(&[Settleable], &[SettleableRefund], &BTreeMap<OrgId, Fen>) -> Vec<StatementDraft>;

pub trait SettlementStore: Send + Sync {
    /// In one transaction, one run at a time: loads the completed seller
    /// orders not settled yet up to `cutoff`, the refunds after completion
    /// not settled yet, and each of their sellers' carried-over negative
    /// net, asks `build`, writes the settlement, its
    /// statements and lines, marks the orders settled and posts each
    /// statement's entry.
    fn run(
        &self,
        settlement: &Settlement,
        actor: UserId,
        build: Build<'_>,
    ) -> Result<(Settlement, Vec<Statement>), Unknown>;
    fn settlement(&self, id: SettlementId) -> Result<Option<Settlement>, Unknown>;
    fn statements_of_settlement(
        &self,
        id: SettlementId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, Unknown>;
    fn statements_of_seller(
        &self,
        seller: OrgId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, Unknown>;
    fn statement(&self, id: StatementId) -> Result<Option<Statement>, Unknown>;
    /// Marks an issued statement paid and posts its payout, once.
    fn mark_paid(
        &self,
        id: StatementId,
        bank_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<MarkPaid, Unknown>;
}

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("the statement is paid already")]
    AlreadyPaid,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct SettlementService {
    pub store: Arc<dyn SettlementStore>,
    pub orgs: Arc<dyn OrgRepository>,
}

/// The statement as CSV: UTF-8 with a byte-order mark (so spreadsheet
/// programs common in China read the Chinese text right), a summary, then
/// one row per seller order, then one per refund after completion.
/// Amounts in yuan with two decimals.
pub fn statement_csv(s: &Statement, seller_name: &str) -> String {
    let yuan = |f: Fen| {
        let sign = if f.0 < 0 { "-" } else { "" };
        let a = f.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    };
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let d = &s.draft;
    let mut out = String::from("\u{feff}");
    out.push_str("结算单,卖家,毛收入(元),佣金(元),退款(元),上期结转(元),应付净额(元),状态\r\n");
    out.push_str(&format!(
        "{},{},{},{},{},{},{},{}\r\n",
        d.id,
        quote(seller_name),
        yuan(d.gross),
        yuan(d.commission),
        yuan(d.refunds),
        yuan(d.carried_over),
        yuan(d.net_payable),
        s.status
    ));
    out.push_str(
        "\r\n卖家订单,完成时间,商品金额(元),运费(元),佣金率(%),佣金(元),完成前退款(元),净额(元)\r\n",
    );
    for l in &d.lines {
        let rates: Vec<String> = l
            .commission_bps
            .iter()
            .map(|bp| format!("{}.{:02}", bp / 100, bp % 100))
            .collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            l.seller_order_id,
            l.completed_at.to_rfc3339(),
            yuan(l.items),
            yuan(l.freight),
            rates.join("/"),
            yuan(l.commission),
            yuan(l.refunded),
            yuan(l.net)
        ));
    }
    if !d.refund_lines.is_empty() {
        out.push_str("\r\n售后退款,卖家订单,退款时间,退款金额(元),退还佣金(元),净额(元)\r\n");
        for r in &d.refund_lines {
            out.push_str(&format!(
                "{},{},{},{},{},{}\r\n",
                r.refund_id,
                r.seller_order_id,
                r.refunded_at.to_rfc3339(),
                yuan(r.amount),
                yuan(r.commission_returned),
                yuan(r.net)
            ));
        }
    }
    out
}

impl SettlementService {
    fn admin(viewer: &Viewer) -> Result<(), SettlementError> {
        if viewer.platform_admin {
            Ok(())
        } else {
            Err(SettlementError::NotFound)
        }
    }

    fn may_read(&self, viewer: &Viewer, seller: OrgId) -> Result<bool, SettlementError> {
        Ok(viewer.platform_admin || self.orgs.staff_role(seller, viewer.user)?.is_some())
    }

    /// Runs a settlement (platform admins); each statement is e-mailed to
    /// its seller's contact address through the outbox.
    pub fn run(
        &self,
        viewer: &Viewer,
        period_end: NaiveDate,
        hold_days: i64,
        now: DateTime<Utc>,
    ) -> Result<(Settlement, Vec<Statement>), SettlementError> {
        Self::admin(viewer)?;
        let today = now.date_naive();
        check_run(period_end, hold_days, today)?;
        let s = Settlement {
            id: SettlementId::new(),
            period_end,
            hold_days,
            cutoff: cutoff(period_end, hold_days, today),
            statement_count: 0,
            created_at: now,
        };
        // each statement is e-mailed to its seller through the outbox
        // (`statement.issued`, written with the statement)
        Ok(self
            .store
            .run(&s, viewer.user, &|orders, refunds, carried| {
                build_statements(orders, refunds, carried)
            })?)
    }

    pub fn settlement(
        &self,
        viewer: &Viewer,
        id: SettlementId,
    ) -> Result<Settlement, SettlementError> {
        Self::admin(viewer)?;
        self.store.settlement(id)?.ok_or(SettlementError::NotFound)
    }

    pub fn statements_of_settlement(
        &self,
        viewer: &Viewer,
        id: SettlementId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, SettlementError> {
        self.settlement(viewer, id)?;
        Ok(self.store.statements_of_settlement(id, after, limit)?)
    }

    pub fn statements_of_seller(
        &self,
        viewer: &Viewer,
        seller: OrgId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, SettlementError> {
        if self.orgs.find(seller)?.is_none() || !self.may_read(viewer, seller)? {
            return Err(SettlementError::NotFound);
        }
        Ok(self.store.statements_of_seller(seller, after, limit)?)
    }

    /// A statement with its seller's name (for the CSV).
    pub fn statement(
        &self,
        viewer: &Viewer,
        id: StatementId,
    ) -> Result<(Statement, String), SettlementError> {
        let st = self.store.statement(id)?.ok_or(SettlementError::NotFound)?;
        if !self.may_read(viewer, st.draft.seller_id)? {
            return Err(SettlementError::NotFound);
        }
        let name = self
            .orgs
            .find(st.draft.seller_id)?
            .map(|o| o.name)
            .ok_or(SettlementError::NotFound)?;
        Ok((st, name))
    }

    pub fn mark_paid(
        &self,
        viewer: &Viewer,
        id: StatementId,
        bank_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Statement, SettlementError> {
        Self::admin(viewer)?;
        let r = bank_reference.trim();
        if r.is_empty() || r.chars().count() > 64 {
            return Err(
                ValidationErrors::single("bank_reference", "must be 1–64 characters").into(),
            );
        }
        match self.store.mark_paid(id, r, now)? {
            MarkPaid::Paid(s) => Ok(*s),
            MarkPaid::NotFound => Err(SettlementError::NotFound),
            MarkPaid::AlreadyPaid => Err(SettlementError::AlreadyPaid),
        }
    }
}
