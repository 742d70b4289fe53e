//! Cooperative use cases. Access: organization data is public; the
//! membership register is visible to the cooperative's staff, platform
//! admins (read-only) and, for their own record, the member. Everyone else
//! gets `NotFound`, so register ids do not leak.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use serde_json::json;

use super::model::*;
use super::ports::*;
use super::rules::*;
use crate::identity::{
    Actor, AuditEntry, AuditRepository, Email, RequestMeta, UserId, UserRepository,
};
use crate::money::Fen;
use crate::region::{is_valid_prefix, RegionCode};
use crate::validation::ValidationErrors;

mod capital;
mod membership;
mod organizations;
mod surplus;

#[derive(Debug, thiserror::Error)]
pub enum CoopError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{1}")]
    Forbidden(&'static str, &'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A business rule refused the request (422 with a rule-specific code).
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

fn rule(code: &'static str, message: impl Into<String>) -> CoopError {
    CoopError::Rule {
        code,
        message: message.into(),
    }
}

fn conflict(code: &'static str, message: impl Into<String>) -> CoopError {
    CoopError::Conflict {
        code,
        message: message.into(),
    }
}

/// The authenticated user calling a use case.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user: UserId,
    pub platform_admin: bool,
}

/// What a viewer may do with one cooperative's register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Admin,
    Clerk,
    /// Platform admin: reads everything, changes nothing.
    Auditor,
}

#[derive(Debug, Clone)]
pub struct CreateOrgInput {
    pub kind: String,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub parent_id: Option<OrgId>,
    pub contact_email: String,
    pub additional_vote_basis: Option<String>,
    /// Service stations only.
    pub pickup_fee_fen: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateOrgInput {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub region_code: Option<String>,
    pub parent_id: Option<Option<OrgId>>,
    pub additional_vote_basis: Option<String>,
    /// Service stations only.
    pub pickup_fee_fen: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ApplyInput {
    pub applicant_type: String,
    pub applicant_organization_id: Option<OrgId>,
    pub is_farmer: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ContributionInput {
    pub amount_fen: i64,
    pub form: String,
    pub description: Option<String>,
    pub contributed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct TransactionInput {
    pub fiscal_year: i32,
    pub amount_fen: i64,
    pub source: String,
    pub reference: Option<String>,
}

crate::wire_enum!(
    /// A change of a member's status, by the coop's admin.
    MemberAction {
        Suspend => "suspend",
        Reinstate => "reinstate",
        /// 退社: capital is returned.
        Withdraw => "withdraw",
        Expel => "expel",
    }
);

impl MemberAction {
    /// The member state machine: active ⇄ suspended; active|suspended →
    /// withdrawn|expelled (final).
    pub fn apply(self, from: MemberStatus) -> Result<MemberStatus, (MemberStatus, MemberStatus)> {
        use MemberStatus::*;
        let to = match self {
            MemberAction::Suspend => Suspended,
            MemberAction::Reinstate => Active,
            MemberAction::Withdraw => Withdrawn,
            MemberAction::Expel => Expelled,
        };
        let ok = matches!(
            (from, to),
            (Active, Suspended)
                | (Suspended, Active)
                | (Active | Suspended, Withdrawn)
                | (Active | Suspended, Expelled)
        );
        if ok {
            Ok(to)
        } else {
            Err((from, to))
        }
    }
}

#[derive(Debug, Clone)]
pub struct VoteSheet {
    pub fiscal_year: i32,
    pub basis: AdditionalVoteBasis,
    pub total_basic: i64,
    pub total_additional: i64,
    pub members: Vec<Votes>,
}

#[derive(Clone)]
pub struct CoopService {
    pub orgs: Arc<dyn OrgRepository>,
    pub members: Arc<dyn MembershipRepository>,
    pub users: Arc<dyn UserRepository>,
    pub audit: Arc<dyn AuditRepository>,
}

fn check_name(name: &str, errors: &mut ValidationErrors) -> String {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        errors.add("name", "must be 1–100 characters");
    }
    n.to_owned()
}

fn check_email(raw: &str, errors: &mut ValidationErrors) -> String {
    match Email::parse(raw) {
        Ok(e) => e.as_str().to_owned(),
        Err(m) => {
            errors.add("contact_email", m);
            String::new()
        }
    }
}

fn check_year(year: i32, errors: &mut ValidationErrors) {
    if !(2000..=2100).contains(&year) {
        errors.add("fiscal_year", "must be between 2000 and 2100");
    }
}

impl CoopService {
    fn audit(
        &self,
        viewer: &Viewer,
        action: &str,
        kind: &str,
        id: String,
        details: serde_json::Value,
        meta: &RequestMeta,
    ) {
        let entry = AuditEntry {
            actor: Actor::User(viewer.user),
            action: action.to_owned(),
            target_kind: Some(kind.to_owned()),
            target_id: Some(id),
            meta: meta.clone(),
            details,
        };
        if let Err(e) = self.audit.record(&entry) {
            tracing::error!(error = %e, action, "audit log write failed");
        }
    }

    fn org(&self, id: OrgId) -> Result<Organization, CoopError> {
        self.orgs.find(id)?.ok_or(CoopError::NotFound)
    }

    /// The viewer's access to an organization's register; `NotFound` when
    /// the viewer has none (ids do not leak).
    pub fn access(&self, org: OrgId, viewer: &Viewer) -> Result<Access, CoopError> {
        match self.orgs.staff_role(org, viewer.user)? {
            Some(StaffRole::Admin) => Ok(Access::Admin),
            Some(StaffRole::Clerk) => Ok(Access::Clerk),
            None if viewer.platform_admin && self.orgs.find(org)?.is_some() => Ok(Access::Auditor),
            None => Err(CoopError::NotFound),
        }
    }

    fn require_staff(&self, org: OrgId, viewer: &Viewer) -> Result<Access, CoopError> {
        match self.access(org, viewer)? {
            Access::Auditor => Err(CoopError::Forbidden(
                "forbidden",
                "platform admins have read-only access to cooperative registers",
            )),
            a => Ok(a),
        }
    }

    fn require_admin(&self, org: OrgId, viewer: &Viewer) -> Result<(), CoopError> {
        match self.access(org, viewer)? {
            Access::Admin => Ok(()),
            Access::Clerk => Err(CoopError::Forbidden(
                "forbidden",
                "this action needs the organization's admin role",
            )),
            Access::Auditor => Err(CoopError::Forbidden(
                "forbidden",
                "platform admins have read-only access to cooperative registers",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_state_machine() {
        use MemberStatus::*;
        assert_eq!(MemberAction::Suspend.apply(Active), Ok(Suspended));
        assert_eq!(MemberAction::Reinstate.apply(Suspended), Ok(Active));
        assert_eq!(MemberAction::Withdraw.apply(Suspended), Ok(Withdrawn));
        assert_eq!(MemberAction::Expel.apply(Active), Ok(Expelled));
        assert_eq!(
            MemberAction::Suspend.apply(Suspended),
            Err((Suspended, Suspended))
        );
        assert_eq!(MemberAction::Reinstate.apply(Active), Err((Active, Active)));
        assert_eq!(
            MemberAction::Reinstate.apply(Withdrawn),
            Err((Withdrawn, Active))
        );
        assert_eq!(
            MemberAction::Expel.apply(Withdrawn),
            Err((Withdrawn, Expelled))
        );
        assert!("promote".parse::<MemberAction>().is_err());
    }
}
