//! Payments and the provider's notifications (idempotent by payment).

use super::*;

impl PaymentStore for PgOrderRepository {
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
            // The money arrived, whatever happens to the order now.
            crate::ledger::post_entry(
                conn,
                &domain::ledger::payment_captured(id.0, Fen(expected)),
                now,
            )?;
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

    fn mark_refunded(&self, id: PaymentId) -> Result<(), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        conn.transaction::<_, DieselError, _>(|conn| {
            // Once: only a succeeded payment becomes refunded (and posts).
            let amount: Option<i64> = diesel::update(
                payments::table
                    .find(id.0)
                    .filter(payments::status.eq("succeeded")),
            )
            .set(payments::status.eq("refunded"))
            .returning(payments::amount_fen)
            .get_result(conn)
            .optional()?;
            if let Some(amount) = amount {
                crate::ledger::post_entry(
                    conn,
                    &domain::ledger::payment_refunded(id.0, Fen(amount)),
                    chrono::Utc::now(),
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }
}
