//! Postgres connection pool and embedded migrations.

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{sql_query, Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::{ExposeSecret, SecretString};

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Builds a pool without opening a connection: the server starts (and
/// `/readyz` reports the outage) even while Postgres is down.
/// A stored value that does not decode (a broken invariant, not bad input).
pub(crate) fn bad(e: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(e.to_string().into())
}

pub fn build_pool(url: &SecretString, max_size: u32, connect_timeout: Duration) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(url.expose_secret());
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        .test_on_check_out(false)
        .build_unchecked(manager)
}

pub fn get_conn(pool: &PgPool) -> Result<PgPooled, DbError> {
    pool.get().map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Applies every pending migration. Serialised across instances with an
/// advisory lock so several API instances can start together.
pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, DbError> {
    const LOCK_KEY: i64 = 0x636f_6f70_6d61_7274; // "coopmart"
    sql_query(format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .execute(conn)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Migration(e.to_string()));
    let _ = sql_query(format!("SELECT pg_advisory_unlock({LOCK_KEY})")).execute(conn);
    result
}

/// Opens one connection outside the pool (used by start-up and tooling).
pub fn connect(url: &SecretString) -> Result<PgConnection, DbError> {
    PgConnection::establish(url.expose_secret()).map_err(|e| DbError::Unavailable(e.to_string()))
}

/// Cheapest round trip that proves the database answers.
pub fn ping(pool: &PgPool) -> Result<(), DbError> {
    let mut conn = get_conn(pool)?;
    sql_query("SELECT 1").execute(&mut conn)?;
    Ok(())
}
