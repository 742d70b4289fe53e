//! In-memory adapters of the cooperative ports, for testing the service's
//! rules without I/O: organizations with staff, a register that applies the
//! composition check on approval (as the Postgres adapter does under its
//! lock), vote and surplus inputs, one distribution per coop and year.
//! Methods the tests do not exercise answer an error naming them.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::model::*;
use super::ports::Unknown;
use super::ports::*;
use super::rules::*;
use crate::identity::{
    AuditEntry, AuditQuery, AuditRecord, AuditRepository, CreateUserError, NewUser, User,
    UserCredentials, UserId, UserRepository,
};
use crate::money::Fen;

fn unused(what: &str) -> Unknown {
    anyhow::anyhow!("in-memory double: {what} is not part of these tests")
}

fn poisoned() -> Unknown {
    anyhow::anyhow!("state poisoned")
}

#[derive(Default)]
pub struct MemoryOrgs {
    pub orgs: Mutex<HashMap<OrgId, Organization>>,
    pub staff: Mutex<Vec<(OrgId, UserId, StaffRole)>>,
}

impl OrgRepository for MemoryOrgs {
    fn create(
        &self,
        _org: &NewOrganization,
        _creator: UserId,
    ) -> Result<Organization, OrgWriteError> {
        Err(OrgWriteError::Unknown(unused("orgs.create")))
    }
    fn find(&self, id: OrgId) -> Result<Option<Organization>, Unknown> {
        Ok(self.orgs.lock().map_err(|_| poisoned())?.get(&id).cloned())
    }
    fn list(&self, _filter: &OrgFilter) -> Result<Vec<Organization>, Unknown> {
        Err(unused("orgs.list"))
    }
    fn lineage(&self, id: OrgId) -> Result<Vec<OrgId>, Unknown> {
        let orgs = self.orgs.lock().map_err(|_| poisoned())?;
        let mut out = Vec::new();
        let mut cur = orgs.get(&id);
        while let Some(o) = cur {
            if out.contains(&o.id) {
                break;
            }
            out.push(o.id);
            cur = o.parent_id.and_then(|p| orgs.get(&p));
        }
        Ok(out)
    }
    fn update(&self, _id: OrgId, _patch: &OrgPatch) -> Result<Option<Organization>, OrgWriteError> {
        Err(OrgWriteError::Unknown(unused("orgs.update")))
    }
    fn staff_role(&self, org: OrgId, user: UserId) -> Result<Option<StaffRole>, Unknown> {
        Ok(self
            .staff
            .lock()
            .map_err(|_| poisoned())?
            .iter()
            .find(|(o, u, _)| *o == org && *u == user)
            .map(|(_, _, r)| *r))
    }
    fn list_staff(&self, _org: OrgId) -> Result<Vec<StaffMember>, Unknown> {
        Err(unused("orgs.list_staff"))
    }
    fn upsert_staff(
        &self,
        _org: OrgId,
        _user: UserId,
        _role: StaffRole,
    ) -> Result<StaffChange, Unknown> {
        Err(unused("orgs.upsert_staff"))
    }
    fn remove_staff(&self, _org: OrgId, _user: UserId) -> Result<StaffChange, Unknown> {
        Err(unused("orgs.remove_staff"))
    }
}

#[derive(Default)]
pub struct Register {
    pub applications: Vec<Application>,
    pub members: Vec<Member>,
    /// member → (transaction volume, capital basis) for the year under test.
    pub money: HashMap<MemberId, (Fen, Fen)>,
    pub distributions: Vec<Distribution>,
    /// Transaction volume recorded through `add_transaction`.
    pub fed: Vec<(OrgId, MemberId, NewTransaction)>,
}

#[derive(Default)]
pub struct MemoryRegister {
    pub state: Mutex<Register>,
}

impl MemoryRegister {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Register>, Unknown> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// A current member, straight into the register (as earlier approvals
    /// would have left it).
    pub fn seed_member(
        &self,
        org: OrgId,
        who: MemberRef,
        is_farmer: bool,
        volume: Fen,
        capital: Fen,
    ) -> MemberId {
        let id = MemberId::new();
        if let Ok(mut st) = self.state.lock() {
            st.members.push(Member {
                id,
                organization_id: org,
                member: who,
                is_farmer,
                status: MemberStatus::Active,
                joined_at: Utc::now(),
                left_at: None,
            });
            st.money.insert(id, (volume, capital));
        }
        id
    }

    pub fn pending(&self, org: OrgId, who: MemberRef, is_farmer: bool) -> ApplicationId {
        let id = ApplicationId::new();
        if let Ok(mut st) = self.state.lock() {
            st.applications.push(Application {
                id,
                organization_id: org,
                applicant: who,
                is_farmer,
                note: None,
                status: ApplicationStatus::Pending,
                member_id: None,
                decided_by: None,
                decided_at: None,
                decision_reason: None,
                created_at: Utc::now(),
            });
        }
        id
    }

    fn current(st: &Register, org: OrgId) -> impl Iterator<Item = &Member> {
        st.members.iter().filter(move |m| {
            m.organization_id == org
                && matches!(m.status, MemberStatus::Active | MemberStatus::Suspended)
        })
    }
}

impl MemberRegister for MemoryRegister {
    fn apply(&self, _new: &NewApplication) -> Result<Application, ApplyError> {
        Err(ApplyError::Unknown(unused("members.apply")))
    }
    fn list_applications(&self, _org: OrgId, _q: &ListQuery) -> Result<Vec<Application>, Unknown> {
        Err(unused("members.list_applications"))
    }
    fn approve(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        now: DateTime<Utc>,
        check: Option<CompositionCheck<'_>>,
    ) -> Result<DecideOutcome, Unknown> {
        let mut st = self.lock()?;
        let Some(a) = st
            .applications
            .iter()
            .find(|a| a.id == app && a.organization_id == org)
            .cloned()
        else {
            return Ok(DecideOutcome::NotFound);
        };
        if a.status != ApplicationStatus::Pending {
            return Ok(DecideOutcome::NotPending(a.status));
        }
        if let Some(check) = check {
            let mut c = Composition::default();
            for m in Self::current(&st, org) {
                c = c.with(matches!(m.member, MemberRef::Organization(_)), m.is_farmer);
            }
            let c = c.with(
                matches!(a.applicant, MemberRef::Organization(_)),
                a.is_farmer,
            );
            if let Err(v) = check(c) {
                return Ok(DecideOutcome::Violation(v));
            }
        }
        let member = MemberId::new();
        st.members.push(Member {
            id: member,
            organization_id: org,
            member: a.applicant,
            is_farmer: a.is_farmer,
            status: MemberStatus::Active,
            joined_at: now,
            left_at: None,
        });
        let mut decided = a;
        decided.status = ApplicationStatus::Approved;
        decided.member_id = Some(member);
        decided.decided_by = Some(actor);
        decided.decided_at = Some(now);
        if let Some(slot) = st.applications.iter_mut().find(|x| x.id == app) {
            *slot = decided.clone();
        }
        Ok(DecideOutcome::Decided(decided))
    }
    fn reject(
        &self,
        _org: OrgId,
        _app: ApplicationId,
        _actor: UserId,
        _reason: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<DecideOutcome, Unknown> {
        Err(unused("members.reject"))
    }
    fn list_members(&self, _org: OrgId, _q: &ListQuery) -> Result<Vec<Member>, Unknown> {
        Err(unused("members.list_members"))
    }
    fn find_member(&self, org: OrgId, member: MemberId) -> Result<Option<Member>, Unknown> {
        Ok(self
            .lock()?
            .members
            .iter()
            .find(|m| m.id == member && m.organization_id == org)
            .cloned())
    }
    fn member_for_user(&self, org: OrgId, user: UserId) -> Result<Option<MemberId>, Unknown> {
        let st = self.lock()?;
        let found = Self::current(&st, org)
            .find(|m| m.member == MemberRef::User(user))
            .map(|m| m.id);
        Ok(found)
    }
    fn history(&self, _member: MemberId) -> Result<Vec<MemberEvent>, Unknown> {
        Err(unused("members.history"))
    }
    fn transition(
        &self,
        _org: OrgId,
        _member: MemberId,
        _actor: UserId,
        _reason: Option<&str>,
        _now: DateTime<Utc>,
        _rule: TransitionRule<'_>,
    ) -> Result<TransitionOutcome, Unknown> {
        Err(unused("members.transition"))
    }
}

impl CapitalAccounts for MemoryRegister {
    fn add_contribution(
        &self,
        _org: OrgId,
        _member: MemberId,
        _c: &NewContribution,
        _actor: UserId,
    ) -> Result<MemberWriteOutcome<Contribution>, Unknown> {
        Err(unused("members.add_contribution"))
    }
    fn add_transaction(
        &self,
        org: OrgId,
        member: MemberId,
        t: &NewTransaction,
        _actor: Option<UserId>,
    ) -> Result<MemberWriteOutcome<()>, Unknown> {
        let mut st = self.lock()?;
        let Some(m) = st
            .members
            .iter()
            .find(|m| m.id == member && m.organization_id == org)
        else {
            return Ok(MemberWriteOutcome::NotFound);
        };
        if m.status != MemberStatus::Active {
            return Ok(MemberWriteOutcome::NotActive(m.status));
        }
        if t.reference.is_some() && st.fed.iter().any(|(_, _, f)| f.reference == t.reference) {
            return Ok(MemberWriteOutcome::Duplicate);
        }
        st.fed.push((org, member, t.clone()));
        Ok(MemberWriteOutcome::Written(()))
    }
    fn add_quantification(
        &self,
        _org: OrgId,
        _member: MemberId,
        _kind: QuantificationKind,
        _fiscal_year: i32,
        _amount: Fen,
        _actor: UserId,
    ) -> Result<MemberWriteOutcome<()>, Unknown> {
        Err(unused("members.add_quantification"))
    }
    fn account(&self, _org: OrgId, _member: MemberId) -> Result<Option<MemberAccount>, Unknown> {
        Err(unused("members.account"))
    }
}

impl SurplusBook for MemoryRegister {
    fn vote_inputs(
        &self,
        org: OrgId,
        basis: AdditionalVoteBasis,
        _fiscal_year: i32,
    ) -> Result<Vec<VoteInput>, Unknown> {
        let st = self.lock()?;
        Ok(Self::current(&st, org)
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| {
                let (volume, capital) = st.money.get(&m.id).copied().unwrap_or((Fen(0), Fen(0)));
                VoteInput {
                    member_id: m.id,
                    basis: match basis {
                        AdditionalVoteBasis::None => 0,
                        AdditionalVoteBasis::Capital => capital.0,
                        AdditionalVoteBasis::TransactionVolume => volume.0,
                    },
                }
            })
            .collect())
    }
    fn surplus_inputs(&self, org: OrgId, _fiscal_year: i32) -> Result<Vec<SurplusInput>, Unknown> {
        let st = self.lock()?;
        Ok(Self::current(&st, org)
            .map(|m| {
                let (volume, capital) = st.money.get(&m.id).copied().unwrap_or((Fen(0), Fen(0)));
                SurplusInput {
                    member_id: m.id,
                    transaction_volume: volume,
                    capital_basis: capital,
                }
            })
            .collect())
    }
    fn commit_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
        planner: SurplusPlanner<'_>,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> Result<CommitOutcome, Unknown> {
        let inputs = self.surplus_inputs(org, fiscal_year)?;
        let mut st = self.lock()?;
        if st
            .distributions
            .iter()
            .any(|d| d.organization_id == org && d.fiscal_year == fiscal_year)
        {
            return Ok(CommitOutcome::AlreadyCommitted);
        }
        let plan = match planner(&inputs) {
            Ok(p) => p,
            Err(e) => return Ok(CommitOutcome::Refused(e)),
        };
        let d = Distribution {
            organization_id: org,
            fiscal_year,
            plan,
            committed_by: actor,
            committed_at: now,
            journal_entry_id: uuid::Uuid::now_v7(),
        };
        st.distributions.push(d.clone());
        Ok(CommitOutcome::Committed(d))
    }
    fn find_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
    ) -> Result<Option<Distribution>, Unknown> {
        Ok(self
            .lock()?
            .distributions
            .iter()
            .find(|d| d.organization_id == org && d.fiscal_year == fiscal_year)
            .cloned())
    }
}

/// Accounts are not part of the coop tests.
pub struct NoUsers;

impl UserRepository for NoUsers {
    fn create(&self, _user: &NewUser) -> Result<User, CreateUserError> {
        Err(CreateUserError::Unknown(unused("users.create")))
    }
    fn find_by_login(&self, _login: &str) -> Result<Option<UserCredentials>, Unknown> {
        Err(unused("users.find_by_login"))
    }
    fn find(&self, _id: UserId) -> Result<Option<User>, Unknown> {
        Err(unused("users.find"))
    }
    fn any_platform_admin(&self) -> Result<bool, Unknown> {
        Err(unused("users.any_platform_admin"))
    }
    fn set_platform_admin(&self, _id: UserId) -> Result<(), Unknown> {
        Err(unused("users.set_platform_admin"))
    }
}

/// Records the audit entries the service writes.
#[derive(Default)]
pub struct MemoryAudit {
    pub actions: Mutex<Vec<String>>,
}

impl AuditRepository for MemoryAudit {
    fn record(&self, entry: &AuditEntry) -> Result<(), Unknown> {
        self.actions
            .lock()
            .map_err(|_| poisoned())?
            .push(entry.action.clone());
        Ok(())
    }
    fn list(&self, _query: &AuditQuery) -> Result<Vec<AuditRecord>, Unknown> {
        Err(unused("audit.list"))
    }
}
