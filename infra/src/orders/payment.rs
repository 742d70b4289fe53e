//! Payments and the provider's notifications (idempotent by payment).

use super::*;

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

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
            // Lock order first, then payment: the same order as elsewhere.
            let order: Option<(Uuid, String, DateTime<Utc>)> = orders::table
                .filter(
                    orders::id.nullable().eq(payments::table
                        .find(id.0)
                        .select(payments::order_id)
                        .single_value()),
                )
                .select((orders::id, orders::status, orders::expires_at))
                .for_update()
                .first(conn)
                .optional()?;
            let Some((order_id, order_status, expires_at)) = order else {
                return Ok(PaymentApplied::NotFound);
            };
            // the usual case in one statement: a pending payment of the
            // notified amount takes its outcome
            let outcome = if succeeded { "succeeded" } else { "failed" };
            let taken: Option<(i64, String, DateTime<Utc>)> = diesel::update(
                payments::table
                    .find(id.0)
                    .filter(payments::status.eq("pending"))
                    .filter(payments::amount_fen.eq(amount)),
            )
            .set(payments::status.eq(outcome))
            .returning((
                payments::amount_fen,
                payments::provider,
                payments::created_at,
            ))
            .get_result(conn)
            .optional()?;
            let Some((expected, provider, created_at)) = taken else {
                // not taken: a repeat, or another amount (checked first)
                let expected: i64 = payments::table
                    .find(id.0)
                    .select(payments::amount_fen)
                    .first(conn)?;
                return Ok(if expected != amount {
                    PaymentApplied::AmountMismatch
                } else {
                    PaymentApplied::AlreadyProcessed
                });
            };
            if !succeeded {
                return Ok(PaymentApplied::Failed);
            }
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
            let applied = if order_status == OrderStatus::PendingPayment {
                // the order and its seller orders in one statement
                let sos: Vec<Uuid> = diesel::sql_query(
                    "WITH paid AS (UPDATE orders SET status = 'paid' WHERE id = $1) \
                     UPDATE seller_orders SET status = 'paid' WHERE order_id = $1 RETURNING id",
                )
                .bind::<diesel::sql_types::Uuid, _>(order_id)
                .load::<IdRow>(conn)?
                .into_iter()
                .map(|r| r.id)
                .collect();
                // the order's event first: the history is read in id order
                let history: Vec<Option<Uuid>> = std::iter::once(None)
                    .chain(sos.into_iter().map(Some))
                    .collect();
                events(
                    conn,
                    order_id,
                    &history,
                    Some("pending_payment"),
                    "paid",
                    "provider",
                    now,
                )?;
                PaymentApplied::Paid
            } else {
                PaymentApplied::RefundDue(payment)
            };
            // The money arrived, whatever happens to the order. Posted last:
            // the shard's balance rows stay locked only until the commit.
            crate::ledger::post_entry(
                conn,
                &domain::ledger::payment_captured(id.0, Fen(expected)),
                now,
            )?;
            Ok(applied)
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
