//! Additional votes and the yearly surplus distribution (posted to the ledger).

use super::*;

#[derive(QueryableByName)]
pub(super) struct SurplusRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    volume: i64,
    #[diesel(sql_type = BigInt)]
    capital_basis: i64,
}

pub(super) fn surplus_inputs(
    conn: &mut PgConnection,
    org: OrgId,
    year: i32,
) -> QueryResult<Vec<SurplusInput>> {
    let rows: Vec<SurplusRow> = diesel::sql_query(
        "SELECT m.id,
                coalesce((SELECT sum(t.amount_fen) FROM member_transactions t
                          WHERE t.member_id = m.id AND t.fiscal_year = $2), 0)::bigint AS volume,
                (coalesce((SELECT sum(c.amount_fen) FROM capital_contributions c WHERE c.member_id = m.id), 0)
                 + coalesce((SELECT sum(q.amount_fen) FROM member_quantifications q WHERE q.member_id = m.id), 0))::bigint AS capital_basis
         FROM members m
         WHERE m.organization_id = $1 AND m.status IN ('active', 'suspended')
         ORDER BY m.id",
    )
    .bind::<SqlUuid, _>(org.0)
    .bind::<Integer, _>(year)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| SurplusInput {
            member_id: MemberId(r.id),
            transaction_volume: Fen(r.volume),
            capital_basis: Fen(r.capital_basis),
        })
        .collect())
}

impl SurplusBook for PgMembershipRepository {
    fn vote_inputs(
        &self,
        org: OrgId,
        basis: AdditionalVoteBasis,
        fiscal_year: i32,
    ) -> Result<Vec<VoteInput>, Unknown> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = BigInt)]
            basis: i64,
        }
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT m.id,
                    CASE $2
                      WHEN 'capital' THEN coalesce((SELECT sum(c.amount_fen) FROM capital_contributions c WHERE c.member_id = m.id), 0)
                      WHEN 'transaction_volume' THEN coalesce((SELECT sum(t.amount_fen) FROM member_transactions t
                                                              WHERE t.member_id = m.id AND t.fiscal_year = $3), 0)
                      ELSE 0 END::bigint AS basis
             FROM members m WHERE m.organization_id = $1 AND m.status = 'active' ORDER BY m.id",
        )
        .bind::<SqlUuid, _>(org.0)
        .bind::<Text, _>(basis.as_str())
        .bind::<Integer, _>(fiscal_year)
        .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| VoteInput {
                member_id: MemberId(r.id),
                basis: r.basis,
            })
            .collect())
    }

    fn surplus_inputs(&self, org: OrgId, fiscal_year: i32) -> Result<Vec<SurplusInput>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(surplus_inputs(&mut conn, org, fiscal_year)?)
    }

    fn commit_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
        planner: SurplusPlanner<'_>,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> Result<CommitOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let outcome = conn.transaction::<_, DieselError, _>(|conn| {
            lock_org(conn, org)?;
            let exists: bool = diesel::select(diesel::dsl::exists(
                surplus_distributions::table
                    .filter(surplus_distributions::organization_id.eq(org.0))
                    .filter(surplus_distributions::fiscal_year.eq(fiscal_year)),
            ))
            .get_result(conn)?;
            if exists {
                return Ok(CommitOutcome::AlreadyCommitted);
            }
            let inputs = surplus_inputs(conn, org, fiscal_year)?;
            let plan = match planner(&inputs) {
                Ok(p) => p,
                Err(e) => return Ok(CommitOutcome::Refused(e)),
            };
            let distribution_id = Uuid::now_v7();
            let allocations: Vec<(MemberId, Fen)> = plan
                .allocations
                .iter()
                .map(|a| (a.member_id, a.total))
                .collect();
            let entry = domain::ledger::surplus_distributed(
                distribution_id,
                fiscal_year,
                org,
                plan.distributable,
                &allocations,
            );
            let entry_id = ledger::post_entry(conn, &entry, now)?;
            diesel::insert_into(surplus_distributions::table)
                .values((
                    surplus_distributions::id.eq(distribution_id),
                    surplus_distributions::organization_id.eq(org.0),
                    surplus_distributions::fiscal_year.eq(fiscal_year),
                    surplus_distributions::distributable_surplus_fen.eq(plan.distributable.0),
                    surplus_distributions::patronage_ratio_bp
                        .eq(i32::try_from(plan.patronage_ratio_bp).unwrap_or(i32::MAX)),
                    surplus_distributions::patronage_pool_fen.eq(plan.patronage_pool.0),
                    surplus_distributions::capital_pool_fen.eq(plan.capital_pool.0),
                    surplus_distributions::journal_entry_id.eq(entry_id),
                    surplus_distributions::committed_by.eq(actor.0),
                    surplus_distributions::committed_at.eq(now),
                ))
                .execute(conn)?;
            let rows: Vec<_> = plan
                .allocations
                .iter()
                .map(|a| {
                    (
                        surplus_allocations::distribution_id.eq(distribution_id),
                        surplus_allocations::member_id.eq(a.member_id.0),
                        surplus_allocations::patronage_fen.eq(a.patronage.0),
                        surplus_allocations::capital_fen.eq(a.capital.0),
                        surplus_allocations::total_fen.eq(a.total.0),
                    )
                })
                .collect();
            diesel::insert_into(surplus_allocations::table)
                .values(rows)
                .execute(conn)?;
            Ok(CommitOutcome::Committed(Distribution {
                organization_id: org,
                fiscal_year,
                plan,
                committed_by: actor,
                committed_at: now,
                journal_entry_id: entry_id,
            }))
        });
        match outcome {
            Err(e) if is_unique_violation(&e) => Ok(CommitOutcome::AlreadyCommitted),
            other => Ok(other?),
        }
    }

    fn find_distribution(
        &self,
        org: OrgId,
        fiscal_year: i32,
    ) -> Result<Option<Distribution>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(Uuid, i64, i32, i64, i64, Uuid, Uuid, DateTime<Utc>)> =
            surplus_distributions::table
                .filter(surplus_distributions::organization_id.eq(org.0))
                .filter(surplus_distributions::fiscal_year.eq(fiscal_year))
                .select((
                    surplus_distributions::id,
                    surplus_distributions::distributable_surplus_fen,
                    surplus_distributions::patronage_ratio_bp,
                    surplus_distributions::patronage_pool_fen,
                    surplus_distributions::capital_pool_fen,
                    surplus_distributions::journal_entry_id,
                    surplus_distributions::committed_by,
                    surplus_distributions::committed_at,
                ))
                .first(&mut conn)
                .optional()?;
        let Some((id, surplus, ratio, patronage_pool, capital_pool, entry, by, at)) = row else {
            return Ok(None);
        };
        let allocations: Vec<(Uuid, i64, i64, i64)> = surplus_allocations::table
            .filter(surplus_allocations::distribution_id.eq(id))
            .select((
                surplus_allocations::member_id,
                surplus_allocations::patronage_fen,
                surplus_allocations::capital_fen,
                surplus_allocations::total_fen,
            ))
            .order(surplus_allocations::member_id.asc())
            .load(&mut conn)?;
        Ok(Some(Distribution {
            organization_id: org,
            fiscal_year,
            plan: SurplusPlan {
                distributable: Fen(surplus),
                patronage_ratio_bp: u32::try_from(ratio).map_err(crate::db::bad)?,
                patronage_pool: Fen(patronage_pool),
                capital_pool: Fen(capital_pool),
                allocations: allocations
                    .into_iter()
                    .map(|(m, p, c, t)| Allocation {
                        member_id: MemberId(m),
                        patronage: Fen(p),
                        capital: Fen(c),
                        total: Fen(t),
                    })
                    .collect(),
            },
            committed_by: UserId(by),
            committed_at: at,
            journal_entry_id: entry,
        }))
    }
}
