//! Applications, approvals under the composition rules, the member register.

use super::*;

impl CoopService {
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

    pub(super) fn decided(&self, outcome: DecideOutcome) -> Result<Application, CoopError> {
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
    pub(super) fn member_visible(
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

    pub(super) fn written<T>(outcome: MemberWriteOutcome<T>) -> Result<T, CoopError> {
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
}
