//! Seller orders: reads for the seller and the state changes the domain
//! decides ([`decide_seller_change`]).

use super::*;

impl FulfilmentStore for PgOrderRepository {
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

    fn transition(
        &self,
        id: SellerOrderId,
        decide: DecideSeller<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SellerTransition, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let Some(state) = lock_for_update(conn, id)? else {
                return Ok(SellerTransition::NotFound);
            };
            let order_id = state.order_id.0;
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
}

/// Loads a seller order for a change, locking its order and then it (one
/// lock order everywhere), with what the rules need: its order's status and
/// delivery, its siblings' statuses, its items with the units shipped so far.
pub(crate) fn lock_for_update(
    conn: &mut PgConnection,
    id: SellerOrderId,
) -> QueryResult<Option<SellerOrderForUpdate>> {
    let order_id: Option<Uuid> = seller_orders::table
        .find(id.0)
        .select(seller_orders::order_id)
        .first(conn)
        .optional()?;
    let Some(order_id) = order_id else {
        return Ok(None);
    };
    let (order_status, delivery): (String, serde_json::Value) = orders::table
        .find(order_id)
        .select((orders::status, orders::delivery))
        .for_update()
        .first(conn)?;
    let (status, pickup_code, seller, subtotal, freight, commission, held, held_commission): (
        String,
        Option<String>,
        Uuid,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = seller_orders::table
        .find(id.0)
        .select((
            seller_orders::status,
            seller_orders::pickup_code,
            seller_orders::seller_id,
            seller_orders::subtotal_fen,
            seller_orders::freight_fen,
            seller_orders::commission_fen,
            seller_orders::held_refunded_fen,
            seller_orders::held_commission_returned_fen,
        ))
        .for_update()
        .first(conn)?;
    let siblings: Vec<String> = seller_orders::table
        .filter(seller_orders::order_id.eq(order_id))
        .filter(seller_orders::id.ne(id.0))
        .select(seller_orders::status)
        .load(conn)?;
    let items: Vec<(Uuid, Uuid, i32, String)> = order_items::table
        .inner_join(listings::table)
        .filter(order_items::seller_order_id.eq(id.0))
        .select((
            order_items::id,
            order_items::listing_id,
            order_items::quantity,
            listings::storage,
        ))
        .order(order_items::id.asc())
        .load(conn)?;
    let shipped = crate::delivery::shipped_units(conn, id)?;
    let delivery: Delivery = serde_json::from_value(delivery).map_err(bad)?;
    Ok(Some(SellerOrderForUpdate {
        id,
        seller_id: OrgId(seller),
        subtotal: Fen(subtotal),
        freight: Fen(freight),
        commission: Fen(commission),
        held_refunded: Fen(held),
        held_commission_returned: Fen(held_commission),
        order_id: OrderId(order_id),
        order_status: order_status.parse().map_err(bad)?,
        status: status.parse().map_err(bad)?,
        pickup_code,
        siblings: siblings
            .iter()
            .map(|s| s.parse().map_err(bad))
            .collect::<Result<_, _>>()?,
        items: items
            .into_iter()
            .map(|(item, listing, quantity, storage)| ItemState {
                id: item,
                listing_id: ListingId(listing),
                quantity,
                shipped: shipped.get(&item).copied().unwrap_or(0),
                cold_chain: storage != "ambient",
            })
            .collect(),
        station: match delivery {
            Delivery::StationPickup { station_id } => Some(station_id),
            Delivery::HomeDelivery { .. } => None,
        },
    }))
}

/// Writes what [`decide_seller_change`] decided, nothing more: the status
/// and its event (when it changes), shipping, a new shipment, delivery
/// time, the restock of a refund, and the order's roll-up with its event.
/// Returns the listings restocked.
pub(crate) fn write_seller_change(
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
    if let Some(shipment) = &change.shipment {
        crate::delivery::insert_shipment(conn, shipment, actor)?;
    }
    if let Some((carrier, tracking_no)) = &change.shipping {
        diesel::update(target)
            .set((
                seller_orders::carrier.eq(carrier),
                seller_orders::tracking_no.eq(tracking_no),
            ))
            .execute(conn)?;
    }
    if change.to == SellerOrderStatus::Completed && change.from != change.to {
        diesel::update(target)
            .set(seller_orders::completed_at.eq(now))
            .execute(conn)?;
    }
    if let Some(at) = change.delivered_at {
        diesel::update(target)
            .set(seller_orders::delivered_at.eq(at))
            .execute(conn)?;
    }
    if change.from != change.to {
        event(
            conn,
            order_id,
            Some(id.0),
            Some(change.from.as_str()),
            change.to.as_str(),
            actor,
            now,
        )?;
    }
    let restock_items: Vec<(Uuid, i32)> = change.restock.iter().map(|(l, q)| (l.0, *q)).collect();
    let restocked = if restock_items.is_empty() {
        Vec::new()
    } else {
        restock(conn, &restock_items)?
    };
    if let Some(entry) = &change.entry {
        crate::ledger::post_entry(conn, entry, now)?;
    }
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
