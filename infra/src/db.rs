//! Postgres connection pool and embedded migrations.
//!
//! The pool hands out connections that are known to be alive: a connection
//! whose query failed because the server went away is marked broken and
//! dropped when it returns to the pool, and for a while after any such
//! failure (`OUTAGE_WINDOW`) every checkout is pinged first, so the dead
//! connections still idle in the pool are never handed out. Errors that mean
//! "the database is not there" are told apart from other failures
//! ([`is_unavailable`]) so the API answers 503 `database_unavailable`, which
//! clients retry, instead of 500.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{sql_query, Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::{ExposeSecret, SecretString};

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type PgPooled = PooledConnection<HealthyManager>;

/// The r2d2 pool and what it has seen of the server's health.
#[derive(Clone, Debug)]
pub struct PgPool {
    pool: Pool<HealthyManager>,
    health: Arc<PoolHealth>,
    /// A read replica's pool falls back to the primary's while the replica
    /// cannot be reached (see [`build_replica_pool`]).
    fallback: Option<Box<PgPool>>,
}

/// How long after the last sign of an outage checkouts are pinged first.
const OUTAGE_WINDOW: Duration = Duration::from_secs(10);
/// Within the outage window a request waits at most this long for a
/// connection before it is answered 503.
const DOWN_CHECKOUT_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// A stored value that does not decode (a broken invariant, not bad input).
pub(crate) fn bad(e: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(e.to_string().into())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What one pool has seen of the server's health.
#[derive(Debug, Default)]
pub struct PoolHealth {
    /// Unix ms of the last failure that meant the server went away (0: never).
    last_outage_ms: AtomicU64,
}

impl PoolHealth {
    fn note_outage(&self) {
        self.last_outage_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn in_outage_window(&self) -> bool {
        let last = self.last_outage_ms.load(Ordering::Relaxed);
        last != 0 && now_ms().saturating_sub(last) < OUTAGE_WINDOW.as_millis() as u64
    }
}

/// Diesel's r2d2 manager, plus: connections carry a [`Watch`] that marks them
/// broken when a query fails because the server went away, and such
/// connections are discarded instead of returning to the pool.
#[derive(Debug)]
pub struct HealthyManager {
    inner: ConnectionManager<PgConnection>,
    health: Arc<PoolHealth>,
    /// `statement_timeout` of every connection (None: the server's).
    statement_timeout: Option<Duration>,
}

/// Per-connection instrumentation: remembers a connection-level failure.
struct Watch {
    broken: bool,
    health: Arc<PoolHealth>,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
            if is_connection_error(e) {
                self.broken = true;
                self.health.note_outage();
            }
        }
    }
}

impl ManageConnection for HealthyManager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        let mut conn = self.inner.connect()?;
        if let Some(t) = self.statement_timeout {
            // a statement stuck behind a lock or a slow server gives its
            // connection back instead of holding it (answered 503)
            conn.batch_execute(&format!("SET statement_timeout = {}", t.as_millis()))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        conn.set_instrumentation(Watch {
            broken: false,
            health: self.health.clone(),
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        self.inner.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        if self.inner.has_broken(conn) {
            return true;
        }
        conn.instrumentation()
            .downcast_ref::<Watch>()
            .is_some_and(|w| w.broken)
    }
}

/// Is this diesel error the server (or the network to it) going away?
fn is_connection_error(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let m = info.message();
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now:
            // diesel reports them as `Unknown`; their texts are stable.
            m.starts_with("terminating connection")
                || m.contains("server closed the connection")
                || m.contains("no connection to the server")
                || m.contains("the database system is")
                || m.contains("could not receive data from server")
        }
        DieselError::BrokenTransactionManager => true,
        DieselError::RollbackErrorOnCommit {
            commit_error,
            rollback_error,
        } => is_connection_error(commit_error) || is_connection_error(rollback_error),
        DieselError::RollbackTransaction => false,
        _ => false,
    }
}

/// Did a statement run past `statement_timeout` (57014 query_canceled)?
fn is_timeout_error(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(_, info)
        if info.message().starts_with("canceling statement due to statement timeout"))
}

/// Does `e` (anywhere in its chain) mean a statement ran past the
/// configured timeout (a held lock, a slow server)? Nothing was written.
pub fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let diesel = match err.downcast_ref::<DbError>() {
            Some(DbError::Query(d)) => Some(d),
            _ => err.downcast_ref::<DieselError>(),
        };
        if diesel.is_some_and(is_timeout_error) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Does `e` (anywhere in its chain) mean the database could not be reached
/// — a failed checkout or a connection lost mid-query — rather than a bug?
/// Callers answer such errors 503 and clients retry them.
pub fn is_unavailable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(DbError::Unavailable(_)) = err.downcast_ref::<DbError>() {
            return true;
        }
        if let Some(DbError::Query(d)) = err.downcast_ref::<DbError>() {
            if is_connection_error(d) {
                return true;
            }
        }
        if let Some(d) = err.downcast_ref::<DieselError>() {
            if is_connection_error(d) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Builds a pool without opening a connection: the server starts (and
/// `/readyz` reports the outage) even while Postgres is down.
/// `connect_timeout` is how long a request waits for a pooled connection
/// (r2d2 also caps its reconnect back-off at half of it);
/// `statement_timeout` bounds every statement (None: the server's setting).
pub fn build_pool(
    url: &SecretString,
    max_size: u32,
    connect_timeout: Duration,
    statement_timeout: Option<Duration>,
) -> PgPool {
    pool_of(
        url,
        max_size,
        connect_timeout,
        false,
        statement_timeout,
        None,
    )
}

/// A pool of connections to a read replica that falls back to `primary`:
/// every checkout is validated (one `SELECT 1`), a replica that does not
/// hand out a live connection within [`DOWN_CHECKOUT_WAIT`] is skipped for
/// [`OUTAGE_WINDOW`] and its reads go to the primary meanwhile; the first
/// read after the window tries the replica again. A replica whose
/// connections are all busy also overflows to the primary.
pub fn build_replica_pool(
    url: &SecretString,
    primary: &PgPool,
    max_size: u32,
    statement_timeout: Option<Duration>,
) -> PgPool {
    pool_of(
        url,
        max_size,
        DOWN_CHECKOUT_WAIT,
        true,
        statement_timeout,
        Some(Box::new(primary.clone())),
    )
}

fn pool_of(
    url: &SecretString,
    max_size: u32,
    checkout_wait: Duration,
    validate: bool,
    statement_timeout: Option<Duration>,
    fallback: Option<Box<PgPool>>,
) -> PgPool {
    let health = Arc::new(PoolHealth::default());
    let manager = HealthyManager {
        inner: ConnectionManager::<PgConnection>::new(url.expose_secret()),
        health: health.clone(),
        statement_timeout,
    };
    let pool = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(checkout_wait)
        .test_on_check_out(validate)
        .build_unchecked(manager);
    PgPool {
        pool,
        health,
        fallback,
    }
}

impl PgPool {
    /// Is this a replica pool whose replica is being skipped right now?
    pub fn replica_skipped(&self) -> bool {
        self.fallback.is_some() && self.health.in_outage_window()
    }

    /// Is this the pool of a read replica (with the primary behind it)?
    pub fn is_replica(&self) -> bool {
        self.fallback.is_some()
    }

    /// The primary behind a replica pool (itself for a primary pool).
    pub fn primary(&self) -> &PgPool {
        self.fallback.as_deref().unwrap_or(self)
    }
}

/// A live connection from the pool, or `DbError::Unavailable` when none can
/// be had in time. Right after an outage, connections are pinged before they
/// are handed out and dead ones are dropped; while the server is known to be
/// down, a request waits only briefly.
pub fn get_conn(pool: &PgPool) -> Result<PgPooled, DbError> {
    let Some(primary) = &pool.fallback else {
        return checkout(pool);
    };
    if pool.health.in_outage_window() {
        return checkout(primary);
    }
    match pool.pool.get() {
        Ok(conn) => Ok(conn),
        Err(e) => {
            if pool.pool.state().connections == 0 {
                tracing::warn!(error = %e, "read replica unreachable: reading from the primary");
                pool.health.note_outage();
            }
            checkout(primary)
        }
    }
}

fn checkout(pool: &PgPool) -> Result<PgPooled, DbError> {
    let health = &pool.health;
    for _ in 0..=pool.pool.max_size() {
        // Right after a sign that the server went away, wait only briefly:
        // the request is answered 503 instead of queueing for the full
        // timeout against a server that is not there.
        let outage = health.in_outage_window();
        let got = if outage {
            pool.pool.get_timeout(DOWN_CHECKOUT_WAIT)
        } else {
            pool.pool.get()
        };
        let mut conn = match got {
            Ok(c) => c,
            Err(e) => {
                // No connection at all: the server is unreachable. Some
                // connections, all busy: overload — also 503, but not an
                // outage (no pings, no short waits for the others).
                if pool.pool.state().connections == 0 {
                    health.note_outage();
                }
                return Err(DbError::Unavailable(e.to_string()));
            }
        };
        if !outage || conn.ping().is_ok() {
            return Ok(conn);
        }
        // Dead: mark it so the pool discards it on drop, and try another.
        health.note_outage();
        AnsiTransactionManager::transaction_manager_status_mut(&mut *conn).set_in_error();
    }
    Err(DbError::Unavailable(
        "no live connection after pinging the pool".into(),
    ))
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
