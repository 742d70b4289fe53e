//! The double-entry ledger: posting an entry the domain decided
//! (`domain::ledger`) in the caller's transaction, with one call of
//! `post_entry` (migration `ledger_balances`), and reading accounts, lines
//! and the trial balance. The database refuses unbalanced entries and any
//! UPDATE or DELETE of a posted line; every line adds to its account's
//! `balance_fen` in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::ledger::*;
use domain::money::Fen;
use uuid::Uuid;

use crate::db::{bad, get_conn, PgPool};
use crate::schema::{journal_entries, journal_lines, ledger_accounts};

/// Posts `entry` (refused before the database when it does not balance);
/// returns the entry id. Lines are sent in account-code order, so two
/// entries touching the same accounts lock their balances in one order.
pub fn post_entry(conn: &mut PgConnection, entry: &Entry, at: DateTime<Utc>) -> QueryResult<Uuid> {
    if !entry.is_balanced() {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("unbalanced journal entry: {entry:?}").into(),
        ));
    }
    let shard = entry.shard();
    let mut lines: Vec<(String, Account, i64)> = entry
        .lines
        .iter()
        .filter(|(_, a)| a.0 != 0)
        .map(|(acc, a)| (acc.code(shard), *acc, a.0))
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let id = Uuid::now_v7();
    diesel::sql_query("SELECT post_entry($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(&entry.description)
        .bind::<Text, _>(entry.source.kind)
        .bind::<SqlUuid, _>(entry.source.id)
        .bind::<Timestamptz, _>(at)
        .bind::<Array<Text>, _>(lines.iter().map(|l| l.0.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(lines.iter().map(|l| l.1.name()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            lines
                .iter()
                .map(|l| l.1.account_type().as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            lines
                .iter()
                .map(|l| l.1.account_type().kind().as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(lines.iter().map(|l| l.1.owner()).collect::<Vec<_>>())
        .bind::<Array<Int8>, _>(lines.iter().map(|l| l.2).collect::<Vec<_>>())
        .execute(conn)?;
    Ok(id)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_accounts)]
struct AccountRow {
    id: Uuid,
    code: String,
    name: String,
    kind: String,
    #[diesel(column_name = type_)]
    account_type: Option<String>,
    owner_id: Option<Uuid>,
    balance_fen: i64,
}

impl AccountRow {
    fn into_domain(self) -> QueryResult<LedgerAccount> {
        Ok(LedgerAccount {
            id: self.id,
            code: self.code,
            name: self.name,
            account_type: self
                .account_type
                .map(|t| t.parse().map_err(bad))
                .transpose()?,
            kind: self.kind.parse().map_err(bad)?,
            owner_id: self.owner_id,
            balance: Fen(self.balance_fen),
        })
    }
}

pub struct PgLedger {
    pub pool: PgPool,
}

impl LedgerReader for PgLedger {
    fn account(&self, id: Uuid) -> Result<Option<LedgerAccount>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let row: Option<AccountRow> = ledger_accounts::table
            .find(id)
            .select(AccountRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(AccountRow::into_domain).transpose()?)
    }

    fn lines(
        &self,
        account: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<LedgerLine>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let mut q = journal_lines::table
            .inner_join(journal_entries::table)
            .filter(journal_lines::account_id.eq(account))
            .select((
                journal_lines::id,
                journal_lines::entry_id,
                journal_entries::description,
                journal_entries::source_kind,
                journal_entries::source_id,
                journal_lines::amount_fen,
                journal_entries::posted_at,
            ))
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(journal_lines::id.lt(a));
        }
        let rows: Vec<(Uuid, Uuid, String, String, Uuid, i64, DateTime<Utc>)> = q
            .order(journal_lines::id.desc())
            .limit(limit)
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, entry_id, description, source_kind, source_id, amount, posted_at)| {
                    LedgerLine {
                        id,
                        entry_id,
                        description,
                        source_kind,
                        source_id,
                        amount: Fen(amount),
                        posted_at,
                    }
                },
            )
            .collect())
    }

    fn accounts_of(&self, owner: Uuid) -> Result<Vec<LedgerAccount>, Unknown> {
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<AccountRow> = ledger_accounts::table
            .filter(ledger_accounts::owner_id.eq(owner))
            .select(AccountRow::as_select())
            .order(ledger_accounts::code.asc())
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(AccountRow::into_domain)
            .collect::<QueryResult<_>>()?)
    }

    fn trial_balance(&self) -> Result<Vec<TrialBalanceRow>, Unknown> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            account_type: String,
            #[diesel(sql_type = Int8)]
            debits: i64,
            #[diesel(sql_type = Int8)]
            credits: i64,
        }
        let mut conn = get_conn(&self.pool)?;
        let rows: Vec<Row> = diesel::sql_query(
            // per type, the net of its accounts (a platform account's shards
            // are one account); Σ debits = Σ credits since every entry balances
            "SELECT account_type, greatest(net, 0)::int8 AS debits, greatest(-net, 0)::int8 AS credits
               FROM (SELECT coalesce(type, kind) AS account_type, sum(balance_fen) AS net
                       FROM ledger_accounts GROUP BY 1) t
              ORDER BY 1",
        )
        .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|r| TrialBalanceRow {
                account_type: r.account_type,
                debits: Fen(r.debits),
                credits: Fen(r.credits),
            })
            .collect())
    }
}
