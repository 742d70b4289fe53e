//! Votes and the yearly surplus distribution.

use super::*;

impl CoopService {
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

    pub(super) fn check_surplus_input(
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

    pub(super) fn surplus_error(e: SurplusError) -> CoopError {
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
