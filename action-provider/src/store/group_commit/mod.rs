//! Group commit: write transactions of concurrent requests share one transaction and one
//! commit, on SQLite and on PostgreSQL.
//!
//! SQLite has one writer at a time; each commit appends every page it changed to the WAL and
//! updates the WAL index. PostgreSQL pays a round trip per statement and a commit record per
//! transaction. Under load most of a decision's cost is that fixed per-transaction work.
//! A [`GroupCommit`] owns dedicated connections, each on a thread of its own (one on SQLite,
//! a few on PostgreSQL): a committer takes every job that is waiting (up to [`MAX_BATCH`]),
//! opens one transaction (`BEGIN IMMEDIATE` on SQLite), runs each job inside its own
//! savepoint (a failing job is rolled back alone, exactly as if it had its own transaction),
//! commits once, and only then answers each job. An answer therefore always describes a
//! committed write: when the commit fails, every job of the batch gets the error and nothing
//! of it is visible.
//!
//! Jobs run one after the other, ordered by their *lock key* (stable: jobs with equal keys
//! keep their arrival order). A job locks rows of its key only (a decision: its user's row,
//! then that user's tokens or codes), so every batch takes its row locks in ascending key
//! order, and two batches — of this node's committers or of another node's — can wait for
//! each other but never deadlock. A job sees the writes of the jobs before it in its batch,
//! so the isolation is the same as with one transaction per request run in that order. On
//! SQLite the batch also holds the process writer lock, so ordinary write transactions
//! interleave between batches.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::QueryResult;
use diesel::connection::Connection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use super::error::{GroupCommitError, StoreError};

/// Most jobs committed together.
pub const MAX_BATCH: usize = 256;

/// A connection a batch can run on: how a batch transaction begins.
pub trait BatchConn: Connection + Send + 'static {
    /// Runs `f` as the batch's transaction.
    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()>;
}

impl BatchConn for SqliteConnection {
    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()> {
        self.immediate_transaction(f)
    }
}

impl BatchConn for PgConnection {
    fn batch_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<()>,
    ) -> QueryResult<()> {
        self.transaction(f)
    }
}

/// A write job of the batch.
trait Job<C>: Send {
    /// Its lock key (see the module documentation).
    fn key(&self) -> i64;
    /// Runs the job inside the batch transaction (in its own savepoint). `false` when it
    /// panicked: the connection's transaction state is then unknown.
    fn run(&mut self, conn: &mut C) -> bool;
    /// Answers the job: `Err` when the batch did not commit.
    fn finish(self: Box<Self>, commit: Result<(), GroupCommitError>);
}

/// Where a job's result goes.
type Reply<T, E> = Box<dyn FnOnce(Result<T, E>) + Send>;

struct Typed<T, E, F> {
    key: i64,
    body: Option<F>,
    result: Option<Result<T, E>>,
    reply: Reply<T, E>,
}

impl<C, T, E, F> Job<C> for Typed<T, E, F>
where
    C: BatchConn,
    T: Send,
    E: From<diesel::result::Error> + From<StoreError> + Send,
    F: FnOnce(&mut C) -> Result<T, E> + Send,
{
    fn key(&self) -> i64 {
        self.key
    }

    fn run(&mut self, conn: &mut C) -> bool {
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

    fn finish(self: Box<Self>, commit: Result<(), GroupCommitError>) {
        let result = match (commit, self.result) {
            // Every job of a batch runs before the commit, unless an earlier one panicked
            // (then the commit result is `Panicked`, handled by the arm below).
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(E::from(StoreError::from(GroupCommitError::Panicked))),
            (Err(e), _) => Err(E::from(StoreError::from(e))),
        };
        (self.reply)(result);
    }
}

type Jobs<C> = Box<dyn Job<C>>;

/// The group committer of one database.
pub struct GroupCommit<C> {
    jobs: SyncSender<Jobs<C>>,
}

impl<C> std::fmt::Debug for GroupCommit<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl<C: BatchConn> GroupCommit<C> {
    /// Starts `committers` committer threads (each with its own connection), serialised with
    /// other writers of the process by `writer` when given (SQLite). `open` makes a
    /// connection (again after a batch failed or a job panicked: the old connection is
    /// closed, which rolls back whatever it left open).
    pub fn start<O>(
        open: O,
        writer: Option<Arc<Mutex<()>>>,
        committers: usize,
    ) -> std::io::Result<Self>
    where
        O: Fn() -> Result<C, String> + Send + Sync + 'static,
    {
        let (jobs, rx) = sync_channel::<Jobs<C>>(MAX_BATCH * 4);
        let rx = Arc::new(Mutex::new(rx));
        let open = Arc::new(open);
        for i in 0..committers.max(1) {
            let (open, rx, writer) = (Arc::clone(&open), Arc::clone(&rx), writer.clone());
            std::thread::Builder::new()
                .name(format!("sae-group-commit-{i}"))
                .spawn(move || run(&*open, &rx, writer.as_deref()))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `body` as one write transaction of the next batch; blocks until the batch has
    /// committed (or failed) and returns the body's result.
    #[cfg(test)]
    pub fn write<T, E, F>(&self, key: i64, body: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = sync_channel(1);
        // The requester may have given up (its thread ended): nothing to answer then.
        self.submit(
            key,
            body,
            Box::new(move |r| {
                let _ = reply.send(r);
            }),
        )?;
        answer.recv().map_err(|_| gone::<E>())?
    }

    /// [`Self::write`] for async callers: the returned future resolves after the commit
    /// without holding a thread meanwhile.
    pub async fn write_async<T, E, F>(&self, key: i64, body: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(
            key,
            body,
            Box::new(move |r| {
                let _ = reply.send(r);
            }),
        )?;
        answer.await.map_err(|_| gone::<E>())?
    }

    fn submit<T, E, F>(&self, key: i64, body: F, reply: Reply<T, E>) -> Result<(), E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<T, E> + Send + 'static,
    {
        let job = Box::new(Typed {
            key,
            body: Some(body),
            result: None,
            reply,
        });
        self.jobs.send(job).map_err(|_| gone())
    }
}

fn gone<E: From<StoreError>>() -> E {
    E::from(StoreError::from(GroupCommitError::Stopped))
}

/// Takes the next batch: blocks for its first job, then takes whatever else is waiting.
/// `false` when every sender is gone.
fn next_batch<C>(rx: &Mutex<Receiver<Jobs<C>>>, batch: &mut Vec<Jobs<C>>) -> bool {
    let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
    let Ok(first) = rx.recv() else {
        return false;
    };
    batch.push(first);
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    true
}

fn run<C, O>(open: &O, rx: &Mutex<Receiver<Jobs<C>>>, writer: Option<&Mutex<()>>)
where
    C: BatchConn,
    O: Fn() -> Result<C, String>,
{
    let mut batch: Vec<Jobs<C>> = Vec::with_capacity(MAX_BATCH);
    let mut conn: Option<C> = None;
    while next_batch(rx, &mut batch) {
        // Row locks in ascending key order (see the module documentation).
        batch.sort_by_key(|job| job.key());
        let c = match conn.take().map_or_else(open, Ok) {
            Ok(c) => conn.insert(c),
            Err(e) => {
                tracing::error!(error = %e, "group commit: cannot open the database");
                for job in batch.drain(..) {
                    job.finish(Err(GroupCommitError::Open(e.clone())));
                }
                continue;
            }
        };
        let mut panicked = false;
        let committed = {
            let _writer = writer.map(|w| w.lock().unwrap_or_else(PoisonError::into_inner));
            c.batch_transaction(|c| {
                for job in &mut batch {
                    if !job.run(c) {
                        panicked = true;
                        return Err(diesel::result::Error::RollbackTransaction);
                    }
                }
                Ok(())
            })
        };
        if panicked || committed.is_err() {
            // Closing the connection rolls back whatever the failure left open (and a
            // broken connection is replaced).
            conn = None;
        }
        if panicked {
            tracing::error!(
                jobs = batch.len(),
                "group commit: a job panicked; batch rolled back"
            );
        } else if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        }
        for job in batch.drain(..) {
            job.finish(match &committed {
                _ if panicked => Err(GroupCommitError::Panicked),
                Ok(()) => Ok(()),
                Err(e) => Err(GroupCommitError::Commit(e.to_string())),
            });
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

    fn wave(group: &Arc<GroupCommit<SqliteConnection>>, ids: std::ops::Range<i64>) -> Vec<i64> {
        let handles: Vec<_> = ids
            .map(|i| {
                let group = Arc::clone(group);
                std::thread::spawn(move || {
                    group.write(i, move |c| {
                        diesel::insert_into(t::table)
                            .values((t::id.eq(i), t::v.eq(i)))
                            .execute(c)
                            .map_err(StoreError::from)?;
                        if i % 7 == 0 {
                            return Err(StoreError::from(
                                diesel::result::Error::RollbackTransaction,
                            ));
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
        let group =
            Arc::new(GroupCommit::start(move || Ok(open(&path)), Some(Arc::default()), 1).unwrap());
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
        let group = GroupCommit::start(move || Ok(open(&path)), Some(Arc::default()), 1).unwrap();
        // A deferred foreign key violation fails only at COMMIT.
        reader
            .batch_execute(
                "CREATE TABLE p (id INTEGER PRIMARY KEY);
                 CREATE TABLE ch (id INTEGER PRIMARY KEY,
                    p BIGINT REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let r: Result<(), StoreError> = group.write(0, |c: &mut SqliteConnection| {
            c.batch_execute("PRAGMA foreign_keys = ON")?;
            Ok(())
        });
        r.unwrap();
        let r: Result<i32, StoreError> = group.write(0, |c: &mut SqliteConnection| {
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

    /// A fresh PostgreSQL database on the cluster of `SAE_TEST_PG_URL`, or `None` (skipped)
    /// when it is not set.
    fn fresh_pg() -> Option<String> {
        use diesel::pg::PgConnection;
        let Ok(base) = std::env::var("SAE_TEST_PG_URL") else {
            assert!(
                std::env::var("SAE_REQUIRE_PEERS").as_deref() != Ok("1"),
                "SAE_TEST_PG_URL is not set but SAE_REQUIRE_PEERS=1"
            );
            eprintln!("skipped: no PostgreSQL (set SAE_TEST_PG_URL)");
            return None;
        };
        let name = format!("sae_gc_{}", std::process::id());
        let mut admin = PgConnection::establish(&base).unwrap();
        // Separate statements: a multi-statement string is one implicit transaction, in
        // which PostgreSQL refuses CREATE/DROP DATABASE.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        Some(format!("{prefix}/{name}"))
    }

    #[test]
    fn batches_of_two_postgres_nodes_never_deadlock_and_every_acknowledged_write_holds() {
        use diesel::pg::PgConnection;
        let Some(url) = fresh_pg() else { return };
        const KEYS: i64 = 8;
        let mut reader = PgConnection::establish(&url).unwrap();
        reader
            .batch_execute(&format!(
                "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL);
                 INSERT INTO t SELECT g, 0 FROM generate_series(0, {}) g;",
                KEYS - 1
            ))
            .unwrap();
        // Two "nodes", each with two committers, on the one database.
        let nodes: Vec<Arc<GroupCommit<PgConnection>>> = (0..2)
            .map(|_| {
                let url = url.clone();
                let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
                Arc::new(GroupCommit::start(open, None, 2).unwrap())
            })
            .collect();
        // Each job locks its key's row and increments it; concurrent batches hold several
        // rows each, so without the key order two batches would deadlock.
        let handles: Vec<_> = (0..32i64)
            .map(|w| {
                let node = Arc::clone(&nodes[usize::try_from(w % 2).unwrap()]);
                std::thread::spawn(move || {
                    let mut done = vec![0i64; usize::try_from(KEYS).unwrap()];
                    for j in 0..30i64 {
                        let key = (w * 5 + j * 3) % KEYS;
                        let r: Result<(), StoreError> = node.write(key, move |c| {
                            let v: i64 = t::table
                                .filter(t::id.eq(key))
                                .select(t::v)
                                .for_update()
                                .get_result(c)?;
                            diesel::update(t::table.filter(t::id.eq(key)))
                                .set(t::v.eq(v + 1))
                                .execute(c)?;
                            Ok(())
                        });
                        r.unwrap();
                        done[usize::try_from(key).unwrap()] += 1;
                    }
                    done
                })
            })
            .collect();
        let mut expected = vec![0i64; usize::try_from(KEYS).unwrap()];
        for h in handles {
            for (e, d) in expected.iter_mut().zip(h.join().unwrap()) {
                *e += d;
            }
        }
        let stored: Vec<i64> = t::table
            .select(t::v)
            .order(t::id)
            .load(&mut reader)
            .unwrap();
        assert_eq!(stored, expected);
    }
}
