//! Sales figures from the order history, and the daily rollup that closed
//! hours are sealed into (migration `sales_stats`). The facts are read in
//! one place, [`FACTS`]: sealing an hour and the live part of a report use
//! the same query, so sealed and live figures always agree.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, BigInt, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::catalog::ListingId;
use domain::coop::OrgId;
use domain::identity::UserId;
use domain::money::Fen;
use domain::stats::*;
use std::collections::HashMap;
use uuid::Uuid;

use crate::db::{get_conn, PgPool};

pub struct PgSales {
    pub pool: PgPool,
}

/// Item lines of seller orders paid in [$1, $2) and item refunds confirmed
/// in it, with their business day (China Standard Time), seller, category
/// and (sales only) seller order. `$3`: the sellers in scope, or NULL for
/// all. A full refund of a seller order returns every line; a refund
/// request returns its parts on lines (freight is no sale of produce).
const FACTS: &str = "
    SELECT (e.occurred_at AT TIME ZONE INTERVAL '+08:00')::date AS day, so.seller_id, l.category_id,
           CASE WHEN e.to_status = 'paid' THEN so.id END AS sale,
           CASE WHEN e.to_status = 'paid' THEN i.line_total_fen ELSE 0 END AS gross,
           CASE WHEN e.to_status = 'paid' THEN i.quantity ELSE 0 END::bigint AS units,
           CASE WHEN e.to_status = 'refunded' THEN i.line_total_fen ELSE 0 END AS refunds
      FROM order_events e
      JOIN seller_orders so ON so.id = e.seller_order_id
      JOIN order_items i ON i.seller_order_id = so.id
      JOIN listings l ON l.id = i.listing_id
     WHERE e.seller_order_id IS NOT NULL AND e.to_status IN ('paid', 'refunded')
       AND e.occurred_at >= $1 AND e.occurred_at < $2
       AND ($3::uuid[] IS NULL OR so.seller_id = ANY ($3))
    UNION ALL
    SELECT (r.refunded_at AT TIME ZONE INTERVAL '+08:00')::date, r.seller_id, l.category_id,
           NULL, 0, 0, p.amount_fen
      FROM refund_requests r
      JOIN refund_request_parts p ON p.refund_request_id = r.id
      JOIN order_items i ON i.id = p.order_item_id
      JOIN listings l ON l.id = i.listing_id
     WHERE r.status = 'refunded' AND r.refunded_at >= $1 AND r.refunded_at < $2
       AND ($3::uuid[] IS NULL OR r.seller_id = ANY ($3))";

/// The rollup tables and the keys each groups the facts by.
const ROLLUPS: [(&str, &str); 3] = [
    ("sales_daily_sellers", "day, seller_id"),
    ("sales_daily_categories", "day, seller_id, category_id"),
    ("sales_daily_category_totals", "day, category_id"),
];

/// Adds the facts of [t0, t1) to a rollup table's rows (of their day).
fn add_hour(
    conn: &mut PgConnection,
    table: &str,
    keys: &str,
    t0: DateTime<Utc>,
    t1: DateTime<Utc>,
) -> QueryResult<usize> {
    let all: Option<Vec<Uuid>> = None;
    diesel::sql_query(format!(
        "INSERT INTO {table} AS d ({keys}, gross_fen, orders, units, refunds_fen) \
         SELECT {keys}, sum(r.gross), count(DISTINCT r.sale), sum(r.units), sum(r.refunds) \
           FROM ({FACTS}) r GROUP BY {keys} \
         ON CONFLICT ({keys}) DO UPDATE SET \
           gross_fen = d.gross_fen + EXCLUDED.gross_fen, orders = d.orders + EXCLUDED.orders, \
           units = d.units + EXCLUDED.units, refunds_fen = d.refunds_fen + EXCLUDED.refunds_fen"
    ))
    .bind::<Timestamptz, _>(t0)
    .bind::<Timestamptz, _>(t1)
    .bind::<Nullable<Array<SqlUuid>>, _>(&all)
    .execute(conn)
}

/// Serialises sealing across instances (one hour at a time, in order).
const SEAL_LOCK: i64 = 0x7361_6c65_7364_6179; // "salesday"

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = BigInt)]
    gross: i64,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = BigInt)]
    refunds: i64,
}

impl GroupRow {
    fn figures(&self) -> Figures {
        Figures {
            gross: Fen(self.gross),
            orders: self.orders,
            units: self.units,
            refunds: Fen(self.refunds),
        }
    }
}

#[derive(QueryableByName)]
struct Instant {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Where the sealed facts end: the end of the last sealed hour.
fn watermark(conn: &mut PgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    Ok(
        diesel::sql_query("SELECT max(hour) + interval '1 hour' AS at FROM sales_hours")
            .get_result::<Instant>(conn)?
            .at,
    )
}

/// The sellers under the scope's roots (None: everyone).
fn sellers(conn: &mut PgConnection, scope: &Scope) -> QueryResult<Option<Vec<Uuid>>> {
    match scope {
        Scope::All => Ok(None),
        Scope::Subtrees(roots) => {
            let roots: Vec<Uuid> = roots.iter().map(|r| r.0).collect();
            let ids = diesel::sql_query(
                "WITH RECURSIVE t(id) AS (SELECT unnest($1::uuid[]) \
                 UNION SELECT o.id FROM organizations o JOIN t ON o.parent_id = t.id) \
                 SELECT id FROM t",
            )
            .bind::<Array<SqlUuid>, _>(roots)
            .load::<Id>(conn)?;
            Ok(Some(ids.into_iter().map(|i| i.id).collect()))
        }
    }
}

/// Key and label of a group, over rows `r` that carry `seller_id` and
/// `category_id`.
fn key_of(group: GroupBy) -> (&'static str, &'static str, &'static str) {
    match group {
        GroupBy::Seller => (
            "r.seller_id::text",
            "o.name",
            "JOIN organizations o ON o.id = r.seller_id",
        ),
        GroupBy::Region => (
            "left(o.region_code, 6)",
            "left(o.region_code, 6)",
            "JOIN organizations o ON o.id = r.seller_id",
        ),
        GroupBy::Category => (
            "r.category_id::text",
            "c.name",
            "JOIN categories c ON c.id = r.category_id",
        ),
    }
}

/// Figures by group: the rollup rows of days `days` (a seller row per
/// day, or a category row for `category`) and the facts of `live`.
fn grouped(
    conn: &mut PgConnection,
    days: (NaiveDate, NaiveDate),
    live: Option<(DateTime<Utc>, DateTime<Utc>)>,
    group: GroupBy,
    scope: &Option<Vec<Uuid>>,
) -> QueryResult<Vec<GroupRow>> {
    let (key, label, join) = key_of(group);
    let (table, filter) = match (group, scope) {
        // every seller: the category totals
        (GroupBy::Category, None) => ("sales_daily_category_totals", "$3::uuid[] IS NULL"),
        (GroupBy::Category, Some(_)) => (
            "sales_daily_categories",
            "($3::uuid[] IS NULL OR r.seller_id = ANY ($3))",
        ),
        _ => (
            "sales_daily_sellers",
            "($3::uuid[] IS NULL OR r.seller_id = ANY ($3))",
        ),
    };
    let sql = format!(
        "SELECT {key} AS key, min({label}) AS label, sum(r.gross_fen)::bigint AS gross, \
                sum(r.orders)::bigint AS orders, sum(r.units)::bigint AS units, \
                sum(r.refunds_fen)::bigint AS refunds \
           FROM {table} r {join} \
          WHERE r.day BETWEEN $1 AND $2 AND {filter} \
          GROUP BY 1"
    );
    let mut out = diesel::sql_query(sql)
        .bind::<Date, _>(days.0)
        .bind::<Date, _>(days.1)
        .bind::<Nullable<Array<SqlUuid>>, _>(scope)
        .load::<GroupRow>(conn)?;
    if let Some((t0, t1)) = live {
        let sql = format!(
            "SELECT {key} AS key, min({label}) AS label, sum(r.gross)::bigint AS gross, \
                    count(DISTINCT r.sale)::bigint AS orders, sum(r.units)::bigint AS units, \
                    sum(r.refunds)::bigint AS refunds \
               FROM ({FACTS}) r {join} GROUP BY 1"
        );
        out.extend(
            diesel::sql_query(sql)
                .bind::<Timestamptz, _>(t0)
                .bind::<Timestamptz, _>(t1)
                .bind::<Nullable<Array<SqlUuid>>, _>(scope)
                .load::<GroupRow>(conn)?,
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct ListingRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = SqlUuid)]
    seller_id: Uuid,
    #[diesel(sql_type = Text)]
    origin_region_code: String,
    #[diesel(sql_type = Int4)]
    stock: i32,
    #[diesel(sql_type = BigInt)]
    sold: i64,
}

impl SalesStore for PgSales {
    fn seal_through(
        &self,
        last: DateTime<Utc>,
        max_hours: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut sealed = 0;
        while sealed < max_hours {
            let done = conn.transaction::<_, DieselError, _>(|conn| {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SEAL_LOCK})"))
                    .execute(conn)?;
                let next = match watermark(conn)? {
                    Some(w) => w,
                    // nothing sealed yet: start at the first hour with a fact
                    None => {
                        let first = diesel::sql_query(
                            "SELECT date_trunc('hour', least( \
                               (SELECT min(occurred_at) FROM order_events \
                                 WHERE seller_order_id IS NOT NULL AND to_status IN ('paid', 'refunded')), \
                               (SELECT min(refunded_at) FROM refund_requests WHERE status = 'refunded') \
                             )) AS at",
                        )
                        .get_result::<Instant>(conn)?
                        .at;
                        match first {
                            Some(h) => h,
                            // no history yet: nothing to seal (history
                            // loaded later is sealed from its first hour)
                            None => return Ok(false),
                        }
                    }
                };
                if next > last {
                    return Ok(false);
                }
                diesel::sql_query("INSERT INTO sales_hours (hour, sealed_at) VALUES ($1, $2)")
                    .bind::<Timestamptz, _>(next)
                    .bind::<Timestamptz, _>(now)
                    .execute(conn)?;
                let end = next + Duration::hours(1);
                for (table, keys) in ROLLUPS {
                    add_hour(conn, table, keys, next, end)?;
                }
                Ok(true)
            })?;
            if !done {
                break;
            }
            sealed += 1;
        }
        Ok(sealed)
    }

    fn sales(
        &self,
        period: &Period,
        group: GroupBy,
        scope: &Scope,
    ) -> Result<(Vec<StoredRow>, Figures), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        // one snapshot: an hour sealed meanwhile is read once, from one side
        Ok(conn
            .build_transaction()
            .repeatable_read()
            .read_only()
            .run::<_, DieselError, _>(|conn| {
                let scope = sellers(conn, scope)?;
                let (t0, t1) = period.bounds();
                // the rollup holds the facts before the watermark; the rest is live
                let live_from = watermark(conn)?.map_or(t0, |w| w.max(t0));
                let live = (live_from < t1).then_some((live_from, t1));
                let days = (period.from, period.to);
                let rows = grouped(conn, days, live, group, &scope)?;
                let mut by_key: HashMap<String, (String, Figures)> = HashMap::new();
                for r in &rows {
                    let e = by_key
                        .entry(r.key.clone())
                        .or_insert_with(|| (r.label.clone(), Figures::default()));
                    e.1.add(&r.figures());
                }
                // totals count each seller order once: from the seller rows
                let totals_rows = if group == GroupBy::Category {
                    grouped(conn, days, live, GroupBy::Seller, &scope)?
                } else {
                    rows
                };
                let mut totals = Figures::default();
                for r in &totals_rows {
                    totals.add(&r.figures());
                }
                Ok((
                    by_key
                        .into_iter()
                        .map(|(k, (label, f))| (k, label, f))
                        .collect(),
                    totals,
                ))
            })?)
    }

    fn listing_sales(
        &self,
        region_prefix: Option<&str>,
        min_stock: i32,
        since: DateTime<Utc>,
        scope: &Scope,
    ) -> Result<Vec<ListingSales>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let scope = sellers(&mut conn, scope)?;
        let pattern = region_prefix.map(|p| format!("{p}%"));
        let rows = diesel::sql_query(
            "WITH candidates AS ( \
               SELECT l.id, l.title, l.seller_id, l.origin_region_code, l.stock FROM listings l \
                WHERE l.status = 'active' AND l.stock >= $1 \
                  AND ($2::text IS NULL OR l.origin_region_code LIKE $2) \
                  AND ($3::uuid[] IS NULL OR l.seller_id = ANY ($3))), \
             sold AS ( \
               SELECT i.listing_id, sum(i.quantity)::bigint AS q \
                 FROM order_events e JOIN order_items i ON i.seller_order_id = e.seller_order_id \
                WHERE e.seller_order_id IS NOT NULL AND e.to_status = 'paid' AND e.occurred_at >= $4 \
                  AND i.listing_id IN (SELECT id FROM candidates) \
                GROUP BY i.listing_id) \
             SELECT c.id, c.title, c.seller_id, c.origin_region_code, c.stock, coalesce(s.q, 0)::bigint AS sold \
               FROM candidates c LEFT JOIN sold s ON s.listing_id = c.id",
        )
        .bind::<Int4, _>(min_stock)
        .bind::<Nullable<Text>, _>(pattern)
        .bind::<Nullable<Array<SqlUuid>>, _>(&scope)
        .bind::<Timestamptz, _>(since)
        .load::<ListingRow>(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| ListingSales {
                listing_id: ListingId(r.id),
                title: r.title,
                seller_id: OrgId(r.seller_id),
                origin_region_code: r.origin_region_code,
                stock: r.stock,
                sold: r.sold,
            })
            .collect())
    }

    fn smc_staffed(&self, user: UserId) -> Result<Vec<OrgId>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let ids = diesel::sql_query(
            "SELECT o.id FROM organization_staff s JOIN organizations o ON o.id = s.organization_id \
              WHERE s.user_id = $1 AND o.kind IN ('supply_marketing_coop', 'grassroots_coop')",
        )
        .bind::<SqlUuid, _>(user.0)
        .load::<Id>(&mut conn)?;
        Ok(ids.into_iter().map(|i| OrgId(i.id)).collect())
    }
}
