//! The import loop shared by token and user imports, by the job worker and by the CLI.
//!
//! Items are read as a stream and written in batches of [`BATCH`], each batch in one write
//! transaction together with its skipped items and the job's counters (renewing the lease
//! with a compare-and-set on the job's owner, so a node that lost its lease writes
//! nothing more). Rows are written *pending* (`import_job` set): invisible to every other
//! query until the end, when one transaction makes them visible (success) or deletes them
//! (failure) — so a file is imported whole or not at all, although it is written in small
//! transactions. Without `skip_bad`, the first skipped item dooms the file: nothing more is
//! stored, the rest is still read and reported, and the job fails. A dry run stores
//! nothing and ends as the real run would. A job taken over after a crash skips the items
//! its counters say were done and goes on (a dry run starts over).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::items::{Item, Items, Skip};
use crate::clock::Clock;
use crate::service::ServiceError;
use crate::service::audit::Audit;
use crate::store::jobs::{NewSkip, Progress};
use crate::store::{Conn, Store};

/// Items per write transaction.
pub const BATCH: usize = 500;
/// Names per audit record of an import (serials or logins).
const AUDIT_NAMES: i64 = 500;

/// What a kind of import does with its items.
pub trait Importer {
    /// A validated item from the file.
    type Item;
    /// Audit action of the import (`tokens.import`, `users.import`).
    const ACTION: &'static str;

    /// Reads what a batch needs from the store (serials and logins taken, …) before its
    /// items are written, in the batch's transaction.
    fn prepare(&mut self, c: &mut dyn Conn, batch: &[Item<Self::Item>])
    -> Result<(), ServiceError>;

    /// Checks one item against the store and, when `store` is set, writes it pending under
    /// `job`. `Ok(Err(skip))`: the item is not imported.
    fn write(
        &mut self,
        c: &mut dyn Conn,
        job: &str,
        item: Self::Item,
        store: bool,
    ) -> Result<Result<(), Skip>, ServiceError>;

    /// Writes what [`Importer::write`] kept for the end of the batch (one statement for
    /// many rows), in the batch's transaction.
    fn flush(&mut self, _c: &mut dyn Conn) -> Result<(), ServiceError> {
        Ok(())
    }

    /// Makes the job's pending rows visible.
    fn commit(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError>;

    /// Deletes the job's pending rows.
    fn rollback(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError>;

    /// A page of the names (serials, logins) of the job's pending rows, for the audit.
    fn names(
        &self,
        c: &mut dyn Conn,
        job: &str,
        cursor: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, ServiceError>;
}

/// The job being run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Job id.
    pub id: String,
    /// The claim that runs it (checked with every write).
    pub owner: String,
    /// Store nothing, report everything.
    pub dry_run: bool,
    /// Import the good items of a file with bad ones.
    pub skip_bad: bool,
    /// Counters of an earlier, interrupted run (zero for a new job).
    pub resume: Progress,
    /// Audit actor.
    pub actor: String,
    /// Audit source address.
    pub client: Option<String>,
    /// Extra audit facts (format, file name…; never secrets).
    pub audit: serde_json::Value,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Done: everything imported (or, dry run, importable) but the reported skips.
    Done(Progress),
    /// Failed: nothing stored.
    Failed(Progress, String),
    /// Another claim took the job over: this run stopped without finishing it.
    LostLease,
}

/// The store and clock a run writes with.
#[derive(Clone)]
pub struct Env {
    /// The database.
    pub store: Store,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Seconds of lease each write buys.
    pub lease_s: i64,
}

/// The lease was lost: stop.
#[derive(Debug, thiserror::Error)]
#[error("the job was taken over by another claim")]
struct Lost;

/// Runs `items` through `importer` to the end of the job.
pub fn run<I: Importer>(
    env: &Env,
    job: &Run,
    importer: &mut I,
    items: Result<Items<'_, I::Item>, String>,
    bytes: &Arc<AtomicU64>,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<End, ServiceError> {
    let mut progress = job.resume;
    let mut skip_first = progress.done;
    if job.dry_run && progress.done > 0 {
        let (id, owner) = (job.id.clone(), job.owner.clone());
        if !env
            .store
            .write_blocking(|c| Ok::<_, ServiceError>(c.job_restart(&id, &owner)?))?
        {
            return Ok(End::LostLease);
        }
        progress = Progress::default();
        skip_first = 0;
    }
    let mut doomed = !job.skip_bad && progress.skipped > 0;
    let mut items = match items {
        Ok(items) => items,
        Err(fatal) => return finish(env, job, importer, progress, Some(fatal)),
    };
    let mut read: i64 = 0;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut fatal = None;
        let mut ended = false;
        while batch.len() < BATCH {
            match items.next() {
                None => {
                    ended = true;
                    break;
                }
                Some(Err(e)) => {
                    fatal = Some(e);
                    break;
                }
                Some(Ok(item)) => {
                    read += 1;
                    if read > skip_first {
                        batch.push(item);
                    }
                }
            }
        }
        progress.bytes_done = i64::try_from(bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        if ended {
            progress.total = Some(read);
        }
        if !batch.is_empty() || ended {
            match write_batch(env, job, importer, batch, &mut progress, &mut doomed) {
                Ok(()) => {}
                Err(BatchError::Lost) => return Ok(End::LostLease),
                Err(BatchError::Service(e)) => return Err(e),
            }
            on_progress(&progress);
        }
        if let Some(fatal) = fatal {
            return finish(env, job, importer, progress, Some(fatal));
        }
        if ended {
            break;
        }
    }
    let failure = doomed.then(|| {
        format!(
            "{} item(s) cannot be imported, so nothing {} stored (skip_bad imports the others)",
            progress.skipped,
            if job.dry_run { "would be" } else { "was" }
        )
    });
    finish(env, job, importer, progress, failure)
}

enum BatchError {
    Lost,
    Service(ServiceError),
}

fn write_batch<I: Importer>(
    env: &Env,
    job: &Run,
    importer: &mut I,
    batch: Vec<Item<I::Item>>,
    progress: &mut Progress,
    doomed: &mut bool,
) -> Result<(), BatchError> {
    let now = env.clock.now().secs();
    let mut next = *progress;
    let mut next_doomed = *doomed;
    let result = env.store.write_blocking(|c| {
        importer.prepare(c, &batch)?;
        let mut skips = Vec::new();
        for Item { position, id, body } in batch {
            next.done += 1;
            let verdict = match body {
                Ok(item) => {
                    let store = !job.dry_run && !next_doomed;
                    importer.write(c, &job.id, item, store)?
                }
                Err(skip) => Err(skip),
            };
            match verdict {
                Ok(()) => next.imported += 1,
                Err(skip) => {
                    next.skipped += 1;
                    next_doomed |= !job.skip_bad;
                    skips.push(NewSkip {
                        job_id: job.id.clone(),
                        position: i64::try_from(position).unwrap_or(i64::MAX),
                        item: id,
                        reason: skip.reason,
                        detail: skip.detail,
                    });
                }
            }
        }
        importer.flush(c)?;
        c.job_skips_insert(&skips)?;
        if !c.job_progress(&job.id, &job.owner, &next, now + env.lease_s, now)? {
            return Err(ServiceError::internal("an import", Lost));
        }
        Ok::<_, ServiceError>(())
    });
    match result {
        Ok(()) => {
            *progress = next;
            *doomed = next_doomed;
            Ok(())
        }
        Err(ServiceError::Internal { source, .. }) if source.is::<Lost>() => Err(BatchError::Lost),
        Err(e) => Err(BatchError::Service(e)),
    }
}

/// Ends the job in one transaction: commit (audited) or roll back its pending rows, then
/// the job's state, with its key and file dropped.
fn finish<I: Importer>(
    env: &Env,
    job: &Run,
    importer: &I,
    progress: Progress,
    failure: Option<String>,
) -> Result<End, ServiceError> {
    let now = env.clock.now();
    let finished = env.store.write_blocking(|c| {
        if c.job_get(&job.id)?.and_then(|j| j.owner) != Some(job.owner.clone()) {
            return Ok::<_, ServiceError>(false);
        }
        let (state, outcome) = match &failure {
            Some(_) => {
                importer.rollback(c, &job.id)?;
                ("failed", "failed")
            }
            None => {
                if !job.dry_run {
                    audit_names(c, job, importer, now)?;
                    importer.commit(c, &job.id)?;
                }
                ("done", "ok")
            }
        };
        let mut detail = job.audit.clone();
        if let Some(map) = detail.as_object_mut() {
            map.insert("job".into(), job.id.clone().into());
            map.insert("dry_run".into(), job.dry_run.into());
            map.insert("skip_bad".into(), job.skip_bad.into());
            map.insert("items".into(), progress.done.into());
            map.insert("imported".into(), progress.imported.into());
            map.insert("skipped".into(), progress.skipped.into());
        }
        Audit::new(job.actor.clone(), I::ACTION, now)
            .source(job.client.as_deref())
            .outcome(outcome)
            .detail(detail)
            .write(c)?;
        c.job_finish(
            &job.id,
            Some(&job.owner),
            state,
            failure.as_deref(),
            now.secs(),
        )?;
        Ok(true)
    })?;
    Ok(match (finished, failure) {
        (false, _) => End::LostLease,
        (true, None) => End::Done(progress),
        (true, Some(error)) => End::Failed(progress, error),
    })
}

/// One audit record per [`AUDIT_NAMES`] imported names (serials or logins).
fn audit_names<I: Importer>(
    c: &mut dyn Conn,
    job: &Run,
    importer: &I,
    now: crate::clock::UnixTime,
) -> Result<(), ServiceError> {
    let mut cursor = 0;
    loop {
        let names = importer.names(c, &job.id, cursor, AUDIT_NAMES)?;
        let Some(&(last, _)) = names.last() else {
            return Ok(());
        };
        cursor = last;
        let list: Vec<String> = names.into_iter().map(|(_, n)| n).collect();
        Audit::new(job.actor.clone(), &format!("{}.items", I::ACTION), now)
            .source(job.client.as_deref())
            .detail(serde_json::json!({"job": job.id, "imported": list}))
            .write(c)?;
    }
}
