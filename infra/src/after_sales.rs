//! After-sales refunds in Postgres. Every change locks the seller order the
//! way every order change does (its order, then it), then the request; the
//! caps are computed from the requests under that lock, so concurrent
//! requests queue and never overdraw a line. `order_items.refunded_fen`
//! and `seller_orders.freight_refunded_fen` carry CHECKs as a last guard.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::after_sales::*;
use domain::coop::OrgId;
use domain::identity::{PartnerId, UserId};
use domain::money::Fen;
use domain::orders::{Buyer, OrderId, SellerOrderId, Unknown};
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{order_items, orders, refund_request_parts, refund_requests, seller_orders};

pub struct PgRefunds {
    pub pool: PgPool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = refund_requests)]
struct RequestRow {
    id: Uuid,
    seller_order_id: Uuid,
    order_id: Uuid,
    seller_id: Uuid,
    origin: String,
    order_item_id: Option<Uuid>,
    quantity: Option<i32>,
    amount_fen: i64,
    reason: String,
    photo_urls: serde_json::Value,
    status: String,
    note: Option<String>,
    commission_returned_fen: Option<i64>,
    after_completion: Option<bool>,
    refunded_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn buyer_of(user: Option<Uuid>, partner: Option<Uuid>) -> QueryResult<Buyer> {
    match (user, partner) {
        (Some(u), None) => Ok(Buyer::User(UserId(u))),
        (None, Some(p)) => Ok(Buyer::Partner(PartnerId(p))),
        _ => Err(bad("order without a single buyer")),
    }
}

/// Requests with their parts and buyers.
fn load(conn: &mut PgConnection, rows: Vec<RequestRow>) -> QueryResult<Vec<RefundRequest>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let order_ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
    let parts: Vec<(Uuid, Option<Uuid>, i64)> = refund_request_parts::table
        .filter(refund_request_parts::refund_request_id.eq_any(&ids))
        .select((
            refund_request_parts::refund_request_id,
            refund_request_parts::order_item_id,
            refund_request_parts::amount_fen,
        ))
        .order((
            refund_request_parts::refund_request_id,
            refund_request_parts::position,
        ))
        .load(conn)?;
    let mut by: HashMap<Uuid, Vec<RefundPart>> = HashMap::new();
    for (r, item, amount) in parts {
        by.entry(r).or_default().push(RefundPart {
            order_item_id: item,
            amount: Fen(amount),
        });
    }
    let buyers: HashMap<Uuid, (Option<Uuid>, Option<Uuid>)> = orders::table
        .filter(orders::id.eq_any(&order_ids))
        .select((orders::id, orders::buyer_user_id, orders::buyer_partner_id))
        .load::<(Uuid, Option<Uuid>, Option<Uuid>)>(conn)?
        .into_iter()
        .map(|(id, u, p)| (id, (u, p)))
        .collect();
    rows.into_iter()
        .map(|r| {
            let (u, p) = buyers
                .get(&r.order_id)
                .copied()
                .ok_or_else(|| bad("refund request of a missing order"))?;
            Ok(RefundRequest {
                id: RefundRequestId(r.id),
                seller_order_id: SellerOrderId(r.seller_order_id),
                order_id: OrderId(r.order_id),
                seller_id: OrgId(r.seller_id),
                buyer: buyer_of(u, p)?,
                origin: r.origin.parse().map_err(bad)?,
                order_item_id: r.order_item_id,
                quantity: r.quantity,
                amount: Fen(r.amount_fen),
                reason: r.reason,
                photo_urls: serde_json::from_value(r.photo_urls).map_err(bad)?,
                status: r.status.parse().map_err(bad)?,
                note: r.note,
                parts: by.remove(&r.id).unwrap_or_default(),
                commission_returned: r.commission_returned_fen.map(Fen),
                after_completion: r.after_completion,
                refunded_at: r.refunded_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

fn find_request(
    conn: &mut PgConnection,
    id: RefundRequestId,
    lock: bool,
) -> QueryResult<Option<RefundRequest>> {
    let q = refund_requests::table
        .find(id.0)
        .select(RequestRow::as_select());
    let rows = if lock {
        q.for_update().load(conn)?
    } else {
        q.load(conn)?
    };
    Ok(load(conn, rows)?.pop())
}

/// Locks a seller order for an after-sales change (its order first, as
/// every order change does) and loads what the caps need.
fn lock_refundable(conn: &mut PgConnection, id: SellerOrderId) -> QueryResult<Option<Refundable>> {
    let order_id: Option<Uuid> = seller_orders::table
        .find(id.0)
        .select(seller_orders::order_id)
        .first(conn)
        .optional()?;
    let Some(order_id) = order_id else {
        return Ok(None);
    };
    orders::table
        .find(order_id)
        .select(orders::id)
        .for_update()
        .first::<Uuid>(conn)?;
    let (seller, status, delivered_at, freight, freight_refunded): (
        Uuid,
        String,
        Option<DateTime<Utc>>,
        i64,
        i64,
    ) = seller_orders::table
        .find(id.0)
        .select((
            seller_orders::seller_id,
            seller_orders::status,
            seller_orders::delivered_at,
            seller_orders::freight_fen,
            seller_orders::freight_refunded_fen,
        ))
        .for_update()
        .first(conn)?;
    let items: Vec<(Uuid, i64, i32, i64, i32, i64)> = order_items::table
        .filter(order_items::seller_order_id.eq(id.0))
        .select((
            order_items::id,
            order_items::unit_price_fen,
            order_items::quantity,
            order_items::line_total_fen,
            order_items::commission_bp,
            order_items::refunded_fen,
        ))
        .order(order_items::id.asc())
        .load(conn)?;
    let held: Vec<(Uuid, String, Option<Uuid>, i64)> = refund_requests::table
        .inner_join(refund_request_parts::table)
        .filter(refund_requests::seller_order_id.eq(id.0))
        .select((
            refund_requests::id,
            refund_requests::status,
            refund_request_parts::order_item_id,
            refund_request_parts::amount_fen,
        ))
        .load(conn)?;
    let request_count: i64 = refund_requests::table
        .filter(refund_requests::seller_order_id.eq(id.0))
        .count()
        .get_result(conn)?;
    let mut reserved: HashMap<Option<Uuid>, Fen> = HashMap::new();
    for (_, status, item, amount) in held {
        if status.parse::<RefundStatus>().map_err(bad)?.reserves() {
            let r = reserved.entry(item).or_insert(Fen::ZERO);
            *r = *r + Fen(amount);
        }
    }
    let shipped = crate::delivery::shipped_units(conn, id)?;
    let lines = items
        .into_iter()
        .map(|(item, unit, quantity, total, bp, refunded)| {
            let bp = u32::try_from(bp).map_err(bad)?;
            Ok(LineState {
                id: item,
                unit_price: Fen(unit),
                quantity,
                total: Fen(total),
                commission: Fen(total).apply_basis_points(bp),
                refunded: Fen(refunded),
                reserved: reserved.get(&Some(item)).copied().unwrap_or(Fen::ZERO),
            })
        })
        .collect::<QueryResult<_>>()?;
    Ok(Some(Refundable {
        seller_order_id: id,
        order_id: OrderId(order_id),
        seller_id: OrgId(seller),
        status: status.parse().map_err(bad)?,
        shipped_any: shipped.values().any(|n| *n > 0),
        delivered_at,
        lines,
        freight: Fen(freight),
        freight_refunded: Fen(freight_refunded),
        freight_reserved: reserved.get(&None).copied().unwrap_or(Fen::ZERO),
        request_count: usize::try_from(request_count).map_err(bad)?,
    }))
}

/// Writes a confirmed refund: the paid amounts per line and freight, the
/// held refunds of a seller order not completed yet, and the entry.
fn write_posting(
    conn: &mut PgConnection,
    r: &RefundRequest,
    p: &Posting,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let mut freight = Fen::ZERO;
    for (n, (part, commission)) in p.parts.iter().enumerate() {
        let position = i32::try_from(n).map_err(bad)?;
        diesel::update(refund_request_parts::table.find((r.id.0, position)))
            .set(refund_request_parts::commission_returned_fen.eq(commission.0))
            .execute(conn)?;
        match part.order_item_id {
            Some(item) => {
                diesel::update(order_items::table.find(item))
                    .set(order_items::refunded_fen.eq(order_items::refunded_fen + part.amount.0))
                    .execute(conn)?;
            }
            None => freight = freight + part.amount,
        }
    }
    let target = seller_orders::table.find(r.seller_order_id.0);
    if freight.0 > 0 {
        diesel::update(target)
            .set(
                seller_orders::freight_refunded_fen
                    .eq(seller_orders::freight_refunded_fen + freight.0),
            )
            .execute(conn)?;
    }
    if !p.after_completion {
        diesel::update(target)
            .set((
                seller_orders::held_refunded_fen.eq(seller_orders::held_refunded_fen + r.amount.0),
                seller_orders::held_commission_returned_fen
                    .eq(seller_orders::held_commission_returned_fen + p.commission_returned.0),
            ))
            .execute(conn)?;
    }
    crate::ledger::post_entry(conn, &p.entry, now)?;
    Ok(())
}

impl RefundStore for PgRefunds {
    fn parties(&self, id: SellerOrderId) -> Result<Option<(OrgId, Buyer)>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<(Uuid, Option<Uuid>, Option<Uuid>)> = seller_orders::table
            .inner_join(orders::table)
            .filter(seller_orders::id.eq(id.0))
            .select((
                seller_orders::seller_id,
                orders::buyer_user_id,
                orders::buyer_partner_id,
            ))
            .first(&mut conn)
            .optional()?;
        Ok(row
            .map(|(seller, u, p)| Ok::<_, DieselError>((OrgId(seller), buyer_of(u, p)?)))
            .transpose()?)
    }

    fn open(
        &self,
        new: &NewRefund,
        plan: PlanRefund<'_>,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let Some(state) = lock_refundable(conn, new.seller_order_id)? else {
                return Ok(RefundOutcome::NotFound);
            };
            let parts = match plan(&state) {
                Ok(p) => p,
                Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
            };
            let amount: Fen = parts.iter().map(|p| p.amount).sum();
            diesel::insert_into(refund_requests::table)
                .values((
                    refund_requests::id.eq(new.id.0),
                    refund_requests::seller_order_id.eq(new.seller_order_id.0),
                    refund_requests::order_id.eq(state.order_id.0),
                    refund_requests::seller_id.eq(state.seller_id.0),
                    refund_requests::origin.eq(new.origin.as_str()),
                    refund_requests::order_item_id.eq(new.ask.order_item_id),
                    refund_requests::quantity.eq(new.ask.quantity),
                    refund_requests::amount_fen.eq(amount.0),
                    refund_requests::reason.eq(&new.ask.reason),
                    refund_requests::photo_urls
                        .eq(serde_json::to_value(&new.ask.photo_urls).map_err(bad)?),
                    refund_requests::status.eq(new.status.as_str()),
                    refund_requests::created_by.eq(&new.actor),
                    refund_requests::created_at.eq(now),
                    refund_requests::updated_at.eq(now),
                ))
                .execute(conn)?;
            let rows: Vec<_> = parts
                .iter()
                .enumerate()
                .map(|(n, p)| {
                    Ok((
                        refund_request_parts::refund_request_id.eq(new.id.0),
                        refund_request_parts::position.eq(i32::try_from(n).map_err(bad)?),
                        refund_request_parts::order_item_id.eq(p.order_item_id),
                        refund_request_parts::amount_fen.eq(p.amount.0),
                    ))
                })
                .collect::<QueryResult<_>>()?;
            diesel::insert_into(refund_request_parts::table)
                .values(rows)
                .execute(conn)?;
            let r = find_request(conn, new.id, false)?.ok_or(DieselError::NotFound)?;
            Ok(RefundOutcome::Done(Box::new(r)))
        })?)
    }

    fn change(
        &self,
        id: RefundRequestId,
        decide: DecideRefund<'_>,
        _actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RefundOutcome, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let so: Option<Uuid> = refund_requests::table
                .find(id.0)
                .select(refund_requests::seller_order_id)
                .first(conn)
                .optional()?;
            let Some(so) = so else {
                return Ok(RefundOutcome::NotFound);
            };
            let state = lock_refundable(conn, SellerOrderId(so))?.ok_or(DieselError::NotFound)?;
            let r = find_request(conn, id, true)?.ok_or(DieselError::NotFound)?;
            let change = match decide(&state, &r) {
                Ok(c) => c,
                Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
            };
            let posted = change.posting.as_ref();
            diesel::update(refund_requests::table.find(id.0))
                .set((
                    refund_requests::status.eq(change.to.as_str()),
                    refund_requests::note.eq(&change.note),
                    refund_requests::updated_at.eq(now),
                    refund_requests::commission_returned_fen
                        .eq(posted.map(|p| p.commission_returned.0)),
                    refund_requests::after_completion.eq(posted.map(|p| p.after_completion)),
                    refund_requests::refunded_at.eq(posted.map(|_| now)),
                ))
                .execute(conn)?;
            if let Some(p) = posted {
                write_posting(conn, &r, p, now)?;
            }
            let r = find_request(conn, id, false)?.ok_or(DieselError::NotFound)?;
            Ok(RefundOutcome::Done(Box::new(r)))
        })?)
    }

    fn find(&self, id: RefundRequestId) -> Result<Option<RefundRequest>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(find_request(&mut conn, id, false)?)
    }

    fn of_seller_order(&self, id: SellerOrderId) -> Result<Vec<RefundRequest>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows = refund_requests::table
            .filter(refund_requests::seller_order_id.eq(id.0))
            .select(RequestRow::as_select())
            .order(refund_requests::id.asc())
            .load(&mut conn)?;
        Ok(load(&mut conn, rows)?)
    }

    fn of_seller(
        &self,
        seller: OrgId,
        status: Option<RefundStatus>,
        after: Option<RefundRequestId>,
        limit: i64,
    ) -> Result<Vec<RefundRequest>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = refund_requests::table
            .filter(refund_requests::seller_id.eq(seller.0))
            .select(RequestRow::as_select())
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(refund_requests::status.eq(s.as_str()));
        }
        if let Some(a) = after {
            q = q.filter(refund_requests::id.lt(a.0));
        }
        let rows = q
            .order(refund_requests::id.desc())
            .limit(limit)
            .load(&mut conn)?;
        Ok(load(&mut conn, rows)?)
    }
}
