//! The audit log.

use super::*;

pub struct PgAuditRepository {
    pub pool: PgPool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    actor_kind: String,
    actor_id: Option<Uuid>,
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
    details: serde_json::Value,
}

impl AuditRepository for PgAuditRepository {
    fn record(&self, e: &AuditEntry) -> Result<(), Unknown> {
        let (kind, actor_id) = match &e.actor {
            Actor::Anonymous => ("anonymous", None),
            Actor::User(id) => ("user", Some(id.0)),
            Actor::Partner(id) => ("partner", Some(id.0)),
            Actor::System => ("system", None),
        };
        let mut conn = get_conn(&self.pool)?;
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::id.eq(Uuid::now_v7()),
                audit_log::actor_kind.eq(kind),
                audit_log::actor_id.eq(actor_id),
                audit_log::action.eq(&e.action),
                audit_log::target_kind.eq(&e.target_kind),
                audit_log::target_id.eq(&e.target_id),
                audit_log::ip.eq(&e.meta.ip),
                audit_log::request_id.eq(&e.meta.request_id),
                audit_log::details.eq(&e.details),
            ))
            .execute(&mut conn)?;
        Ok(())
    }

    fn list(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
        if let Some(action) = &q.action {
            query = query.filter(audit_log::action.eq(action));
        }
        if let Some(actor) = q.actor_id {
            query = query.filter(audit_log::actor_id.eq(actor));
        }
        if let Some(before) = q.before {
            query = query.filter(audit_log::id.lt(before));
        }
        let rows = query
            .order(audit_log::id.desc())
            .limit(q.limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                occurred_at: r.occurred_at,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                ip: r.ip,
                request_id: r.request_id,
                details: r.details,
            })
            .collect())
    }
}
