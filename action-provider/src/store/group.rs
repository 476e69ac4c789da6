//! Group commit for SQLite: write transactions of concurrent requests share one commit.
//!
//! SQLite has one writer at a time; each commit appends every page it changed to the WAL and
//! updates the WAL index. Under load most of a decision's cost is that fixed per-commit work
//! and the hand-off of the writer lock between threads. A [`GroupCommit`] owns a dedicated
//! connection on a thread of its own: it takes every job that is waiting (up to
//! [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE` transaction, runs each job inside its own
//! savepoint (a failing job is rolled back alone, exactly as if it had its own transaction),
//! commits once, and only then answers each job. An answer therefore always describes a
//! committed write: when the commit fails, every job of the batch gets the error and nothing
//! of it is visible. Jobs run one after the other in arrival order, so the isolation is the
//! same as with one transaction per request under the process writer lock (which the batch
//! holds too, so ordinary `write_tx!` transactions interleave between batches).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::Connection as _;
use diesel::sqlite::SqliteConnection;

/// Most jobs committed together.
pub const MAX_BATCH: usize = 256;

/// A write job of the batch.
trait Job: Send {
    /// Runs the job inside the batch transaction (in its own savepoint). `false` when it
    /// panicked: the connection's transaction state is then unknown.
    fn run(&mut self, conn: &mut SqliteConnection) -> bool;
    /// Answers the job: `Err` when the batch did not commit.
    fn finish(self: Box<Self>, commit: Result<(), &diesel::result::Error>);
}

struct Typed<T, E, F> {
    body: Option<F>,
    result: Option<Result<T, E>>,
    reply: SyncSender<Result<T, E>>,
}

impl<T, E, F> Job for Typed<T, E, F>
where
    T: Send,
    E: From<diesel::result::Error> + Send,
    F: FnOnce(&mut SqliteConnection) -> Result<T, E> + Send,
{
    fn run(&mut self, conn: &mut SqliteConnection) -> bool {
        let Some(body) = self.body.take() else {
            return true;
        };
        // A nested `transaction` is a savepoint: an `Err` rolls back this job only.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| conn.transaction(body)));
        match outcome {
            Ok(r) => {
                self.result = Some(r);
                true
            }
            Err(_) => false,
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), &diesel::result::Error>) {
        let result = match (commit, self.result) {
            (_, None) => Err(E::from(diesel::result::Error::QueryBuilderError(
                "the write job did not run".into(),
            ))),
            (Ok(()), Some(r)) => r,
            (Err(e), Some(_)) => Err(E::from(diesel::result::Error::QueryBuilderError(
                format!("the batch transaction did not commit: {e}").into(),
            ))),
        };
        // The requester may have given up (its thread ended): nothing to answer then.
        let _ = self.reply.send(result);
    }
}

/// The group committer of one SQLite database.
pub struct GroupCommit {
    jobs: SyncSender<Box<dyn Job>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Starts the committer thread, serialised with other writers by `writer`. `open` makes
    /// its connection (again after a job panicked, when the old one is closed, which rolls
    /// its transaction back).
    pub fn start<O>(open: O, writer: Arc<Mutex<()>>) -> std::io::Result<Self>
    where
        O: Fn() -> Result<SqliteConnection, String> + Send + 'static,
    {
        let (jobs, rx) = sync_channel::<Box<dyn Job>>(MAX_BATCH * 4);
        std::thread::Builder::new()
            .name("sae-group-commit".into())
            .spawn(move || run(&open, &rx, &writer))?;
        Ok(Self { jobs })
    }

    /// Runs `body` as one write transaction of the next batch; blocks until the batch has
    /// committed (or failed) and returns the body's result.
    pub fn write<T, E, F>(&self, body: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = sync_channel(1);
        let job = Box::new(Typed {
            body: Some(body),
            result: None,
            reply,
        });
        let gone = || {
            E::from(diesel::result::Error::QueryBuilderError(
                "the group-commit thread has stopped".into(),
            ))
        };
        self.jobs.send(job).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

fn run<O>(open: &O, rx: &Receiver<Box<dyn Job>>, writer: &Mutex<()>)
where
    O: Fn() -> Result<SqliteConnection, String>,
{
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut conn: Option<SqliteConnection> = None;
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let c = match conn.take().map_or_else(open, Ok) {
            Ok(c) => conn.insert(c),
            Err(e) => {
                tracing::error!(error = %e, "group commit: cannot open the database");
                let err = diesel::result::Error::QueryBuilderError(e.into());
                for job in batch.drain(..) {
                    job.finish(Err(&err));
                }
                continue;
            }
        };
        let mut panicked = false;
        let committed = {
            let _writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let r = c.immediate_transaction(|c| {
                for job in &mut batch {
                    if !job.run(c) {
                        panicked = true;
                        return Err(diesel::result::Error::RollbackTransaction);
                    }
                }
                Ok(())
            });
            if panicked {
                // Closing the connection rolls back whatever the panic left open.
                conn = None;
            }
            r
        };
        let committed = if panicked {
            Err(diesel::result::Error::QueryBuilderError(
                "a write job of the batch panicked; the batch was rolled back".into(),
            ))
        } else {
            committed
        };
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        }
        for job in batch.drain(..) {
            job.finish(committed.as_ref().map(|_| ()));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a panic is the test failure report")]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection as _;
    use diesel::prelude::*;

    diesel::table! {
        t (id) {
            id -> BigInt,
            v -> BigInt,
        }
    }

    fn open(dir: &std::path::Path) -> SqliteConnection {
        let url = dir.join("g.db").display().to_string();
        let mut c = SqliteConnection::establish(&url).unwrap();
        c.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;
             CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BIGINT NOT NULL);",
        )
        .unwrap();
        c
    }

    fn wave(group: &Arc<GroupCommit>, ids: std::ops::Range<i64>) -> Vec<i64> {
        let handles: Vec<_> = ids
            .map(|i| {
                let group = Arc::clone(group);
                std::thread::spawn(move || {
                    group.write(move |c| {
                        diesel::insert_into(t::table)
                            .values((t::id.eq(i), t::v.eq(i)))
                            .execute(c)?;
                        if i % 7 == 0 {
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                        assert!(i != 50, "job {i} panics after its insert");
                        Ok(i)
                    })
                })
            })
            .collect();
        let mut ok: Vec<i64> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().ok())
            .collect();
        ok.sort_unstable();
        ok
    }

    #[test]
    fn failing_jobs_roll_back_alone_and_a_panic_rolls_back_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut reader = open(dir.path());
        let path = dir.path().to_owned();
        let group = Arc::new(GroupCommit::start(move || Ok(open(&path)), Arc::default()).unwrap());
        let first = wave(&group, 0..100);
        assert!(
            first.iter().all(|i| i % 7 != 0 && *i != 50),
            "failed or panicked jobs are never acknowledged: {first:?}"
        );
        // After the panic the committer reopens its connection and goes on: every job of a
        // later wave that does not fail is acknowledged.
        let second = wave(&group, 100..200);
        let expected: Vec<i64> = (100..200).filter(|i| i % 7 != 0).collect();
        assert_eq!(second, expected);
        // Exactly the acknowledged writes are in the database.
        let stored: Vec<i64> = t::table
            .select(t::id)
            .order(t::id)
            .load(&mut reader)
            .unwrap();
        let acknowledged: Vec<i64> = first.into_iter().chain(second).collect();
        assert_eq!(stored, acknowledged, "rows");
    }

    #[test]
    fn a_failed_commit_acknowledges_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut reader = open(dir.path());
        let path = dir.path().to_owned();
        let group = GroupCommit::start(move || Ok(open(&path)), Arc::default()).unwrap();
        // A deferred foreign key violation fails only at COMMIT.
        reader
            .batch_execute(
                "CREATE TABLE p (id INTEGER PRIMARY KEY);
                 CREATE TABLE ch (id INTEGER PRIMARY KEY,
                    p BIGINT REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let r: Result<(), diesel::result::Error> = group.write(|c| {
            c.batch_execute("PRAGMA foreign_keys = ON")?;
            Ok(())
        });
        r.unwrap();
        let r: Result<i32, diesel::result::Error> = group.write(|c| {
            c.batch_execute("INSERT INTO ch (id, p) VALUES (1, 42)")?;
            Ok(1)
        });
        assert!(
            r.is_err(),
            "the commit failed, so the job must not be acknowledged"
        );
        let n: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM ch)",
        ))
        .get_result(&mut reader)
        .unwrap();
        assert_eq!(n, 0);
    }
}
