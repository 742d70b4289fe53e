//! Ports of the cooperative context. Methods that must be atomic take the
//! domain rule as a callback so the adapter can run it inside its
//! transaction, under a lock on the cooperative.

use chrono::{DateTime, NaiveDate, Utc};

use super::model::*;
use super::rules::*;
use crate::identity::UserId;
use crate::money::Fen;
use crate::region::RegionCode;

pub type Unknown = anyhow::Error;

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub kind: OrgKind,
    pub name: String,
    pub credit_code: CreditCode,
    pub region_code: RegionCode,
    pub parent_id: Option<OrgId>,
    pub contact_email: String,
    pub additional_vote_basis: AdditionalVoteBasis,
    pub pickup_fee: Fen,
}

#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub region_code: Option<RegionCode>,
    /// `Some(None)` detaches from the parent.
    pub parent_id: Option<Option<OrgId>>,
    pub additional_vote_basis: Option<AdditionalVoteBasis>,
    pub pickup_fee: Option<Fen>,
}

#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    pub kind: Option<OrgKind>,
    pub region_prefix: Option<String>,
    pub parent_id: Option<OrgId>,
    /// Organizations with ids greater than this (ids are time-ordered).
    pub after: Option<OrgId>,
    pub limit: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgWriteError {
    #[error("an organization with this credit code already exists")]
    DuplicateCreditCode,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChange {
    Done,
    NotStaff,
    /// Removing the last admin would leave the organization unmanageable.
    LastAdmin,
}

pub trait OrgRepository: Send + Sync {
    /// Creates the organization and makes `creator` its admin, atomically.
    fn create(&self, org: &NewOrganization, creator: UserId)
        -> Result<Organization, OrgWriteError>;
    fn find(&self, id: OrgId) -> Result<Option<Organization>, Unknown>;
    fn list(&self, filter: &OrgFilter) -> Result<Vec<Organization>, Unknown>;
    /// `id` and every ancestor, nearest first.
    fn lineage(&self, id: OrgId) -> Result<Vec<OrgId>, Unknown>;
    fn update(&self, id: OrgId, patch: &OrgPatch) -> Result<Option<Organization>, OrgWriteError>;
    fn staff_role(&self, org: OrgId, user: UserId) -> Result<Option<StaffRole>, Unknown>;
    fn list_staff(&self, org: OrgId) -> Result<Vec<StaffMember>, Unknown>;
    /// Adds or changes a staff member's role (`LastAdmin` when it would
    /// demote the last admin).
    fn upsert_staff(
        &self,
        org: OrgId,
        user: UserId,
        role: StaffRole,
    ) -> Result<StaffChange, Unknown>;
    fn remove_staff(&self, org: OrgId, user: UserId) -> Result<StaffChange, Unknown>;
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub organization_id: OrgId,
    pub applicant: MemberRef,
    pub is_farmer: bool,
    pub note: Option<String>,
    pub submitted_by: UserId,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the applicant already has a pending application")]
    AlreadyPending,
    #[error("the applicant is already a member")]
    AlreadyMember,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    Decided(Application),
    NotFound,
    NotPending(ApplicationStatus),
    Violation(CompositionViolation),
    /// The applicant became a member through another application meanwhile.
    AlreadyMember,
}

/// A member status change decided by the domain from the current status.
pub type TransitionRule<'a> =
    &'a dyn Fn(MemberStatus) -> Result<MemberStatus, (MemberStatus, MemberStatus)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    Changed {
        member: Member,
        capital_returned: Fen,
    },
    NotFound,
    /// (from, requested)
    Invalid(MemberStatus, MemberStatus),
}

#[derive(Debug, Clone)]
pub struct NewContribution {
    pub amount: Fen,
    pub form: ContributionForm,
    pub description: Option<String>,
    pub contributed_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub fiscal_year: i32,
    pub amount: Fen,
    pub source: TransactionSource,
    /// Makes automatic feeds idempotent (e.g. the seller order id).
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberWriteOutcome<T> {
    Written(T),
    /// The same (source, reference) was recorded before.
    Duplicate,
    NotFound,
    /// Only active members can contribute or trade.
    NotActive(MemberStatus),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub organization_id: OrgId,
    pub fiscal_year: i32,
    pub plan: SurplusPlan,
    pub committed_by: UserId,
    pub committed_at: DateTime<Utc>,
    pub journal_entry_id: uuid::Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed(Distribution),
    AlreadyCommitted,
    Refused(SurplusError),
}

pub type SurplusPlanner<'a> = &'a dyn Fn(&[SurplusInput]) -> Result<SurplusPlan, SurplusError>;
pub type CompositionCheck<'a> = &'a dyn Fn(Composition) -> Result<(), CompositionViolation>;

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub after: Option<uuid::Uuid>,
    pub limit: i64,
}

/// The membership register: applications, approvals, members and their
/// status history.
pub trait MemberRegister: Send + Sync {
    fn apply(&self, new: &NewApplication) -> Result<Application, ApplyError>;
    fn list_applications(&self, org: OrgId, q: &ListQuery) -> Result<Vec<Application>, Unknown>;
    /// Approves a pending application: under a lock on the cooperative,
    /// counts its members, runs `check` on the composition including the
    /// applicant (when given), then writes the member and its history.
    fn approve(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        now: DateTime<Utc>,
        check: Option<CompositionCheck<'_>>,
    ) -> Result<DecideOutcome, Unknown>;
    fn reject(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DecideOutcome, Unknown>;
    fn list_members(&self, org: OrgId, q: &ListQuery) -> Result<Vec<Member>, Unknown>;
    fn find_member(&self, org: OrgId, member: MemberId) -> Result<Option<Member>, Unknown>;
    fn member_for_user(&self, org: OrgId, user: UserId) -> Result<Option<MemberId>, Unknown>;
    fn history(&self, member: MemberId) -> Result<Vec<MemberEvent>, Unknown>;
    /// Changes a member's status by `rule`; when the new status ends the
    /// membership, the member's capital is returned (recorded as a `return`
    /// contribution) in the same transaction.
    fn transition(
        &self,
        org: OrgId,
        member: MemberId,
        actor: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
        rule: TransitionRule<'_>,
    ) -> Result<TransitionOutcome, Unknown>;
}

/// Members' money: share capital, transaction volume, quantified reserve and
/// subsidy, and the account that sums them.
pub trait CapitalAccounts: Send + Sync {
    fn add_contribution(
        &self,
        org: OrgId,
        member: MemberId,
        c: &NewContribution,
        actor: UserId,
    ) -> Result<MemberWriteOutcome<Contribution>, Unknown>;
    fn add_transaction(
        &self,
        org: OrgId,
        member: MemberId,
        t: &NewTransaction,
        actor: Option<UserId>,
    ) -> Result<MemberWriteOutcome<()>, Unknown>;
    fn add_quantification(
        &self,
        org: OrgId,
        member: MemberId,
        kind: QuantificationKind,
        fiscal_year: i32,
        amount: Fen,
        actor: UserId,
    ) -> Result<MemberWriteOutcome<()>, Unknown>;
    fn account(&self, org: OrgId, member: MemberId) -> Result<Option<MemberAccount>, Unknown>;
}

/// Governance and the year's books: additional votes and the surplus
/// distribution.
pub trait SurplusBook: Send + Sync {
    /// Active members with their basis for additional votes.
    fn vote_inputs(
        &self,
        org: OrgId,
        basis: AdditionalVoteBasis,
        fiscal_year: i32,
    ) -> Result<Vec<VoteInput>, Unknown>;
    /// Current (active or suspended) members with their volume in the year
    /// and capital + reserve + subsidy shares.
    fn surplus_inputs(&self, org: OrgId, fiscal_year: i32) -> Result<Vec<SurplusInput>, Unknown>;
    /// Under a lock on the cooperative: loads the inputs, runs `planner`,
    /// stores the distribution and posts its journal entry. One per coop and year.
    fn commit_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
        planner: SurplusPlanner<'_>,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> Result<CommitOutcome, Unknown>;
    fn find_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
    ) -> Result<Option<Distribution>, Unknown>;
}

/// Everything the cooperative service needs of the register, one adapter per
/// sub-context (`infra::coop::{membership, capital, surplus}`).
pub trait MembershipRepository: MemberRegister + CapitalAccounts + SurplusBook {}

impl<T: MemberRegister + CapitalAccounts + SurplusBook> MembershipRepository for T {}
