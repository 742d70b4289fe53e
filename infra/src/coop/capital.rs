//! Share capital, transaction volume, quantifications and member accounts.

use super::*;

impl CapitalAccounts for PgMembershipRepository {
    fn add_contribution(
        &self,
        org: OrgId,
        member: MemberId,
        c: &NewContribution,
        actor: UserId,
    ) -> Result<MemberWriteOutcome<Contribution>, Unknown> {
        self.member_write(org, member, &[MemberStatus::Active], |conn| {
            let id = Uuid::now_v7();
            let created_at: DateTime<Utc> = diesel::insert_into(capital_contributions::table)
                .values((
                    capital_contributions::id.eq(id),
                    capital_contributions::organization_id.eq(org.0),
                    capital_contributions::member_id.eq(member.0),
                    capital_contributions::amount_fen.eq(c.amount.0),
                    capital_contributions::form.eq(c.form.as_str()),
                    capital_contributions::description.eq(&c.description),
                    capital_contributions::contributed_on.eq(c.contributed_on),
                    capital_contributions::recorded_by.eq(actor.0),
                ))
                .returning(capital_contributions::created_at)
                .get_result(conn)?;
            event(
                conn,
                org,
                Some(member.0),
                None,
                "contribution",
                None,
                None,
                Some(actor),
                None,
                serde_json::json!({"amount_fen": c.amount.0, "form": c.form.as_str()}),
                created_at,
            )?;
            Ok(Contribution {
                id,
                member_id: member,
                amount: c.amount,
                form: c.form,
                description: c.description.clone(),
                contributed_on: c.contributed_on,
                created_at,
            })
        })
    }

    fn add_transaction(
        &self,
        org: OrgId,
        member: MemberId,
        t: &NewTransaction,
        actor: Option<UserId>,
    ) -> Result<MemberWriteOutcome<()>, Unknown> {
        self.member_write(
            org,
            member,
            &[MemberStatus::Active, MemberStatus::Suspended],
            |conn| {
                diesel::insert_into(member_transactions::table)
                    .values((
                        member_transactions::id.eq(Uuid::now_v7()),
                        member_transactions::organization_id.eq(org.0),
                        member_transactions::member_id.eq(member.0),
                        member_transactions::fiscal_year.eq(t.fiscal_year),
                        member_transactions::amount_fen.eq(t.amount.0),
                        member_transactions::source.eq(t.source.as_str()),
                        member_transactions::reference.eq(&t.reference),
                        member_transactions::recorded_by.eq(actor.map(|a| a.0)),
                    ))
                    .execute(conn)
                    .map(|_| ())
            },
        )
    }

    fn add_quantification(
        &self,
        org: OrgId,
        member: MemberId,
        kind: QuantificationKind,
        fiscal_year: i32,
        amount: Fen,
        actor: UserId,
    ) -> Result<MemberWriteOutcome<()>, Unknown> {
        self.member_write(
            org,
            member,
            &[MemberStatus::Active, MemberStatus::Suspended],
            |conn| {
                diesel::insert_into(member_quantifications::table)
                    .values((
                        member_quantifications::id.eq(Uuid::now_v7()),
                        member_quantifications::organization_id.eq(org.0),
                        member_quantifications::member_id.eq(member.0),
                        member_quantifications::kind.eq(kind.as_str()),
                        member_quantifications::fiscal_year.eq(fiscal_year),
                        member_quantifications::amount_fen.eq(amount.0),
                        member_quantifications::recorded_by.eq(actor.0),
                    ))
                    .execute(conn)
                    .map(|_| ())
            },
        )
    }

    fn account(&self, org: OrgId, member: MemberId) -> Result<Option<MemberAccount>, Unknown> {
        #[derive(QueryableByName)]
        struct Totals {
            #[diesel(sql_type = BigInt)]
            capital: i64,
            #[diesel(sql_type = BigInt)]
            reserve: i64,
            #[diesel(sql_type = BigInt)]
            subsidy: i64,
        }
        #[derive(QueryableByName)]
        struct Year {
            #[diesel(sql_type = Integer)]
            fiscal_year: i32,
            #[diesel(sql_type = BigInt)]
            amount: i64,
        }
        let mut conn = get_conn(&self.pool)?;
        if load_member(&mut conn, org, member, false)?.is_none() {
            return Ok(None);
        }
        let t: Totals = diesel::sql_query(
            "SELECT coalesce((SELECT sum(amount_fen) FROM capital_contributions WHERE member_id = $1), 0)::bigint AS capital,
                    coalesce((SELECT sum(amount_fen) FROM member_quantifications WHERE member_id = $1 AND kind = 'reserve'), 0)::bigint AS reserve,
                    coalesce((SELECT sum(amount_fen) FROM member_quantifications WHERE member_id = $1 AND kind = 'subsidy'), 0)::bigint AS subsidy",
        )
        .bind::<SqlUuid, _>(member.0)
        .get_result(&mut conn)?;
        let volumes: Vec<Year> = diesel::sql_query(
            "SELECT fiscal_year, sum(amount_fen)::bigint AS amount FROM member_transactions
             WHERE member_id = $1 GROUP BY fiscal_year ORDER BY fiscal_year",
        )
        .bind::<SqlUuid, _>(member.0)
        .load(&mut conn)?;
        let refunds: Vec<Year> = diesel::sql_query(
            "SELECT d.fiscal_year, a.total_fen AS amount FROM surplus_allocations a
             JOIN surplus_distributions d ON d.id = a.distribution_id
             WHERE a.member_id = $1 ORDER BY d.fiscal_year",
        )
        .bind::<SqlUuid, _>(member.0)
        .load(&mut conn)?;
        let year = |y: Year| YearVolume {
            fiscal_year: y.fiscal_year,
            amount: Fen(y.amount),
        };
        Ok(Some(MemberAccount {
            member_id: member,
            capital: Fen(t.capital),
            reserve_share: Fen(t.reserve),
            subsidy_share: Fen(t.subsidy),
            transaction_volume: volumes.into_iter().map(year).collect(),
            refunds: refunds.into_iter().map(year).collect(),
        }))
    }
}
