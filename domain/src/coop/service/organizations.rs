//! Organizations in a tree, and their staff.

use super::*;

impl CoopService {
    pub(super) fn check_parent(
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
        let pickup_fee = check_pickup_fee(kind, input.pickup_fee_fen, &mut errors);
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
                    pickup_fee: pickup_fee.unwrap_or_default(),
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
            pickup_fee: check_pickup_fee(Some(current.kind), input.pickup_fee_fen, &mut errors),
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
}

/// A service station's pickup fee: 0–¥100,000; other kinds charge none.
fn check_pickup_fee(
    kind: Option<OrgKind>,
    fee: Option<i64>,
    errors: &mut ValidationErrors,
) -> Option<Fen> {
    let fee = fee?;
    if !(0..=crate::delivery::MAX_FREIGHT_FEN).contains(&fee) {
        errors.add(
            "pickup_fee_fen",
            format!("must be 0–{}", crate::delivery::MAX_FREIGHT_FEN),
        );
        return None;
    }
    if fee > 0 && kind.is_some_and(|k| k != OrgKind::ServiceStation) {
        errors.add(
            "pickup_fee_fen",
            "only service stations charge a pickup fee",
        );
        return None;
    }
    Some(Fen(fee))
}
