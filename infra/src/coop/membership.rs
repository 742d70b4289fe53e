//! Applications, approvals under a lock on the cooperative, members and
//! their status history.

use super::*;

impl MemberRegister for PgMembershipRepository {
    fn apply(&self, new: &NewApplication) -> Result<Application, ApplyError> {
        let mut conn = get_conn(&self.pool).map_err(anyhow::Error::from)?;
        let result = conn.transaction::<_, DieselError, _>(|conn| {
            if is_current_member(conn, new.organization_id, new.applicant)? {
                return Ok(None);
            }
            let (user_id, org_id) = split(new.applicant);
            let row: AppRow = diesel::insert_into(membership_applications::table)
                .values((
                    membership_applications::id.eq(ApplicationId::new().0),
                    membership_applications::organization_id.eq(new.organization_id.0),
                    membership_applications::applicant_user_id.eq(user_id),
                    membership_applications::applicant_organization_id.eq(org_id),
                    membership_applications::is_farmer.eq(new.is_farmer),
                    membership_applications::note.eq(&new.note),
                    membership_applications::submitted_by.eq(new.submitted_by.0),
                ))
                .returning(AppRow::as_returning())
                .get_result(conn)?;
            event(
                conn,
                new.organization_id,
                None,
                Some(row.id),
                "applied",
                None,
                Some("pending"),
                Some(new.submitted_by),
                None,
                serde_json::json!({}),
                row.created_at,
            )?;
            row.into_domain().map(Some)
        });
        match result {
            Ok(Some(app)) => Ok(app),
            Ok(None) => Err(ApplyError::AlreadyMember),
            Err(e) if is_unique_violation(&e) => Err(ApplyError::AlreadyPending),
            Err(e) => Err(ApplyError::Unknown(e.into())),
        }
    }

    fn list_applications(&self, org: OrgId, q: &ListQuery) -> Result<Vec<Application>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut query = membership_applications::table
            .filter(membership_applications::organization_id.eq(org.0))
            .select(AppRow::as_select())
            .into_boxed();
        if let Some(s) = &q.status {
            query = query.filter(membership_applications::status.eq(s));
        }
        if let Some(after) = q.after {
            query = query.filter(membership_applications::id.gt(after));
        }
        let rows = query
            .order(membership_applications::id.asc())
            .limit(q.limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(AppRow::into_domain)
            .collect::<Result<_, _>>()?)
    }

    fn approve(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        now: DateTime<Utc>,
        check: Option<CompositionCheck<'_>>,
    ) -> Result<DecideOutcome, Unknown> {
        self.decide(org, app, actor, now, Some(check), None)
    }

    fn reject(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DecideOutcome, Unknown> {
        self.decide(org, app, actor, now, None, reason)
    }

    fn list_members(&self, org: OrgId, q: &ListQuery) -> Result<Vec<Member>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut query = members::table
            .filter(members::organization_id.eq(org.0))
            .select(MemberRow::as_select())
            .into_boxed();
        if let Some(s) = &q.status {
            query = query.filter(members::status.eq(s));
        }
        if let Some(after) = q.after {
            query = query.filter(members::id.gt(after));
        }
        let rows = query
            .order(members::id.asc())
            .limit(q.limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(MemberRow::into_domain)
            .collect::<Result<_, _>>()?)
    }

    fn find_member(&self, org: OrgId, member: MemberId) -> Result<Option<Member>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(load_member(&mut conn, org, member, false)?)
    }

    fn member_for_user(&self, org: OrgId, user: UserId) -> Result<Option<MemberId>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let id: Option<Uuid> = members::table
            .filter(members::organization_id.eq(org.0))
            .filter(members::user_id.eq(user.0))
            .filter(members::status.eq_any(CURRENT))
            .select(members::id)
            .first(&mut conn)
            .optional()?;
        Ok(id.map(MemberId))
    }

    fn history(&self, member: MemberId) -> Result<Vec<MemberEvent>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let app_ids: Vec<Uuid> = membership_applications::table
            .filter(membership_applications::member_id.eq(member.0))
            .select(membership_applications::id)
            .load(&mut conn)?;
        let rows: Vec<EventRow> = member_events::table
            .filter(
                member_events::member_id
                    .eq(member.0)
                    .or(member_events::application_id.eq_any(app_ids)),
            )
            .select((
                member_events::id,
                member_events::event,
                member_events::from_status,
                member_events::to_status,
                member_events::actor_id,
                member_events::reason,
                member_events::details,
                member_events::occurred_at,
            ))
            .order(member_events::id.asc())
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, event, from_status, to_status, actor, reason, details, occurred_at)| {
                    MemberEvent {
                        id,
                        event,
                        from_status,
                        to_status,
                        actor_id: actor.map(UserId),
                        reason,
                        details,
                        occurred_at,
                    }
                },
            )
            .collect())
    }

    fn transition(
        &self,
        org: OrgId,
        member: MemberId,
        actor: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
        rule: TransitionRule<'_>,
    ) -> Result<TransitionOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let Some(m) = load_member(conn, org, member, true)? else {
                return Ok(TransitionOutcome::NotFound);
            };
            let to = match rule(m.status) {
                Ok(to) => to,
                Err((from, to)) => return Ok(TransitionOutcome::Invalid(from, to)),
            };
            let ends = matches!(to, MemberStatus::Withdrawn | MemberStatus::Expelled);
            diesel::update(members::table.find(member.0))
                .set((
                    members::status.eq(to.as_str()),
                    members::left_at.eq(ends.then_some(now)),
                ))
                .execute(conn)?;
            let mut returned = 0i64;
            if ends {
                let capital: Option<i64> = capital_contributions::table
                    .filter(capital_contributions::member_id.eq(member.0))
                    .select(sql::<diesel::sql_types::Nullable<BigInt>>(
                        "sum(amount_fen)::bigint",
                    ))
                    .first(conn)?;
                returned = capital.unwrap_or(0);
                if returned > 0 {
                    diesel::insert_into(capital_contributions::table)
                        .values((
                            capital_contributions::id.eq(Uuid::now_v7()),
                            capital_contributions::organization_id.eq(org.0),
                            capital_contributions::member_id.eq(member.0),
                            capital_contributions::amount_fen.eq(-returned),
                            capital_contributions::form.eq("return"),
                            capital_contributions::description
                                .eq(format!("capital returned on {}", to.as_str())),
                            capital_contributions::contributed_on.eq(now.date_naive()),
                            capital_contributions::recorded_by.eq(actor.0),
                        ))
                        .execute(conn)?;
                }
            }
            event(
                conn,
                org,
                Some(member.0),
                None,
                to.as_str(),
                Some(m.status.as_str()),
                Some(to.as_str()),
                Some(actor),
                reason,
                serde_json::json!({"capital_returned_fen": returned}),
                now,
            )?;
            let member = load_member(conn, org, member, false)?.ok_or(DieselError::NotFound)?;
            Ok(TransitionOutcome::Changed {
                member,
                capital_returned: Fen(returned),
            })
        })?)
    }
}
