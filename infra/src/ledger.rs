//! The double-entry ledger's write path: accounts by code, and balanced,
//! immutable journal entries (the database refuses unbalanced entries and
//! any UPDATE or DELETE).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::{journal_entries, journal_lines, ledger_accounts};

/// The id of the account with `code`, creating it on first use.
pub fn account(conn: &mut PgConnection, code: &str, name: &str, kind: &str) -> QueryResult<Uuid> {
    diesel::insert_into(ledger_accounts::table)
        .values((
            ledger_accounts::id.eq(Uuid::now_v7()),
            ledger_accounts::code.eq(code),
            ledger_accounts::name.eq(name),
            ledger_accounts::kind.eq(kind),
        ))
        .on_conflict(ledger_accounts::code)
        .do_nothing()
        .execute(conn)?;
    ledger_accounts::table
        .filter(ledger_accounts::code.eq(code))
        .select(ledger_accounts::id)
        .first(conn)
}

/// Posts one entry. `lines` are (account, amount): debits positive, credits
/// negative; they must sum to zero (checked again by the database at commit).
pub fn post(
    conn: &mut PgConnection,
    description: &str,
    source_kind: &str,
    source_id: Uuid,
    lines: &[(Uuid, i64)],
    at: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let sum: i128 = lines.iter().map(|(_, a)| i128::from(*a)).sum();
    if sum != 0 {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("unbalanced journal entry (sum {sum})").into(),
        ));
    }
    let entry = Uuid::now_v7();
    diesel::insert_into(journal_entries::table)
        .values((
            journal_entries::id.eq(entry),
            journal_entries::description.eq(description),
            journal_entries::source_kind.eq(source_kind),
            journal_entries::source_id.eq(source_id),
            journal_entries::posted_at.eq(at),
        ))
        .execute(conn)?;
    let rows: Vec<_> = lines
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(account, amount)| {
            (
                journal_lines::id.eq(Uuid::now_v7()),
                journal_lines::entry_id.eq(entry),
                journal_lines::account_id.eq(*account),
                journal_lines::amount_fen.eq(*amount),
            )
        })
        .collect();
    diesel::insert_into(journal_lines::table)
        .values(rows)
        .execute(conn)?;
    Ok(entry)
}
