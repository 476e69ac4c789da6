//! The record of the common send — delivered at its one attempt — written for many jobs at
//! once.
//!
//! Each such send costs an attempt row and the job's `sent` mark. Written one job per write
//! they cost a statement (a round trip on PostgreSQL) each; the [`Recorder`] takes every
//! record waiting, writes them in one statement ([`Attempts::attempts_insert_sent`]), and
//! answers each send only after that write committed. While one write runs the next records
//! gather, so under load the writes grow, not their number.
//!
//! [`Attempts::attempts_insert_sent`]: crate::store::attempts::Attempts::attempts_insert_sent

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Context;
use crate::store::attempts::NewAttempt;
use crate::store::{Conn, StoreError};

/// Records written together at most.
const MAX_RECORDS: usize = 256;

type Waiting = (NewAttempt, oneshot::Sender<Result<(), String>>);

/// Where the sends of one worker leave their records.
#[derive(Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Waiting>,
}

/// The receiving end, run by [`Recorder::run`].
#[derive(Debug)]
pub struct Records(mpsc::Receiver<Waiting>);

impl Recorder {
    /// A recorder and the end its [`Recorder::run`] reads.
    pub fn new() -> (Self, Records) {
        let (tx, rx) = mpsc::channel(MAX_RECORDS);
        (Self { tx }, Records(rx))
    }

    /// Records `attempt` (which delivered its job at the job's one attempt) and marks its
    /// job sent; returns once that is committed, or why it is not.
    pub async fn record(&self, attempt: NewAttempt) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((attempt, reply))
            .await
            .map_err(|_| "the outbox recorder stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the outbox recorder stopped".to_owned())?
    }

    /// Writes what arrives until every [`Recorder`] is gone.
    pub async fn run(ctx: &Context, mut records: Records) {
        let mut waiting = Vec::with_capacity(MAX_RECORDS);
        while records.0.recv_many(&mut waiting, MAX_RECORDS).await > 0 {
            let (mut attempts, replies): (Vec<NewAttempt>, Vec<_>) = waiting.drain(..).unzip();
            // Rows locked in ascending order, as every writer of several rows locks them.
            attempts.sort_by_key(|a| a.outbox_id);
            let key = attempts.first().map_or(0, |a| a.outbox_id);
            let now = ctx.clock.now().secs();
            let attempts = Arc::new(attempts);
            // Repeatable (see `Store::write_repeatable`): the attempts are shared between runs.
            let written = ctx
                .store
                .write_repeatable(key, None, move |c: &mut dyn Conn| {
                    c.attempts_insert_sent(&attempts, now)?;
                    Ok::<_, StoreError>(((), None))
                })
                .await
                .map_err(|e| e.to_string());
            for reply in replies {
                // A send that stopped waiting needs no answer.
                let _ = reply.send(written.clone());
            }
        }
    }
}
