//! Shipments and their steps. A shipment is written by the seller-order
//! transition that creates it (`orders::write_seller_change`); steps are
//! written here, under the seller order's locks.

use super::*;
use crate::schema::{orders, seller_orders};
use domain::orders::{Buyer, OrderId};

#[derive(Queryable, Selectable)]
#[diesel(table_name = shipments)]
struct ShipmentRow {
    id: Uuid,
    seller_order_id: Uuid,
    carrier: String,
    tracking_no: String,
    route_org_ids: Vec<Option<Uuid>>,
    cold_chain: bool,
    created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = shipment_events)]
struct EventRow {
    id: Uuid,
    shipment_id: Uuid,
    type_: String,
    occurred_at: DateTime<Utc>,
    utc_offset_seconds: i32,
    region_code: String,
    place: String,
    temperature_dc: Option<i32>,
    organization_id: Uuid,
    recorded_at: DateTime<Utc>,
}

impl EventRow {
    fn into_domain(self) -> QueryResult<ShipmentEvent> {
        let offset = FixedOffset::east_opt(self.utc_offset_seconds)
            .ok_or_else(|| bad("utc offset out of range"))?;
        Ok(ShipmentEvent {
            id: self.id,
            kind: self.type_.parse().map_err(bad)?,
            occurred_at: self.occurred_at.with_timezone(&offset),
            region_code: self.region_code,
            place: self.place,
            temperature_dc: self.temperature_dc,
            organization_id: OrgId(self.organization_id),
            recorded_at: self.recorded_at,
        })
    }
}

/// The shipments of these seller orders, with items and steps (in the
/// order they happened), by seller order.
pub(crate) fn load_shipments(
    conn: &mut PgConnection,
    seller_orders: &[Uuid],
) -> QueryResult<HashMap<SellerOrderId, Vec<Shipment>>> {
    let rows: Vec<ShipmentRow> = shipments::table
        .filter(shipments::seller_order_id.eq_any(seller_orders))
        .select(ShipmentRow::as_select())
        .order(shipments::id.asc())
        .load(conn)?;
    let mut out: HashMap<SellerOrderId, Vec<Shipment>> = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let items: Vec<(Uuid, Uuid, i32)> = shipment_items::table
        .filter(shipment_items::shipment_id.eq_any(&ids))
        .select((
            shipment_items::shipment_id,
            shipment_items::order_item_id,
            shipment_items::quantity,
        ))
        .order((shipment_items::shipment_id, shipment_items::order_item_id))
        .load(conn)?;
    let events: Vec<EventRow> = shipment_events::table
        .filter(shipment_events::shipment_id.eq_any(&ids))
        .select(EventRow::as_select())
        .order((
            shipment_events::occurred_at.asc(),
            shipment_events::id.asc(),
        ))
        .load(conn)?;
    let mut items_of: HashMap<Uuid, Vec<ShipmentItem>> = HashMap::new();
    for (s, item, quantity) in items {
        items_of.entry(s).or_default().push(ShipmentItem {
            order_item_id: item,
            quantity,
        });
    }
    let mut events_of: HashMap<Uuid, Vec<ShipmentEvent>> = HashMap::new();
    for e in events {
        events_of
            .entry(e.shipment_id)
            .or_default()
            .push(e.into_domain()?);
    }
    for r in rows {
        let mut shipment = Shipment {
            id: ShipmentId(r.id),
            seller_order_id: SellerOrderId(r.seller_order_id),
            carrier: r.carrier,
            tracking_no: r.tracking_no,
            items: items_of.remove(&r.id).unwrap_or_default(),
            route: r.route_org_ids.into_iter().flatten().map(OrgId).collect(),
            cold_chain: r.cold_chain,
            created_at: r.created_at,
            events: events_of.remove(&r.id).unwrap_or_default(),
        };
        shipment.sort_events();
        out.entry(shipment.seller_order_id)
            .or_default()
            .push(shipment);
    }
    Ok(out)
}

/// Units of each order item already in a shipment of this seller order.
pub(crate) fn shipped_units(
    conn: &mut PgConnection,
    seller_order: SellerOrderId,
) -> QueryResult<HashMap<Uuid, i32>> {
    let rows: Vec<(Uuid, i32)> = shipment_items::table
        .inner_join(shipments::table)
        .filter(shipments::seller_order_id.eq(seller_order.0))
        .select((shipment_items::order_item_id, shipment_items::quantity))
        .load(conn)?;
    let mut out = HashMap::new();
    for (item, q) in rows {
        *out.entry(item).or_insert(0) += q;
    }
    Ok(out)
}

/// Writes a new shipment and its items.
pub(crate) fn insert_shipment(
    conn: &mut PgConnection,
    s: &Shipment,
    actor: &str,
) -> QueryResult<()> {
    diesel::insert_into(shipments::table)
        .values((
            shipments::id.eq(s.id.0),
            shipments::seller_order_id.eq(s.seller_order_id.0),
            shipments::carrier.eq(&s.carrier),
            shipments::tracking_no.eq(&s.tracking_no),
            shipments::route_org_ids.eq(s.route.iter().map(|o| Some(o.0)).collect::<Vec<_>>()),
            shipments::cold_chain.eq(s.cold_chain),
            shipments::created_by.eq(actor),
            shipments::created_at.eq(s.created_at),
        ))
        .execute(conn)?;
    let items: Vec<_> = s
        .items
        .iter()
        .map(|i| {
            (
                shipment_items::shipment_id.eq(s.id.0),
                shipment_items::order_item_id.eq(i.order_item_id),
                shipment_items::quantity.eq(i.quantity),
            )
        })
        .collect();
    diesel::insert_into(shipment_items::table)
        .values(items)
        .execute(conn)?;
    Ok(())
}

fn insert_event(
    conn: &mut PgConnection,
    shipment: ShipmentId,
    e: &ShipmentEvent,
    actor: &str,
) -> QueryResult<()> {
    diesel::insert_into(shipment_events::table)
        .values((
            shipment_events::id.eq(e.id),
            shipment_events::shipment_id.eq(shipment.0),
            shipment_events::type_.eq(e.kind.as_str()),
            shipment_events::occurred_at.eq(e.occurred_at.with_timezone(&Utc)),
            shipment_events::utc_offset_seconds.eq(e.occurred_at.offset().local_minus_utc()),
            shipment_events::region_code.eq(&e.region_code),
            shipment_events::place.eq(&e.place),
            shipment_events::temperature_dc.eq(e.temperature_dc),
            shipment_events::organization_id.eq(e.organization_id.0),
            shipment_events::recorded_by.eq(actor),
            shipment_events::recorded_at.eq(e.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A shipment with its seller, order and buyer.
fn view(conn: &mut PgConnection, id: ShipmentId) -> QueryResult<Option<ShipmentView>> {
    let so: Option<(Uuid, Uuid, Uuid, Option<Uuid>, Option<Uuid>)> = shipments::table
        .inner_join(seller_orders::table.inner_join(orders::table))
        .filter(shipments::id.eq(id.0))
        .select((
            shipments::seller_order_id,
            seller_orders::seller_id,
            orders::id,
            orders::buyer_user_id,
            orders::buyer_partner_id,
        ))
        .first(conn)
        .optional()?;
    let Some((so, seller, order, user, partner)) = so else {
        return Ok(None);
    };
    let buyer = match (user, partner) {
        (Some(u), None) => Buyer::User(domain::identity::UserId(u)),
        (None, Some(p)) => Buyer::Partner(domain::identity::PartnerId(p)),
        _ => return Err(bad("order without a single buyer")),
    };
    let shipment = load_shipments(conn, &[so])?
        .remove(&SellerOrderId(so))
        .and_then(|all| all.into_iter().find(|s| s.id == id))
        .ok_or(DieselError::NotFound)?;
    Ok(Some(ShipmentView {
        shipment,
        seller_id: OrgId(seller),
        order_id: OrderId(order),
        buyer,
    }))
}

pub struct PgShipmentStore {
    pub pool: PgPool,
}

impl ShipmentStore for PgShipmentStore {
    fn find_shipment(&self, id: ShipmentId) -> Result<Option<ShipmentView>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(view(&mut conn, id)?)
    }

    fn record_event(
        &self,
        id: ShipmentId,
        decide: DecideEvent<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<EventRecorded, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let so: Option<Uuid> = shipments::table
                .find(id.0)
                .select(shipments::seller_order_id)
                .first(conn)
                .optional()?;
            let Some(so) = so else {
                return Ok(EventRecorded::NotFound);
            };
            // order, then seller order (the one lock order), then the shipment
            let Some(seller_order) = crate::orders::lock_for_update(conn, SellerOrderId(so))?
            else {
                return Ok(EventRecorded::NotFound);
            };
            shipments::table
                .find(id.0)
                .select(shipments::id)
                .for_update()
                .first::<Uuid>(conn)?;
            let order_created_at: DateTime<Utc> = orders::table
                .find(seller_order.order_id.0)
                .select(orders::created_at)
                .first(conn)?;
            let mut all = load_shipments(conn, &[so])?
                .remove(&SellerOrderId(so))
                .unwrap_or_default();
            let others_open = all.iter().filter(|s| s.id != id && !s.is_closed()).count();
            let Some(pos) = all.iter().position(|s| s.id == id) else {
                return Ok(EventRecorded::NotFound);
            };
            let state = ShipmentForEvent {
                shipment: all.swap_remove(pos),
                seller_order,
                order_created_at,
                others_open,
            };
            let change = match decide(&state) {
                Ok(c) => c,
                Err(r) => return Ok(EventRecorded::Refused(r)),
            };
            insert_event(conn, id, &change.event, actor)?;
            if let Some(c) = &change.seller_change {
                crate::orders::write_seller_change(
                    conn,
                    SellerOrderId(so),
                    state.seller_order.order_id.0,
                    c,
                    actor,
                    now,
                )?;
            }
            Ok(match view(conn, id)? {
                Some(v) => EventRecorded::Recorded(Box::new(v)),
                None => EventRecorded::NotFound,
            })
        })?)
    }
}
