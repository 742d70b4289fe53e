//! Reading the ledger.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AccountKind, AccountType};
use crate::money::Fen;

pub type Unknown = anyhow::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAccount {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub account_type: Option<AccountType>,
    pub kind: AccountKind,
    pub owner_id: Option<Uuid>,
    /// Debits minus credits, kept with every posted line.
    pub balance: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub id: Uuid,
    pub entry_id: Uuid,
    pub description: String,
    pub source_kind: String,
    pub source_id: Uuid,
    pub amount: Fen,
    pub posted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialBalanceRow {
    pub account_type: String,
    pub debits: Fen,
    pub credits: Fen,
}

pub trait LedgerReader: Send + Sync {
    fn account(&self, id: Uuid) -> Result<Option<LedgerAccount>, Unknown>;
    /// Lines newest first, after the cursor line.
    fn lines(
        &self,
        account: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<LedgerLine>, Unknown>;
    fn accounts_of(&self, owner: Uuid) -> Result<Vec<LedgerAccount>, Unknown>;
    /// Debit and credit balances per account type.
    fn trial_balance(&self) -> Result<Vec<TrialBalanceRow>, Unknown>;
}
