//! Freight templates: one row per template, its pricing as one document.

use super::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = freight_templates)]
struct TemplateRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    is_default: bool,
    spec: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TemplateRow {
    fn into_domain(self) -> QueryResult<FreightTemplate> {
        Ok(FreightTemplate {
            id: FreightTemplateId(self.id),
            org_id: OrgId(self.org_id),
            name: self.name,
            is_default: self.is_default,
            spec: serde_json::from_value(self.spec).map_err(bad)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgFreightTemplates {
    pub pool: PgPool,
}

impl FreightTemplateRepository for PgFreightTemplates {
    fn list_templates(&self, org: OrgId) -> Result<Vec<FreightTemplate>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<TemplateRow> = freight_templates::table
            .filter(freight_templates::org_id.eq(org.0))
            .select(TemplateRow::as_select())
            .order(freight_templates::id.asc())
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(TemplateRow::into_domain)
            .collect::<QueryResult<_>>()?)
    }

    fn find_template(
        &self,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<Option<FreightTemplate>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<TemplateRow> = freight_templates::table
            .find(id.0)
            .filter(freight_templates::org_id.eq(org.0))
            .select(TemplateRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(TemplateRow::into_domain).transpose()?)
    }

    fn save_template(&self, t: &FreightTemplate, create: bool) -> Result<TemplateSaved, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let spec = serde_json::to_value(&t.spec)?;
        let saved = conn.transaction::<_, DieselError, _>(|conn| {
            // One writer per organization at a time: the count limit and
            // the single default hold under concurrent saves.
            crate::coop::lock_org(conn, t.org_id)?;
            if create {
                let count: i64 = freight_templates::table
                    .filter(freight_templates::org_id.eq(t.org_id.0))
                    .count()
                    .get_result(conn)?;
                if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_TEMPLATES_PER_ORG {
                    return Ok(TemplateSaved::TooMany);
                }
            }
            if t.is_default {
                diesel::update(
                    freight_templates::table
                        .filter(freight_templates::org_id.eq(t.org_id.0))
                        .filter(freight_templates::id.ne(t.id.0))
                        .filter(freight_templates::is_default),
                )
                .set(freight_templates::is_default.eq(false))
                .execute(conn)?;
            }
            let row: Option<TemplateRow> = if create {
                Some(
                    diesel::insert_into(freight_templates::table)
                        .values((
                            freight_templates::id.eq(t.id.0),
                            freight_templates::org_id.eq(t.org_id.0),
                            freight_templates::name.eq(&t.name),
                            freight_templates::is_default.eq(t.is_default),
                            freight_templates::spec.eq(&spec),
                            freight_templates::created_at.eq(t.created_at),
                            freight_templates::updated_at.eq(t.updated_at),
                        ))
                        .returning(TemplateRow::as_returning())
                        .get_result(conn)?,
                )
            } else {
                diesel::update(
                    freight_templates::table
                        .find(t.id.0)
                        .filter(freight_templates::org_id.eq(t.org_id.0)),
                )
                .set((
                    freight_templates::name.eq(&t.name),
                    freight_templates::is_default.eq(t.is_default),
                    freight_templates::spec.eq(&spec),
                    freight_templates::updated_at.eq(t.updated_at),
                ))
                .returning(TemplateRow::as_returning())
                .get_result(conn)
                .optional()?
            };
            match row {
                Some(r) => Ok(TemplateSaved::Saved(Box::new(r.into_domain()?))),
                None => Ok(TemplateSaved::NotFound),
            }
        });
        match saved {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("freight_templates_org_id_name_key") =>
            {
                Ok(TemplateSaved::DuplicateName)
            }
            other => Ok(other?),
        }
    }

    fn delete_template(
        &self,
        org: OrgId,
        id: FreightTemplateId,
    ) -> Result<TemplateDeleted, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let found: Option<Uuid> = freight_templates::table
                .find(id.0)
                .filter(freight_templates::org_id.eq(org.0))
                .select(freight_templates::id)
                .for_update()
                .first(conn)
                .optional()?;
            if found.is_none() {
                return Ok(TemplateDeleted::NotFound);
            }
            // The row lock above makes a listing naming it wait (foreign
            // key check), so the count is final.
            let users: i64 = listings::table
                .filter(listings::freight_template_id.eq(id.0))
                .count()
                .get_result(conn)?;
            if users > 0 {
                return Ok(TemplateDeleted::InUse(users));
            }
            diesel::delete(freight_templates::table.find(id.0)).execute(conn)?;
            Ok(TemplateDeleted::Deleted)
        })?)
    }
}
