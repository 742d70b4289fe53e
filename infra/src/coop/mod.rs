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

mod capital;
mod membership;
mod orgs;
mod surplus;

pub(crate) use orgs::lock_org;
pub use orgs::PgOrgRepository;

pub(super) fn parse<T: std::str::FromStr>(s: &str) -> Result<T, DieselError> {
    s.parse::<T>()
        .map_err(|_| DieselError::DeserializationError(format!("unexpected value {s:?}").into()))
}

pub(super) fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
#[derive(Queryable, Selectable)]
#[diesel(table_name = membership_applications)]
pub(super) struct AppRow {
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

pub(super) fn member_ref(user: Option<Uuid>, org: Option<Uuid>) -> Result<MemberRef, DieselError> {
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
pub(super) struct MemberRow {
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

pub(super) const CURRENT: [&str; 2] = ["active", "suspended"];

pub(super) fn split(r: MemberRef) -> (Option<Uuid>, Option<Uuid>) {
    match r {
        MemberRef::User(u) => (Some(u.0), None),
        MemberRef::Organization(o) => (None, Some(o.0)),
    }
}

pub(super) fn is_current_member(
    conn: &mut PgConnection,
    org: OrgId,
    who: MemberRef,
) -> QueryResult<bool> {
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
pub(super) fn event(
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

pub(super) fn load_member(
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

/// id, event, from, to, actor, reason, details, occurred_at
pub(super) type EventRow = (
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
