//! Settlement runs and statements in Postgres. A run holds a transaction
//! advisory lock, so runs on several instances queue; each seller order is
//! settled once (a unique index on `statement_lines.seller_order_id`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::coop::OrgId;
use domain::identity::UserId;
use domain::money::Fen;
use domain::orders::SellerOrderId;
use domain::settlement::*;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{
    order_items, refund_requests, seller_orders, settlements, statement_lines, statement_refunds,
    statements,
};
use domain::after_sales::RefundRequestId;

pub struct PgSettlements {
    pub pool: PgPool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = settlements)]
struct SettlementRow {
    id: Uuid,
    period_end: NaiveDate,
    hold_days: i32,
    cutoff: NaiveDate,
    statement_count: i32,
    created_at: DateTime<Utc>,
}

impl From<SettlementRow> for Settlement {
    fn from(r: SettlementRow) -> Self {
        Settlement {
            id: SettlementId(r.id),
            period_end: r.period_end,
            hold_days: i64::from(r.hold_days),
            cutoff: r.cutoff,
            statement_count: i64::from(r.statement_count),
            created_at: r.created_at,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = statements)]
struct StatementRow {
    id: Uuid,
    settlement_id: Uuid,
    seller_id: Uuid,
    gross_fen: i64,
    commission_fen: i64,
    refunds_fen: i64,
    carried_over_fen: i64,
    net_payable_fen: i64,
    status: String,
    bank_reference: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// Statements with their lines.
fn with_lines(conn: &mut PgConnection, rows: Vec<StatementRow>) -> QueryResult<Vec<Statement>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    type LineRow = (Uuid, Uuid, DateTime<Utc>, i64, i64, i64, i64, i64);
    let lines: Vec<LineRow> = statement_lines::table
        .filter(statement_lines::statement_id.eq_any(&ids))
        .select((
            statement_lines::statement_id,
            statement_lines::seller_order_id,
            statement_lines::completed_at,
            statement_lines::items_fen,
            statement_lines::freight_fen,
            statement_lines::commission_fen,
            statement_lines::refunded_fen,
            statement_lines::net_fen,
        ))
        .order((
            statement_lines::completed_at.asc(),
            statement_lines::seller_order_id.asc(),
        ))
        .load(conn)?;
    let mut by: HashMap<Uuid, Vec<StatementLine>> = HashMap::new();
    // the rates each settled seller order's lines snapshotted
    let rates: Vec<(Uuid, i32)> = order_items::table
        .filter(
            order_items::seller_order_id.eq_any(
                statement_lines::table
                    .filter(statement_lines::statement_id.eq_any(&ids))
                    .select(statement_lines::seller_order_id),
            ),
        )
        .select((order_items::seller_order_id, order_items::commission_bp))
        .distinct()
        .order((order_items::seller_order_id, order_items::commission_bp))
        .load(conn)?;
    let mut rates_by: HashMap<Uuid, Vec<u32>> = HashMap::new();
    for (so, bp) in rates {
        rates_by
            .entry(so)
            .or_default()
            .push(u32::try_from(bp).map_err(bad)?);
    }
    for (st, so, at, items, freight, commission, refunded, net) in lines {
        by.entry(st).or_default().push(StatementLine {
            seller_order_id: SellerOrderId(so),
            completed_at: at,
            items: Fen(items),
            freight: Fen(freight),
            commission: Fen(commission),
            commission_bps: rates_by.get(&so).cloned().unwrap_or_default(),
            refunded: Fen(refunded),
            net: Fen(net),
        });
    }
    let refunds: Vec<(Uuid, Uuid, Uuid, DateTime<Utc>, i64, i64, i64)> = statement_refunds::table
        .filter(statement_refunds::statement_id.eq_any(&ids))
        .select((
            statement_refunds::statement_id,
            statement_refunds::refund_request_id,
            statement_refunds::seller_order_id,
            statement_refunds::refunded_at,
            statement_refunds::amount_fen,
            statement_refunds::commission_returned_fen,
            statement_refunds::net_fen,
        ))
        .order((
            statement_refunds::refunded_at.asc(),
            statement_refunds::refund_request_id.asc(),
        ))
        .load(conn)?;
    let mut refunds_by: HashMap<Uuid, Vec<StatementRefund>> = HashMap::new();
    for (st, refund, so, at, amount, commission, net) in refunds {
        refunds_by.entry(st).or_default().push(StatementRefund {
            refund_id: RefundRequestId(refund),
            seller_order_id: SellerOrderId(so),
            refunded_at: at,
            amount: Fen(amount),
            commission_returned: Fen(commission),
            net: Fen(net),
        });
    }
    rows.into_iter()
        .map(|r| {
            Ok(Statement {
                draft: StatementDraft {
                    id: StatementId(r.id),
                    seller_id: OrgId(r.seller_id),
                    gross: Fen(r.gross_fen),
                    commission: Fen(r.commission_fen),
                    refunds: Fen(r.refunds_fen),
                    carried_over: Fen(r.carried_over_fen),
                    net_payable: Fen(r.net_payable_fen),
                    lines: by.remove(&r.id).unwrap_or_default(),
                    refund_lines: refunds_by.remove(&r.id).unwrap_or_default(),
                },
                settlement_id: SettlementId(r.settlement_id),
                status: r.status.parse().map_err(bad)?,
                bank_reference: r.bank_reference,
                paid_at: r.paid_at,
                created_at: r.created_at,
            })
        })
        .collect()
}

impl SettlementStore for PgSettlements {
    fn run(
        &self,
        s: &Settlement,
        actor: UserId,
        build: Build<'_>,
    ) -> Result<(Settlement, Vec<Statement>), Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            // one run at a time, across instances
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock(hashtextextended('settlement-run', 0))",
            )
            .execute(conn)?;
            let until = s
                .cutoff
                .succ_opt()
                .ok_or_else(|| bad("cutoff out of range"))?
                .and_time(NaiveTime::MIN)
                .and_utc();
            type Row = (Uuid, Uuid, Option<DateTime<Utc>>, i64, i64, i64, i64, i64);
            let rows: Vec<Row> = seller_orders::table
                .filter(seller_orders::status.eq("completed"))
                .filter(seller_orders::completed_at.lt(until))
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    statement_lines::table
                        .filter(statement_lines::seller_order_id.eq(seller_orders::id)),
                )))
                .select((
                    seller_orders::id,
                    seller_orders::seller_id,
                    seller_orders::completed_at,
                    seller_orders::subtotal_fen,
                    seller_orders::freight_fen,
                    seller_orders::commission_fen,
                    seller_orders::held_refunded_fen,
                    seller_orders::held_commission_returned_fen,
                ))
                .load(conn)?;
            let orders: Vec<Settleable> = rows
                .into_iter()
                .map(
                    |(id, seller, at, items, freight, commission, held, held_commission)| {
                        Ok(Settleable {
                            seller_order_id: SellerOrderId(id),
                            seller_id: OrgId(seller),
                            completed_at: at.ok_or_else(|| bad("completed without a time"))?,
                            items: Fen(items),
                            freight: Fen(freight),
                            commission: Fen(commission),
                            refunded: Fen(held),
                            commission_returned: Fen(held_commission),
                        })
                    },
                )
                .collect::<QueryResult<_>>()?;
            // refunds after completion not on a statement yet (all of them:
            // the seller's payable already paid them)
            type RefundRow = (Uuid, Uuid, Uuid, Option<DateTime<Utc>>, i64, Option<i64>);
            let refund_rows: Vec<RefundRow> = refund_requests::table
                .filter(refund_requests::status.eq("refunded"))
                .filter(refund_requests::after_completion.eq(true))
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    statement_refunds::table
                        .filter(statement_refunds::refund_request_id.eq(refund_requests::id)),
                )))
                .select((
                    refund_requests::id,
                    refund_requests::seller_order_id,
                    refund_requests::seller_id,
                    refund_requests::refunded_at,
                    refund_requests::amount_fen,
                    refund_requests::commission_returned_fen,
                ))
                .load(conn)?;
            let refunds: Vec<SettleableRefund> = refund_rows
                .into_iter()
                .map(|(id, so, seller, at, amount, commission)| {
                    Ok(SettleableRefund {
                        refund_id: RefundRequestId(id),
                        seller_order_id: SellerOrderId(so),
                        seller_id: OrgId(seller),
                        refunded_at: at.ok_or_else(|| bad("refunded without a time"))?,
                        amount: Fen(amount),
                        commission_returned: Fen(
                            commission.ok_or_else(|| bad("refunded without commission"))?
                        ),
                    })
                })
                .collect::<QueryResult<_>>()?;
            let sellers: Vec<Uuid> = {
                let mut v: Vec<Uuid> = orders
                    .iter()
                    .map(|o| o.seller_id.0)
                    .chain(refunds.iter().map(|r| r.seller_id.0))
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            // each seller's latest statement, when its net was negative, is carried
            let latest: Vec<(Uuid, i64)> = statements::table
                .filter(statements::seller_id.eq_any(&sellers))
                .select((statements::seller_id, statements::net_payable_fen))
                .distinct_on(statements::seller_id)
                .order((statements::seller_id, statements::id.desc()))
                .load(conn)?;
            let carried: BTreeMap<OrgId, Fen> = latest
                .into_iter()
                .filter(|(_, net)| *net < 0)
                .map(|(seller, net)| (OrgId(seller), Fen(net)))
                .collect();
            let drafts = build(&orders, &refunds, &carried);
            diesel::insert_into(settlements::table)
                .values((
                    settlements::id.eq(s.id.0),
                    settlements::period_end.eq(s.period_end),
                    settlements::hold_days.eq(i32::try_from(s.hold_days).map_err(bad)?),
                    settlements::cutoff.eq(s.cutoff),
                    settlements::statement_count.eq(i32::try_from(drafts.len()).map_err(bad)?),
                    settlements::created_by.eq(actor.0),
                    settlements::created_at.eq(s.created_at),
                ))
                .execute(conn)?;
            for d in &drafts {
                diesel::insert_into(statements::table)
                    .values((
                        statements::id.eq(d.id.0),
                        statements::settlement_id.eq(s.id.0),
                        statements::seller_id.eq(d.seller_id.0),
                        statements::gross_fen.eq(d.gross.0),
                        statements::commission_fen.eq(d.commission.0),
                        statements::refunds_fen.eq(d.refunds.0),
                        statements::carried_over_fen.eq(d.carried_over.0),
                        statements::net_payable_fen.eq(d.net_payable.0),
                        statements::status.eq(StatementStatus::Issued.as_str()),
                        statements::created_at.eq(s.created_at),
                    ))
                    .execute(conn)?;
                for chunk in d.lines.chunks(5_000) {
                    let rows: Vec<_> = chunk
                        .iter()
                        .map(|l| {
                            (
                                statement_lines::statement_id.eq(d.id.0),
                                statement_lines::seller_order_id.eq(l.seller_order_id.0),
                                statement_lines::completed_at.eq(l.completed_at),
                                statement_lines::items_fen.eq(l.items.0),
                                statement_lines::freight_fen.eq(l.freight.0),
                                statement_lines::commission_fen.eq(l.commission.0),
                                statement_lines::refunded_fen.eq(l.refunded.0),
                                statement_lines::net_fen.eq(l.net.0),
                            )
                        })
                        .collect();
                    diesel::insert_into(statement_lines::table)
                        .values(rows)
                        .execute(conn)?;
                }
                let rows: Vec<_> = d
                    .refund_lines
                    .iter()
                    .map(|r| {
                        (
                            statement_refunds::statement_id.eq(d.id.0),
                            statement_refunds::refund_request_id.eq(r.refund_id.0),
                            statement_refunds::seller_order_id.eq(r.seller_order_id.0),
                            statement_refunds::refunded_at.eq(r.refunded_at),
                            statement_refunds::amount_fen.eq(r.amount.0),
                            statement_refunds::commission_returned_fen.eq(r.commission_returned.0),
                            statement_refunds::net_fen.eq(r.net.0),
                        )
                    })
                    .collect();
                if !rows.is_empty() {
                    diesel::insert_into(statement_refunds::table)
                        .values(rows)
                        .execute(conn)?;
                }
                if let Some(entry) = d.issued_entry() {
                    crate::ledger::post_entry(conn, &entry, s.created_at)?;
                }
            }
            let settlement = Settlement {
                statement_count: i64::try_from(drafts.len()).map_err(bad)?,
                ..s.clone()
            };
            let statements = drafts
                .into_iter()
                .map(|draft| Statement {
                    draft,
                    settlement_id: s.id,
                    status: StatementStatus::Issued,
                    bank_reference: None,
                    paid_at: None,
                    created_at: s.created_at,
                })
                .collect();
            Ok((settlement, statements))
        })?)
    }

    fn settlement(&self, id: SettlementId) -> Result<Option<Settlement>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<SettlementRow> = settlements::table
            .find(id.0)
            .select(SettlementRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(Settlement::from))
    }

    fn statements_of_settlement(
        &self,
        id: SettlementId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = statements::table
            .filter(statements::settlement_id.eq(id.0))
            .select(StatementRow::as_select())
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(statements::id.gt(a.0));
        }
        let rows = q.order(statements::id.asc()).limit(limit).load(&mut conn)?;
        Ok(with_lines(&mut conn, rows)?)
    }

    fn statements_of_seller(
        &self,
        seller: OrgId,
        after: Option<StatementId>,
        limit: i64,
    ) -> Result<Vec<Statement>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = statements::table
            .filter(statements::seller_id.eq(seller.0))
            .select(StatementRow::as_select())
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(statements::id.lt(a.0));
        }
        let rows = q
            .order(statements::id.desc())
            .limit(limit)
            .load(&mut conn)?;
        Ok(with_lines(&mut conn, rows)?)
    }

    fn statement(&self, id: StatementId) -> Result<Option<Statement>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows = statements::table
            .find(id.0)
            .select(StatementRow::as_select())
            .load(&mut conn)?;
        Ok(with_lines(&mut conn, rows)?.pop())
    }

    fn mark_paid(
        &self,
        id: StatementId,
        bank_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<MarkPaid, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        Ok(conn.transaction::<_, DieselError, _>(|conn| {
            let row: Option<(String, i64)> = statements::table
                .find(id.0)
                .select((statements::status, statements::net_payable_fen))
                .for_update()
                .first(conn)
                .optional()?;
            let Some((status, net)) = row else {
                return Ok(MarkPaid::NotFound);
            };
            if status != StatementStatus::Issued.as_str() {
                return Ok(MarkPaid::AlreadyPaid);
            }
            diesel::update(statements::table.find(id.0))
                .set((
                    statements::status.eq(StatementStatus::Paid.as_str()),
                    statements::bank_reference.eq(bank_reference),
                    statements::paid_at.eq(now),
                ))
                .execute(conn)?;
            if net > 0 {
                crate::ledger::post_entry(conn, &paid_entry(id, Fen(net)), now)?;
            }
            let rows = statements::table
                .find(id.0)
                .select(StatementRow::as_select())
                .load(conn)?;
            let st = with_lines(conn, rows)?.pop().ok_or(DieselError::NotFound)?;
            Ok(MarkPaid::Paid(Box::new(st)))
        })?)
    }
}
