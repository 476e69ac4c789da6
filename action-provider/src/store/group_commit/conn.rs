//! The connections a batch runs on: how a batch transaction begins, how each job gets a
//! savepoint of its own, and how a batch's successes as read are taken together (see the
//! parent module).

use diesel::QueryResult;
use diesel::connection::Connection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use super::MAX_BATCH;
use crate::store::audit::{AuditLog, NewAudit};
use crate::store::codes::NewIssuedCode;
use crate::store::locks::{AcceptAllAsRead, AsRead};
use crate::store::outbox::{IssueAll, NewOutbox};

/// A connection a batch can run on: how a batch transaction begins, and how each job gets a
/// savepoint of its own.
pub trait BatchConn: Connection + AuditLog + Send + 'static {
    /// Whether a savepoint costs nothing worth saving (SQLite: no round trip). When it does
    /// (PostgreSQL), the first job of a batch transaction runs without one: if it fails, the
    /// whole transaction (that job's writes only) is rolled back instead, and the rest of the
    /// batch runs in a new one.
    const CHEAP_SAVEPOINTS: bool;

    /// Most jobs in one batch transaction.
    const MAX_JOBS: usize;

    /// Runs `f` as the batch's transaction.
    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()>;

    /// Runs one job, in a savepoint of its own when `protect`: an `Err` of `body` then rolls
    /// back that job's writes only (unprotected, the caller must roll back the transaction).
    /// `open`: whether the previous job's savepoint is still open (see [`Self::end_jobs`]).
    /// The outer `Err`: a savepoint could not be taken, released or rolled back; the batch
    /// must then not commit.
    fn job<T, E>(
        &mut self,
        open: &mut bool,
        protect: bool,
        body: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> QueryResult<Result<T, E>>
    where
        E: From<diesel::result::Error>;

    /// After the last job, before the batch's audit records are inserted (`records`: whether
    /// there are any). The COMMIT of a transaction that a statement left failed rolls back
    /// without an error, so a statement must run here that fails in a failed transaction:
    /// the audit insert when there are records, otherwise releasing the open savepoint (or
    /// taking one).
    fn end_jobs(&mut self, open: bool, records: bool) -> QueryResult<()>;

    /// Accepts the batch's successes taken as read ([`Fast`]) in one statement outside any
    /// transaction, with their audit records (see
    /// [`AcceptAllAsRead`](super::locks::AcceptAllAsRead)): the positions accepted.
    /// `None`: this backend runs each in its job instead (SQLite, where a statement is a
    /// call and the batch's transaction one commit anyway).
    fn accept_all_as_read(
        &mut self,
        rows: &[(&AsRead, &NewAudit)],
    ) -> Option<QueryResult<Vec<usize>>>;

    /// Inserts the batch's code requests (each an issued code, its delivery job and its
    /// audit record) in one statement outside any transaction (see
    /// [`IssueAll`](crate::store::outbox::IssueAll)): the jobs' ids, in `rows`' order.
    /// `None`: this backend runs each in its job instead (SQLite).
    fn issue_all(
        &mut self,
        rows: &[(&NewIssuedCode, &NewOutbox, &NewAudit)],
    ) -> Option<QueryResult<Vec<i64>>>;
}

impl BatchConn for SqliteConnection {
    const CHEAP_SAVEPOINTS: bool = true;
    const MAX_JOBS: usize = MAX_BATCH;

    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()> {
        self.immediate_transaction(f)
    }

    /// Diesel's nested transaction: SQLite's savepoints cost no round trip.
    fn job<T, E>(
        &mut self,
        _open: &mut bool,
        _protect: bool,
        body: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> QueryResult<Result<T, E>>
    where
        E: From<diesel::result::Error>,
    {
        Ok(self.transaction(body))
    }

    /// SQLite reports a failed statement's error to its caller and leaves the transaction
    /// usable: nothing to check.
    fn end_jobs(&mut self, _open: bool, _records: bool) -> QueryResult<()> {
        Ok(())
    }

    fn accept_all_as_read(
        &mut self,
        _rows: &[(&AsRead, &NewAudit)],
    ) -> Option<QueryResult<Vec<usize>>> {
        None
    }

    fn issue_all(
        &mut self,
        _rows: &[(&NewIssuedCode, &NewOutbox, &NewAudit)],
    ) -> Option<QueryResult<Vec<i64>>> {
        None
    }
}

/// The savepoint of the running job on PostgreSQL.
const PG_JOB_SAVEPOINT: &str = "sae_job";

impl BatchConn for PgConnection {
    const CHEAP_SAVEPOINTS: bool = false;
    /// Each job after the first writes in a savepoint, a subtransaction with an id of its own.
    /// A backend keeps at most 64 of those in shared memory (`PGPROC_MAX_CACHED_SUBXIDS`);
    /// beyond that its transaction is *suboverflowed*, and every other session's snapshot
    /// must then look subtransactions up in `pg_subtrans` until it ends — the well-known
    /// subtransaction cliff. One unprotected job and 63 savepoints stay under it.
    const MAX_JOBS: usize = 64;

    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()> {
        self.transaction(f)
    }

    /// Each savepoint statement is a round trip to the server, and the jobs of a batch run
    /// one after the other, so a job releases the previous job's savepoint and takes its own
    /// in one message (two statements), instead of diesel's SAVEPOINT … RELEASE pair per job.
    /// After an `Err` the job's savepoint is rolled back and released at once. A job that
    /// leaves the transaction failed while answering `Ok` makes the next savepoint statement
    /// (or [`Self::end_jobs`]'s) fail: the whole batch is then rolled back and answered with
    /// the error (never acknowledged).
    fn job<T, E>(
        &mut self,
        open: &mut bool,
        protect: bool,
        body: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> QueryResult<Result<T, E>>
    where
        E: From<diesel::result::Error>,
    {
        use diesel::connection::SimpleConnection as _;
        if !protect {
            return Ok(body(self));
        }
        let sp = PG_JOB_SAVEPOINT;
        if *open {
            self.batch_execute(&format!("RELEASE SAVEPOINT {sp}; SAVEPOINT {sp}"))?;
        } else {
            self.batch_execute(&format!("SAVEPOINT {sp}"))?;
        }
        *open = true;
        let result = body(self);
        if result.is_err() {
            *open = false;
            self.batch_execute(&format!(
                "ROLLBACK TO SAVEPOINT {sp}; RELEASE SAVEPOINT {sp}"
            ))?;
        }
        Ok(result)
    }

    /// The COMMIT releases an open savepoint; the audit insert that follows fails in a failed
    /// transaction. Without records, a savepoint statement does that check.
    fn end_jobs(&mut self, open: bool, records: bool) -> QueryResult<()> {
        use diesel::connection::SimpleConnection as _;
        match (records, open) {
            (true, _) => Ok(()),
            (false, true) => self.batch_execute(&format!("RELEASE SAVEPOINT {PG_JOB_SAVEPOINT}")),
            (false, false) => self.batch_execute(&format!("SAVEPOINT {PG_JOB_SAVEPOINT}")),
        }
    }

    /// A batch of N decisions in their own transaction costs N + 3 round trips (BEGIN, the
    /// decisions, the audit insert, COMMIT); their successes as read cost one in all.
    fn accept_all_as_read(
        &mut self,
        rows: &[(&AsRead, &NewAudit)],
    ) -> Option<QueryResult<Vec<usize>>> {
        Some(AcceptAllAsRead::accept_all_as_read(self, rows))
    }

    /// N code requests in their own transaction cost N + 3 round trips; in one statement,
    /// one.
    fn issue_all(
        &mut self,
        rows: &[(&NewIssuedCode, &NewOutbox, &NewAudit)],
    ) -> Option<QueryResult<Vec<i64>>> {
        Some(IssueAll::issue_all(self, rows))
    }
}
