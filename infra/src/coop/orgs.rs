//! Organizations in a tree, and their staff.

use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub(super) struct OrgRow {
    id: Uuid,
    kind: String,
    name: String,
    credit_code: String,
    region_code: String,
    parent_id: Option<Uuid>,
    contact_email: String,
    additional_vote_basis: String,
    pickup_fee_fen: i64,
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
            pickup_fee: domain::money::Fen(self.pickup_fee_fen),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgOrgRepository {
    pub pool: PgPool,
}

/// Locks the organization row: serialises register changes per cooperative.
pub(crate) fn lock_org(conn: &mut PgConnection, org: OrgId) -> QueryResult<bool> {
    Ok(organizations::table
        .find(org.0)
        .select(organizations::id)
        .for_update()
        .first::<Uuid>(conn)
        .optional()?
        .is_some())
}

pub(super) fn admin_count(conn: &mut PgConnection, org: OrgId) -> QueryResult<i64> {
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
                        organizations::pickup_fee_fen.eq(org.pickup_fee.0),
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
                if let Some(fee) = p.pickup_fee {
                    diesel::update(target)
                        .set(organizations::pickup_fee_fen.eq(fee.0))
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
