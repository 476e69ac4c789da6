//! Storage: diesel over SQLite (embedded default) and PostgreSQL (scale-out), behind one
//! façade, [`Store`].
//!
//! Nothing above this module sees a pool or a connection type. A caller hands the store a
//! closure over `&mut dyn Conn` — the union of the per-entity query traits (one file per
//! table: its `NewX`/`X` rows and its queries) — and says what kind of access it needs:
//!
//! - [`Store::read`]: a few reads on one connection;
//! - [`Store::user_with_tokens`]: a validation's read, shared with concurrent ones on
//!   PostgreSQL (group read);
//! - [`Store::write`]: one write transaction (`BEGIN IMMEDIATE` on SQLite);
//! - [`Store::write_batched`]: one write transaction that may share its commit with the
//!   writes of concurrent requests (group commit); answered only after COMMIT;
//! - [`Store::write_batched_audited`]: the same for a write that ends with an audit record
//!   (a batch inserts its jobs' records together, after them);
//! - [`Store::write_shared`]: a write that joins the group commit when it names a lock key
//!   (on PostgreSQL; always on SQLite), else commits alone;
//! - [`Store::write_claim`]: a write that never waits for a row lock (the outbox claim).
//!
//! Each query trait is implemented for both backends' connections from one body (see
//! [`for_both_backends!`]), so a closure stays backend-agnostic.

/// Implements a query trait for both backends' connection types with one body, so each
/// query is written once and type-checked against SQLite and PostgreSQL.
macro_rules! for_both_backends {
    (impl $tr:ident { $($body:tt)* }) => {
        impl $tr for ::diesel::pg::PgConnection { $($body)* }
        impl $tr for ::diesel::sqlite::SqliteConnection { $($body)* }
    };
}

/// What a statement costs on each backend, for the few places that write differently for
/// each (one statement of many rows, or many prepared statements of one).
pub(crate) trait StatementCost {
    /// Each statement is a round trip to a server (PostgreSQL), not a call into a library
    /// in this process (SQLite).
    const ROUND_TRIP: bool;
}

impl StatementCost for ::diesel::pg::PgConnection {
    const ROUND_TRIP: bool = true;
}

impl StatementCost for ::diesel::sqlite::SqliteConnection {
    const ROUND_TRIP: bool = false;
}

pub mod admin_groups;
pub mod admin_sessions;
pub mod admins;
pub mod apikeys;
pub mod attempts;
pub mod audit;
pub mod backup;
pub mod buffers;
mod checkpoint;
pub mod codes;
pub mod dashboard;
pub mod devices;
mod error;
mod fixed;
mod group_commit;
mod group_read;
pub use group_commit::Fast;
pub mod idempotency;
pub mod inbound;
pub mod jobs;
pub mod locks;
mod login_rule;
pub mod logins;
pub mod notifications;
pub mod oauth2;
pub mod oauth2_refresh;
pub mod outbox;
mod pool;
pub mod schema;
pub mod sealed;
pub mod settings;
pub mod smtp;
pub mod tokens;
pub mod user_list;
pub mod users;
pub mod wallets;

use std::sync::Arc;

use diesel::Connection as _;

pub use error::{GroupCommitError, StoreError};
use pool::Backend;
pub use pool::BackendKind;

/// Declares [`Conn`], the union of the query traits, and implements it for every type that
/// implements them all (both backends' connections).
macro_rules! conn_of {
    ($($tr:path),+ $(,)?) => {
        /// Every query, on either backend's connection: what a [`Store`] closure receives.
        pub trait Conn: $($tr +)+ {}

        impl<C: $($tr +)+> Conn for C {}
    };
}

conn_of!(
    admin_groups::AdminGroups,
    admin_sessions::AdminSessions,
    admins::Admins,
    apikeys::ApiKeys,
    attempts::Attempts,
    audit::AuditLog,
    codes::Codes,
    dashboard::Dashboard,
    devices::Devices,
    idempotency::Idempotency,
    inbound::InboundAccounts,
    jobs::Jobs,
    locks::Locks,
    locks::RowLocks,
    logins::Logins,
    notifications::Notifications,
    oauth2::OAuth2,
    oauth2_refresh::OAuth2Refresh,
    outbox::Outbox,
    sealed::SealedColumns,
    settings::Settings,
    smtp::SmtpAccounts,
    tokens::Tokens,
    user_list::UserList,
    users::Users,
    wallets::Wallets,
);

/// The query traits, to bring their methods into scope: `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::Conn;
    pub use super::admin_groups::AdminGroups as _;
    pub use super::admin_sessions::AdminSessions as _;
    pub use super::admins::Admins as _;
    pub use super::apikeys::ApiKeys as _;
    pub use super::attempts::Attempts as _;
    pub use super::audit::AuditLog as _;
    pub use super::codes::Codes as _;
    pub use super::dashboard::Dashboard as _;
    pub use super::devices::Devices as _;
    pub use super::idempotency::Idempotency as _;
    pub use super::inbound::InboundAccounts as _;
    pub use super::jobs::Jobs as _;
    pub use super::locks::Locks as _;
    pub use super::locks::RowLocks as _;
    pub use super::logins::Logins as _;
    pub use super::notifications::Notifications as _;
    pub use super::oauth2::OAuth2 as _;
    pub use super::oauth2_refresh::OAuth2Refresh as _;
    pub use super::outbox::Outbox as _;
    pub use super::sealed::SealedColumns as _;
    pub use super::settings::Settings as _;
    pub use super::smtp::SmtpAccounts as _;
    pub use super::tokens::Tokens as _;
    pub use super::user_list::UserList as _;
    pub use super::users::Users as _;
    pub use super::wallets::Wallets as _;
}

/// The database, whichever backend it is. Cheap to clone (shared pools).
#[derive(Clone)]
pub struct Store(Arc<Backend>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.kind().as_str())
    }
}

impl Store {
    /// Opens a store: `postgres://…` URLs go to PostgreSQL, anything else is a SQLite path.
    /// Connections are made lazily; call [`Store::migrate`] before serving.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        Ok(Self(Arc::new(Backend::open(url, pool_size)?)))
    }

    /// Which backend this is.
    pub fn kind(&self) -> BackendKind {
        self.0.kind()
    }

    /// Applies pending migrations (blocking); returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        self.0.migrate()
    }

    /// On PostgreSQL, `shared_buffers` next to the size of the users and tokens tables
    /// ([`buffers::BufferFit`]); `None` on SQLite.
    pub fn buffer_fit(&self) -> Result<Option<buffers::BufferFit>, StoreError> {
        match &*self.0 {
            Backend::Postgres(pg) => {
                let mut c = pg.pool.get()?;
                Ok(Some(buffers::buffer_fit(&mut c)?))
            }
            Backend::Sqlite(_) => Ok(None),
        }
    }

    /// Runs `f` on one connection, outside a transaction, on the calling thread.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E>,
        E: From<StoreError>,
    {
        match &*self.0 {
            Backend::Postgres(pg) => {
                let mut c = pg.pool.get().map_err(StoreError::from)?;
                f(&mut *c)
            }
            Backend::Sqlite(lite) => {
                let mut c = lite.pool.get().map_err(StoreError::from)?;
                f(&mut *c)
            }
        }
    }

    /// Runs `f` as one write transaction, on the calling thread (blocking): `BEGIN
    /// IMMEDIATE` behind the process's writer lock on SQLite, a plain transaction on
    /// PostgreSQL. An `Err` from `f` rolls the transaction back.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E>,
        E: From<StoreError> + From<diesel::result::Error>,
    {
        match &*self.0 {
            Backend::Postgres(pg) => {
                let mut pooled = pg.pool.get().map_err(StoreError::from)?;
                let c: &mut diesel::pg::PgConnection = &mut pooled;
                c.transaction(|c| f(c))
            }
            Backend::Sqlite(lite) => {
                let mut pooled = lite.pool.get().map_err(StoreError::from)?;
                let c: &mut diesel::sqlite::SqliteConnection = &mut pooled;
                let _writer = lite
                    .writer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                c.immediate_transaction(|c| f(c))
            }
        }
    }

    /// Runs `f` on one connection, outside a transaction. On SQLite the reads run on the
    /// calling task (they are page-cache work measured in microseconds; a hand-off to a
    /// blocking thread would cost more than the reads); on PostgreSQL on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.0 {
            Backend::Sqlite(_) => self.read_blocking(f),
            Backend::Postgres(_) => {
                let store = self.clone();
                spawn_blocking(move || store.read_blocking(f)).await?
            }
        }
    }

    /// The user that answers to `login`, with its tokens (`Users::user_with_tokens`), for a
    /// validation: on PostgreSQL the lookups of concurrent validations share one statement
    /// (group read, unless `SAE_GROUP_READ=off`); on SQLite a read on the calling task.
    pub async fn user_with_tokens(
        &self,
        login: String,
    ) -> Result<Option<(users::User, Vec<tokens::Token>)>, StoreError> {
        match &*self.0 {
            Backend::Postgres(pg) if pg.reader.enabled => {
                pg.reader.get()?.user_with_tokens(login).await
            }
            _ => {
                self.read(move |c| c.user_with_tokens(&login).map_err(StoreError::from))
                    .await
            }
        }
    }

    /// The user that answers to `login`, for a code request: on PostgreSQL the validations'
    /// group read (its tokens unused: sharing their statement is cheaper than a statement of
    /// its own); on SQLite the user's row alone, read on the calling task.
    pub async fn user_for_code(&self, login: String) -> Result<Option<users::User>, StoreError> {
        match &*self.0 {
            Backend::Postgres(pg) if pg.reader.enabled => Ok(pg
                .reader
                .get()?
                .user_with_tokens(login)
                .await?
                .map(|(user, _)| user)),
            _ => {
                self.read(move |c| c.user_by_login(&login).map_err(StoreError::from))
                    .await
            }
        }
    }

    /// Runs `f` as one write transaction on the blocking pool.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let store = self.clone();
        spawn_blocking(move || store.write_blocking(f)).await?
    }

    /// Runs `f` as one write transaction that may share its commit with concurrent ones
    /// (group commit, unless `SAE_GROUP_COMMIT=off`): it joins the next batch, runs in its
    /// own savepoint (an `Err` rolls back this write only) and is answered after the batch's
    /// COMMIT. The answer always describes a committed write. `lock_key`: the only rows `f`
    /// locks are those of this key (a user's id: the user's row, then its tokens or codes);
    /// a batch runs its writes in key order so that batches never deadlock.
    pub async fn write_batched<T, E, F>(&self, lock_key: i64, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        self.batched(lock_key, move |c| f(c).map(|value| (value, None)))
            .await
    }

    /// [`Self::write_batched`] for a write that ends with an audit record: `f` answers its
    /// value and the record. In a batch the records of all its jobs are inserted in one
    /// statement before the COMMIT (one round trip per batch instead of one per job on
    /// PostgreSQL); a write that fails leaves no record. Without group commit the record is
    /// inserted at the end of `f`'s transaction.
    ///
    /// `f` must be *repeatable*: it is cloned, and may run again from the start when another
    /// write of its batch fails (nothing of the earlier run is then written; the new run sees
    /// the database as it is then). On PostgreSQL this spares it a savepoint of its own
    /// ([`GroupCommit::write_contained`](group_commit::GroupCommit::write_contained)).
    ///
    /// `fast`: the write's common success, when the caller has one (a right code for a user
    /// whose row held no lock and no failure): on PostgreSQL a batch accepts all of those in
    /// one statement before its transaction ([`Fast`]); where it is not
    /// accepted (or on SQLite) `f` runs, and should try the same success first.
    pub async fn write_batched_audited<T, E, F>(
        &self,
        lock_key: i64,
        fast: Option<Fast<T>>,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, audit::NewAudit), E> + Clone + Send + 'static,
        T: Clone + Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let f = move |c: &mut dyn Conn| f(c).map(|(value, record)| (value, Some(record)));
        self.write_repeatable(lock_key, fast, f).await
    }

    /// [`Self::write_shared`] with a lock key, for a write that is *repeatable* as
    /// [`Self::write_batched_audited`] says (cloned, maybe run again from the start, nothing
    /// of an earlier run written): on PostgreSQL it needs no savepoint of its own while the
    /// writes before it in its batch are repeatable too (a code request, a send's record;
    /// `GroupCommit::write_contained`). On SQLite, where a savepoint is a call, an ordinary
    /// batched write. `fast`: as for [`Self::write_batched_audited`].
    pub async fn write_repeatable<T, E, F>(
        &self,
        lock_key: i64,
        fast: Option<Fast<T>>,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, Option<audit::NewAudit>), E>
            + Clone
            + Send
            + 'static,
        T: Clone + Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match &*self.0 {
            Backend::Postgres(pg) if pg.group.enabled => {
                pg.group
                    .get()?
                    .write_contained(lock_key, fast, move |c: &mut diesel::pg::PgConnection| f(c))
                    .await
            }
            _ => self.batched(lock_key, f).await,
        }
    }

    /// The group commit's door: `f` answers its value and maybe an audit record.
    async fn batched<T, E, F>(&self, lock_key: i64, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, Option<audit::NewAudit>), E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match &*self.0 {
            Backend::Sqlite(lite) if lite.group.enabled => {
                let group = lite.group.get(&lite.writer)?;
                group
                    .write_async(lock_key, move |c: &mut diesel::sqlite::SqliteConnection| {
                        f(c)
                    })
                    .await
            }
            Backend::Postgres(pg) if pg.group.enabled => {
                pg.group
                    .get()?
                    .write_async(lock_key, move |c: &mut diesel::pg::PgConnection| f(c))
                    .await
            }
            _ => self.write_alone(f).await,
        }
    }

    /// `f` as a write transaction of its own, its audit record (if any) inserted at its end.
    async fn write_alone<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, Option<audit::NewAudit>), E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        self.write(move |c| {
            let (value, record) = f(c)?;
            if let Some(record) = record {
                c.audit_insert(&record)?;
            }
            Ok(value)
        })
        .await
    }

    /// Runs `f` as one write transaction that may share its commit with concurrent ones;
    /// `f` answers its value and maybe an audit record (inserted with the batch's records).
    /// `lock_key`: `Some(key)` when the only rows `f` locks are those of `key`, as for
    /// [`write_batched`](Self::write_batched) (a code request without a budget or an
    /// idempotency key locks only its user's row, by the issued code's foreign key); `None` when `f` may
    /// lock rows of several keys (an idempotency key, a mobile number two users share). With
    /// `None` it still joins the group commit on SQLite (one writer at a time, so the writes
    /// of a batch cannot wait for each other) but commits alone on PostgreSQL, where two
    /// batches locking those rows in different orders could deadlock.
    pub async fn write_shared<T, E, F>(&self, lock_key: Option<i64>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, Option<audit::NewAudit>), E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match (&*self.0, lock_key) {
            (Backend::Postgres(_), None) => self.write_alone(f).await,
            (_, key) => self.batched(key.unwrap_or(0), f).await,
        }
    }

    /// Runs `f`, a write that never waits for a row lock (a claim that skips locked rows),
    /// as one write transaction: on PostgreSQL it shares a batch's commit (it cannot be part
    /// of a lock cycle, so it needs no lock key; measured +7–12 % code requests/s); on SQLite
    /// it runs alone between batches (in a batch it lengthened the batches code requests wait
    /// for: their median latency rose by a third, for no throughput).
    pub async fn write_claim<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match &*self.0 {
            Backend::Postgres(_) => self.batched(0, move |c| f(c).map(|v| (v, None))).await,
            Backend::Sqlite(_) => self.write(f).await,
        }
    }

    /// Whether the database answers (a connection and a trivial query).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.settings_versions().map(|_| ()).map_err(StoreError::from))
            .await
    }

    /// Direct access to the SQLite pool for the backup command (`VACUUM INTO`), which is
    /// not a query of any entity. `None` on PostgreSQL.
    pub fn sqlite_raw<T>(
        &self,
        f: impl FnOnce(&mut diesel::sqlite::SqliteConnection) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        match &*self.0 {
            Backend::Sqlite(lite) => Some(
                lite.pool
                    .get()
                    .map_err(StoreError::from)
                    .and_then(|mut c| f(&mut c)),
            ),
            Backend::Postgres(_) => None,
        }
    }
}

/// Runs blocking store work on the runtime's blocking pool.
async fn spawn_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// Maps a `u64` counter onto `i64` preserving order (flips the sign bit), so SQL `<`/`>`
/// on the stored value agree with the counters' order over the whole `u64` range.
pub fn counter_to_db(counter: u64) -> i64 {
    i64::from_ne_bytes((counter ^ (1 << 63)).to_ne_bytes())
}

/// Inverse of [`counter_to_db`].
pub fn counter_from_db(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes()) ^ (1 << 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_encoding_preserves_order_at_the_edges() {
        let samples = [
            0u64,
            1,
            2,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for w in samples.windows(2) {
            assert!(
                counter_to_db(w[0]) < counter_to_db(w[1]),
                "{} vs {}",
                w[0],
                w[1]
            );
        }
        for s in samples {
            assert_eq!(counter_from_db(counter_to_db(s)), s);
        }
    }
}
