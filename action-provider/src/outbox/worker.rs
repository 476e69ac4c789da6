//! The outbox worker: claims due jobs, sends them, records every attempt and the job's
//! outcome, and retries with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, mpsc, oneshot};

use super::handoff::Handed;
use super::{AttemptReport, Context, Payload, SendReport, Sender, mask, payload_context};
use crate::metrics::Metrics;
use crate::store::attempts::NewAttempt;
use crate::store::outbox::ClaimedJob;
use crate::store::{Conn, StoreError};

/// Seconds a claimed job stays leased to one worker.
pub const LEASE_S: i64 = 60;
/// Attempts before a job is marked failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// Jobs a worker has in flight at most.
const IN_FLIGHT: usize = 64;
/// A worker claims again once this many of its slots are free (or, with nothing queued,
/// when woken): claims stay batches under load, and a slow send holds its own slot only.
const REFILL_AT: usize = IN_FLIGHT / 2;
/// How long a woken worker lets its sends in flight finish before it claims the jobs queued
/// meanwhile.
const COALESCE: Duration = Duration::from_millis(5);
/// How long an idle worker waits before looking for due jobs again (a queued job of this
/// node wakes it at once).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Delay before attempt `attempts + 1`: 2^attempts seconds, capped at 10 minutes.
pub fn backoff_s(attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    (1i64 << exp).min(600)
}

/// Why an outbox job was not delivered this time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// Retrying later may help.
    Transient(String),
    /// It never will (the message cannot be built, the recipient is refused).
    Permanent(String),
}

/// Runs the worker until the process ends.
///
/// Up to [`IN_FLIGHT`] jobs are sent concurrently (each job's own attempts stay
/// sequential, as failover requires). Finished sends free their slots at once: one slow
/// broker answer, or a failover waiting out a timeout, holds up its own job only, never the
/// jobs claimed with it nor the queue behind them.
///
/// Jobs handed over by this node's code requests (`handed`, see [`super::handoff`]) are
/// already claimed: they take the free slots first, and keep coming while the worker waits
/// for queued work, so a node serving code requests claims only what others left queued.
///
/// The records of jobs delivered at their one attempt (nearly all) are written together
/// ([`record`]), not one write each.
pub async fn run(
    ctx: Context,
    sender: Arc<dyn Sender>,
    wake: Arc<Notify>,
    handed: Option<mpsc::Receiver<Handed>>,
) {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let recorder = Recorder(tx);
    tokio::join!(
        send(&ctx, sender.as_ref(), &wake, handed, &recorder),
        record(&ctx, rx)
    );
}

/// The worker's sends (see [`run`]).
async fn send(
    ctx: &Context,
    sender: &dyn Sender,
    wake: &Notify,
    mut handed: Option<mpsc::Receiver<Handed>>,
    recorder: &Recorder,
) {
    let mut sending = FuturesUnordered::new();
    loop {
        while sending.len() < IN_FLIGHT {
            let Some(h) = handed.as_mut().and_then(|rx| rx.try_recv().ok()) else {
                break;
            };
            if let Some(job) = admit(ctx, h) {
                sending.push(process(ctx, sender, recorder, job));
            }
        }
        let free = IN_FLIGHT - sending.len();
        if free < REFILL_AT {
            sending.next().await;
            continue;
        }
        let jobs = claim(ctx, free).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "outbox claim failed");
            Vec::new()
        });
        let drained = jobs.len() < free;
        sending.extend(
            jobs.into_iter()
                .map(|job| process(ctx, sender, recorder, job)),
        );
        if drained {
            // Nothing else is due: finish sends, and send what is handed over, until a job
            // is queued or the idle poll.
            let idle = tokio::time::sleep(IDLE_POLL);
            tokio::pin!(idle);
            loop {
                let room = sending.len() < IN_FLIGHT;
                tokio::select! {
                    Some(()) = sending.next(), if !sending.is_empty() => {}
                    Some(h) = next_handed(&mut handed), if room => {
                        if let Some(job) = admit(ctx, h) {
                            sending.push(process(ctx, sender, recorder, job));
                        }
                    }
                    () = wake.notified() => break,
                    () = &mut idle => break,
                }
            }
            // The sends in flight get up to COALESCE to finish first, so that the jobs
            // queued meanwhile share one claim (a claim per queued job would cost a write
            // transaction each) without a hanging send holding them up.
            let _ =
                tokio::time::timeout(COALESCE, async { while sending.next().await.is_some() {} })
                    .await;
        }
    }
}

/// The next job handed over (never, without a channel).
async fn next_handed(handed: &mut Option<mpsc::Receiver<Handed>>) -> Option<Handed> {
    match handed {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A handed-over job to send now, unless it waited too long: then its lease is left to
/// expire and some worker claims it again (sending it this late could overlap that claim).
fn admit(ctx: &Context, h: Handed) -> Option<ClaimedJob> {
    if h.fresh(ctx.clock.now().secs()) {
        return Some(h.job);
    }
    tracing::warn!(
        request = %h.job.request_id,
        "outbox: a handed-over job waited past half its lease; it is retried when the lease expires"
    );
    None
}

async fn claim(ctx: &Context, limit: usize) -> Result<Vec<ClaimedJob>, StoreError> {
    let now = ctx.clock.now().secs();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    ctx.store
        .write_claim(move |c| Ok(c.outbox_claim(now, now + LEASE_S, limit)?))
        .await
}

fn open_payload(ctx: &Context, job: &ClaimedJob) -> Result<Payload, String> {
    let sealed = job
        .payload_enc
        .as_deref()
        .ok_or("the job's payload was scrubbed")?;
    let ring = crate::crypto::read(&ctx.keyring).map_err(|e| e.to_string())?;
    let bytes = ring
        .open(&payload_context(&job.request_id), sealed)
        .map_err(|e| format!("the job's payload cannot be opened: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the job's payload is malformed: {e}"))
}

/// The records of jobs delivered at their one attempt, waiting to be written by [`record`].
struct Recorder(mpsc::Sender<Recorded>);

/// A record waiting, and where its outcome goes.
struct Recorded {
    attempt: NewAttempt,
    done: oneshot::Sender<Result<(), String>>,
}

impl Recorder {
    /// Records a job delivered at its one `attempt` and marks it sent; answers once that is
    /// committed (or failed).
    async fn record(&self, attempt: NewAttempt) -> Result<(), String> {
        let stopped = || "the outbox's recorder has stopped".to_owned();
        let (done, answer) = oneshot::channel();
        self.0
            .send(Recorded { attempt, done })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Writes every record waiting in one write (one statement on PostgreSQL, where each was a
/// statement of its own), answers them, and goes on with those that arrived meanwhile: under
/// load the records of many sends share a write, and a lone one is written at once. A job
/// locks only its own outbox row, so the write may share a batch like each record did.
async fn record(ctx: &Context, mut rx: mpsc::Receiver<Recorded>) {
    let mut waiting = Vec::with_capacity(IN_FLIGHT);
    while rx.recv_many(&mut waiting, IN_FLIGHT).await > 0 {
        let (attempts, dones): (Vec<NewAttempt>, Vec<_>) =
            waiting.drain(..).map(|r| (r.attempt, r.done)).unzip();
        let key = attempts
            .iter()
            .map(|a| a.outbox_id)
            .min()
            .unwrap_or_default();
        // Repeatable (see `Store::write_repeatable`): what it writes is shared between runs.
        let attempts = Arc::new(attempts);
        let write = move |c: &mut dyn Conn| -> Result<((), _), StoreError> {
            c.attempts_insert_sent(&attempts)?;
            Ok(((), None))
        };
        let result = ctx
            .store
            .write_repeatable(key, None, write)
            .await
            .map_err(|e| e.to_string());
        for done in dones {
            let _ = done.send(result.clone());
        }
    }
}

async fn process(ctx: &Context, sender: &dyn Sender, recorder: &Recorder, job: ClaimedJob) {
    let payload = match open_payload(ctx, &job) {
        Ok(p) => p,
        Err(e) => {
            // A key missing from this node's keyring may arrive with the next reload:
            // retried like any transient failure, and given up after MAX_ATTEMPTS.
            tracing::error!(request = %job.request_id, error = %e, "outbox job cannot be sent");
            finish(ctx, recorder, &job, None, Err(Failure::Transient(e))).await;
            return;
        }
    };
    let report = sender.send(&job, &payload).await;
    let outcome = if report.delivered {
        Ok(())
    } else {
        let error = report
            .error
            .clone()
            .unwrap_or_else(|| "delivery failed".into());
        tracing::warn!(
            request = %job.request_id,
            channel = %job.channel,
            attempt = job.attempts,
            retryable = report.retryable,
            %error,
            "delivery failed"
        );
        Err(if report.retryable {
            Failure::Transient(error)
        } else {
            Failure::Permanent(error)
        })
    };
    let masked = mask(&payload.to);
    finish(ctx, recorder, &job, Some((report, masked)), outcome).await;
}

async fn finish(
    ctx: &Context,
    recorder: &Recorder,
    job: &ClaimedJob,
    report: Option<(SendReport, String)>,
    outcome: Result<(), Failure>,
) {
    let now = ctx.clock.now().secs();
    let given_up = match &outcome {
        Ok(()) => false,
        Err(Failure::Permanent(_)) => true,
        Err(Failure::Transient(_)) => job.attempts >= MAX_ATTEMPTS,
    };
    if let Some((report, _)) = &report {
        for a in &report.attempts {
            ctx.metrics.attempt(&job.channel, &a.broker, a.delivered);
        }
    }
    let logged = (job.request_id.clone(), job.channel.clone(), job.attempts);
    // The write locks only the job's row unless a broker failed (then a notification's
    // slot may be taken too), so it may share a PostgreSQL batch.
    let failed = report
        .as_ref()
        .is_some_and(|(r, _)| r.attempts.iter().any(|a| !a.delivered));
    let lock_key = (!failed).then_some(job.id);
    let attempts: Vec<NewAttempt> = report
        .iter()
        .flat_map(|(report, masked)| {
            report
                .attempts
                .iter()
                .map(move |a| new_attempt(job, masked, a, now))
        })
        .collect();
    let result = match (&outcome, attempts.as_slice(), lock_key) {
        // The common case, a job delivered at its one attempt (no broker event to notify):
        // written with the other sends' records.
        (Ok(()), [attempt], Some(_)) => recorder.record(attempt.clone()).await,
        _ => {
            let shared = Arc::new((job.clone(), outcome.clone(), report, attempts));
            write_outcome(ctx, shared, given_up, now, lock_key).await
        }
    };
    match result {
        Ok(()) if outcome.is_ok() => Metrics::inc(&ctx.metrics.outbox_sent),
        Ok(()) if given_up => {
            tracing::error!(
                request = %logged.0,
                channel = %logged.1,
                attempts = logged.2,
                "delivery given up: the code was not sent"
            );
            Metrics::inc(&ctx.metrics.outbox_failed);
        }
        Ok(()) => {}
        Err(e) => tracing::warn!(
            error = %e,
            "outbox: recording a job's outcome failed; its lease will expire and it will be retried"
        ),
    }
}

/// A job, its outcome, its report (with the masked destination) and its attempts' records.
type Outcome = (
    ClaimedJob,
    Result<(), Failure>,
    Option<(SendReport, String)>,
    Vec<NewAttempt>,
);

/// Writes a job's attempts and outcome on their own (a retry, a failure, a failover).
async fn write_outcome(
    ctx: &Context,
    // Repeatable (see `Store::write_repeatable`): what it writes is shared between runs.
    shared: Arc<Outcome>,
    given_up: bool,
    now: i64,
    lock_key: Option<i64>,
) -> Result<(), String> {
    let write = move |c: &mut dyn Conn| -> Result<((), _), StoreError> {
        let (job, written, report, attempts) = &*shared;
        if let Some((report, _)) = &report {
            broker_events(c, &job.channel, report, now)?;
        }
        for attempt in attempts {
            c.attempt_insert(attempt)?;
        }
        match written {
            Ok(()) => c.outbox_sent(job.id, now)?,
            Err(Failure::Transient(e)) if !given_up => {
                c.outbox_retry(job.id, now + backoff_s(job.attempts), e, now)?;
            }
            Err(Failure::Transient(e)) => c.outbox_failed(job.id, e, now)?,
            Err(Failure::Permanent(e)) => {
                c.outbox_failed(job.id, &format!("permanent: {e}"), now)?;
            }
        }
        Ok(((), None))
    };
    let result = match lock_key {
        Some(key) => ctx.store.write_repeatable(key, None, write).await,
        None => ctx.store.write_shared(None, write).await,
    };
    result.map_err(|e| e.to_string())
}

/// The record of one attempt at `job`.
fn new_attempt(job: &ClaimedJob, masked: &str, a: &AttemptReport, now: i64) -> NewAttempt {
    NewAttempt {
        outbox_id: job.id,
        request_id: job.request_id.clone(),
        channel: job.channel.clone(),
        broker: a.broker.clone(),
        destination_masked: masked.to_owned(),
        outcome: if a.delivered { "delivered" } else { "failed" }.into(),
        http_status: a.http_status.map(i32::from),
        error: a.error.clone(),
        latency_ms: i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
        excerpt: a.excerpt.clone(),
        at: now,
        message_id: a.message_id.clone(),
    }
}

/// Notifies an SMS failover (a later broker delivered after an earlier one failed) and
/// every broker failing.
fn broker_events(
    c: &mut dyn crate::store::Conn,
    channel: &str,
    report: &SendReport,
    now: i64,
) -> Result<(), StoreError> {
    use super::notify::{Event, event};
    if channel != "sms" || report.attempts.is_empty() {
        return Ok(());
    }
    let failed: Vec<&str> = report
        .attempts
        .iter()
        .filter(|a| !a.delivered)
        .map(|a| a.broker.as_str())
        .collect();
    if report.delivered && !failed.is_empty() {
        let detail = format!(
            "An SMS went out after these brokers failed: {}.",
            failed.join(", ")
        );
        event(c, Event::BrokerFailover, "sms", &detail, now)?;
    } else if !report.delivered && failed.len() == report.attempts.len() {
        let detail = format!("Every SMS broker failed a delivery: {}.", failed.join(", "));
        event(c, Event::BrokersDown, "sms", &detail, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask("5511912345678"), "*********5678");
        assert_eq!(mask("ana@example.com"), "a***@example.com");
        assert_eq!(mask("12"), "12");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_s(0), 1);
        assert_eq!(backoff_s(1), 2);
        assert_eq!(backoff_s(5), 32);
        assert_eq!(backoff_s(10), 600);
        assert_eq!(backoff_s(i32::MAX), 600);
        assert_eq!(backoff_s(-3), 1);
    }
}
