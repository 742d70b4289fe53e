//! Where the engine reads from: the active listings and their change
//! stamps, the category tree, and the synonym groups.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::catalog::{CategoryId, CertKind, Certification, ListingId};
use domain::coop::OrgId;
use domain::search::{CategoryLabels, SearchDoc, SynonymStore, Unknown};
use uuid::Uuid;

use crate::db::{get_conn, PgPool};
use crate::schema::{categories, listings, search_synonyms};

/// The columns search reads of a listing.
#[derive(Queryable, Selectable)]
#[diesel(table_name = listings)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: Uuid,
    seller_id: Uuid,
    title: String,
    variety: String,
    description: String,
    category_id: Uuid,
    origin_region_code: String,
    certifications: serde_json::Value,
    grade: String,
    sale_mode: String,
    price_fen: i64,
    sold_qty: i64,
    created_at: DateTime<Utc>,
    status: String,
    search_changed_at: DateTime<Utc>,
}

/// One change: the listing as search should now show it (None: gone).
pub struct Change {
    pub stamp: DateTime<Utc>,
    pub id: ListingId,
    pub doc: Option<SearchDoc>,
}

type Tree = HashMap<CategoryId, (Option<CategoryId>, String)>;

pub struct PgSearchSource {
    pool: PgPool,
    /// The category tree (fixed data), read on first use.
    tree: OnceLock<Tree>,
}

impl PgSearchSource {
    /// No I/O here: the server starts while Postgres is away.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            tree: OnceLock::new(),
        }
    }

    fn tree(&self) -> Result<&Tree, Unknown> {
        if let Some(t) = self.tree.get() {
            return Ok(t);
        }
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(Uuid, Option<Uuid>, String)> = categories::table
            .select((categories::id, categories::parent_id, categories::name))
            .load(&mut conn)?;
        let tree = rows
            .into_iter()
            .map(|(id, parent, name)| (CategoryId(id), (parent.map(CategoryId), name)))
            .collect();
        Ok(self.tree.get_or_init(|| tree))
    }

    fn to_doc(&self, tree: &Tree, r: Row) -> Option<SearchDoc> {
        let id = r.id;
        if r.status != "active" {
            return None;
        }
        let mut path = Vec::new();
        let mut names = Vec::new();
        let mut at = Some(CategoryId(r.category_id));
        while let Some(c) = at.filter(|c| path.len() < 8 && !path.contains(c)) {
            path.push(c);
            at = match tree.get(&c) {
                Some((parent, name)) => {
                    names.push(name.clone());
                    *parent
                }
                None => None,
            };
        }
        let certifications: Vec<CertKind> = match serde_json::from_value::<Vec<Certification>>(
            r.certifications,
        ) {
            Ok(list) => list.into_iter().map(|c| c.kind).collect(),
            Err(e) => {
                tracing::warn!(listing = %id, error = %e, "unreadable certifications: indexed without them");
                Vec::new()
            }
        };
        let (Ok(grade), Ok(sale_mode)) = (r.grade.parse(), r.sale_mode.parse()) else {
            tracing::warn!(listing = %id, "unknown grade or sale mode: not indexed");
            return None;
        };
        Some(SearchDoc {
            id: ListingId(id),
            seller_id: OrgId(r.seller_id),
            title: r.title,
            variety: r.variety,
            description: r.description,
            category_path: path,
            category_names: names,
            region_code: r.origin_region_code,
            certifications,
            grade,
            sale_mode,
            price_fen: r.price_fen,
            sold_qty: r.sold_qty,
            created_at: r.created_at,
        })
    }

    /// The stamp to follow from after a build: the database's clock, or on
    /// a replica the commit time of the last transaction it replayed (what
    /// it has not replayed yet is newer, and the polls will find it).
    pub fn now(&self) -> Result<DateTime<Utc>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
                "LEAST(clock_timestamp(), \
                 COALESCE(pg_last_xact_replay_timestamp(), clock_timestamp()))",
            ))
            .get_result(&mut conn)?,
        )
    }

    /// When the engine follows a read replica: waits (at most `timeout`)
    /// until the replica has replayed everything the primary had written
    /// when this was called, so a writer's next poll sees its own write.
    /// True at once without a replica (or while it is being skipped).
    pub fn wait_for_replica(&self, timeout: std::time::Duration) -> Result<bool, Unknown> {
        if !self.pool.is_replica() || self.pool.replica_skipped() {
            return Ok(true);
        }
        let started = std::time::Instant::now();
        // the insert position: with asynchronous commit the write position
        // can still be short of a commit record that is only in WAL buffers
        let target: String = {
            let mut primary = get_conn(self.pool.primary())?;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "pg_current_wal_insert_lsn()::text",
            ))
            .get_result(&mut primary)?
        };
        loop {
            let mut conn = get_conn(&self.pool)?;
            // NULL on a server that is not replaying (the fallback primary)
            let replayed: Option<bool> = diesel::select(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Bool>>(
                    "pg_last_wal_replay_lsn() >= ",
                )
                .bind::<diesel::sql_types::Text, _>(&target)
                .sql("::pg_lsn"),
            )
            .get_result(&mut conn)?;
            if replayed != Some(false) {
                return Ok(true);
            }
            if started.elapsed() >= timeout {
                return Ok(false);
            }
            drop(conn);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Active listings after `after` in id order (the initial build).
    pub fn active_after(
        &self,
        after: Uuid,
        limit: i64,
    ) -> Result<(Vec<SearchDoc>, Option<Uuid>), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Row> = listings::table
            .select(Row::as_select())
            .filter(listings::status.eq("active"))
            .filter(listings::id.gt(after))
            .order(listings::id)
            .limit(limit)
            .load(&mut conn)?;
        let last = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        let tree = self.tree()?;
        Ok((
            rows.into_iter()
                .filter_map(|r| self.to_doc(tree, r))
                .collect(),
            last,
        ))
    }

    /// The stamps of listings after `(stamp, id)`, oldest first: a range
    /// scan of the `(search_changed_at, id)` index that reads no listing.
    pub fn stamps_after(
        &self,
        stamp: DateTime<Utc>,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<(DateTime<Utc>, ListingId)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(DateTime<Utc>, Uuid)> = listings::table
            .select((listings::search_changed_at, listings::id))
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "(listings.search_changed_at, listings.id) > (",
                )
                .bind::<diesel::sql_types::Timestamptz, _>(stamp)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
            )
            .order((listings::search_changed_at, listings::id))
            .limit(limit)
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|(s, id)| (s, ListingId(id))).collect())
    }

    /// These listings as search should now show them, each with its
    /// current stamp (a listing that is gone is left out).
    pub fn changes_of(&self, ids: &[ListingId]) -> Result<Vec<Change>, Unknown> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = get_conn(&self.pool)?;
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let rows: Vec<Row> = listings::table
            .select(Row::as_select())
            .filter(listings::id.eq_any(&ids))
            .load(&mut conn)?;
        let tree = self.tree()?;
        Ok(rows
            .into_iter()
            .map(|r| Change {
                stamp: r.search_changed_at,
                id: ListingId(r.id),
                doc: self.to_doc(tree, r),
            })
            .collect())
    }
}

impl CategoryLabels for PgSearchSource {
    fn label(&self, id: CategoryId) -> Option<String> {
        self.tree().ok()?.get(&id).map(|(_, name)| name.clone())
    }
}

pub struct PgSynonymStore {
    pub pool: PgPool,
}

impl SynonymStore for PgSynonymStore {
    fn load(&self) -> Result<(i64, Vec<Vec<String>>), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(i64, serde_json::Value)> = search_synonyms::table
            .select((search_synonyms::version, search_synonyms::groups))
            .first(&mut conn)
            .optional()?;
        match row {
            Some((version, groups)) => Ok((version, serde_json::from_value(groups)?)),
            None => Ok((0, Vec::new())),
        }
    }

    fn replace(&self, groups: &[Vec<String>]) -> Result<i64, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let value = serde_json::to_value(groups)?;
        Ok(diesel::insert_into(search_synonyms::table)
            .values((
                search_synonyms::id.eq(1i16),
                search_synonyms::version.eq(1i64),
                search_synonyms::groups.eq(&value),
            ))
            .on_conflict(search_synonyms::id)
            .do_update()
            .set((
                search_synonyms::version.eq(search_synonyms::version + 1),
                search_synonyms::groups.eq(&value),
            ))
            .returning(search_synonyms::version)
            .get_result(&mut conn)?)
    }
}
