//! Share capital, transaction volume, quantifications, member accounts.

use super::*;

impl CoopService {
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
}
