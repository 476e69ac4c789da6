//! Common successes a batch tries first, together, before running its jobs' bodies (see the
//! parent module): on PostgreSQL, each kind in one statement of its own, outside any
//! transaction.

use std::sync::Arc;

use super::{BatchConn, Jobs};
use crate::store::audit::NewAudit;
use crate::store::codes::NewIssuedCode;
use crate::store::locks::AsRead;
use crate::store::outbox::NewOutbox;

/// What a common success writes.
#[derive(Debug, Clone)]
pub enum FastRow {
    /// A right code: when the user's row still holds what the caller read and the token's
    /// counter is below `new`, the token advances (see [`AsRead`]).
    AsRead(AsRead),
    /// A code request: the issued code and its delivery job are inserted (the statement
    /// returns the job's id). Accepted unless the statement fails (its user deleted
    /// meanwhile, say): then nothing of the batch's codes was written and each job runs its
    /// body, which fails alone.
    Code(Arc<(NewIssuedCode, NewOutbox)>),
}

/// A write's common success, tried before its body: when it is accepted, `audit` is
/// recorded with it and the write is answered `value` (with the id the statement returned
/// set in by `set_id`) without running its body (on PostgreSQL, the successes of a batch in
/// one statement per kind: [`BatchConn::accept_all_as_read`], [`BatchConn::issue_all`]).
/// Otherwise nothing of it was written and the body runs as usual (it should try the same
/// success first: SQLite takes it there).
#[derive(Debug, Clone)]
pub struct Fast<T> {
    /// What it writes.
    pub row: FastRow,
    /// Its audit record.
    pub audit: NewAudit,
    /// The write's answer when it is accepted.
    pub value: T,
    /// Sets the id the statement returned for the row into `value`.
    pub set_id: Option<fn(&mut T, i64)>,
}

impl<T> Fast<T> {
    /// A right code's success as read.
    pub fn as_read(row: AsRead, audit: NewAudit, value: T) -> Self {
        Self {
            row: FastRow::AsRead(row),
            audit,
            value,
            set_id: None,
        }
    }

    /// A code request's rows; `set_id` puts the job's id into `value`.
    pub fn code(
        rows: Arc<(NewIssuedCode, NewOutbox)>,
        audit: NewAudit,
        value: T,
        set_id: fn(&mut T, i64),
    ) -> Self {
        Self {
            row: FastRow::Code(rows),
            audit,
            value,
            set_id: Some(set_id),
        }
    }
}

/// Tries the common successes of the batch's jobs where the backend combines them, one
/// statement per kind; those accepted are committed, and answered and taken out of the
/// batch at once. When a statement fails, nothing of it was written and each of its jobs
/// runs its body.
pub(super) fn accept_all<C: BatchConn>(c: &mut C, batch: &mut Vec<Jobs<C>>) {
    // Positions in the batch, and the id each accepted job's statement returned.
    let mut accepted: Vec<(usize, Option<i64>)> = Vec::new();
    let (at, rows): (Vec<usize>, Vec<(&AsRead, &NewAudit)>) = batch
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job.fast() {
            Some((FastRow::AsRead(row), audit)) => Some((i, (row, audit))),
            _ => None,
        })
        .unzip();
    if !rows.is_empty() {
        match c.accept_all_as_read(&rows) {
            None => {}
            Some(Ok(positions)) => {
                accepted.extend(
                    positions
                        .into_iter()
                        .filter_map(|p| at.get(p).map(|&i| (i, None))),
                );
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, jobs = rows.len(), "group commit: the combined successes failed; each job decides alone");
            }
        }
    }
    let (at, rows): (Vec<usize>, Vec<(&NewIssuedCode, &NewOutbox, &NewAudit)>) = batch
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job.fast() {
            Some((FastRow::Code(rows), audit)) => Some((i, (&rows.0, &rows.1, audit))),
            _ => None,
        })
        .unzip();
    if !rows.is_empty() {
        match c.issue_all(&rows) {
            None => {}
            Some(Ok(ids)) => accepted.extend(at.into_iter().zip(ids.into_iter().map(Some))),
            Some(Err(e)) => {
                tracing::warn!(error = %e, jobs = rows.len(), "group commit: the combined code requests failed; each job writes alone");
            }
        }
    }
    if accepted.is_empty() {
        return;
    }
    for (i, id) in accepted {
        if let Some(job) = batch.get_mut(i) {
            job.accept_fast(id);
        }
    }
    let (accepted, rest): (Vec<_>, Vec<_>) = batch.drain(..).partition(|job| job.accepted_fast());
    batch.extend(rest);
    for job in accepted {
        job.finish(Ok(()));
    }
}
