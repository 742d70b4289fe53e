//! Placing orders (one `place_order` call), the Idempotency-Key, reads for
//! the buyer, cancellation, expiry and the sales count.

use super::*;

impl CheckoutStore for PgOrderRepository {
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
                    unit_weight_grams: r.unit_weight_grams,
                    storage: r.storage.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                    freight: match (r.template_id, r.template_spec) {
                        (Some(t), Some(spec)) => Some((
                            domain::delivery::FreightTemplateId(t),
                            serde_json::from_value(spec)?,
                        )),
                        _ => None,
                    },
                    category_id: domain::catalog::CategoryId(r.category_id),
                    root_category_id: domain::catalog::CategoryId(r.root_category_id),
                    trace_batch_code: r.trace_batch_code,
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
}

/// Writes a whole order with one call of `place_order`, whose one current
/// definition is `migrations/2026-11-25-000007_delivery/up.sql` (000005 was
/// its first version, 000006 made it one call): the stock update of every listing, the
/// order, its first event, seller orders, items, and the completion of the
/// idempotency claim, atomically — one round trip, which is what makes order
/// creation fast (docs/performance.md). The order it writes is the one the
/// domain built (`orders::build_order`); the only rule in the SQL is the
/// catalog's "a listing whose stock reaches 0 is sold out"
/// (`catalog::next_status`), applied in the same statement as the stock
/// update. A listing that is not active gets stock −1, so `CHECK (stock >= 0)`
/// aborts the call — nothing is written — exactly like a listing without
/// enough stock.
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
        so_freights: sos.iter().map(|s| s.freight.0).collect(),
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
        it_traces: items
            .iter()
            .map(|i| i.item.trace_batch_code.as_deref())
            .collect(),
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
