//! Postgres adapter of the catalog.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Text};
use domain::catalog::*;
use domain::coop::{MemberId, OrgId};
use domain::delivery::FreightTemplateId;
use domain::money::Fen;
use domain::region::RegionCode;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{categories, listings};

#[derive(Queryable, Selectable)]
#[diesel(table_name = listings)]
#[diesel(check_for_backend(Pg))]
struct ListingRow {
    id: Uuid,
    seller_id: Uuid,
    supplier_member_id: Option<Uuid>,
    freight_template_id: Option<Uuid>,
    title: String,
    description: String,
    category_id: Uuid,
    variety: String,
    grade: String,
    unit_label: String,
    unit_weight_grams: i32,
    price_fen: i64,
    tier_prices: serde_json::Value,
    min_order_qty: i32,
    stock: i32,
    origin_region_code: String,
    harvest_date: Option<NaiveDate>,
    shelf_life_days: Option<i32>,
    storage: String,
    certifications: serde_json::Value,
    trace_batch_code: Option<String>,
    images: serde_json::Value,
    sale_mode: String,
    sale_terms: serde_json::Value,
    status: String,
    version: i32,
    sold_qty: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The `sale_terms` column.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct SaleColumns {
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_from_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_target_qty: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_deadline: Option<DateTime<Utc>>,
}

/// The sale terms stored as `sale_mode` + `sale_terms`.
pub(crate) fn decode_sale_terms(
    mode: &str,
    terms: serde_json::Value,
) -> Result<SaleTerms, DieselError> {
    let terms: SaleColumns = serde_json::from_value(terms).map_err(bad)?;
    Ok(match mode {
        "presale" => SaleTerms::Presale {
            ship_from: terms
                .ship_from_date
                .ok_or_else(|| bad("presale without ship_from_date"))?,
        },
        "group_buy" => SaleTerms::GroupBuy {
            target_qty: terms
                .group_target_qty
                .ok_or_else(|| bad("group buy without target"))?,
            deadline: terms
                .group_deadline
                .ok_or_else(|| bad("group buy without deadline"))?,
        },
        _ => SaleTerms::Spot,
    })
}

impl ListingRow {
    fn into_domain(self) -> Result<Listing, DieselError> {
        let sale = decode_sale_terms(&self.sale_mode, self.sale_terms)?;
        Ok(Listing {
            id: ListingId(self.id),
            seller_id: OrgId(self.seller_id),
            fields: ListingFields {
                supplier_member_id: self.supplier_member_id.map(MemberId),
                freight_template_id: self.freight_template_id.map(FreightTemplateId),
                title: self.title,
                description: self.description,
                category_id: CategoryId(self.category_id),
                variety: self.variety,
                grade: self.grade.parse().map_err(bad)?,
                unit_label: self.unit_label,
                unit_weight_grams: self.unit_weight_grams,
                price: Fen(self.price_fen),
                tier_prices: serde_json::from_value(self.tier_prices).map_err(bad)?,
                min_order_qty: self.min_order_qty,
                stock: self.stock,
                origin_region_code: RegionCode::parse(&self.origin_region_code).map_err(bad)?,
                harvest_date: self.harvest_date,
                shelf_life_days: self.shelf_life_days,
                storage: self.storage.parse().map_err(bad)?,
                certifications: serde_json::from_value(self.certifications).map_err(bad)?,
                trace_batch_code: self.trace_batch_code,
                images: serde_json::from_value(self.images).map_err(bad)?,
                sale,
            },
            status: self.status.parse().map_err(bad)?,
            version: self.version,
            sold_qty: self.sold_qty,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn load(rows: Vec<ListingRow>) -> Result<Vec<Listing>, DieselError> {
    rows.into_iter().map(ListingRow::into_domain).collect()
}

/// Column values for one listing's fields, shared by insert and update.
/// Used inside a function returning `Result<_, E: From<DieselError>>`: a
/// field that does not serialise is an error, never a JSON null.
macro_rules! field_values {
    ($f:expr, $status:expr, $root:expr) => {{
        let f: &ListingFields = $f;
        let terms = match &f.sale {
            SaleTerms::Spot => SaleColumns::default(),
            SaleTerms::Presale { ship_from } => SaleColumns {
                ship_from_date: Some(*ship_from),
                ..SaleColumns::default()
            },
            SaleTerms::GroupBuy {
                target_qty,
                deadline,
            } => SaleColumns {
                group_target_qty: Some(*target_qty),
                group_deadline: Some(*deadline),
                ..SaleColumns::default()
            },
        };
        (
            (
                listings::supplier_member_id.eq(f.supplier_member_id.map(|m| m.0)),
                listings::title.eq(f.title.clone()),
                listings::description.eq(f.description.clone()),
                listings::category_id.eq(f.category_id.0),
                listings::variety.eq(f.variety.clone()),
                listings::grade.eq(f.grade.as_str()),
                listings::unit_label.eq(f.unit_label.clone()),
                listings::unit_weight_grams.eq(f.unit_weight_grams),
                listings::price_fen.eq(f.price.0),
                listings::tier_prices.eq(serde_json::to_value(&f.tier_prices).map_err(bad)?),
                listings::min_order_qty.eq(f.min_order_qty),
                listings::stock.eq(f.stock),
            ),
            (
                listings::origin_region_code.eq(f.origin_region_code.as_str().to_owned()),
                listings::harvest_date.eq(f.harvest_date),
                listings::shelf_life_days.eq(f.shelf_life_days),
                listings::storage.eq(f.storage.as_str()),
                listings::certifications.eq(serde_json::to_value(&f.certifications).map_err(bad)?),
                listings::cert_kinds.eq(f
                    .certifications
                    .iter()
                    .map(|c| c.kind.as_str().to_owned())
                    .collect::<Vec<String>>()),
                listings::trace_batch_code.eq(f.trace_batch_code.clone()),
                listings::images.eq(serde_json::to_value(&f.images).map_err(bad)?),
                listings::sale_mode.eq(f.sale.mode().as_str()),
                listings::sale_terms.eq(serde_json::to_value(&terms).map_err(bad)?),
            ),
            (
                listings::status.eq($status.as_str()),
                listings::search_terms.eq(index_terms(&f.title, &f.variety)),
                listings::root_category_id.eq($root),
                listings::freight_template_id.eq(f.freight_template_id.map(|t| t.0)),
            ),
        )
    }};
}

/// Which reads may go to a replica: those that are never cached and need
/// not show the caller's own writes — browsing and filtering, storefronts,
/// the changes feed, the category tree (and the search engine's sync). Reads
/// that fill the shared listing cache (details by id, hot lists) and reads
/// marked `fresh` go to the primary: a fill taken from a lagging replica
/// after an invalidation would keep an old state cached for its whole TTL.
pub struct PgListingRepository {
    pub pool: PgPool,
    /// Replica (falling back to the primary) or the primary itself.
    pub read_pool: PgPool,
    /// The category tree is seeded by a migration and never changes at run time.
    categories: std::sync::OnceLock<Vec<Category>>,
}

impl PgListingRepository {
    pub fn new(pool: PgPool, read_pool: PgPool) -> Self {
        Self {
            pool,
            read_pool,
            categories: std::sync::OnceLock::new(),
        }
    }

    /// The top-level ancestor of `id` (itself when top-level).
    fn root_of(&self, id: CategoryId) -> Result<Uuid, Unknown> {
        let all = self.categories()?;
        let mut current = id;
        for _ in 0..8 {
            match all
                .iter()
                .find(|c| c.id == current)
                .and_then(|c| c.parent_id)
            {
                Some(p) => current = p,
                None => break,
            }
        }
        Ok(current.0)
    }
}

/// Escapes LIKE metacharacters.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl ListingRepository for PgListingRepository {
    fn categories(&self) -> Result<Vec<Category>, Unknown> {
        if let Some(all) = self.categories.get() {
            return Ok(all.clone());
        }
        let mut conn = get_conn(&self.read_pool)?;
        let rows: Vec<(Uuid, Option<Uuid>, String, String)> = categories::table
            .select((
                categories::id,
                categories::parent_id,
                categories::code,
                categories::name,
            ))
            .order((
                categories::parent_id.asc().nulls_first(),
                categories::sort.asc(),
            ))
            .load(&mut conn)?;
        let all: Vec<Category> = rows
            .into_iter()
            .map(|(id, parent, code, name)| Category {
                id: CategoryId(id),
                parent_id: parent.map(CategoryId),
                code,
                name,
            })
            .collect();
        if !all.is_empty() {
            let _ = self.categories.set(all.clone());
        }
        Ok(all)
    }

    fn create(&self, seller: OrgId, f: &ListingFields) -> Result<Listing, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = diesel::insert_into(listings::table)
            .values((
                listings::id.eq(ListingId::new().0),
                listings::seller_id.eq(seller.0),
                field_values!(f, ListingStatus::Draft, self.root_of(f.category_id)?),
            ))
            .returning(ListingRow::as_returning())
            .get_result(&mut conn)?;
        Ok(row.into_domain()?)
    }

    fn import(
        &self,
        seller: OrgId,
        all: &[ListingFields],
        status: ListingStatus,
    ) -> Result<usize, Unknown> {
        let roots = all
            .iter()
            .map(|f| self.root_of(f.category_id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = get_conn(&self.pool)?;
        let mut written = 0;
        for (chunk, roots) in all.chunks(500).zip(roots.chunks(500)) {
            let rows: Vec<_> = chunk
                .iter()
                .zip(roots)
                .map(|(f, root)| {
                    Ok((
                        listings::id.eq(ListingId::new().0),
                        listings::seller_id.eq(seller.0),
                        field_values!(f, status, *root),
                    ))
                })
                .collect::<Result<_, DieselError>>()?;
            written += diesel::insert_into(listings::table)
                .values(rows)
                .execute(&mut conn)?;
        }
        Ok(written)
    }

    fn count_for_seller(&self, seller: OrgId) -> Result<i64, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(listings::table
            .filter(listings::seller_id.eq(seller.0))
            .count()
            .get_result(&mut conn)?)
    }

    fn find(&self, id: ListingId) -> Result<Option<Listing>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row = listings::table
            .find(id.0)
            .select(ListingRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(ListingRow::into_domain).transpose()?)
    }

    fn find_many(&self, ids: &[ListingId]) -> Result<Vec<Listing>, Unknown> {
        // fills the listing cache: the primary (see the type's doc)
        let mut conn = get_conn(&self.pool)?;
        let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = listings::table
            .filter(listings::id.eq_any(ids))
            .select(ListingRow::as_select())
            .load(&mut conn)?;
        Ok(load(rows)?)
    }

    fn update(
        &self,
        id: ListingId,
        expected: Option<i32>,
        change: ListingChange<'_>,
    ) -> Result<UpdateOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let outcome = conn.transaction::<_, DieselError, _>(|conn| {
            let row = listings::table
                .find(id.0)
                .select(ListingRow::as_select())
                .for_update()
                .first(conn)
                .optional()?;
            let Some(current) = row.map(ListingRow::into_domain).transpose()? else {
                return Ok(UpdateOutcome::NotFound);
            };
            if expected.is_some_and(|v| v != current.version) {
                return Ok(UpdateOutcome::Stale {
                    current: current.version,
                });
            }
            let (fields, status) = match change(&current) {
                Ok(x) => x,
                Err(e) => return Ok(UpdateOutcome::Refused(e)),
            };
            let root = self
                .root_of(fields.category_id)
                .map_err(|e| DieselError::QueryBuilderError(e.into()))?;
            let row = diesel::update(listings::table.find(id.0))
                .set((
                    field_values!(&fields, status, root),
                    listings::version.eq(listings::version + 1),
                ))
                .returning(ListingRow::as_returning())
                .get_result(conn)?;
            Ok(UpdateOutcome::Updated(Box::new(row.into_domain()?)))
        });
        match outcome {
            // the publish guard of migration `traceability`: the batch
            // failed its inspection while this change was being decided
            Err(DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, info))
                if info.constraint_name() == Some("listings_trace_batch_failed") =>
            {
                Ok(UpdateOutcome::Refused(ListingRuleError::BatchFailed))
            }
            other => Ok(other?),
        }
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<Listing>, Unknown> {
        // Two-level tree: a top-level category filters on root_category_id,
        // a sub-category on category_id (both equalities, so index order holds).
        let category_filter: Option<(bool, Uuid)> = match q.category {
            None => None,
            Some(c) => {
                let all = self.categories()?;
                let is_root = all.iter().any(|x| x.id == c && x.parent_id.is_none());
                Some((is_root, c.0))
            }
        };
        let mut conn = get_conn(if q.fresh { &self.pool } else { &self.read_pool })?;
        let mut query = listings::table.select(ListingRow::as_select()).into_boxed();
        let searchable = [ListingStatus::Active, ListingStatus::SoldOut];
        if q.statuses.len() == 2 && searchable.iter().all(|s| q.statuses.contains(s)) {
            query = query.filter(listings::searchable.eq(true));
        } else if q.statuses == [ListingStatus::Active] {
            // the sort indexes lead with `searchable`; sold-out rows are few
            query = query
                .filter(listings::searchable.eq(true))
                .filter(listings::status.eq("active"));
        } else {
            let statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
            query = query.filter(listings::status.eq_any(statuses));
        }
        if let Some((terms, raw)) = &q.text {
            query = query
                .filter(listings::search_terms.contains(terms.clone()))
                .filter(
                    sql::<Bool>("(lower(title) || ' ' || lower(variety)) LIKE ")
                        .bind::<Text, _>(format!("%{}%", like_escape(&raw.to_lowercase())))
                        .sql(" ESCAPE '\\'"),
                );
        }
        match category_filter {
            Some((true, id)) => query = query.filter(listings::root_category_id.eq(id)),
            Some((false, id)) => query = query.filter(listings::category_id.eq(id)),
            None => {}
        }
        if let Some(prefix) = &q.region_prefix {
            query = query.filter(listings::origin_region_code.like(format!("{prefix}%")));
        }
        if let Some(kind) = q.certification {
            query = query.filter(listings::cert_kinds.contains(vec![kind.as_str().to_owned()]));
        }
        if let Some(g) = q.grade {
            query = query.filter(listings::grade.eq(g.as_str()));
        }
        if let Some(lo) = q.min_price {
            query = query.filter(listings::price_fen.ge(lo.0));
        }
        if let Some(hi) = q.max_price {
            query = query.filter(listings::price_fen.le(hi.0));
        }
        if let Some(m) = q.sale_mode {
            query = query.filter(listings::sale_mode.eq(m.as_str()));
        }
        if let Some(s) = q.seller_id {
            query = query.filter(listings::seller_id.eq(s.0));
        }
        query = match (q.sort, q.after) {
            (Sort::Newest, after) => {
                if let Some(c) = after {
                    query = query.filter(listings::id.lt(c.id.0));
                }
                query.order(listings::id.desc())
            }
            (Sort::PriceAsc, after) => {
                if let Some(c) = after {
                    query = query.filter(
                        listings::price_fen
                            .gt(c.key)
                            .or(listings::price_fen.eq(c.key).and(listings::id.gt(c.id.0))),
                    );
                }
                query.order((listings::price_fen.asc(), listings::id.asc()))
            }
            (Sort::PriceDesc, after) => {
                if let Some(c) = after {
                    query = query.filter(
                        listings::price_fen
                            .lt(c.key)
                            .or(listings::price_fen.eq(c.key).and(listings::id.lt(c.id.0))),
                    );
                }
                query.order((listings::price_fen.desc(), listings::id.desc()))
            }
            (Sort::Popular, after) => {
                if let Some(c) = after {
                    query = query.filter(
                        listings::sold_qty
                            .lt(c.key)
                            .or(listings::sold_qty.eq(c.key).and(listings::id.lt(c.id.0))),
                    );
                }
                query.order((listings::sold_qty.desc(), listings::id.desc()))
            }
        };
        let rows = query.limit(q.limit).load(&mut conn)?;
        Ok(load(rows)?)
    }

    fn hot(&self, region_prefix: Option<&str>, limit: i64) -> Result<Vec<Listing>, Unknown> {
        // fills the hot-list cache: the primary (see the type's doc)
        let mut conn = get_conn(&self.pool)?;
        let mut query = listings::table
            .select(ListingRow::as_select())
            .filter(listings::status.eq("active"))
            .into_boxed();
        if let Some(prefix) = region_prefix {
            query = query.filter(listings::origin_region_code.like(format!("{prefix}%")));
        }
        let rows = query
            .order((listings::sold_qty.desc(), listings::id.desc()))
            .limit(limit)
            .load(&mut conn)?;
        Ok(load(rows)?)
    }

    fn changes(
        &self,
        after: Option<(DateTime<Utc>, ListingId)>,
        limit: i64,
    ) -> Result<Vec<Listing>, Unknown> {
        let mut conn = get_conn(&self.read_pool)?;
        let mut query = listings::table
            .select(ListingRow::as_select())
            .filter(listings::status.ne("draft"))
            .into_boxed();
        if let Some((at, id)) = after {
            query = query.filter(
                listings::updated_at
                    .gt(at)
                    .or(listings::updated_at.eq(at).and(listings::id.gt(id.0))),
            );
        }
        let rows = query
            .order((listings::updated_at.asc(), listings::id.asc()))
            .limit(limit)
            .load(&mut conn)?;
        Ok(load(rows)?)
    }
}
