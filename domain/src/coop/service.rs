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
}

#[derive(Debug, Clone, Default)]
pub struct UpdateOrgInput {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub region_code: Option<String>,
    pub parent_id: Option<Option<OrgId>>,
    pub additional_vote_basis: Option<String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    Suspend,
    Reinstate,
    Withdraw,
    Expel,
}

impl std::str::FromStr for MemberAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "suspend" => Ok(Self::Suspend),
            "reinstate" => Ok(Self::Reinstate),
            "withdraw" => Ok(Self::Withdraw),
            "expel" => Ok(Self::Expel),
            _ => Err("must be one of: suspend, reinstate, withdraw, expel".into()),
        }
    }
}

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

    fn check_parent(
        &self,
        kind: OrgKind,
        parent: Option<OrgId>,
        viewer: &Viewer,
        errors: &mut ValidationErrors,
    ) -> Result<(), CoopError> {
        let parent_kind = match parent {
            None => None,
            Some(pid) => {
                match self.orgs.find(pid)? {
                    None => {
                        errors.add("parent_id", "no such organization");
                        return Ok(());
                    }
                    Some(p) => {
                        let may_attach = viewer.platform_admin
                            || self.orgs.staff_role(pid, viewer.user)? == Some(StaffRole::Admin);
                        if !may_attach {
                            return Err(CoopError::Forbidden("forbidden", "only the parent organization's admin may attach organizations to it"));
                        }
                        Some(p.kind)
                    }
                }
            }
        };
        if !kind.allowed_parents().contains(&parent_kind) {
            let allowed: Vec<&str> = kind
                .allowed_parents()
                .iter()
                .map(|k| k.map(OrgKind::as_str).unwrap_or("none"))
                .collect();
            errors.add(
                "parent_id",
                format!(
                    "a {} may have as parent: {}",
                    kind.as_str(),
                    allowed.join(", ")
                ),
            );
        }
        Ok(())
    }

    pub fn create_org(
        &self,
        viewer: &Viewer,
        input: &CreateOrgInput,
        meta: &RequestMeta,
    ) -> Result<Organization, CoopError> {
        let mut errors = ValidationErrors::new();
        let kind = input
            .kind
            .parse::<OrgKind>()
            .map_err(|m| errors.add("kind", m))
            .ok();
        let name = check_name(&input.name, &mut errors);
        let credit_code = CreditCode::parse(&input.credit_code)
            .map_err(|m| errors.add("credit_code", m))
            .ok();
        let region_code = RegionCode::parse(&input.region_code)
            .map_err(|m| errors.add("region_code", m))
            .ok();
        let contact_email = check_email(&input.contact_email, &mut errors);
        let basis = match &input.additional_vote_basis {
            None => Some(AdditionalVoteBasis::None),
            Some(b) => b
                .parse()
                .map_err(|m| errors.add("additional_vote_basis", m))
                .ok(),
        };
        if let (Some(OrgKind::FarmerCoop | OrgKind::CoopUnion), Some(code)) = (kind, &credit_code) {
            if !code.is_farmer_coop() {
                errors.add(
                    "credit_code",
                    "a farmer cooperative's credit code starts with 93",
                );
            }
        }
        if let Some(kind) = kind {
            if kind.needs_platform_admin() && !viewer.platform_admin {
                return Err(CoopError::Forbidden(
                    "forbidden",
                    "only platform admins create supply-and-marketing cooperatives",
                ));
            }
            self.check_parent(kind, input.parent_id, viewer, &mut errors)?;
        }
        let (Some(kind), Some(credit_code), Some(region_code), Some(basis), true) =
            (kind, credit_code, region_code, basis, errors.is_empty())
        else {
            return Err(errors.into());
        };
        let org = self
            .orgs
            .create(
                &NewOrganization {
                    kind,
                    name,
                    credit_code,
                    region_code,
                    parent_id: input.parent_id,
                    contact_email,
                    additional_vote_basis: basis,
                },
                viewer.user,
            )
            .map_err(|e| match e {
                OrgWriteError::DuplicateCreditCode => conflict(
                    "credit_code_taken",
                    "an organization with this credit code already exists",
                ),
                OrgWriteError::Unknown(e) => e.into(),
            })?;
        self.audit(
            viewer,
            "organization.created",
            "organization",
            org.id.to_string(),
            json!({"kind": kind.as_str()}),
            meta,
        );
        Ok(org)
    }

    pub fn get_org(&self, id: OrgId) -> Result<Organization, CoopError> {
        self.org(id)
    }

    pub fn list_orgs(
        &self,
        kind: Option<&str>,
        region_prefix: Option<&str>,
        parent_id: Option<OrgId>,
        after: Option<OrgId>,
        limit: i64,
    ) -> Result<Vec<Organization>, CoopError> {
        let mut errors = ValidationErrors::new();
        let kind = kind
            .map(|k| k.parse::<OrgKind>().map_err(|m| errors.add("kind", m)))
            .transpose()
            .ok()
            .flatten();
        if let Some(r) = region_prefix {
            if !is_valid_prefix(r) {
                errors.add(
                    "region_code",
                    "must be a prefix of digits (e.g. 22 or 220106)",
                );
            }
        }
        errors.into_result(())?;
        Ok(self.orgs.list(&OrgFilter {
            kind,
            region_prefix: region_prefix.map(str::to_owned),
            parent_id,
            after,
            limit,
        })?)
    }

    pub fn update_org(
        &self,
        viewer: &Viewer,
        id: OrgId,
        input: &UpdateOrgInput,
        meta: &RequestMeta,
    ) -> Result<Organization, CoopError> {
        let current = self.org(id)?;
        self.require_admin(id, viewer)?;
        let mut errors = ValidationErrors::new();
        let mut patch = OrgPatch {
            name: input.name.as_deref().map(|n| check_name(n, &mut errors)),
            contact_email: input
                .contact_email
                .as_deref()
                .map(|e| check_email(e, &mut errors)),
            region_code: input.region_code.as_deref().and_then(|r| {
                RegionCode::parse(r)
                    .map_err(|m| errors.add("region_code", m))
                    .ok()
            }),
            parent_id: None,
            additional_vote_basis: input.additional_vote_basis.as_deref().and_then(|b| {
                b.parse()
                    .map_err(|m| errors.add("additional_vote_basis", m))
                    .ok()
            }),
        };
        if let Some(new_parent) = input.parent_id {
            if new_parent != current.parent_id {
                self.check_parent(current.kind, new_parent, viewer, &mut errors)?;
                if let Some(p) = new_parent {
                    if self.orgs.lineage(p)?.contains(&id) {
                        return Err(rule(
                            "parent_cycle",
                            "an organization cannot be placed under itself or its descendants",
                        ));
                    }
                }
                patch.parent_id = Some(new_parent);
            }
        }
        errors.into_result(())?;
        let org = self.orgs.update(id, &patch).map_err(|e| match e {
            OrgWriteError::DuplicateCreditCode => {
                conflict("credit_code_taken", "credit code taken")
            }
            OrgWriteError::Unknown(e) => e.into(),
        })?;
        self.audit(
            viewer,
            "organization.updated",
            "organization",
            id.to_string(),
            json!({}),
            meta,
        );
        org.ok_or(CoopError::NotFound)
    }

    pub fn children(&self, id: OrgId) -> Result<Vec<Organization>, CoopError> {
        self.org(id)?;
        Ok(self.orgs.list(&OrgFilter {
            parent_id: Some(id),
            limit: 1_000,
            ..OrgFilter::default()
        })?)
    }

    pub fn list_staff(&self, viewer: &Viewer, org: OrgId) -> Result<Vec<StaffMember>, CoopError> {
        self.access(org, viewer)?;
        Ok(self.orgs.list_staff(org)?)
    }

    /// Adds (or changes the role of) a staff member, found by user id or e-mail.
    pub fn add_staff(
        &self,
        viewer: &Viewer,
        org: OrgId,
        user_id: Option<UserId>,
        email: Option<&str>,
        role: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<StaffMember>, CoopError> {
        self.require_admin(org, viewer)?;
        let mut errors = ValidationErrors::new();
        let role = role
            .parse::<StaffRole>()
            .map_err(|m| errors.add("role", m))
            .ok();
        let user = match (user_id, email) {
            (Some(id), _) => self.users.find(id)?.map(|u| u.id),
            (None, Some(e)) => self
                .users
                .find_by_login(&e.trim().to_lowercase())?
                .map(|c| c.user.id),
            (None, None) => {
                errors.add("user_id", "user_id or email is required");
                None
            }
        };
        if user.is_none() && errors.is_empty() {
            errors.add("user_id", "no such user");
        }
        let (Some(user), Some(role), true) = (user, role, errors.is_empty()) else {
            return Err(errors.into());
        };
        if self.orgs.upsert_staff(org, user, role)? == StaffChange::LastAdmin {
            return Err(conflict(
                "last_admin",
                "the last admin of an organization cannot be demoted",
            ));
        }
        self.audit(
            viewer,
            "staff.added",
            "organization",
            org.to_string(),
            json!({"user_id": user.to_string(), "role": role.as_str()}),
            meta,
        );
        Ok(self.orgs.list_staff(org)?)
    }

    pub fn remove_staff(
        &self,
        viewer: &Viewer,
        org: OrgId,
        user: UserId,
        meta: &RequestMeta,
    ) -> Result<(), CoopError> {
        self.require_admin(org, viewer)?;
        match self.orgs.remove_staff(org, user)? {
            StaffChange::Done => {
                self.audit(
                    viewer,
                    "staff.removed",
                    "organization",
                    org.to_string(),
                    json!({"user_id": user.to_string()}),
                    meta,
                );
                Ok(())
            }
            StaffChange::NotStaff => Err(CoopError::NotFound),
            StaffChange::LastAdmin => Err(conflict(
                "last_admin",
                "the last admin of an organization cannot be removed",
            )),
        }
    }

    pub fn apply(
        &self,
        viewer: &Viewer,
        org_id: OrgId,
        input: &ApplyInput,
    ) -> Result<Application, CoopError> {
        let org = self.org(org_id)?;
        if !org.kind.has_members() {
            return Err(rule(
                "membership_not_supported",
                format!("a {} has no membership register", org.kind.as_str()),
            ));
        }
        let applicant = match input.applicant_type.as_str() {
            "user" => {
                if org.kind == OrgKind::CoopUnion {
                    return Err(rule(
                        "member_kind_not_allowed",
                        "the members of a coop_union are farmer cooperatives",
                    ));
                }
                MemberRef::User(viewer.user)
            }
            "organization" => {
                let Some(applicant_id) = input.applicant_organization_id else {
                    return Err(ValidationErrors::single(
                        "applicant_organization_id",
                        "is required for an organization applicant",
                    )
                    .into());
                };
                if applicant_id == org_id {
                    return Err(ValidationErrors::single(
                        "applicant_organization_id",
                        "an organization cannot join itself",
                    )
                    .into());
                }
                let applicant = self.orgs.find(applicant_id)?.ok_or_else(|| {
                    ValidationErrors::single("applicant_organization_id", "no such organization")
                })?;
                if self.orgs.staff_role(applicant_id, viewer.user)? != Some(StaffRole::Admin) {
                    return Err(CoopError::Forbidden(
                        "forbidden",
                        "only an admin of the applicant organization may apply on its behalf",
                    ));
                }
                if org.kind == OrgKind::CoopUnion && applicant.kind != OrgKind::FarmerCoop {
                    return Err(rule(
                        "member_kind_not_allowed",
                        "the members of a coop_union are farmer cooperatives",
                    ));
                }
                MemberRef::Organization(applicant_id)
            }
            _ => {
                return Err(ValidationErrors::single(
                    "applicant_type",
                    "must be user or organization",
                )
                .into())
            }
        };
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(ValidationErrors::single("note", "must be at most 500 characters").into());
        }
        self.members
            .apply(&NewApplication {
                organization_id: org_id,
                applicant,
                is_farmer: matches!(applicant, MemberRef::User(_)) && input.is_farmer,
                note,
                submitted_by: viewer.user,
            })
            .map_err(|e| match e {
                ApplyError::AlreadyPending => conflict(
                    "application_pending",
                    "the applicant already has a pending application",
                ),
                ApplyError::AlreadyMember => {
                    conflict("already_member", "the applicant is already a member")
                }
                ApplyError::Unknown(e) => e.into(),
            })
    }

    pub fn list_applications(
        &self,
        viewer: &Viewer,
        org: OrgId,
        status: Option<&str>,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<Application>, CoopError> {
        self.access(org, viewer)?;
        if let Some(s) = status {
            s.parse::<ApplicationStatus>()
                .map_err(|m| ValidationErrors::single("status", m))?;
        }
        Ok(self.members.list_applications(
            org,
            &ListQuery {
                status: status.map(str::to_owned),
                after,
                limit,
            },
        )?)
    }

    fn decided(&self, outcome: DecideOutcome) -> Result<Application, CoopError> {
        match outcome {
            DecideOutcome::Decided(app) => Ok(app),
            DecideOutcome::NotFound => Err(CoopError::NotFound),
            DecideOutcome::NotPending(s) => Err(conflict(
                "invalid_transition",
                format!("the application is already {s}"),
            )),
            DecideOutcome::Violation(v) => Err(rule(v.code(), v.message())),
            DecideOutcome::AlreadyMember => Err(conflict(
                "already_member",
                "the applicant is already a member",
            )),
        }
    }

    pub fn approve(
        &self,
        viewer: &Viewer,
        org_id: OrgId,
        app: ApplicationId,
        meta: &RequestMeta,
    ) -> Result<Application, CoopError> {
        let org = self.org(org_id)?;
        self.require_admin(org_id, viewer)?;
        let check: Option<CompositionCheck<'_>> = if org.kind == OrgKind::FarmerCoop {
            Some(&check_farmer_coop_composition)
        } else {
            None
        };
        let outcome = self
            .members
            .approve(org_id, app, viewer.user, Utc::now(), check)?;
        let app = self.decided(outcome)?;
        self.audit(
            viewer,
            "membership.approved",
            "membership_application",
            app.id.to_string(),
            json!({"member_id": app.member_id.map(|m| m.to_string())}),
            meta,
        );
        Ok(app)
    }

    pub fn reject(
        &self,
        viewer: &Viewer,
        org: OrgId,
        app: ApplicationId,
        reason: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Application, CoopError> {
        self.require_admin(org, viewer)?;
        let outcome = self
            .members
            .reject(org, app, viewer.user, reason, Utc::now())?;
        let app = self.decided(outcome)?;
        self.audit(
            viewer,
            "membership.rejected",
            "membership_application",
            app.id.to_string(),
            json!({"reason": reason}),
            meta,
        );
        Ok(app)
    }

    pub fn list_members(
        &self,
        viewer: &Viewer,
        org: OrgId,
        status: Option<&str>,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<Member>, CoopError> {
        self.access(org, viewer)?;
        if let Some(s) = status {
            s.parse::<MemberStatus>()
                .map_err(|m| ValidationErrors::single("status", m))?;
        }
        Ok(self.members.list_members(
            org,
            &ListQuery {
                status: status.map(str::to_owned),
                after,
                limit,
            },
        )?)
    }

    /// Staff, platform admins and the member itself may read a member record.
    fn member_visible(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
    ) -> Result<Member, CoopError> {
        let m = self
            .members
            .find_member(org, member)?
            .ok_or(CoopError::NotFound)?;
        if self.access(org, viewer).is_ok() || m.member == MemberRef::User(viewer.user) {
            return Ok(m);
        }
        if let MemberRef::Organization(o) = m.member {
            if self.orgs.staff_role(o, viewer.user)?.is_some() {
                return Ok(m);
            }
        }
        Err(CoopError::NotFound)
    }

    pub fn get_member(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
    ) -> Result<(Member, Vec<MemberEvent>), CoopError> {
        let m = self.member_visible(viewer, org, member)?;
        let history = self.members.history(m.id)?;
        Ok((m, history))
    }

    pub fn change_member(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
        action: &str,
        reason: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(Member, Fen), CoopError> {
        let action = action
            .parse::<MemberAction>()
            .map_err(|m| ValidationErrors::single("action", m))?;
        self.require_admin(org, viewer)?;
        let rule_fn = move |from: MemberStatus| action.apply(from);
        match self
            .members
            .transition(org, member, viewer.user, reason, Utc::now(), &rule_fn)?
        {
            TransitionOutcome::Changed {
                member,
                capital_returned,
            } => {
                self.audit(
                    viewer,
                    "member.status_changed",
                    "member",
                    member.id.to_string(),
                    json!({"status": member.status.as_str(), "capital_returned_fen": capital_returned.0, "reason": reason}),
                    meta,
                );
                Ok((member, capital_returned))
            }
            TransitionOutcome::NotFound => Err(CoopError::NotFound),
            TransitionOutcome::Invalid(from, to) => Err(conflict(
                "invalid_transition",
                format!("a {from} member cannot become {to}"),
            )),
        }
    }

    fn written<T>(outcome: MemberWriteOutcome<T>) -> Result<T, CoopError> {
        match outcome {
            MemberWriteOutcome::Written(t) => Ok(t),
            MemberWriteOutcome::NotFound => Err(CoopError::NotFound),
            MemberWriteOutcome::Duplicate => Err(conflict(
                "duplicate_reference",
                "this reference was already recorded",
            )),
            MemberWriteOutcome::NotActive(s) => {
                Err(conflict("member_not_active", format!("the member is {s}")))
            }
        }
    }

    pub fn add_contribution(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
        input: &ContributionInput,
    ) -> Result<Contribution, CoopError> {
        let ContributionInput {
            amount_fen,
            form,
            description,
            contributed_on,
        } = input;
        let (amount_fen, contributed_on) = (*amount_fen, *contributed_on);
        self.require_staff(org, viewer)?;
        let mut errors = ValidationErrors::new();
        if amount_fen <= 0 {
            errors.add("amount_fen", "must be a positive number of fen");
        }
        let form = match form.parse::<ContributionForm>() {
            Ok(ContributionForm::Return) | Err(_) => {
                errors.add("form", "must be cash or in_kind");
                None
            }
            Ok(f) => Some(f),
        };
        let today = Utc::now().date_naive();
        let on = contributed_on.unwrap_or(today);
        if on > today {
            errors.add("contributed_on", "cannot be in the future");
        }
        let (Some(form), true) = (form, errors.is_empty()) else {
            return Err(errors.into());
        };
        let c = NewContribution {
            amount: Fen(amount_fen),
            form,
            description: description.clone(),
            contributed_on: on,
        };
        Self::written(
            self.members
                .add_contribution(org, member, &c, viewer.user)?,
        )
    }

    pub fn add_transaction(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
        input: &TransactionInput,
    ) -> Result<(), CoopError> {
        let TransactionInput {
            fiscal_year,
            amount_fen,
            source,
            reference,
        } = input;
        let (fiscal_year, amount_fen) = (*fiscal_year, *amount_fen);
        self.require_staff(org, viewer)?;
        let mut errors = ValidationErrors::new();
        check_year(fiscal_year, &mut errors);
        if amount_fen <= 0 {
            errors.add("amount_fen", "must be a positive number of fen");
        }
        let source = source
            .parse::<TransactionSource>()
            .map_err(|m| errors.add("source", m))
            .ok();
        let (Some(source), true) = (source, errors.is_empty()) else {
            return Err(errors.into());
        };
        let t = NewTransaction {
            fiscal_year,
            amount: Fen(amount_fen),
            source,
            reference: reference.clone(),
        };
        Self::written(
            self.members
                .add_transaction(org, member, &t, Some(viewer.user))?,
        )
    }

    /// Feeds transaction volume from the platform (completed orders). Idempotent
    /// by `reference`; a repeat is not an error.
    pub fn feed_platform_volume(
        &self,
        org: OrgId,
        member: MemberId,
        fiscal_year: i32,
        amount: Fen,
        source: TransactionSource,
        reference: &str,
    ) -> Result<bool, CoopError> {
        let t = NewTransaction {
            fiscal_year,
            amount,
            source,
            reference: Some(reference.to_owned()),
        };
        match self.members.add_transaction(org, member, &t, None)? {
            MemberWriteOutcome::Written(()) => Ok(true),
            MemberWriteOutcome::Duplicate => Ok(false),
            other => Self::written(other).map(|_| false),
        }
    }

    pub fn add_quantification(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
        kind: &str,
        fiscal_year: i32,
        amount_fen: i64,
    ) -> Result<(), CoopError> {
        self.require_admin(org, viewer)?;
        let mut errors = ValidationErrors::new();
        check_year(fiscal_year, &mut errors);
        if amount_fen <= 0 {
            errors.add("amount_fen", "must be a positive number of fen");
        }
        let kind = kind
            .parse::<QuantificationKind>()
            .map_err(|m| errors.add("kind", m))
            .ok();
        let (Some(kind), true) = (kind, errors.is_empty()) else {
            return Err(errors.into());
        };
        Self::written(self.members.add_quantification(
            org,
            member,
            kind,
            fiscal_year,
            Fen(amount_fen),
            viewer.user,
        )?)
    }

    pub fn account(
        &self,
        viewer: &Viewer,
        org: OrgId,
        member: MemberId,
    ) -> Result<MemberAccount, CoopError> {
        self.member_visible(viewer, org, member)?;
        self.members
            .account(org, member)?
            .ok_or(CoopError::NotFound)
    }

    pub fn votes(
        &self,
        viewer: &Viewer,
        org_id: OrgId,
        fiscal_year: Option<i32>,
    ) -> Result<VoteSheet, CoopError> {
        let org = self.org(org_id)?;
        if self.access(org_id, viewer).is_err()
            && self.members.member_for_user(org_id, viewer.user)?.is_none()
        {
            return Err(CoopError::NotFound);
        }
        let year = fiscal_year.unwrap_or_else(|| Utc::now().year());
        let mut errors = ValidationErrors::new();
        check_year(year, &mut errors);
        errors.into_result(())?;
        let inputs = self
            .members
            .vote_inputs(org_id, org.additional_vote_basis, year)?;
        let members = allocate_votes(
            &inputs,
            org.additional_vote_basis != AdditionalVoteBasis::None,
        );
        Ok(VoteSheet {
            fiscal_year: year,
            basis: org.additional_vote_basis,
            total_basic: members.iter().map(|v| v.basic).sum(),
            total_additional: members.iter().map(|v| v.additional).sum(),
            members,
        })
    }

    fn check_surplus_input(
        fiscal_year: i32,
        surplus_fen: i64,
        ratio_bp: Option<u32>,
    ) -> Result<u32, CoopError> {
        let mut errors = ValidationErrors::new();
        check_year(fiscal_year, &mut errors);
        if surplus_fen <= 0 {
            errors.add(
                "distributable_surplus_fen",
                "must be a positive number of fen",
            );
        }
        let ratio = ratio_bp.unwrap_or(MIN_PATRONAGE_BP);
        if !(MIN_PATRONAGE_BP..=10_000).contains(&ratio) {
            errors.add(
                "patronage_ratio_bp",
                "must be between 6000 (60%) and 10000 (100%)",
            );
        }
        Ok(errors.into_result(ratio)?)
    }

    fn surplus_error(e: SurplusError) -> CoopError {
        match e {
            SurplusError::NonPositiveSurplus => {
                ValidationErrors::single("distributable_surplus_fen", "must be positive").into()
            }
            SurplusError::RatioOutOfRange => {
                ValidationErrors::single("patronage_ratio_bp", "must be between 6000 and 10000")
                    .into()
            }
            SurplusError::NoMembers => rule(
                "no_members",
                "the cooperative has no members to distribute to",
            ),
            SurplusError::NoTransactionVolume => rule(
                "no_transaction_volume",
                "no member has transaction volume in this fiscal year",
            ),
            SurplusError::NoCapitalBasis => rule(
                "no_capital_basis",
                "no member has capital, reserve or subsidy shares to distribute the remainder by",
            ),
        }
    }

    pub fn preview_surplus(
        &self,
        viewer: &Viewer,
        org: OrgId,
        fiscal_year: i32,
        surplus_fen: i64,
        ratio_bp: Option<u32>,
    ) -> Result<SurplusPlan, CoopError> {
        self.access(org, viewer)?;
        let ratio = Self::check_surplus_input(fiscal_year, surplus_fen, ratio_bp)?;
        let inputs = self.members.surplus_inputs(org, fiscal_year)?;
        plan_surplus(Fen(surplus_fen), ratio, &inputs).map_err(Self::surplus_error)
    }

    pub fn commit_surplus(
        &self,
        viewer: &Viewer,
        org: OrgId,
        fiscal_year: i32,
        surplus_fen: i64,
        ratio_bp: Option<u32>,
        meta: &RequestMeta,
    ) -> Result<Distribution, CoopError> {
        self.require_admin(org, viewer)?;
        let ratio = Self::check_surplus_input(fiscal_year, surplus_fen, ratio_bp)?;
        let planner = move |inputs: &[SurplusInput]| plan_surplus(Fen(surplus_fen), ratio, inputs);
        match self.members.commit_distribution(
            org,
            fiscal_year,
            &planner,
            viewer.user,
            Utc::now(),
        )? {
            CommitOutcome::Committed(d) => {
                self.audit(
                    viewer,
                    "surplus.committed",
                    "organization",
                    org.to_string(),
                    json!({"fiscal_year": fiscal_year, "distributable_surplus_fen": surplus_fen}),
                    meta,
                );
                Ok(d)
            }
            CommitOutcome::AlreadyCommitted => Err(conflict(
                "distribution_exists",
                format!("the {fiscal_year} distribution is already committed"),
            )),
            CommitOutcome::Refused(e) => Err(Self::surplus_error(e)),
        }
    }

    pub fn distribution(
        &self,
        viewer: &Viewer,
        org: OrgId,
        fiscal_year: i32,
    ) -> Result<Distribution, CoopError> {
        if self.access(org, viewer).is_err()
            && self.members.member_for_user(org, viewer.user)?.is_none()
        {
            return Err(CoopError::NotFound);
        }
        self.members
            .find_distribution(org, fiscal_year)?
            .ok_or(CoopError::NotFound)
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
