//! Group-buy outcomes: decided once per listing at its deadline (SKIP
//! LOCKED, so several instances may sweep), and the failed ones' orders
//! found for the domain to refund or cancel.

use super::*;
use crate::schema::group_buy_outcomes;

impl GroupBuyStore for PgOrderRepository {
    fn decide_group_buys(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        decide: DecideGroupBuy<'_>,
    ) -> Result<Vec<(ListingId, GroupOutcome)>, Unknown> {
        #[derive(QueryableByName)]
        struct Due {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
            #[diesel(sql_type = Integer)]
            target: i32,
        }
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let due: Vec<Due> = diesel::sql_query(
                "SELECT l.id, (l.sale_terms ->> 'group_target_qty')::int AS target
                   FROM listings l
                  WHERE l.sale_mode = 'group_buy'
                    AND (l.sale_terms ->> 'group_deadline')::timestamptz <= $1
                    AND NOT EXISTS (SELECT 1 FROM group_buy_outcomes g WHERE g.listing_id = l.id)
                  ORDER BY l.id
                  LIMIT $2
                    FOR UPDATE OF l SKIP LOCKED",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(now)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .load(conn)?;
            let mut out = Vec::with_capacity(due.len());
            for d in due {
                // units in orders that were paid (and not cancelled or refunded since)
                let paid: Option<i64> = order_items::table
                    .inner_join(seller_orders::table)
                    .filter(order_items::listing_id.eq(d.id))
                    .filter(seller_orders::status.eq_any([
                        "paid",
                        "accepted",
                        "shipped",
                        "delivered",
                        "completed",
                    ]))
                    .select(diesel::dsl::sum(order_items::quantity))
                    .first(conn)?;
                let paid = paid.unwrap_or(0);
                let outcome = decide(d.target, paid);
                diesel::insert_into(group_buy_outcomes::table)
                    .values((
                        group_buy_outcomes::listing_id.eq(d.id),
                        group_buy_outcomes::outcome.eq(outcome.as_str()),
                        group_buy_outcomes::target_qty.eq(d.target),
                        group_buy_outcomes::paid_qty.eq(paid),
                        group_buy_outcomes::decided_at.eq(now),
                        group_buy_outcomes::resolved_at
                            .eq((outcome == GroupOutcome::Succeeded).then_some(now)),
                    ))
                    .execute(conn)?;
                out.push((ListingId(d.id), outcome));
            }
            Ok(out)
        })?)
    }

    fn unresolved_group_buys(&self, limit: i64) -> Result<Vec<ListingId>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let ids: Vec<Uuid> = group_buy_outcomes::table
            .filter(group_buy_outcomes::resolved_at.is_null())
            .order(group_buy_outcomes::decided_at.asc())
            .limit(limit)
            .select(group_buy_outcomes::listing_id)
            .load(&mut conn)?;
        Ok(ids.into_iter().map(ListingId).collect())
    }

    fn group_buy_victims(&self, listing: ListingId) -> Result<GroupBuyVictims, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let sos: Vec<Uuid> = seller_orders::table
            .filter(seller_orders::status.eq_any(["paid", "accepted"]))
            .filter(diesel::dsl::exists(
                order_items::table
                    .filter(order_items::seller_order_id.eq(seller_orders::id))
                    .filter(order_items::listing_id.eq(listing.0)),
            ))
            .select(seller_orders::id)
            .order(seller_orders::id.asc())
            .load(&mut conn)?;
        let pending: Vec<Uuid> = orders::table
            .filter(orders::status.eq("pending_payment"))
            .filter(diesel::dsl::exists(
                order_items::table
                    .filter(order_items::order_id.eq(orders::id))
                    .filter(order_items::listing_id.eq(listing.0)),
            ))
            .select(orders::id)
            .order(orders::id.asc())
            .load(&mut conn)?;
        Ok(GroupBuyVictims {
            seller_orders: sos.into_iter().map(SellerOrderId).collect(),
            pending_orders: pending.into_iter().map(OrderId).collect(),
        })
    }

    fn resolve_group_buy(&self, listing: ListingId, now: DateTime<Utc>) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        diesel::update(
            group_buy_outcomes::table
                .find(listing.0)
                .filter(group_buy_outcomes::resolved_at.is_null()),
        )
        .set(group_buy_outcomes::resolved_at.eq(now))
        .execute(&mut conn)?;
        Ok(())
    }
}
