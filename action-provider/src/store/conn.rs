//! Connection pools for the two backends and the macros that run one body on either.
//!
//! Queries are written once with diesel's DSL and type-checked against both backends by
//! [`with_conn!`] and [`write_tx!`], which expand the body once per backend. That keeps
//! what differs explicit: SQLite write transactions start with `BEGIN IMMEDIATE` (so two
//! writers queue on the busy timeout instead of failing with SQLITE_BUSY mid-transaction),
//! and PostgreSQL can use `FOR UPDATE SKIP LOCKED` where a body needs it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

/// Migrations for SQLite, embedded in the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// Migrations for PostgreSQL, embedded in the binary.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A pool could not be built or a connection could not be had.
    #[error("database connection: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migration(String),
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

/// A pool of connections to one backend.
#[derive(Clone)]
pub enum DbPool {
    /// PostgreSQL (scale-out: many nodes share it).
    Pg(Pool<ConnectionManager<PgConnection>>),
    /// SQLite file in WAL mode (the embedded default), with the process's writer lock.
    Sqlite(
        Pool<ConnectionManager<SqliteConnection>>,
        Arc<Mutex<()>>,
        Arc<LazyGroupCommit>,
    ),
}

/// The group committer of a SQLite pool, started at its first use (commands that never
/// write through it start no thread).
#[derive(Debug)]
pub struct LazyGroupCommit {
    url: String,
    /// `SAE_GROUP_COMMIT=off` turns group commit off (one transaction per request, as for
    /// every other write): for measurements side by side, and as an escape hatch.
    pub enabled: bool,
    started: std::sync::OnceLock<Result<super::group::GroupCommit, String>>,
}

impl LazyGroupCommit {
    /// The committer, started on first use.
    pub fn get(&self, writer: &Arc<Mutex<()>>) -> Result<&super::group::GroupCommit, StoreError> {
        self.started
            .get_or_init(|| {
                let url = self.url.clone();
                let open = move || {
                    let mut conn = <SqliteConnection as diesel::Connection>::establish(&url)
                        .map_err(|e| e.to_string())?;
                    SqlitePragmas
                        .on_acquire(&mut conn)
                        .map_err(|e| e.to_string())?;
                    Ok(conn)
                };
                super::group::GroupCommit::start(open, Arc::clone(writer))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| StoreError::Pool(format!("group commit: {e}")))
    }
}

/// A connection checked out of a [`DbPool`].
pub enum DbConn {
    /// PostgreSQL.
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
    /// SQLite, with the process's writer lock.
    Sqlite(
        PooledConnection<ConnectionManager<SqliteConnection>>,
        Arc<Mutex<()>>,
    ),
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl DbPool {
    /// Opens a pool: `postgres://…` URLs go to PostgreSQL, anything else is a SQLite path.
    pub fn open(url: &str, max_size: u32) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = Pool::builder()
                .max_size(max_size)
                .connection_timeout(Duration::from_secs(10))
                // No validity query on every checkout: it doubles the statements per request
                // (a PostgreSQL round trip); a broken connection still fails its query.
                .test_on_check_out(false)
                .build(ConnectionManager::<PgConnection>::new(url))
                .map_err(|e| StoreError::Pool(e.to_string()))?;
            Ok(Self::Pg(pool))
        } else {
            let pool = Pool::builder()
                .max_size(max_size)
                .connection_timeout(Duration::from_secs(10))
                // No validity query on every checkout: it doubles the statements per request
                // (a PostgreSQL round trip); a broken connection still fails its query.
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqlitePragmas))
                .build(ConnectionManager::<SqliteConnection>::new(url))
                .map_err(|e| StoreError::Pool(e.to_string()))?;
            let group = LazyGroupCommit {
                enabled: std::env::var("SAE_GROUP_COMMIT").map_or(true, |v| v != "off"),
                url: url.to_owned(),
                started: std::sync::OnceLock::new(),
            };
            Ok(Self::Sqlite(
                pool,
                Arc::new(Mutex::new(())),
                Arc::new(group),
            ))
        }
    }

    /// Which backend this is (`"sqlite"` or `"postgres"`).
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Pg(_) => "postgres",
            Self::Sqlite(..) => "sqlite",
        }
    }

    /// Checks a connection out of the pool (blocking: call from a blocking thread).
    pub fn get(&self) -> Result<DbConn, StoreError> {
        Ok(match self {
            Self::Pg(p) => DbConn::Pg(p.get()?),
            Self::Sqlite(p, lock, _) => DbConn::Sqlite(p.get()?, Arc::clone(lock)),
        })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mig =
            |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
        match self.get()? {
            DbConn::Pg(mut c) => {
                // Serialise concurrent `sae serve` starts on one database.
                c.batch_execute("SELECT pg_advisory_lock(7248101)")?;
                let ran = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7248101)")?;
                ran.map_err(mig)
            }
            DbConn::Sqlite(mut c, _) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len())
                .map_err(mig),
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's connection (`&mut PgConnection` or
/// `&mut SqliteConnection`); the body is compiled once for each backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::conn::DbConn::Pg(pooled) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut *pooled;
                $body
            }
            $crate::store::conn::DbConn::Sqlite(pooled, _) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut *pooled;
                $body
            }
        }
    };
}

/// Runs `$body` in a write transaction: `BEGIN IMMEDIATE` on SQLite, a plain transaction on
/// PostgreSQL. The body returns `Result<T, E>` with `E: From<diesel::result::Error>`.
#[macro_export]
macro_rules! write_tx {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::conn::DbConn::Pg(pooled) => ::diesel::Connection::transaction(
                &mut **pooled,
                |$c: &mut ::diesel::pg::PgConnection| $body,
            ),
            $crate::store::conn::DbConn::Sqlite(pooled, lock) => {
                // Writers of this process queue on a mutex instead of in SQLite's busy
                // handler, whose sleeps add milliseconds under contention; other processes
                // (the CLI) are still serialised by BEGIN IMMEDIATE and busy_timeout.
                let _writer = lock
                    .lock()
                    .unwrap_or_else(::std::sync::PoisonError::into_inner);
                pooled.immediate_transaction(|$c: &mut ::diesel::sqlite::SqliteConnection| $body)
            }
        }
    };
}

/// Runs `move |c| body` as one write transaction: on PostgreSQL in a pooled connection, on
/// SQLite through the group committer (one commit shared by concurrent requests; the answer
/// comes after the commit). The body must be `'static` (move owned data in). The enclosing
/// function's error type must convert from `StoreError` and the body's error type.
#[macro_export]
macro_rules! group_tx {
    ($pool:expr, move |$c:ident| $body:expr) => {
        match $pool {
            $crate::store::conn::DbPool::Pg(p) => {
                let mut pooled = p.get().map_err($crate::store::StoreError::from)?;
                ::diesel::Connection::transaction(
                    &mut *pooled,
                    move |$c: &mut ::diesel::pg::PgConnection| $body,
                )
            }
            $crate::store::conn::DbPool::Sqlite(_, writer, group) if group.enabled => group
                .get(writer)?
                .write(move |$c: &mut ::diesel::sqlite::SqliteConnection| $body),
            $crate::store::conn::DbPool::Sqlite(p, writer, _) => {
                let mut pooled = p.get().map_err($crate::store::StoreError::from)?;
                let _writer = writer
                    .lock()
                    .unwrap_or_else(::std::sync::PoisonError::into_inner);
                pooled
                    .immediate_transaction(move |$c: &mut ::diesel::sqlite::SqliteConnection| $body)
            }
        }
    };
}
