//! Partner (mall) clients: hashed secrets, scopes, status.

use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = partners)]
struct PartnerRow {
    id: Uuid,
    name: String,
    client_id: String,
    secret_hash: String,
    scopes: Vec<Option<String>>,
    status: String,
    created_at: DateTime<Utc>,
    secret_rotated_at: DateTime<Utc>,
}

impl PartnerRow {
    fn into_partner(self) -> (Partner, String) {
        let scopes = Scopes(
            self.scopes
                .iter()
                .flatten()
                .filter_map(|s| s.parse().ok())
                .collect(),
        );
        (
            Partner {
                id: PartnerId(self.id),
                name: self.name,
                client_id: self.client_id,
                scopes,
                status: if self.status == "active" {
                    PartnerStatus::Active
                } else {
                    PartnerStatus::Disabled
                },
                created_at: self.created_at,
                secret_rotated_at: self.secret_rotated_at,
            },
            self.secret_hash,
        )
    }
}

pub(crate) fn scope_array(scopes: &Scopes) -> Vec<String> {
    scopes.0.iter().map(|s| s.as_str().to_owned()).collect()
}

pub struct PgPartnerRepository {
    pub pool: PgPool,
}

impl PartnerRepository for PgPartnerRepository {
    fn create(&self, p: &NewPartner) -> Result<Partner, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = diesel::insert_into(partners::table)
            .values((
                partners::id.eq(p.id.0),
                partners::name.eq(&p.name),
                partners::client_id.eq(&p.client_id),
                partners::secret_hash.eq(&p.secret_hash),
                partners::scopes.eq(scope_array(&p.scopes)),
                partners::created_by.eq(p.created_by.0),
            ))
            .returning(PartnerRow::as_returning())
            .get_result(&mut conn)?;
        Ok(row.into_partner().0)
    }

    fn find(&self, id: PartnerId) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = partners::table
            .find(id.0)
            .select(PartnerRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn find_by_client_id(&self, client_id: &str) -> Result<Option<(Partner, String)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = partners::table
            .filter(partners::client_id.eq(client_id))
            .select(PartnerRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(PartnerRow::into_partner))
    }

    fn set_secret(
        &self,
        id: PartnerId,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = diesel::update(partners::table.find(id.0))
            .set((
                partners::secret_hash.eq(secret_hash),
                partners::secret_rotated_at.eq(now),
            ))
            .returning(PartnerRow::as_returning())
            .get_result(&mut conn)
            .optional()?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn update(&self, id: PartnerId, patch: &PartnerPatch) -> Result<Option<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = conn.transaction::<_, DieselError, _>(|conn| {
            if let Some(name) = &patch.name {
                diesel::update(partners::table.find(id.0))
                    .set(partners::name.eq(name))
                    .execute(conn)?;
            }
            if let Some(scopes) = &patch.scopes {
                diesel::update(partners::table.find(id.0))
                    .set(partners::scopes.eq(scope_array(scopes)))
                    .execute(conn)?;
            }
            if let Some(status) = patch.status {
                diesel::update(partners::table.find(id.0))
                    .set(partners::status.eq(status.as_str()))
                    .execute(conn)?;
            }
            partners::table
                .find(id.0)
                .select(PartnerRow::as_select())
                .first(conn)
                .optional()
        })?;
        Ok(row.map(|r| r.into_partner().0))
    }

    fn list(&self) -> Result<Vec<Partner>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows = partners::table
            .order(partners::id.asc())
            .select(PartnerRow::as_select())
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|r| r.into_partner().0).collect())
    }
}
