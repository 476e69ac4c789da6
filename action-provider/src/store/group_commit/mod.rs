//! Group commit: write transactions of concurrent requests share one transaction and one
//! commit, on SQLite and on PostgreSQL.
//!
//! SQLite has one writer at a time; each commit appends every page it changed to the WAL and
//! updates the WAL index. PostgreSQL pays a round trip per statement and a commit record per
//! transaction. Under load most of a decision's cost is that fixed per-transaction work.
//! A [`GroupCommit`] owns dedicated connections, each on a thread of its own (one on SQLite,
//! a few on PostgreSQL, each job going to the committer of its lock key, so the writes of one
//! user always share batches): a committer takes every job that is waiting (up to
//! [`BatchConn::MAX_JOBS`]),
//! opens one transaction (`BEGIN IMMEDIATE` on SQLite), runs each job inside its own
//! savepoint (a failing job is rolled back alone, exactly as if it had its own transaction),
//! commits once, and only then answers each job. On PostgreSQL, where a savepoint costs a
//! round trip, the first job of a transaction runs without one: when it fails, the
//! transaction (which holds its writes only) is rolled back and the other jobs run in a new
//! one. A *repeatable* job ([`GroupCommit::write_contained`]: a decision, which can be run
//! again from the start) needs no savepoint either while every job before it in the
//! transaction is repeatable: when it fails, the jobs before it are run again by their
//! callers, in a later batch. An answer therefore always describes a
//! committed write: when the commit fails, every job of the batch gets the error and nothing
//! of it is visible. On PostgreSQL a batch first tries the common successes its jobs carry
//! ([`Fast`]: a right code for a user whose row held no lock and no failure; a code
//! request's issued code and delivery job) all in one statement per kind, committed alone
//! (one round trip instead of one per job plus BEGIN, the audit insert and COMMIT); those
//! accepted are answered at once, the others run their bodies in the batch's transaction as
//! below.
//!
//! Jobs run one after the other, ordered by their *lock key* (stable: jobs with equal keys
//! keep their arrival order). A job locks rows of its key only (a decision: its user's row,
//! then that user's tokens or codes), so every batch takes its row locks in ascending key
//! order, and two batches — of this node's committers or of another node's — can wait for
//! each other but never deadlock. Key order alone does not cover one row locked twice in
//! modes that conflict with each other's holders: two batches that each hold a weak lock on a
//! row (a foreign key's `KEY SHARE`, taken by an inserted code) and then want a stronger one
//! that conflicts with it would each wait for the other. So the lock a decision takes on its
//! user's row (`FOR NO KEY UPDATE`) is one that an inserted row's `KEY SHARE` never blocks
//! (`store::locks::RowLocks`; `tests/service/row_locks.rs`). A job sees the writes of the jobs before it in its batch,
//! so the isolation is the same as with one transaction per request run in that order. On
//! SQLite the batch also holds the process writer lock, so ordinary write transactions
//! interleave between batches.

use std::panic::AssertUnwindSafe;
#[cfg(test)]
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc::{self, Receiver, Sender};

use super::audit::NewAudit;
use super::error::{GroupCommitError, StoreError};

mod conn;
pub use conn::BatchConn;
mod fast;
pub use fast::{Fast, FastRow};

/// Runs of a repeatable write before its caller is answered with an error (each run after
/// the first follows another write's failure in its batch).
const MAX_RUNS: usize = 8;

/// Most jobs committed together on SQLite (and the length of each committer's queue, times
/// four).
pub const MAX_BATCH: usize = 256;

/// How running a job went.
enum Ran {
    /// It ran (its own result, `Ok` or `Err`, is kept for its answer).
    Done,
    /// It panicked: the connection's transaction state is unknown.
    Panicked,
    /// Its savepoint could not be managed: the batch cannot commit.
    Broken(diesel::result::Error),
}

/// A write job of the batch.
trait Job<C>: Send {
    /// Its lock key (see the module documentation).
    fn key(&self) -> i64;
    /// Runs the job inside the batch transaction, in its own savepoint when `protect`
    /// (`open`: see [`BatchConn::job`]).
    fn run(&mut self, conn: &mut C, open: &mut bool, protect: bool) -> Ran;
    /// Whether it ran and failed (its answer is its own error).
    fn failed(&self) -> bool;
    /// Whether it can be run again from the start ([`GroupCommit::write_contained`]).
    fn repeatable(&self) -> bool;
    /// Its writes were rolled back with a transaction that a later job's failure aborted:
    /// it is answered [`Answer::Again`] and its caller runs it again.
    fn void(&mut self);
    /// The audit record the job left for its batch to insert (only after it succeeded).
    fn take_audit(&mut self) -> Option<NewAudit>;
    /// Its common success, when it has one to try before its body ([`Fast`]).
    fn fast(&self) -> Option<(&FastRow, &NewAudit)>;
    /// Its common success was accepted (and committed, with its audit record), the
    /// statement returning `id` for it: it is answered with its [`Fast::value`] (with `id`
    /// set in) and its body never runs.
    fn accept_fast(&mut self, id: Option<i64>);
    /// Whether [`Self::accept_fast`] was called.
    fn accepted_fast(&self) -> bool;
    /// Answers the job: `Err` when the batch did not commit.
    fn finish(self: Box<Self>, commit: Result<(), GroupCommitError>);
}

/// How a job is answered.
enum Answer<T, E> {
    /// Its result (`Err` also when its batch did not commit).
    Done(Result<T, E>),
    /// Nothing of it was written and it may be run again (a repeatable job voided).
    Again,
}

/// Where a job's answer goes.
type Reply<T, E> = Box<dyn FnOnce(Answer<T, E>) + Send>;

struct Typed<T, E, F> {
    key: i64,
    repeatable: bool,
    voided: bool,
    fast: Option<Fast<T>>,
    accepted: bool,
    body: Option<F>,
    result: Option<Result<T, E>>,
    audit: Option<NewAudit>,
    reply: Reply<T, E>,
}

impl<C, T, E, F> Job<C> for Typed<T, E, F>
where
    C: BatchConn,
    T: Send,
    E: From<diesel::result::Error> + From<StoreError> + Send,
    F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Send,
{
    fn key(&self) -> i64 {
        self.key
    }

    fn run(&mut self, conn: &mut C, open: &mut bool, protect: bool) -> Ran {
        let Some(body) = self.body.take() else {
            return Ran::Done;
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| conn.job(open, protect, body)));
        match outcome {
            Ok(Ok(r)) => {
                self.result = Some(r.map(|(value, audit)| {
                    self.audit = audit;
                    value
                }));
                Ran::Done
            }
            Ok(Err(e)) => Ran::Broken(e),
            Err(_) => Ran::Panicked,
        }
    }

    fn failed(&self) -> bool {
        matches!(self.result, Some(Err(_)))
    }

    fn repeatable(&self) -> bool {
        self.repeatable
    }

    fn void(&mut self) {
        self.voided = true;
        self.audit = None;
    }

    fn take_audit(&mut self) -> Option<NewAudit> {
        self.audit.take()
    }

    fn fast(&self) -> Option<(&FastRow, &NewAudit)> {
        self.fast.as_ref().map(|f| (&f.row, &f.audit))
    }

    fn accept_fast(&mut self, id: Option<i64>) {
        if let Some(mut fast) = self.fast.take() {
            if let (Some(id), Some(set)) = (id, fast.set_id) {
                set(&mut fast.value, id);
            }
            self.body = None;
            self.accepted = true;
            self.result = Some(Ok(fast.value));
        }
    }

    fn accepted_fast(&self) -> bool {
        self.accepted
    }

    fn finish(self: Box<Self>, commit: Result<(), GroupCommitError>) {
        if self.voided {
            (self.reply)(Answer::Again);
            return;
        }
        let result = match (commit, self.result) {
            // Every job of a batch runs before the commit, unless an earlier one panicked
            // (then the commit result is `Panicked`, handled by the arm below).
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(E::from(StoreError::from(GroupCommitError::Panicked))),
            (Err(e), _) => Err(E::from(StoreError::from(e))),
        };
        (self.reply)(Answer::Done(result));
    }
}

type Jobs<C> = Box<dyn Job<C>>;

/// The group committer of one database.
pub struct GroupCommit<C> {
    /// One queue per committer; a job goes to the committer of its key.
    queues: Vec<Sender<Jobs<C>>>,
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
        let open = Arc::new(open);
        let mut queues = Vec::with_capacity(committers.max(1));
        for i in 0..committers.max(1) {
            let (queue, mut rx) = mpsc::channel::<Jobs<C>>(MAX_BATCH * 4);
            queues.push(queue);
            let (open, writer) = (Arc::clone(&open), writer.clone());
            std::thread::Builder::new()
                .name(format!("sae-group-commit-{i}"))
                .spawn(move || run(&*open, &mut rx, writer.as_deref()))?;
        }
        Ok(Self { queues })
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
            false,
            None,
            move |c: &mut C| body(c).map(|value| (value, None)),
            Box::new(move |r| {
                let _ = reply.send(r);
            }),
        )?;
        done(answer.recv().map_err(|_| gone::<E>())?)
    }

    /// [`Self::write`] for async callers: the returned future resolves after the commit
    /// without holding a thread meanwhile. `body` answers its value and maybe an audit
    /// record, which the batch inserts with the records of its other jobs before its COMMIT
    /// (`AuditLog::audit_insert_all`; a job that fails leaves none).
    pub async fn write_async<T, E, F>(&self, key: i64, body: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Send + 'static,
    {
        done(self.run_async(key, false, None, body).await?)
    }

    /// Submits `body` and waits for its answer without holding a thread.
    async fn run_async<T, E, F>(
        &self,
        key: i64,
        repeatable: bool,
        fast: Option<Fast<T>>,
        body: F,
    ) -> Result<Answer<T, E>, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (queue, job) = self.job(
            key,
            repeatable,
            fast,
            body,
            Box::new(move |r| {
                let _ = reply.send(r);
            }),
        );
        // With the queue full (the committer stuck on a slow database) the caller waits
        // without holding its thread: the server goes on answering what needs no write.
        queue.send(job).await.map_err(|_| gone::<E>())?;
        answer.await.map_err(|_| gone::<E>())
    }

    /// [`Self::write_async`] for a *repeatable* write: `body` can be run again from the
    /// start (it is cloned for each run). Its failure, whatever it wrote, costs the writes
    /// before it in its batch a second run, so it should be rare (a database error, a row
    /// gone since the caller read it). On PostgreSQL such a write needs no
    /// savepoint of its own when only repeatable writes ran before it in the batch's
    /// transaction (one round trip and one subtransaction less per write): when one fails,
    /// the transaction is rolled back, the failed write is answered with its error, the
    /// writes before it are run again in a later batch (nothing of them was written), and
    /// the writes after it run in a new transaction.
    pub async fn write_contained<T, E, F>(
        &self,
        key: i64,
        fast: Option<Fast<T>>,
        body: F,
    ) -> Result<T, E>
    where
        T: Clone + Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Clone + Send + 'static,
    {
        for _ in 0..MAX_RUNS {
            match self
                .run_async(key, true, fast.clone(), body.clone())
                .await?
            {
                Answer::Done(result) => return result,
                Answer::Again => {}
            }
        }
        Err(E::from(StoreError::from(GroupCommitError::Voided(
            MAX_RUNS,
        ))))
    }

    /// Queues a job from a thread outside the runtime (waits there while the queue is full).
    #[cfg(test)]
    fn submit<T, E, F>(
        &self,
        key: i64,
        repeatable: bool,
        fast: Option<Fast<T>>,
        body: F,
        reply: Reply<T, E>,
    ) -> Result<(), E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Send + 'static,
    {
        let (queue, job) = self.job(key, repeatable, fast, body, reply);
        queue.blocking_send(job).map_err(|_| gone())
    }

    /// The job and the queue of its committer. Jobs of one key (one user) always go to the
    /// same committer: they share its batches (one row lock per batch) instead of batches of
    /// several committers queueing for the row of a hot key, one commit after the other.
    fn job<T, E, F>(
        &self,
        key: i64,
        repeatable: bool,
        fast: Option<Fast<T>>,
        body: F,
        reply: Reply<T, E>,
    ) -> (&Sender<Jobs<C>>, Jobs<C>)
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<StoreError> + Send + 'static,
        F: FnOnce(&mut C) -> Result<(T, Option<NewAudit>), E> + Send + 'static,
    {
        let job = Box::new(Typed {
            key,
            repeatable,
            voided: false,
            fast,
            accepted: false,
            body: Some(body),
            result: None,
            audit: None,
            reply,
        });
        let n = i64::try_from(self.queues.len()).unwrap_or(1);
        let shard = usize::try_from(key.rem_euclid(n)).unwrap_or(0);
        (&self.queues[shard], job)
    }
}

/// The answer of a job that cannot be voided (only repeatable jobs are).
fn done<T, E: From<StoreError>>(answer: Answer<T, E>) -> Result<T, E> {
    match answer {
        Answer::Done(result) => result,
        Answer::Again => Err(E::from(StoreError::from(GroupCommitError::Voided(1)))),
    }
}

fn gone<E: From<StoreError>>() -> E {
    E::from(StoreError::from(GroupCommitError::Stopped))
}

/// Takes the next batch: blocks for its first job, then takes whatever else is waiting.
/// `false` when every sender is gone.
fn next_batch<C: BatchConn>(rx: &mut Receiver<Jobs<C>>, batch: &mut Vec<Jobs<C>>) -> bool {
    let Some(first) = rx.blocking_recv() else {
        return false;
    };
    batch.push(first);
    while batch.len() < C::MAX_JOBS {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    true
}

fn run<C, O>(open: &O, rx: &mut Receiver<Jobs<C>>, writer: Option<&Mutex<()>>)
where
    C: BatchConn,
    O: Fn() -> Result<C, String>,
{
    let mut batch: Vec<Jobs<C>> = Vec::with_capacity(C::MAX_JOBS);
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
        fast::accept_all(c, &mut batch);
        if batch.is_empty() {
            continue;
        }
        let mut panicked = false;
        let committed = {
            let _writer = writer.map(|w| w.lock().unwrap_or_else(PoisonError::into_inner));
            let mut start = 0;
            loop {
                let mut failed_at = None;
                let result = c.batch_transaction(|c| {
                    let mut open = false;
                    // Whether every job so far in this transaction can be run again.
                    let mut repeatable = true;
                    for (i, job) in batch[start..].iter_mut().enumerate() {
                        // A job runs without a savepoint when it is the first, or when it and
                        // every job before it can be run again (see `write_contained`).
                        repeatable &= job.repeatable();
                        let protect = C::CHEAP_SAVEPOINTS || (i > 0 && !repeatable);
                        match job.run(c, &mut open, protect) {
                            Ran::Done => {}
                            Ran::Panicked => {
                                panicked = true;
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            Ran::Broken(e) => return Err(e),
                        }
                        if !protect && job.failed() {
                            failed_at = Some(start + i);
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                    }
                    // The audit records of the batch's jobs, in their order.
                    let records: Vec<NewAudit> = batch[start..]
                        .iter_mut()
                        .filter_map(|job| job.take_audit())
                        .collect();
                    c.end_jobs(open, !records.is_empty())?;
                    c.audit_insert_all(&records)
                });
                // A job failed without a savepoint: the transaction, rolled back, held its
                // writes and those of the (repeatable) jobs before it, which are run again by
                // their callers; its answer is its own error; the rest runs in a new one.
                if let Some(failed) = failed_at.filter(|_| {
                    !panicked && matches!(result, Err(diesel::result::Error::RollbackTransaction))
                }) {
                    for job in &mut batch[start..failed] {
                        job.void();
                    }
                    start = failed + 1;
                    if start < batch.len() {
                        continue;
                    }
                    break Ok(());
                }
                break result;
            }
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
pub(super) mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a panic is the test failure report")]
pub(super) mod full_queue;
