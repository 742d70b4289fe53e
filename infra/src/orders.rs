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

/// `SELECT place_order($1, …, $35)` (see the migration
/// `single_call_orders`): NULL when the order was written, else why not.
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
            Array<Int8> => self.so_commissions, Array<Nullable<Text>> => self.so_codes,
            Array<U> => self.it_ids, Array<U> => self.it_sos, Array<U> => self.it_listings,
            Array<Text> => self.it_titles, Array<Text> => self.it_units, Array<Int4> => self.it_qty,
            Array<Int8> => self.it_prices, Array<Int8> => self.it_totals, Array<Int4> => self.it_bps,
            Array<Nullable<U>> => self.it_members, Array<Nullable<Date>> => self.it_ships,
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
    diesel::insert_into(order_events::table)
        .values((
            order_events::id.eq(Uuid::now_v7()),
            order_events::order_id.eq(order),
            order_events::seller_order_id.eq(seller_order),
            order_events::from_status.eq(from),
            order_events::to_status.eq(to),
            order_events::actor.eq(actor),
            order_events::occurred_at.eq(at),
        ))
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
    commission_fen: i64,
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
            },
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
    let mut by_so: HashMap<Uuid, Vec<OrderItem>> = HashMap::new();
    for i in items {
        by_so
            .entry(i.seller_order_id)
            .or_default()
            .push(i.into_domain()?);
    }
    rows.into_iter()
        .map(|r| {
            Ok(SellerOrder {
                id: SellerOrderId(r.id),
                order_id: OrderId(r.order_id),
                seller_id: OrgId(r.seller_id),
                status: r.status.parse().map_err(bad)?,
                subtotal: Fen(r.subtotal_fen),
                commission: Fen(r.commission_fen),
                carrier: r.carrier,
                tracking_no: r.tracking_no,
                pickup_code: r.pickup_code,
                items: by_so.remove(&r.id).unwrap_or_default(),
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

/// Writes what [`decide_seller_change`] decided, nothing more: the status
/// and its event, shipping, delivery time, the restock of a refund, and the
/// order's roll-up with its event. Returns the listings restocked.
fn write_seller_change(
    conn: &mut PgConnection,
    id: SellerOrderId,
    order_id: Uuid,
    change: &SellerChange,
    actor: &str,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ListingId>> {
    let target = seller_orders::table.find(id.0);
    diesel::update(target)
        .set(seller_orders::status.eq(change.to.as_str()))
        .execute(conn)?;
    if let Some((carrier, tracking_no)) = &change.shipping {
        diesel::update(target)
            .set((
                seller_orders::carrier.eq(carrier),
                seller_orders::tracking_no.eq(tracking_no),
            ))
            .execute(conn)?;
    }
    if let Some(at) = change.delivered_at {
        diesel::update(target)
            .set(seller_orders::delivered_at.eq(at))
            .execute(conn)?;
    }
    event(
        conn,
        order_id,
        Some(id.0),
        Some(change.from.as_str()),
        change.to.as_str(),
        actor,
        now,
    )?;
    let restock_items: Vec<(Uuid, i32)> = change.restock.iter().map(|(l, q)| (l.0, *q)).collect();
    let restocked = if restock_items.is_empty() {
        Vec::new()
    } else {
        restock(conn, &restock_items)?
    };
    if let Some((from, to)) = change.order_status {
        diesel::update(orders::table.find(order_id))
            .set(orders::status.eq(to.as_str()))
            .execute(conn)?;
        event(
            conn,
            order_id,
            None,
            Some(from.as_str()),
            to.as_str(),
            actor,
            now,
        )?;
    }
    Ok(restocked)
}

/// Writes a whole order with one call of `place_order` (migration
/// 2026-11-24-000005): the stock update of every listing, the order, its
/// first event, seller orders, items, and the completion of the idempotency
/// claim, atomically. A listing that is not active gets stock −1, so
/// `CHECK (stock >= 0)` aborts the call — nothing is written — exactly like
/// a listing without enough stock.
fn write_order(
    conn: &mut PgConnection,
    new: &NewOrder,
    order: &Order,
    idem: Option<IdemClaim<'_>>,
    status: u16,
    body: &str,
) -> QueryResult<Option<IdemBegin>> {
    let (need_ids, need_qty): (Vec<Uuid>, Vec<i32>) = new
        .priced
        .stock_needs
        .iter()
        .map(|(l, q)| (l.0, *q))
        .unzip();
    let (user, partner) = match new.buyer {
        Buyer::User(u) => (Some(u.0), None),
        Buyer::Partner(p) => (None, Some(p.0)),
    };
    let sos = &order.seller_orders;
    let items: Vec<&OrderItem> = sos.iter().flat_map(|s| s.items.iter()).collect();
    let call = PlaceOrder {
        need_ids,
        need_qty,
        id: new.id.0,
        number: &new.number,
        buyer_user: user,
        buyer_partner: partner,
        external_ref: new.external_ref.as_deref(),
        total: new.priced.total.0,
        delivery: serde_json::to_value(&new.delivery).map_err(bad)?,
        expires_at: new.expires_at,
        created_at: new.created_at,
        event_id: Uuid::now_v7(),
        actor: new.buyer.scope(),
        so_ids: sos.iter().map(|s| s.id.0).collect(),
        so_sellers: sos.iter().map(|s| s.seller_id.0).collect(),
        so_subtotals: sos.iter().map(|s| s.subtotal.0).collect(),
        so_commissions: sos.iter().map(|s| s.commission.0).collect(),
        so_codes: sos.iter().map(|s| s.pickup_code.clone()).collect(),
        it_ids: items.iter().map(|i| i.id).collect(),
        it_sos: items.iter().map(|i| i.seller_order_id.0).collect(),
        it_listings: items.iter().map(|i| i.item.listing_id.0).collect(),
        it_titles: items.iter().map(|i| i.item.title.as_str()).collect(),
        it_units: items.iter().map(|i| i.item.unit_label.as_str()).collect(),
        it_qty: items.iter().map(|i| i.item.quantity).collect(),
        it_prices: items.iter().map(|i| i.item.unit_price.0).collect(),
        it_totals: items.iter().map(|i| i.item.line_total.0).collect(),
        it_bps: items
            .iter()
            .map(|i| i32::try_from(i.item.commission_bp).map_err(bad))
            .collect::<QueryResult<_>>()?,
        it_members: items
            .iter()
            .map(|i| i.item.supplier_member_id.map(|m| m.0))
            .collect(),
        it_ships: items.iter().map(|i| i.item.ship_from).collect(),
        idem_scope: idem.map(|c| c.scope),
        idem_key: idem.map(|c| c.key),
        idem_hash: idem.map(|c| c.hash),
        idem_expires: idem.map(|c| c.expires_at),
        idem_status: i32::from(status),
        idem_body: body,
    };
    let taken: Option<serde_json::Value> = call.get_result(conn)?;
    Ok(taken.map(|t| match t["outcome"].as_str() {
        Some("replay") => replay(t["status"].as_i64(), t["body"].as_str().map(str::to_owned)),
        Some("mismatch") => IdemBegin::Mismatch,
        _ => IdemBegin::InFlight,
    }))
}

/// After the stock check aborted an order: which listing was it?
fn diagnose(
    conn: &mut PgConnection,
    needs: &BTreeMap<ListingId, i32>,
) -> QueryResult<CreateOutcome> {
    let ids: Vec<Uuid> = needs.keys().map(|l| l.0).collect();
    let rows: Vec<(Uuid, String, i32)> = listings::table
        .filter(listings::id.eq_any(ids))
        .select((listings::id, listings::status, listings::stock))
        .order(listings::id.asc())
        .load(conn)?;
    for (id, status, stock) in &rows {
        if status != "active" && status != "sold_out" {
            return Ok(CreateOutcome::Unavailable(ListingId(*id)));
        }
        if needs.get(&ListingId(*id)).is_some_and(|n| stock < n) || status == "sold_out" {
            return Ok(CreateOutcome::OutOfStock(ListingId(*id)));
        }
    }
    // Stock came back meanwhile; report the first listing.
    Ok(CreateOutcome::OutOfStock(ListingId(
        rows.first().map(|r| r.0).unwrap_or_default(),
    )))
}

pub struct PgOrderRepository {
    pub pool: PgPool,
}

impl OrderRepository for PgOrderRepository {
    fn snapshots(&self, ids: &[ListingId]) -> Result<HashMap<ListingId, ListingSnapshot>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<SnapshotRow> = OrderSnapshots {
            ids: ids.iter().map(|i| i.0).collect(),
        }
        .load(&mut conn)?;
        drop(conn);
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let id = ListingId(r.id);
            out.insert(
                id,
                ListingSnapshot {
                    id,
                    seller_id: OrgId(r.seller_id),
                    seller_kind: r.kind.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                    title: r.title,
                    unit_label: r.unit_label,
                    price: Fen(r.price_fen),
                    tiers: serde_json::from_value::<Vec<TierPrice>>(r.tier_prices)?,
                    min_order_qty: r.min_order_qty,
                    status: r.status.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                    stock: r.stock,
                    sale: crate::catalog::decode_sale_terms(&r.sale_mode, r.sale_terms)?,
                    supplier_member_id: r.supplier_member_id.map(MemberId),
                },
            );
        }
        Ok(out)
    }

    fn key_state(&self, claim: IdemClaim<'_>, now: DateTime<Utc>) -> Result<IdemBegin, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let stored: Option<(String, Option<i32>, Option<String>)> = idempotency_keys::table
            .find((claim.scope, claim.key))
            .filter(idempotency_keys::status.eq("completed"))
            .filter(idempotency_keys::expires_at.gt(now))
            .select((
                idempotency_keys::request_hash,
                idempotency_keys::response_status,
                diesel::dsl::sql::<diesel::sql_types::Nullable<Text>>("response_body::text"),
            ))
            .first(&mut conn)
            .optional()?;
        Ok(match stored {
            None => IdemBegin::Started,
            Some((hash, _, _)) if hash != claim.hash => IdemBegin::Mismatch,
            Some((_, status, body)) => replay(status.map(i64::from), body),
        })
    }

    fn create(
        &self,
        new: &NewOrder,
        order: &Order,
        idem: Option<IdemClaim<'_>>,
        response: (u16, &str),
    ) -> Result<CreateOutcome, Unknown> {
        let (status, body) = response;
        let mut conn = get_conn(&self.pool)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match write_order(&mut conn, new, order, idem, status, body) {
                Ok(None) => return Ok(CreateOutcome::Created),
                Ok(Some(taken)) => return Ok(CreateOutcome::KeyTaken(taken)),
                Err(DieselError::DatabaseError(kind, info)) => {
                    let constraint = info.constraint_name().unwrap_or_default().to_owned();
                    let message = info.message().to_owned();
                    match kind {
                        DatabaseErrorKind::CheckViolation
                            if constraint == "listings_stock_check" =>
                        {
                            return Ok(diagnose(&mut conn, &new.priced.stock_needs)?);
                        }
                        DatabaseErrorKind::UniqueViolation
                            if constraint == "orders_partner_ref" =>
                        {
                            return Ok(CreateOutcome::DuplicateExternalRef);
                        }
                        // Two multi-listing orders locked rows in opposite orders:
                        // Postgres aborted one; it is safe to run it again.
                        _ if message.contains("deadlock detected") && attempt < 3 => continue,
                        // Keep the typed error: a lost connection must still
                        // read as one (503), not as a bug (500).
                        _ => {
                            return Err(anyhow::Error::from(DieselError::DatabaseError(kind, info))
                                .context("writing order"))
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn find(&self, id: OrderId) -> Result<Option<Order>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(find_order(&mut conn, id)?)
    }

    fn list_for_buyer(
        &self,
        buyer: Buyer,
        after: Option<OrderId>,
        limit: i64,
    ) -> Result<Vec<Order>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = orders::table.select(OrderRow::as_select()).into_boxed();
        q = match buyer {
            Buyer::User(u) => q.filter(orders::buyer_user_id.eq(u.0)),
            Buyer::Partner(p) => q.filter(orders::buyer_partner_id.eq(p.0)),
        };
        if let Some(a) = after {
            q = q.filter(orders::id.lt(a.0));
        }
        let rows = q.order(orders::id.desc()).limit(limit).load(&mut conn)?;
        Ok(load_orders(&mut conn, rows)?)
    }

    fn list_seller_orders(
        &self,
        seller: OrgId,
        status: Option<SellerOrderStatus>,
        after: Option<SellerOrderId>,
        limit: i64,
    ) -> Result<Vec<SellerOrder>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = seller_orders::table
            .filter(seller_orders::seller_id.eq(seller.0))
            .select(SellerOrderRow::as_select())
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(seller_orders::status.eq(s.as_str()));
        }
        if let Some(a) = after {
            q = q.filter(seller_orders::id.lt(a.0));
        }
        let rows = q
            .order(seller_orders::id.desc())
            .limit(limit)
            .load(&mut conn)?;
        Ok(seller_orders_with_items(&mut conn, rows)?)
    }

    fn find_seller_order(&self, id: SellerOrderId) -> Result<Option<SellerOrder>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows = seller_orders::table
            .find(id.0)
            .select(SellerOrderRow::as_select())
            .load(&mut conn)?;
        Ok(seller_orders_with_items(&mut conn, rows)?.pop())
    }

    fn events(&self, order: OrderId) -> Result<Vec<OrderEvent>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<(Option<Uuid>, Option<String>, String, String, DateTime<Utc>)> =
            order_events::table
                .filter(order_events::order_id.eq(order.0))
                .select((
                    order_events::seller_order_id,
                    order_events::from_status,
                    order_events::to_status,
                    order_events::actor,
                    order_events::occurred_at,
                ))
                .order(order_events::id.asc())
                .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(so, from, to, actor, at)| OrderEvent {
                seller_order_id: so.map(SellerOrderId),
                from_status: from,
                to_status: to,
                actor,
                occurred_at: at,
            })
            .collect())
    }

    fn cancel(
        &self,
        id: OrderId,
        to: OrderStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let status: Option<String> = orders::table
                .find(id.0)
                .select(orders::status)
                .for_update()
                .first(conn)
                .optional()?;
            let Some(status) = status else {
                return Ok(CancelOutcome::NotFound);
            };
            let status: OrderStatus = status.parse().map_err(bad)?;
            if status != OrderStatus::PendingPayment {
                return Ok(CancelOutcome::Invalid(status));
            }
            let restocked = close_pending(conn, id.0, to, actor, now)?;
            Ok(CancelOutcome::Cancelled { restocked })
        })?)
    }

    fn expire_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(OrderId, Vec<ListingId>)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let due: Vec<Uuid> = orders::table
                .filter(orders::status.eq("pending_payment"))
                .filter(orders::expires_at.le(now))
                .order(orders::expires_at.asc())
                .limit(limit)
                .select(orders::id)
                .for_update()
                .skip_locked()
                .load(conn)?;
            let mut out = Vec::with_capacity(due.len());
            for id in due {
                let restocked =
                    close_pending(conn, id, OrderStatus::Expired, "system:expiry", now)?;
                out.push((OrderId(id), restocked));
            }
            Ok(out)
        })?)
    }

    fn transition(
        &self,
        id: SellerOrderId,
        decide: DecideSeller<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SellerTransition, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let order_id: Option<Uuid> = seller_orders::table
                .find(id.0)
                .select(seller_orders::order_id)
                .first(conn)
                .optional()?;
            let Some(order_id) = order_id else {
                return Ok(SellerTransition::NotFound);
            };
            // Lock order first, then seller order: one lock order everywhere.
            let order_status: String = orders::table
                .find(order_id)
                .select(orders::status)
                .for_update()
                .first(conn)?;
            let (status, pickup_code): (String, Option<String>) = seller_orders::table
                .find(id.0)
                .select((seller_orders::status, seller_orders::pickup_code))
                .for_update()
                .first(conn)?;
            let siblings: Vec<String> = seller_orders::table
                .filter(seller_orders::order_id.eq(order_id))
                .filter(seller_orders::id.ne(id.0))
                .select(seller_orders::status)
                .load(conn)?;
            let items: Vec<(Uuid, i32)> = order_items::table
                .filter(order_items::seller_order_id.eq(id.0))
                .select((order_items::listing_id, order_items::quantity))
                .load(conn)?;
            let state = SellerOrderForUpdate {
                order_id: OrderId(order_id),
                order_status: order_status.parse().map_err(bad)?,
                status: status.parse().map_err(bad)?,
                pickup_code,
                siblings: siblings
                    .iter()
                    .map(|s| s.parse().map_err(bad))
                    .collect::<Result<_, _>>()?,
                items: items.iter().map(|(l, q)| (ListingId(*l), *q)).collect(),
            };
            let change = match decide(&state) {
                Ok(c) => c,
                Err(refusal) => return Ok(SellerTransition::Refused(refusal)),
            };
            let restocked = write_seller_change(conn, id, order_id, &change, actor, now)?;
            let rows = seller_orders::table
                .find(id.0)
                .select(SellerOrderRow::as_select())
                .load(conn)?;
            let so = seller_orders_with_items(conn, rows)?
                .pop()
                .ok_or(DieselError::NotFound)?;
            Ok(SellerTransition::Done {
                seller_order: Box::new(so),
                order_status: change.order_status.map_or(state.order_status, |(_, to)| to),
                restocked,
            })
        })?)
    }

    fn delivered_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SellerOrderId>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let ids: Vec<Uuid> = seller_orders::table
            .filter(seller_orders::status.eq("delivered"))
            .filter(seller_orders::delivered_at.le(cutoff))
            .select(seller_orders::id)
            .limit(limit)
            .load(&mut conn)?;
        Ok(ids.into_iter().map(SellerOrderId).collect())
    }

    fn create_payment(
        &self,
        order: OrderId,
        provider: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentStart, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let row: Option<(String, i64)> = orders::table
                .find(order.0)
                .select((orders::status, orders::total_fen))
                .for_update()
                .first(conn)
                .optional()?;
            let Some((status, total)) = row else {
                return Ok(PaymentStart::NotFound);
            };
            let status: OrderStatus = status.parse().map_err(bad)?;
            if status != OrderStatus::PendingPayment {
                return Ok(PaymentStart::NotPayable(status));
            }
            let id = PaymentId::new();
            diesel::insert_into(payments::table)
                .values((
                    payments::id.eq(id.0),
                    payments::order_id.eq(order.0),
                    payments::amount_fen.eq(total),
                    payments::provider.eq(provider),
                    payments::status.eq("pending"),
                    payments::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(PaymentStart::Created(Payment {
                id,
                order_id: order,
                amount: Fen(total),
                provider: provider.to_owned(),
                status: PaymentStatus::Pending,
                created_at: now,
            }))
        })?)
    }

    fn find_payment(&self, id: PaymentId) -> Result<Option<Payment>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(Uuid, i64, String, String, DateTime<Utc>)> = payments::table
            .find(id.0)
            .select((
                payments::order_id,
                payments::amount_fen,
                payments::provider,
                payments::status,
                payments::created_at,
            ))
            .first(&mut conn)
            .optional()?;
        row.map(|(order, amount, provider, status, created_at)| {
            Ok(Payment {
                id,
                order_id: OrderId(order),
                amount: Fen(amount),
                provider,
                status: status.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                created_at,
            })
        })
        .transpose()
    }

    fn apply_payment(
        &self,
        id: PaymentId,
        succeeded: bool,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<PaymentApplied, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let row: Option<(Uuid, i64, String, String, DateTime<Utc>)> = payments::table
                .find(id.0)
                .select((
                    payments::order_id,
                    payments::amount_fen,
                    payments::provider,
                    payments::status,
                    payments::created_at,
                ))
                .first(conn)
                .optional()?;
            let Some((order_id, expected, provider, _, created_at)) = row else {
                return Ok(PaymentApplied::NotFound);
            };
            // Lock order first, then payment: the same order as elsewhere.
            let (order_status, expires_at): (String, DateTime<Utc>) = orders::table
                .find(order_id)
                .select((orders::status, orders::expires_at))
                .for_update()
                .first(conn)?;
            let status: String = payments::table
                .find(id.0)
                .select(payments::status)
                .for_update()
                .first(conn)?;
            if expected != amount {
                return Ok(PaymentApplied::AmountMismatch);
            }
            if status != "pending" {
                return Ok(PaymentApplied::AlreadyProcessed);
            }
            if !succeeded {
                diesel::update(payments::table.find(id.0))
                    .set(payments::status.eq("failed"))
                    .execute(conn)?;
                return Ok(PaymentApplied::Failed);
            }
            diesel::update(payments::table.find(id.0))
                .set(payments::status.eq("succeeded"))
                .execute(conn)?;
            let payment = Payment {
                id,
                order_id: OrderId(order_id),
                amount: Fen(expected),
                provider,
                status: PaymentStatus::Succeeded,
                created_at,
            };
            let mut order_status: OrderStatus = order_status.parse().map_err(bad)?;
            if order_status == OrderStatus::PendingPayment && expires_at <= now {
                close_pending(conn, order_id, OrderStatus::Expired, "system:expiry", now)?;
                order_status = OrderStatus::Expired;
            }
            if order_status != OrderStatus::PendingPayment {
                return Ok(PaymentApplied::RefundDue(payment));
            }
            diesel::update(orders::table.find(order_id))
                .set(orders::status.eq("paid"))
                .execute(conn)?;
            event(
                conn,
                order_id,
                None,
                Some("pending_payment"),
                "paid",
                "provider",
                now,
            )?;
            let sos: Vec<Uuid> = seller_orders::table
                .filter(seller_orders::order_id.eq(order_id))
                .select(seller_orders::id)
                .load(conn)?;
            for so in sos {
                diesel::update(seller_orders::table.find(so))
                    .set(seller_orders::status.eq("paid"))
                    .execute(conn)?;
                event(
                    conn,
                    order_id,
                    Some(so),
                    Some("pending_payment"),
                    "paid",
                    "provider",
                    now,
                )?;
            }
            Ok(PaymentApplied::Paid)
        })?)
    }

    fn count_sales(&self, limit: i64) -> Result<Vec<ListingId>, Unknown> {
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Counted> = diesel::sql_query("SELECT id FROM count_sales($1) AS id")
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|r| ListingId(r.id)).collect())
    }

    fn purge_keys(&self, now: DateTime<Utc>, limit: i64) -> Result<usize, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(diesel::sql_query(
            "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2))",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .execute(&mut conn)?)
    }

    fn mark_refunded(&self, id: PaymentId) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        diesel::update(payments::table.find(id.0))
            .set(payments::status.eq("refunded"))
            .execute(&mut conn)?;
        Ok(())
    }
}
