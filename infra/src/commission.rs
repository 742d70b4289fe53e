//! Commission rules in Postgres, cached in-process for a short while: every
//! order needs them, and they change rarely (a replace on this instance is
//! seen at once; other instances see it within `CACHE_FOR`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::catalog::CategoryId;
use domain::settlement::{CommissionRule, CommissionRules, Unknown};
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::commission_rules;

/// How long another instance may keep serving the previous rule set.
pub const CACHE_FOR: Duration = Duration::from_secs(2);

pub struct PgCommissionRules {
    pool: PgPool,
    cache: Mutex<Option<(Instant, Arc<Vec<CommissionRule>>)>>,
}

impl PgCommissionRules {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Mutex::new(None),
        }
    }

    fn load(&self) -> Result<Vec<CommissionRule>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(Option<Uuid>, Option<String>, i32, NaiveDate)> = commission_rules::table
            .select((
                commission_rules::category_id,
                commission_rules::seller_kind,
                commission_rules::rate_bp,
                commission_rules::effective_from,
            ))
            .order((
                commission_rules::effective_from.asc(),
                commission_rules::id.asc(),
            ))
            .load(&mut conn)?;
        rows.into_iter()
            .map(|(c, k, bp, from)| {
                Ok(CommissionRule {
                    category_id: c.map(CategoryId),
                    seller_kind: k.map(|k| k.parse().map_err(bad)).transpose()?,
                    rate_bp: u32::try_from(bp).map_err(bad)?,
                    effective_from: from,
                })
            })
            .collect::<Result<_, DieselError>>()
            .map_err(Into::into)
    }
}

impl CommissionRules for PgCommissionRules {
    fn current(&self) -> Result<Arc<Vec<CommissionRule>>, Unknown> {
        {
            let cache = self
                .cache
                .lock()
                .map_err(|_| anyhow::anyhow!("commission cache poisoned"))?;
            if let Some((at, rules)) = cache.as_ref() {
                if at.elapsed() < CACHE_FOR {
                    return Ok(rules.clone());
                }
            }
        }
        let rules = Arc::new(self.load()?);
        *self
            .cache
            .lock()
            .map_err(|_| anyhow::anyhow!("commission cache poisoned"))? =
            Some((Instant::now(), rules.clone()));
        Ok(rules)
    }

    fn replace(&self, rules: &[CommissionRule]) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        conn.transaction::<_, DieselError, _>(|conn| {
            diesel::delete(commission_rules::table).execute(conn)?;
            let rows = rules
                .iter()
                .map(|r| {
                    Ok((
                        commission_rules::id.eq(Uuid::now_v7()),
                        commission_rules::category_id.eq(r.category_id.map(|c| c.0)),
                        commission_rules::seller_kind.eq(r.seller_kind.map(|k| k.as_str())),
                        commission_rules::rate_bp.eq(i32::try_from(r.rate_bp).map_err(bad)?),
                        commission_rules::effective_from.eq(r.effective_from),
                    ))
                })
                .collect::<Result<Vec<_>, DieselError>>()?;
            diesel::insert_into(commission_rules::table)
                .values(rows)
                .execute(conn)?;
            Ok(())
        })?;
        *self
            .cache
            .lock()
            .map_err(|_| anyhow::anyhow!("commission cache poisoned"))? = None;
        Ok(())
    }
}
