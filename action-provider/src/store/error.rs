//! What can go wrong in the store, said precisely: which part failed and why.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend SAE can open, or a pool could not be built.
    #[error("database {backend}: cannot open the connection pool: {source}")]
    Open {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The pool's error.
        source: diesel::r2d2::PoolError,
    },
    /// No connection could be had from the pool within its timeout.
    #[error("database: no connection available: {0}")]
    Checkout(#[from] diesel::r2d2::PoolError),
    /// A statement failed.
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    /// The SQLite group committer failed (see [`GroupCommitError`]).
    #[error("group commit: {0}")]
    GroupCommit(#[from] GroupCommitError),
    /// A database file could not be created or made private.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A connection of the store's own threads (outside the pool) could not be made.
    #[error("database: cannot connect: {0}")]
    Connect(String),
    /// Applying the embedded migrations failed.
    #[error("migrations: {0}")]
    Migration(String),
    /// The blocking task that ran the operation panicked or was cancelled.
    #[error("database task did not finish: {0}")]
    Task(String),
    /// A stored value does not parse (a row written by a broken or newer version).
    #[error("stored {what} is malformed: {detail}")]
    Corrupt {
        /// Which value (`users.authsys_names of user 7`, `settings.im`, …).
        what: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl StoreError {
    /// Whether the failure is a unique-constraint violation (a duplicate name, login, …).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// A malformed stored value.
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Why a write submitted to the SQLite group committer was not acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupCommitError {
    /// The committer's thread has stopped (the process is shutting down).
    #[error("the group-commit thread has stopped")]
    Stopped,
    /// The committer could not open its connection.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// The batch's COMMIT failed: none of its writes is visible.
    #[error("the batch transaction did not commit: {0}")]
    Commit(String),
    /// Another job of the batch panicked: the whole batch was rolled back.
    #[error("a write job of the batch panicked; the batch was rolled back")]
    Panicked,
    /// A repeatable write was rolled back this many times by the failures of other writes
    /// of its batches.
    #[error("a write was rolled back {0} times with a batch another write failed in")]
    Voided(usize),
}
