//! Reading the ledger: platform admins see everything; an organization's
//! staff see its own accounts; everyone else gets 404.

use std::sync::Arc;

use uuid::Uuid;

use super::ports::*;
use crate::coop::{OrgId, OrgRepository, Viewer};
use crate::money::Fen;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct LedgerService {
    pub reader: Arc<dyn LedgerReader>,
    pub orgs: Arc<dyn OrgRepository>,
}

/// The trial balance: Σ debit balances = Σ credit balances, per type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialBalance {
    pub total_debits: Fen,
    pub total_credits: Fen,
    pub by_type: Vec<TrialBalanceRow>,
}

impl LedgerService {
    fn may_read(&self, viewer: &Viewer, owner: Option<Uuid>) -> Result<bool, LedgerError> {
        if viewer.platform_admin {
            return Ok(true);
        }
        match owner {
            Some(o) => Ok(self.orgs.staff_role(OrgId(o), viewer.user)?.is_some()),
            None => Ok(false),
        }
    }

    /// An account with a page of its lines, newest first.
    pub fn account(
        &self,
        viewer: &Viewer,
        id: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(LedgerAccount, Vec<LedgerLine>), LedgerError> {
        let account = self.reader.account(id)?.ok_or(LedgerError::NotFound)?;
        if !self.may_read(viewer, account.owner_id)? {
            return Err(LedgerError::NotFound);
        }
        let lines = self.reader.lines(id, after, limit)?;
        Ok((account, lines))
    }

    pub fn accounts_of(
        &self,
        viewer: &Viewer,
        org: OrgId,
    ) -> Result<Vec<LedgerAccount>, LedgerError> {
        if self.orgs.find(org)?.is_none() || !self.may_read(viewer, Some(org.0))? {
            return Err(LedgerError::NotFound);
        }
        Ok(self.reader.accounts_of(org.0)?)
    }

    /// Platform admins only.
    pub fn trial_balance(&self, viewer: &Viewer) -> Result<TrialBalance, LedgerError> {
        if !viewer.platform_admin {
            return Err(LedgerError::NotFound);
        }
        let by_type = self.reader.trial_balance()?;
        Ok(TrialBalance {
            total_debits: by_type.iter().map(|r| r.debits).sum(),
            total_credits: by_type.iter().map(|r| r.credits).sum(),
            by_type,
        })
    }
}
