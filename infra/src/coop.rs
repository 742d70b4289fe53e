//! Postgres adapters of the cooperative context.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use domain::coop::*;
use domain::identity::UserId;
use domain::money::Fen;
use domain::region::RegionCode;
use uuid::Uuid;

use crate::db::{get_conn, PgPool};
use crate::ledger;
use crate::schema::{
    capital_contributions, member_events, member_quantifications, member_transactions, members,
    membership_applications, organization_staff, organizations, surplus_allocations,
    surplus_distributions, users,
};

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, DieselError> {
    s.parse::<T>()
        .map_err(|_| DieselError::DeserializationError(format!("unexpected value {s:?}").into()))
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

// ---- organizations -----------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = organizations)]
struct OrgRow {
    id: Uuid,
    kind: String,
    name: String,
    credit_code: String,
    region_code: String,
    parent_id: Option<Uuid>,
    contact_email: String,
    additional_vote_basis: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl OrgRow {
    fn into_domain(self) -> Result<Organization, DieselError> {
        Ok(Organization {
            id: OrgId(self.id),
            kind: parse(&self.kind)?,
            name: self.name,
            credit_code: CreditCode::parse(&self.credit_code)
                .map_err(|e| DieselError::DeserializationError(e.into()))?,
            region_code: RegionCode::parse(&self.region_code)
                .map_err(|e| DieselError::DeserializationError(e.into()))?,
            parent_id: self.parent_id.map(OrgId),
            contact_email: self.contact_email,
            additional_vote_basis: parse(&self.additional_vote_basis)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgOrgRepository {
    pub pool: PgPool,
}

/// Locks the organization row: serialises register changes per cooperative.
fn lock_org(conn: &mut PgConnection, org: OrgId) -> QueryResult<bool> {
    Ok(organizations::table
        .find(org.0)
        .select(organizations::id)
        .for_update()
        .first::<Uuid>(conn)
        .optional()?
        .is_some())
}

fn admin_count(conn: &mut PgConnection, org: OrgId) -> QueryResult<i64> {
    organization_staff::table
        .filter(organization_staff::organization_id.eq(org.0))
        .filter(organization_staff::role.eq("admin"))
        .count()
        .get_result(conn)
}

impl OrgRepository for PgOrgRepository {
    fn create(
        &self,
        org: &NewOrganization,
        creator: UserId,
    ) -> Result<Organization, OrgWriteError> {
        let mut conn = get_conn(&self.pool).map_err(anyhow::Error::from)?;
        let row = conn
            .transaction::<_, DieselError, _>(|conn| {
                let row: OrgRow = diesel::insert_into(organizations::table)
                    .values((
                        organizations::id.eq(OrgId::new().0),
                        organizations::kind.eq(org.kind.as_str()),
                        organizations::name.eq(&org.name),
                        organizations::credit_code.eq(org.credit_code.as_str()),
                        organizations::region_code.eq(org.region_code.as_str()),
                        organizations::parent_id.eq(org.parent_id.map(|p| p.0)),
                        organizations::contact_email.eq(&org.contact_email),
                        organizations::additional_vote_basis.eq(org.additional_vote_basis.as_str()),
                        organizations::created_by.eq(creator.0),
                    ))
                    .returning(OrgRow::as_returning())
                    .get_result(conn)?;
                diesel::insert_into(organization_staff::table)
                    .values((
                        organization_staff::organization_id.eq(row.id),
                        organization_staff::user_id.eq(creator.0),
                        organization_staff::role.eq("admin"),
                    ))
                    .execute(conn)?;
                Ok(row)
            })
            .map_err(|e| {
                if is_unique_violation(&e) {
                    OrgWriteError::DuplicateCreditCode
                } else {
                    OrgWriteError::Unknown(e.into())
                }
            })?;
        row.into_domain()
            .map_err(|e| OrgWriteError::Unknown(e.into()))
    }

    fn find(&self, id: OrgId) -> Result<Option<Organization>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = organizations::table
            .find(id.0)
            .select(OrgRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(OrgRow::into_domain).transpose()?)
    }

    fn list(&self, f: &OrgFilter) -> Result<Vec<Organization>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = organizations::table
            .select(OrgRow::as_select())
            .into_boxed();
        if let Some(kind) = f.kind {
            q = q.filter(organizations::kind.eq(kind.as_str()));
        }
        if let Some(prefix) = &f.region_prefix {
            q = q.filter(organizations::region_code.like(format!("{prefix}%")));
        }
        if let Some(parent) = f.parent_id {
            q = q.filter(organizations::parent_id.eq(parent.0));
        }
        if let Some(after) = f.after {
            q = q.filter(organizations::id.gt(after.0));
        }
        let rows = q
            .order(organizations::id.asc())
            .limit(f.limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(OrgRow::into_domain)
            .collect::<Result<_, _>>()?)
    }

    fn lineage(&self, id: OrgId) -> Result<Vec<OrgId>, Unknown> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Row> = diesel::sql_query(
            "WITH RECURSIVE up(id, parent_id, depth) AS (
                 SELECT id, parent_id, 0 FROM organizations WHERE id = $1
                 UNION ALL
                 SELECT o.id, o.parent_id, up.depth + 1 FROM organizations o JOIN up ON o.id = up.parent_id
                 WHERE up.depth < 64
             ) SELECT id FROM up ORDER BY depth",
        )
        .bind::<SqlUuid, _>(id.0)
        .load(&mut conn)?;
        Ok(rows.into_iter().map(|r| OrgId(r.id)).collect())
    }

    fn update(&self, id: OrgId, p: &OrgPatch) -> Result<Option<Organization>, OrgWriteError> {
        let mut conn = get_conn(&self.pool).map_err(anyhow::Error::from)?;
        let row = conn
            .transaction::<_, DieselError, _>(|conn| {
                let target = organizations::table.find(id.0);
                if let Some(name) = &p.name {
                    diesel::update(target)
                        .set(organizations::name.eq(name))
                        .execute(conn)?;
                }
                if let Some(email) = &p.contact_email {
                    diesel::update(target)
                        .set(organizations::contact_email.eq(email))
                        .execute(conn)?;
                }
                if let Some(region) = &p.region_code {
                    diesel::update(target)
                        .set(organizations::region_code.eq(region.as_str()))
                        .execute(conn)?;
                }
                if let Some(parent) = p.parent_id {
                    diesel::update(target)
                        .set(organizations::parent_id.eq(parent.map(|x| x.0)))
                        .execute(conn)?;
                }
                if let Some(basis) = p.additional_vote_basis {
                    diesel::update(target)
                        .set(organizations::additional_vote_basis.eq(basis.as_str()))
                        .execute(conn)?;
                }
                target.select(OrgRow::as_select()).first(conn).optional()
            })
            .map_err(|e| OrgWriteError::Unknown(e.into()))?;
        row.map(OrgRow::into_domain)
            .transpose()
            .map_err(|e| OrgWriteError::Unknown(e.into()))
    }

    fn staff_role(&self, org: OrgId, user: UserId) -> Result<Option<StaffRole>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let role: Option<String> = organization_staff::table
            .filter(organization_staff::organization_id.eq(org.0))
            .filter(organization_staff::user_id.eq(user.0))
            .select(organization_staff::role)
            .first(&mut conn)
            .optional()?;
        Ok(role.map(|r| parse(&r)).transpose()?)
    }

    fn list_staff(&self, org: OrgId) -> Result<Vec<StaffMember>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(Uuid, String, String, Option<String>, DateTime<Utc>)> =
            organization_staff::table
                .inner_join(users::table)
                .filter(organization_staff::organization_id.eq(org.0))
                .select((
                    organization_staff::user_id,
                    organization_staff::role,
                    users::display_name,
                    users::email,
                    organization_staff::added_at,
                ))
                .order(organization_staff::added_at.asc())
                .load(&mut conn)?;
        rows.into_iter()
            .map(|(user_id, role, display_name, email, added_at)| {
                Ok(StaffMember {
                    user_id: UserId(user_id),
                    role: parse(&role)?,
                    display_name,
                    email,
                    added_at,
                })
            })
            .collect::<Result<_, DieselError>>()
            .map_err(Into::into)
    }

    fn upsert_staff(
        &self,
        org: OrgId,
        user: UserId,
        role: StaffRole,
    ) -> Result<StaffChange, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            lock_org(conn, org)?;
            let current = organization_staff::table
                .filter(organization_staff::organization_id.eq(org.0))
                .filter(organization_staff::user_id.eq(user.0))
                .select(organization_staff::role)
                .first::<String>(conn)
                .optional()?;
            if current.as_deref() == Some("admin")
                && role == StaffRole::Clerk
                && admin_count(conn, org)? <= 1
            {
                return Ok(StaffChange::LastAdmin);
            }
            diesel::insert_into(organization_staff::table)
                .values((
                    organization_staff::organization_id.eq(org.0),
                    organization_staff::user_id.eq(user.0),
                    organization_staff::role.eq(role.as_str()),
                ))
                .on_conflict((
                    organization_staff::organization_id,
                    organization_staff::user_id,
                ))
                .do_update()
                .set(organization_staff::role.eq(role.as_str()))
                .execute(conn)?;
            Ok(StaffChange::Done)
        })?)
    }

    fn remove_staff(&self, org: OrgId, user: UserId) -> Result<StaffChange, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            lock_org(conn, org)?;
            let current = organization_staff::table
                .filter(organization_staff::organization_id.eq(org.0))
                .filter(organization_staff::user_id.eq(user.0))
                .select(organization_staff::role)
                .first::<String>(conn)
                .optional()?;
            match current.as_deref() {
                None => Ok(StaffChange::NotStaff),
                Some("admin") if admin_count(conn, org)? <= 1 => Ok(StaffChange::LastAdmin),
                Some(_) => {
                    diesel::delete(
                        organization_staff::table
                            .filter(organization_staff::organization_id.eq(org.0))
                            .filter(organization_staff::user_id.eq(user.0)),
                    )
                    .execute(conn)?;
                    Ok(StaffChange::Done)
                }
            }
        })?)
    }
}

// ---- membership --------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = membership_applications)]
struct AppRow {
    id: Uuid,
    organization_id: Uuid,
    applicant_user_id: Option<Uuid>,
    applicant_organization_id: Option<Uuid>,
    is_farmer: bool,
    note: Option<String>,
    status: String,
    member_id: Option<Uuid>,
    decided_by: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    decision_reason: Option<String>,
    created_at: DateTime<Utc>,
}

fn member_ref(user: Option<Uuid>, org: Option<Uuid>) -> Result<MemberRef, DieselError> {
    match (user, org) {
        (Some(u), None) => Ok(MemberRef::User(UserId(u))),
        (None, Some(o)) => Ok(MemberRef::Organization(OrgId(o))),
        _ => Err(DieselError::DeserializationError(
            "member must be a user or an organization".into(),
        )),
    }
}

impl AppRow {
    fn into_domain(self) -> Result<Application, DieselError> {
        Ok(Application {
            id: ApplicationId(self.id),
            organization_id: OrgId(self.organization_id),
            applicant: member_ref(self.applicant_user_id, self.applicant_organization_id)?,
            is_farmer: self.is_farmer,
            note: self.note,
            status: parse(&self.status)?,
            member_id: self.member_id.map(MemberId),
            decided_by: self.decided_by.map(UserId),
            decided_at: self.decided_at,
            decision_reason: self.decision_reason,
            created_at: self.created_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = members)]
struct MemberRow {
    id: Uuid,
    organization_id: Uuid,
    user_id: Option<Uuid>,
    member_organization_id: Option<Uuid>,
    is_farmer: bool,
    status: String,
    joined_at: DateTime<Utc>,
    left_at: Option<DateTime<Utc>>,
}

impl MemberRow {
    fn into_domain(self) -> Result<Member, DieselError> {
        Ok(Member {
            id: MemberId(self.id),
            organization_id: OrgId(self.organization_id),
            member: member_ref(self.user_id, self.member_organization_id)?,
            is_farmer: self.is_farmer,
            status: parse(&self.status)?,
            joined_at: self.joined_at,
            left_at: self.left_at,
        })
    }
}

const CURRENT: [&str; 2] = ["active", "suspended"];

fn split(r: MemberRef) -> (Option<Uuid>, Option<Uuid>) {
    match r {
        MemberRef::User(u) => (Some(u.0), None),
        MemberRef::Organization(o) => (None, Some(o.0)),
    }
}

fn is_current_member(conn: &mut PgConnection, org: OrgId, who: MemberRef) -> QueryResult<bool> {
    let q = members::table
        .filter(members::organization_id.eq(org.0))
        .filter(members::status.eq_any(CURRENT))
        .into_boxed();
    let q = match who {
        MemberRef::User(u) => q.filter(members::user_id.eq(u.0)),
        MemberRef::Organization(o) => q.filter(members::member_organization_id.eq(o.0)),
    };
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

#[allow(clippy::too_many_arguments)]
fn event(
    conn: &mut PgConnection,
    org: OrgId,
    member: Option<Uuid>,
    application: Option<Uuid>,
    name: &str,
    from: Option<&str>,
    to: Option<&str>,
    actor: Option<UserId>,
    reason: Option<&str>,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(member_events::table)
        .values((
            member_events::id.eq(Uuid::now_v7()),
            member_events::organization_id.eq(org.0),
            member_events::member_id.eq(member),
            member_events::application_id.eq(application),
            member_events::event.eq(name),
            member_events::from_status.eq(from),
            member_events::to_status.eq(to),
            member_events::actor_id.eq(actor.map(|a| a.0)),
            member_events::reason.eq(reason),
            member_events::details.eq(details),
            member_events::occurred_at.eq(at),
        ))
        .execute(conn)
}

fn load_member(
    conn: &mut PgConnection,
    org: OrgId,
    member: MemberId,
    lock: bool,
) -> QueryResult<Option<Member>> {
    let q = members::table
        .filter(members::id.eq(member.0))
        .filter(members::organization_id.eq(org.0))
        .select(MemberRow::as_select());
    let row = if lock {
        q.for_update().first(conn).optional()?
    } else {
        q.first(conn).optional()?
    };
    row.map(MemberRow::into_domain).transpose()
}

#[derive(QueryableByName)]
struct SurplusRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    volume: i64,
    #[diesel(sql_type = BigInt)]
    capital_basis: i64,
}

fn surplus_inputs(
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

/// id, event, from, to, actor, reason, details, occurred_at
type EventRow = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    serde_json::Value,
    DateTime<Utc>,
);

pub struct PgMembershipRepository {
    pub pool: PgPool,
}

impl PgMembershipRepository {
    fn decide(
        &self,
        org: OrgId,
        app: ApplicationId,
        actor: UserId,
        now: DateTime<Utc>,
        approve: Option<Option<CompositionCheck<'_>>>,
        reason: Option<&str>,
    ) -> Result<DecideOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            if !lock_org(conn, org)? {
                return Ok(DecideOutcome::NotFound);
            }
            let row = membership_applications::table
                .filter(membership_applications::id.eq(app.0))
                .filter(membership_applications::organization_id.eq(org.0))
                .select(AppRow::as_select())
                .for_update()
                .first(conn)
                .optional()?;
            let Some(row) = row else {
                return Ok(DecideOutcome::NotFound);
            };
            let current = row.into_domain()?;
            if current.status != ApplicationStatus::Pending {
                return Ok(DecideOutcome::NotPending(current.status));
            }
            let Some(check) = approve else {
                diesel::update(membership_applications::table.find(app.0))
                    .set((
                        membership_applications::status.eq("rejected"),
                        membership_applications::decided_by.eq(actor.0),
                        membership_applications::decided_at.eq(now),
                        membership_applications::decision_reason.eq(reason),
                    ))
                    .execute(conn)?;
                event(
                    conn,
                    org,
                    None,
                    Some(app.0),
                    "rejected",
                    None,
                    None,
                    Some(actor),
                    reason,
                    serde_json::json!({}),
                    now,
                )?;
                return membership_applications::table
                    .find(app.0)
                    .select(AppRow::as_select())
                    .first(conn)?
                    .into_domain()
                    .map(DecideOutcome::Decided);
            };
            if is_current_member(conn, org, current.applicant)? {
                return Ok(DecideOutcome::AlreadyMember);
            }
            if let Some(check) = check {
                let (farmers, persons, orgs): (i64, i64, i64) = members::table
                    .filter(members::organization_id.eq(org.0))
                    .filter(members::status.eq_any(CURRENT))
                    .select((
                        sql::<BigInt>("count(*) FILTER (WHERE user_id IS NOT NULL AND is_farmer)"),
                        sql::<BigInt>(
                            "count(*) FILTER (WHERE user_id IS NOT NULL AND NOT is_farmer)",
                        ),
                        sql::<BigInt>("count(*) FILTER (WHERE member_organization_id IS NOT NULL)"),
                    ))
                    .first(conn)?;
                let to_u32 = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
                let after = Composition {
                    farmers: to_u32(farmers),
                    other_persons: to_u32(persons),
                    organizations: to_u32(orgs),
                }
                .with(
                    matches!(current.applicant, MemberRef::Organization(_)),
                    current.is_farmer,
                );
                if let Err(v) = check(after) {
                    return Ok(DecideOutcome::Violation(v));
                }
            }
            let member_id = MemberId::new();
            let (user_id, member_org) = split(current.applicant);
            diesel::insert_into(members::table)
                .values((
                    members::id.eq(member_id.0),
                    members::organization_id.eq(org.0),
                    members::user_id.eq(user_id),
                    members::member_organization_id.eq(member_org),
                    members::is_farmer.eq(current.is_farmer),
                    members::status.eq("active"),
                    members::joined_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(membership_applications::table.find(app.0))
                .set((
                    membership_applications::status.eq("approved"),
                    membership_applications::member_id.eq(member_id.0),
                    membership_applications::decided_by.eq(actor.0),
                    membership_applications::decided_at.eq(now),
                ))
                .execute(conn)?;
            event(
                conn,
                org,
                Some(member_id.0),
                Some(app.0),
                "approved",
                None,
                Some("active"),
                Some(actor),
                None,
                serde_json::json!({}),
                now,
            )?;
            membership_applications::table
                .find(app.0)
                .select(AppRow::as_select())
                .first(conn)?
                .into_domain()
                .map(DecideOutcome::Decided)
        })?)
    }

    fn member_write<T>(
        &self,
        org: OrgId,
        member: MemberId,
        allowed: &[MemberStatus],
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
    ) -> Result<MemberWriteOutcome<T>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let outcome = conn.transaction::<_, DieselError, _>(|conn| {
            let Some(m) = load_member(conn, org, member, true)? else {
                return Ok(MemberWriteOutcome::NotFound);
            };
            if !allowed.contains(&m.status) {
                return Ok(MemberWriteOutcome::NotActive(m.status));
            }
            f(conn).map(MemberWriteOutcome::Written)
        });
        match outcome {
            Err(e) if is_unique_violation(&e) => Ok(MemberWriteOutcome::Duplicate),
            other => Ok(other?),
        }
    }
}

impl MembershipRepository for PgMembershipRepository {
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
            let surplus_account = ledger::account(
                conn,
                &format!("coop:{}:undistributed_surplus", org.0),
                "undistributed surplus (盈余)",
                "equity",
            )?;
            let mut lines = vec![(surplus_account, plan.distributable.0)];
            for a in plan.allocations.iter().filter(|a| a.total.0 > 0) {
                let payable = ledger::account(
                    conn,
                    &format!("member:{}:payable", a.member_id.0),
                    "member payable (返还盈余)",
                    "liability",
                )?;
                lines.push((payable, -a.total.0));
            }
            let entry_id = ledger::post(
                conn,
                &format!("surplus distribution {fiscal_year}"),
                "surplus_distribution",
                distribution_id,
                &lines,
                now,
            )?;
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
