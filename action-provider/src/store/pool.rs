//! The two backends' connection pools, SQLite's connection settings and the embedded
//! migrations.
//!
//! SQLite write transactions start with `BEGIN IMMEDIATE` (two writers queue on the busy
//! timeout instead of failing with SQLITE_BUSY mid-transaction) and, inside one process, on a
//! mutex (no sleeps in SQLite's busy handler); PostgreSQL uses `FOR UPDATE` / advisory locks
//! where a write needs them.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use diesel::Connection as _;
use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

use super::checkpoint::{BACKSTOP_PAGES, Checkpointer};
use super::error::{GroupCommitError, StoreError};
use super::group_commit::{BatchConn, GroupCommit};
use super::group_read::GroupRead;

/// Migrations for SQLite, embedded in the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// Migrations for PostgreSQL, embedded in the binary.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// How long a request waits for a pooled connection.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// PostgreSQL (scale-out).
    Postgres,
}

impl BackendKind {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A PostgreSQL pool, its group committer and its group reader.
pub(super) struct Postgres {
    pub(super) pool: Pool<ConnectionManager<PgConnection>>,
    pub(super) group: LazyGroupCommit<PgConnection>,
    pub(super) reader: LazyGroupRead,
}

/// An SQLite pool with the process's writer lock and its group committer.
pub(super) struct Sqlite {
    pub(super) pool: Pool<ConnectionManager<SqliteConnection>>,
    /// Writers of this process queue here (see the module documentation).
    pub(super) writer: Arc<Mutex<()>>,
    pub(super) group: LazyGroupCommit<SqliteConnection>,
    /// Checkpoints the log off the commit path (see [`super::checkpoint`]).
    _checkpoints: Checkpointer,
}

/// The pools behind a [`Store`](super::Store).
pub(super) enum Backend {
    Postgres(Postgres),
    Sqlite(Sqlite),
}

/// Committer threads (and connections) of a PostgreSQL group commit, unless
/// `SAE_PG_COMMITTERS` says otherwise: while one batch waits for its statements' round trips,
/// another runs (each serves the lock keys of its shard). Two gave the most validations per
/// second on a two-core machine (tenth session: 1, 2, 4, 8 measured; more committers make
/// smaller batches, so more BEGIN/COMMIT and audit statements per decision).
const PG_COMMITTERS: usize = 2;

/// A pool's group committer, started at its first use (commands that never write through
/// it start no thread).
pub(super) struct LazyGroupCommit<C> {
    url: String,
    /// `SAE_GROUP_COMMIT=off` turns group commit off (one transaction per request, as for
    /// every other write): for measurements side by side, and as an escape hatch.
    pub(super) enabled: bool,
    started: OnceLock<Result<GroupCommit<C>, String>>,
}

impl<C> LazyGroupCommit<C> {
    fn new(url: &str) -> Self {
        Self {
            enabled: std::env::var("SAE_GROUP_COMMIT").map_or(true, |v| v != "off"),
            url: url.to_owned(),
            started: OnceLock::new(),
        }
    }
}

impl<C: BatchConn> LazyGroupCommit<C> {
    fn get_or_start(
        &self,
        start: impl FnOnce(String) -> std::io::Result<GroupCommit<C>>,
    ) -> Result<&GroupCommit<C>, StoreError> {
        self.started
            .get_or_init(|| start(self.url.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| GroupCommitError::Open(e.clone()).into())
    }
}

impl LazyGroupCommit<SqliteConnection> {
    /// The committer (one thread, serialised with the process's other writers), started on
    /// first use.
    pub(super) fn get(
        &self,
        writer: &Arc<Mutex<()>>,
    ) -> Result<&GroupCommit<SqliteConnection>, StoreError> {
        self.get_or_start(|url| {
            GroupCommit::start(move || sqlite_connection(&url), Some(Arc::clone(writer)), 1)
        })
    }
}

impl LazyGroupCommit<PgConnection> {
    /// The committers ([`PG_COMMITTERS`] threads, each with its own connection), started on
    /// first use.
    pub(super) fn get(&self) -> Result<&GroupCommit<PgConnection>, StoreError> {
        self.get_or_start(|url| {
            let n = threads("SAE_PG_COMMITTERS", PG_COMMITTERS);
            GroupCommit::start(pg_opener(url), None, n)
        })
    }
}

/// Reader threads (and connections) of a PostgreSQL group read, unless `SAE_PG_READERS`
/// says otherwise.
const PG_READERS: usize = 1;

/// The group read of the validations' users-with-tokens lookups (PostgreSQL), started at its
/// first use. `SAE_GROUP_READ=off` turns it off (each lookup its own statement on the pool):
/// for measurements side by side, and as an escape hatch.
pub(super) struct LazyGroupRead {
    url: String,
    pub(super) enabled: bool,
    started: OnceLock<Result<GroupRead, String>>,
}

impl LazyGroupRead {
    fn new(url: &str) -> Self {
        Self {
            enabled: std::env::var("SAE_GROUP_READ").map_or(true, |v| v != "off"),
            url: url.to_owned(),
            started: OnceLock::new(),
        }
    }

    /// The readers, started on first use.
    pub(super) fn get(&self) -> Result<&GroupRead, StoreError> {
        self.started
            .get_or_init(|| {
                let n = threads("SAE_PG_READERS", PG_READERS);
                GroupRead::start(pg_opener(self.url.clone()), n).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| StoreError::Connect(e.clone()))
    }
}

/// How many threads the environment variable `var` asks for (1 to 64), else `default`.
fn threads(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(default)
}

/// Opens connections outside the pool (a committer's, a reader's) to `url`.
/// `url` with libpq's `connect_timeout` (seconds) set to the pool's checkout timeout unless
/// the URL sets its own. Without it, opening a connection to an unreachable server waits
/// for the operating system to give up on the TCP handshake (two minutes on Linux): the pool
/// answers callers after its checkout timeout anyway, but the group reader's and the
/// committers' threads, which open their own connections, and the batches waiting on them,
/// would hang that long.
fn with_connect_timeout(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("connect_timeout"))
    {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}connect_timeout={}",
        CHECKOUT_TIMEOUT.as_secs()
    )
}

fn pg_opener(url: String) -> impl Fn() -> Result<PgConnection, String> + Send + Sync + 'static {
    move || PgConnection::establish(&url).map_err(|e| e.to_string())
}

/// Makes the database file and its WAL and shared-memory files private to this user (mode
/// 0600), creating the database file so: SQLite gives the `-wal` and `-shm` files it creates
/// the database file's mode, so every file of the database is private whatever the umask.
fn private_files(path: &str) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let fail = |source| StoreError::File {
            path: path.to_owned(),
            source,
        };
        if path == ":memory:" || path.starts_with("file:") {
            return Ok(());
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(fail)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            if std::path::Path::new(&file).exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// A connection outside the pool (the group committer's, the checkpoint thread's) with the
/// settings of the pool's.
fn sqlite_connection(url: &str) -> Result<SqliteConnection, String> {
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    SqlitePragmas
        .on_acquire(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Settings every SQLite connection gets.
#[derive(Debug)]
pub(super) struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES};
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Backend {
    /// Opens a pool: `postgres://…` URLs go to PostgreSQL, anything else is a SQLite path.
    pub(super) fn open(url: &str, max_size: u32) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let url = &with_connect_timeout(url);
            let pool = Pool::builder()
                .max_size(max_size)
                .connection_timeout(CHECKOUT_TIMEOUT)
                // No validity query on every checkout: it doubles the statements per request
                // (a PostgreSQL round trip); a broken connection still fails its query.
                .test_on_check_out(false)
                .build(ConnectionManager::<PgConnection>::new(url))
                .map_err(|source| StoreError::Open {
                    backend: "postgres",
                    source,
                })?;
            Ok(Self::Postgres(Postgres {
                pool,
                group: LazyGroupCommit::new(url),
                reader: LazyGroupRead::new(url),
            }))
        } else {
            private_files(url)?;
            let pool = Pool::builder()
                .max_size(max_size)
                .connection_timeout(CHECKOUT_TIMEOUT)
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqlitePragmas))
                .build(ConnectionManager::<SqliteConnection>::new(url))
                .map_err(|source| StoreError::Open {
                    backend: "sqlite",
                    source,
                })?;
            Ok(Self::Sqlite(Sqlite {
                _checkpoints: Checkpointer::start({
                    let url = url.to_owned();
                    move || sqlite_connection(&url)
                })
                .map_err(|e| {
                    StoreError::Task(format!("starting the SQLite checkpoint thread: {e}"))
                })?,
                pool,
                writer: Arc::new(Mutex::new(())),
                group: LazyGroupCommit::new(url),
            }))
        }
    }

    pub(super) fn kind(&self) -> BackendKind {
        match self {
            Self::Postgres(_) => BackendKind::Postgres,
            Self::Sqlite(_) => BackendKind::Sqlite,
        }
    }

    /// Applies pending migrations; returns how many ran.
    pub(super) fn migrate(&self) -> Result<usize, StoreError> {
        let mig =
            |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
        match self {
            Self::Postgres(pg) => {
                let mut c = pg.pool.get()?;
                // Serialise concurrent `sae serve` starts on one database.
                c.batch_execute("SELECT pg_advisory_lock(7248101)")?;
                let ran = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7248101)")?;
                ran.map_err(mig)
            }
            Self::Sqlite(lite) => lite
                .pool
                .get()?
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len())
                .map_err(mig),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Integer;

    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = Integer)]
        used: i32,
    }

    /// The bundled SQLite is built as `.cargo/config.toml` says: without the query planner
    /// stability guarantee every cached statement with a `LIMIT ?` is planned again on every
    /// execution, and with memory statistics every allocation takes a process-wide mutex.
    #[test]
    fn the_bundled_sqlite_has_the_build_options_the_server_relies_on() {
        let mut c = SqliteConnection::establish(":memory:").expect("an in-memory database");
        for option in ["ENABLE_QPSG", "THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
            let used: Used = diesel::sql_query("SELECT sqlite_compileoption_used(?) AS used")
                .bind::<diesel::sql_types::Text, _>(option)
                .get_result(&mut c)
                .expect("the query runs");
            assert_eq!(used.used, 1, "SQLite is not built with {option}");
        }
    }

    /// PostgreSQL URLs get a connect timeout unless they set their own; the rest of the URL
    /// is kept as written.
    #[test]
    fn postgresql_urls_get_a_connect_timeout_unless_they_set_one() {
        let t = super::CHECKOUT_TIMEOUT.as_secs();
        assert_eq!(
            super::with_connect_timeout("postgres://sae@db/sae"),
            format!("postgres://sae@db/sae?connect_timeout={t}")
        );
        assert_eq!(
            super::with_connect_timeout("postgresql://sae@db:6432/sae?sslmode=require"),
            format!("postgresql://sae@db:6432/sae?sslmode=require&connect_timeout={t}")
        );
        for own in [
            "postgres://sae@db/sae?connect_timeout=3",
            "postgres://sae@db/sae?sslmode=require&connect_timeout=30",
        ] {
            assert_eq!(super::with_connect_timeout(own), own);
        }
        // A parameter whose name merely ends the same way is not the timeout.
        assert_eq!(
            super::with_connect_timeout("postgres://db/sae?x_connect_timeout=1"),
            format!("postgres://db/sae?x_connect_timeout=1&connect_timeout={t}")
        );
    }

    #[derive(QueryableByName)]
    struct Pages {
        #[diesel(sql_type = Integer)]
        wal_autocheckpoint: i32,
    }

    /// Commits checkpoint only as a backstop: the store's checkpoint thread does it.
    #[test]
    fn pooled_sqlite_connections_leave_checkpoints_to_the_thread() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = dir.path().join("sae.db").to_string_lossy().into_owned();
        let super::Backend::Sqlite(lite) = super::Backend::open(&url, 2).expect("open") else {
            panic!("an SQLite store");
        };
        let mut c = lite.pool.get().expect("a connection");
        let got: Pages = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *c)
            .expect("the pragma answers");
        assert_eq!(
            got.wal_autocheckpoint,
            i32::try_from(super::BACKSTOP_PAGES).expect("fits")
        );
    }
}
