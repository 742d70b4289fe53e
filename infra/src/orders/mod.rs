//! Postgres adapter of the orders context. Stock is taken with one
//! conditional UPDATE per listing inside the order's transaction:
//! `stock = stock - n WHERE stock >= n AND status = 'active'`, plus
//! `CHECK (stock >= 0)` in the schema, so no interleaving can oversell.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Integer, Text};
use domain::catalog::{ListingId, TierPrice};
use domain::coop::{MemberId, OrgId};
use domain::identity::{PartnerId, UserId};
use domain::money::Fen;
use domain::orders::*;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{
    idempotency_keys, listings, order_events, order_items, orders, payments, seller_orders,
};

mod checkout;
mod fulfilment;
mod group_buy;
mod payment;

pub(crate) use fulfilment::{lock_for_update, write_seller_change};

/// Hand-written SQL calls that Diesel keeps prepared per connection
/// (`sql_query` is parsed and planned again on every call): a static query
/// id (`$id`, declared here), the row type, and `load` / `get_result`.
macro_rules! prepared_call {
    ($call:ty, $id:ident, $row:ty) => {
        struct $id;

        impl diesel::query_builder::QueryId for $call {
            type QueryId = $id;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::query_builder::Query for $call {
            type SqlType = $row;
        }

        impl RunQueryDsl<PgConnection> for $call {}
    };
}

/// `SELECT place_order($1, …, $36)` (see the migration `delivery`): NULL
/// when the order was written, else why not.
struct PlaceOrder<'a> {
    need_ids: Vec<Uuid>,
    need_qty: Vec<i32>,
    id: Uuid,
    number: &'a str,
    buyer_user: Option<Uuid>,
    buyer_partner: Option<Uuid>,
    external_ref: Option<&'a str>,
    total: i64,
    delivery: serde_json::Value,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    event_id: Uuid,
    actor: String,
    so_ids: Vec<Uuid>,
    so_sellers: Vec<Uuid>,
    so_subtotals: Vec<i64>,
    so_freights: Vec<i64>,
    so_commissions: Vec<i64>,
    so_codes: Vec<Option<String>>,
    it_ids: Vec<Uuid>,
    it_sos: Vec<Uuid>,
    it_listings: Vec<Uuid>,
    it_titles: Vec<&'a str>,
    it_units: Vec<&'a str>,
    it_qty: Vec<i32>,
    it_prices: Vec<i64>,
    it_totals: Vec<i64>,
    it_bps: Vec<i32>,
    it_members: Vec<Option<Uuid>>,
    it_ships: Vec<Option<NaiveDate>>,
    it_traces: Vec<Option<&'a str>>,
    idem_scope: Option<&'a str>,
    idem_key: Option<&'a str>,
    idem_hash: Option<&'a str>,
    idem_expires: Option<DateTime<Utc>>,
    idem_status: i32,
    /// JSON text, cast to jsonb by the call.
    idem_body: &'a str,
}

prepared_call!(
    PlaceOrder<'_>,
    PlaceOrderId,
    diesel::sql_types::Nullable<diesel::sql_types::Jsonb>
);

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PlaceOrder<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Date, Int4, Int8, Jsonb, Nullable, Timestamptz, Uuid as U};
        out.push_sql("SELECT place_order(");
        macro_rules! args {
            ($first_t:ty => $first:expr $(, $t:ty => $e:expr)* $(,)?) => {
                out.push_bind_param::<$first_t, _>(&$first)?;
                $( out.push_sql(", "); out.push_bind_param::<$t, _>(&$e)?; )*
            };
        }
        args!(
            Array<U> => self.need_ids, Array<Int4> => self.need_qty,
            U => self.id, Text => self.number, Nullable<U> => self.buyer_user,
            Nullable<U> => self.buyer_partner, Nullable<Text> => self.external_ref,
            Int8 => self.total, Jsonb => self.delivery, Timestamptz => self.expires_at,
            Timestamptz => self.created_at, U => self.event_id, Text => self.actor,
            Array<U> => self.so_ids, Array<U> => self.so_sellers, Array<Int8> => self.so_subtotals,
            Array<Int8> => self.so_freights, Array<Int8> => self.so_commissions, Array<Nullable<Text>> => self.so_codes,
            Array<U> => self.it_ids, Array<U> => self.it_sos, Array<U> => self.it_listings,
            Array<Text> => self.it_titles, Array<Text> => self.it_units, Array<Int4> => self.it_qty,
            Array<Int8> => self.it_prices, Array<Int8> => self.it_totals, Array<Int4> => self.it_bps,
            Array<Nullable<U>> => self.it_members, Array<Nullable<Date>> => self.it_ships,
            Array<Nullable<Text>> => self.it_traces,
            Nullable<Text> => self.idem_scope, Nullable<Text> => self.idem_key,
            Nullable<Text> => self.idem_hash, Nullable<Timestamptz> => self.idem_expires,
            Int4 => self.idem_status, Text => *self.idem_body,
        );
        out.push_sql("::jsonb)");
        Ok(())
    }
}

/// `SELECT * FROM order_snapshots($1)`: what pricing needs of listings.
struct OrderSnapshots {
    ids: Vec<Uuid>,
}

#[derive(Queryable)]
struct SnapshotRow {
    id: Uuid,
    seller_id: Uuid,
    kind: String,
    title: String,
    unit_label: String,
    price_fen: i64,
    tier_prices: serde_json::Value,
    min_order_qty: i32,
    status: String,
    stock: i32,
    sale_mode: String,
    sale_terms: serde_json::Value,
    supplier_member_id: Option<Uuid>,
    unit_weight_grams: i32,
    storage: String,
    template_id: Option<Uuid>,
    template_spec: Option<serde_json::Value>,
    category_id: Uuid,
    root_category_id: Uuid,
    trace_batch_code: Option<String>,
}

prepared_call!(
    OrderSnapshots,
    OrderSnapshotsId,
    (
        diesel::sql_types::Uuid,
        diesel::sql_types::Uuid,
        Text,
        Text,
        Text,
        diesel::sql_types::Int8,
        diesel::sql_types::Jsonb,
        Integer,
        Text,
        Integer,
        Text,
        diesel::sql_types::Jsonb,
        diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
        Integer,
        Text,
        diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
        diesel::sql_types::Nullable<diesel::sql_types::Jsonb>,
        diesel::sql_types::Uuid,
        diesel::sql_types::Uuid,
        diesel::sql_types::Nullable<Text>,
    )
);

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for OrderSnapshots {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("SELECT * FROM order_snapshots(");
        out.push_bind_param::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The replay of a completed key's stored response (JSON text).
fn replay(status: Option<i64>, body: Option<String>) -> IdemBegin {
    IdemBegin::Replay {
        status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(201),
        body: body.unwrap_or_else(|| "{}".to_owned()),
    }
}

fn event(
    conn: &mut PgConnection,
    order: Uuid,
    seller_order: Option<Uuid>,
    from: Option<&str>,
    to: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    events(conn, order, &[seller_order], from, to, actor, at)
}

/// One history row per seller order (`None`: the order itself), all the
/// same transition, in one statement; ids in the given order.
fn events(
    conn: &mut PgConnection,
    order: Uuid,
    seller_orders: &[Option<Uuid>],
    from: Option<&str>,
    to: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let rows: Vec<_> = seller_orders
        .iter()
        .map(|so| {
            (
                order_events::id.eq(Uuid::now_v7()),
                order_events::order_id.eq(order),
                order_events::seller_order_id.eq(*so),
                order_events::from_status.eq(from),
                order_events::to_status.eq(to),
                order_events::actor.eq(actor),
                order_events::occurred_at.eq(at),
            )
        })
        .collect();
    diesel::insert_into(order_events::table)
        .values(&rows)
        .execute(conn)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = orders)]
struct OrderRow {
    id: Uuid,
    number: String,
    buyer_user_id: Option<Uuid>,
    buyer_partner_id: Option<Uuid>,
    external_ref: Option<String>,
    status: String,
    total_fen: i64,
    delivery: serde_json::Value,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = seller_orders)]
struct SellerOrderRow {
    id: Uuid,
    order_id: Uuid,
    seller_id: Uuid,
    status: String,
    subtotal_fen: i64,
    freight_fen: i64,
    commission_fen: i64,
    freight_refunded_fen: i64,
    carrier: Option<String>,
    tracking_no: Option<String>,
    pickup_code: Option<String>,
    updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = order_items)]
struct ItemRow {
    id: Uuid,
    seller_order_id: Uuid,
    listing_id: Uuid,
    title: String,
    unit_label: String,
    quantity: i32,
    unit_price_fen: i64,
    line_total_fen: i64,
    commission_bp: i32,
    supplier_member_id: Option<Uuid>,
    ship_from_date: Option<NaiveDate>,
    refunded_fen: i64,
    trace_batch_code: Option<String>,
}

impl ItemRow {
    fn into_domain(self) -> QueryResult<OrderItem> {
        Ok(OrderItem {
            id: self.id,
            seller_order_id: SellerOrderId(self.seller_order_id),
            item: PricedItem {
                listing_id: ListingId(self.listing_id),
                title: self.title,
                unit_label: self.unit_label,
                quantity: self.quantity,
                unit_price: Fen(self.unit_price_fen),
                line_total: Fen(self.line_total_fen),
                commission_bp: u32::try_from(self.commission_bp).map_err(bad)?,
                supplier_member_id: self.supplier_member_id.map(MemberId),
                ship_from: self.ship_from_date,
                trace_batch_code: self.trace_batch_code,
            },
            refunded: Fen(self.refunded_fen),
        })
    }
}

fn seller_orders_with_items(
    conn: &mut PgConnection,
    rows: Vec<SellerOrderRow>,
) -> QueryResult<Vec<SellerOrder>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let items: Vec<ItemRow> = order_items::table
        .filter(order_items::seller_order_id.eq_any(&ids))
        .select(ItemRow::as_select())
        .order(order_items::id.asc())
        .load(conn)?;
    let mut shipments = crate::delivery::load_shipments(conn, &ids)?;
    let mut by_so: HashMap<Uuid, Vec<OrderItem>> = HashMap::new();
    for i in items {
        by_so
            .entry(i.seller_order_id)
            .or_default()
            .push(i.into_domain()?);
    }
    rows.into_iter()
        .map(|r| {
            let items = by_so.remove(&r.id).unwrap_or_default();
            Ok(SellerOrder {
                refunded: items.iter().map(|i| i.refunded).sum::<Fen>()
                    + Fen(r.freight_refunded_fen),
                id: SellerOrderId(r.id),
                order_id: OrderId(r.order_id),
                seller_id: OrgId(r.seller_id),
                status: r.status.parse().map_err(bad)?,
                subtotal: Fen(r.subtotal_fen),
                freight: Fen(r.freight_fen),
                commission: Fen(r.commission_fen),
                carrier: r.carrier,
                tracking_no: r.tracking_no,
                pickup_code: r.pickup_code,
                items,
                shipments: shipments.remove(&SellerOrderId(r.id)).unwrap_or_default(),
                updated_at: r.updated_at,
            })
        })
        .collect()
}

fn load_orders(conn: &mut PgConnection, rows: Vec<OrderRow>) -> QueryResult<Vec<Order>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let so_rows: Vec<SellerOrderRow> = seller_orders::table
        .filter(seller_orders::order_id.eq_any(&ids))
        .select(SellerOrderRow::as_select())
        .order(seller_orders::id.asc())
        .load(conn)?;
    let mut by_order: HashMap<OrderId, Vec<SellerOrder>> = HashMap::new();
    for so in seller_orders_with_items(conn, so_rows)? {
        by_order.entry(so.order_id).or_default().push(so);
    }
    rows.into_iter()
        .map(|r| {
            let buyer = match (r.buyer_user_id, r.buyer_partner_id) {
                (Some(u), None) => Buyer::User(UserId(u)),
                (None, Some(p)) => Buyer::Partner(PartnerId(p)),
                _ => return Err(bad("order without a single buyer")),
            };
            Ok(Order {
                id: OrderId(r.id),
                number: r.number,
                buyer,
                external_ref: r.external_ref,
                status: r.status.parse().map_err(bad)?,
                total: Fen(r.total_fen),
                delivery: serde_json::from_value(r.delivery).map_err(bad)?,
                expires_at: r.expires_at,
                created_at: r.created_at,
                seller_orders: by_order.remove(&OrderId(r.id)).unwrap_or_default(),
            })
        })
        .collect()
}

fn find_order(conn: &mut PgConnection, id: OrderId) -> QueryResult<Option<Order>> {
    let rows: Vec<OrderRow> = orders::table
        .find(id.0)
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok(load_orders(conn, rows)?.pop())
}

/// Gives the stock of a pending order back and closes it as `to`.
fn close_pending(
    conn: &mut PgConnection,
    id: Uuid,
    to: OrderStatus,
    actor: &str,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ListingId>> {
    diesel::update(orders::table.find(id))
        .set(orders::status.eq(to.as_str()))
        .execute(conn)?;
    let sos: Vec<(Uuid, String)> = seller_orders::table
        .filter(seller_orders::order_id.eq(id))
        .select((seller_orders::id, seller_orders::status))
        .load(conn)?;
    for (so, from) in &sos {
        diesel::update(seller_orders::table.find(so))
            .set(seller_orders::status.eq("cancelled"))
            .execute(conn)?;
        event(conn, id, Some(*so), Some(from), "cancelled", actor, now)?;
    }
    event(
        conn,
        id,
        None,
        Some("pending_payment"),
        to.as_str(),
        actor,
        now,
    )?;
    let items: Vec<(Uuid, i32)> = order_items::table
        .filter(order_items::order_id.eq(id))
        .select((order_items::listing_id, order_items::quantity))
        .load(conn)?;
    restock(conn, &items)
}

/// Returns units to listings (sold_out listings become active again).
fn restock(conn: &mut PgConnection, items: &[(Uuid, i32)]) -> QueryResult<Vec<ListingId>> {
    let mut per_listing: BTreeMap<Uuid, i32> = BTreeMap::new();
    for (l, q) in items {
        *per_listing.entry(*l).or_insert(0) += q;
    }
    for (listing, qty) in &per_listing {
        diesel::sql_query(
            "UPDATE listings SET stock = stock + $2, version = version + 1,
                    status = CASE WHEN status = 'sold_out' THEN 'active' ELSE status END
             WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(listing)
        .bind::<Integer, _>(qty)
        .execute(conn)?;
    }
    Ok(per_listing.into_keys().map(ListingId).collect())
}

pub struct PgOrderRepository {
    pub pool: PgPool,
}
