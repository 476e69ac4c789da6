//! The delivery outbox: jobs queued in the same transaction as the request that caused
//! them, claimed by a worker on some node, handed to a [`Sender`], and retried with backoff.
//!
//! A claim is a lease: the job is marked `sending` until `lease_until`; if the node dies
//! mid-send, another node (or the restarted one) claims it again when the lease expires.
//! Delivery is therefore at-least-once, and a resend carries the same payload (the same
//! code). Payloads are sealed at rest and scrubbed once the job is sent or given up.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::app::AppState;
use crate::store::{BackendOps as _, ClaimedJob, NewAttempt, Ops as _, StoreError};
use crate::write_tx;

/// Seconds a claimed job stays leased to one worker.
pub const LEASE_S: i64 = 60;
/// Attempts before a job is marked failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// Jobs claimed per round.
const BATCH: i64 = 32;

/// What a job delivers (sealed in the database).
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Payload {
    /// Destination: E.164 digits (SMS) or an e-mail address.
    pub to: String,
    /// Rendered message text (contains the code).
    pub text: String,
    /// E-mail subject.
    pub subject: Option<String>,
    /// The bare code.
    pub otp: String,
    /// The user's login.
    pub login: String,
    /// The user's name.
    pub name: String,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("to", &mask(&self.to))
            .finish_non_exhaustive()
    }
}

/// Masks a destination for reports: keeps the last 4 characters of a number, or the first
/// character and the domain of an address.
pub fn mask(to: &str) -> String {
    if let Some((local, domain)) = to.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let n = to.chars().count();
    let keep = n.saturating_sub(4);
    to.chars()
        .enumerate()
        .map(|(i, c)| if i < keep { '*' } else { c })
        .collect()
}

/// One attempt's outcome, as a sender reports it.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    /// Which broker or account.
    pub broker: String,
    /// Whether this attempt delivered.
    pub delivered: bool,
    /// HTTP status, if any.
    pub http_status: Option<u16>,
    /// Error or fault text (never the code).
    pub error: Option<String>,
    /// Duration.
    pub latency_ms: u64,
    /// Redacted excerpt of the answer.
    pub excerpt: Option<String>,
}

/// What a sender did with one job.
#[derive(Debug, Clone)]
pub struct SendReport {
    /// Every attempt, in order.
    pub attempts: Vec<AttemptReport>,
    /// Whether any attempt delivered.
    pub delivered: bool,
    /// When not delivered: whether retrying later may help.
    pub retryable: bool,
    /// When not delivered: why.
    pub error: Option<String>,
}

/// Delivers one job's payload on a channel. Implemented by the delivery layer.
pub trait Sender: Send + Sync {
    /// Sends `payload` on `channel` (`sms`, `email`).
    fn send<'a>(
        &'a self,
        channel: &'a str,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>>;
}

/// The sender used until a channel is configured: every job fails with a clear reason and
/// stays queued (retried with backoff), so configuring the broker later still delivers it.
pub struct Unconfigured;

impl Sender for Unconfigured {
    fn send<'a>(
        &'a self,
        channel: &'a str,
        _payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            SendReport {
                attempts: Vec::new(),
                delivered: false,
                retryable: true,
                error: Some(format!("no {channel} delivery is configured")),
            }
        })
    }
}

/// Delay before attempt `attempts + 1`: 2^attempts seconds, capped at 10 minutes.
pub fn backoff_s(attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    (1i64 << exp).min(600)
}

/// How often a node applies the retention settings.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// Deletes audit records and delivery reports older than the retention settings allow, and
/// ended administrator sessions.
pub fn purge(state: &AppState) -> Result<(usize, usize), crate::api::error::ApiError> {
    let policies = state.policies.get(&state.pool)?;
    let now = crate::now();
    let cutoff = |days: u32| (days > 0).then(|| now - i64::from(days) * 86_400);
    let mut conn = state.pool.get()?;
    let audit = match cutoff(policies.retention.audit_days) {
        Some(before) => write_tx!(&mut conn, |c| c.audit_purge(before))?,
        None => 0,
    };
    let deliveries = match cutoff(policies.retention.deliveries_days) {
        Some(before) => write_tx!(&mut conn, |c| c.deliveries_purge(before))?,
        None => 0,
    };
    // Ended administrator sessions (idle or past their lifetime) are checked at use; this
    // only keeps the table small.
    crate::store::admins::purge_sessions(
        &mut conn,
        now - i64::from(state.config.session_idle_s),
        now - 12 * 3600,
    )?;
    Ok((audit, deliveries))
}

/// Runs the worker until the process ends: claims due jobs, sends them, records outcomes;
/// applies the retention settings every ten minutes.
pub async fn run(state: actix_web::web::Data<AppState>, sender: Arc<dyn Sender>) {
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        if last_purge.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            last_purge = Some(std::time::Instant::now());
            let st = state.clone();
            match actix_web::web::block(move || purge(&st)).await {
                Ok(Ok((a, d))) if a + d > 0 => {
                    tracing::info!(audit = a, deliveries = d, "retention: old records deleted")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "retention sweep failed"),
                _ => {}
            }
        }
        let claimed = claim(&state).await;
        let jobs = match claimed {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "outbox claim failed");
                Vec::new()
            }
        };
        let idle = jobs.is_empty();
        // A claimed batch is sent concurrently: one slow broker answer does not hold up
        // the other jobs (each job's own attempts stay sequential, as failover requires).
        futures_util::future::join_all(
            jobs.into_iter()
                .map(|job| process(&state, sender.as_ref(), job)),
        )
        .await;
        if idle {
            tokio::select! {
                () = state.outbox_notify.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }
}

async fn claim(state: &actix_web::web::Data<AppState>) -> Result<Vec<ClaimedJob>, StoreError> {
    let st = state.clone();
    actix_web::web::block(move || {
        let now = crate::now();
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| c.outbox_claim(now, now + LEASE_S, BATCH))
            .map_err(StoreError::from)
    })
    .await
    .map_err(|e| StoreError::Pool(e.to_string()))?
}

fn open_payload(state: &AppState, job: &ClaimedJob) -> Option<Payload> {
    let sealed = job.payload_enc.as_deref()?;
    let ring = state.keyring.read().ok()?;
    let bytes = ring
        .open(&format!("outbox:{}", job.request_id), sealed)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn process(state: &actix_web::web::Data<AppState>, sender: &dyn Sender, job: ClaimedJob) {
    let Some(payload) = open_payload(state, &job) else {
        finish(
            state,
            &job,
            None,
            Err("the job's payload cannot be read (scrubbed, or sealed with a missing key)".into()),
        )
        .await;
        return;
    };
    let report = sender.send(&job.channel, &payload).await;
    let masked = mask(&payload.to);
    let outcome = if report.delivered {
        Ok(())
    } else {
        Err(report
            .error
            .clone()
            .unwrap_or_else(|| "delivery failed".into()))
    };
    let retryable = report.retryable;
    finish(
        state,
        &job,
        Some((report, masked)),
        outcome.map_err(|e| {
            if retryable {
                e
            } else {
                format!("permanent: {e}")
            }
        }),
    )
    .await;
}

async fn finish(
    state: &actix_web::web::Data<AppState>,
    job: &ClaimedJob,
    report: Option<(SendReport, String)>,
    outcome: Result<(), String>,
) {
    let st = state.clone();
    let job = job.clone();
    let result = actix_web::web::block(move || -> Result<(), StoreError> {
        let now = crate::now();
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            if let Some((report, masked)) = &report {
                for a in &report.attempts {
                    c.attempt_insert(&NewAttempt {
                        outbox_id: job.id,
                        request_id: job.request_id.clone(),
                        channel: job.channel.clone(),
                        broker: a.broker.clone(),
                        destination_masked: masked.clone(),
                        outcome: if a.delivered {
                            "delivered".into()
                        } else {
                            "failed".into()
                        },
                        http_status: a.http_status.map(i32::from),
                        error: a.error.clone(),
                        latency_ms: i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
                        excerpt: a.excerpt.clone(),
                        at: now,
                    })?;
                }
            }
            match &outcome {
                Ok(()) => c.outbox_sent(job.id, now),
                Err(e) if !e.starts_with("permanent: ") && job.attempts < MAX_ATTEMPTS => {
                    c.outbox_retry(job.id, now + backoff_s(job.attempts), e, now)
                }
                Err(e) => c.outbox_failed(job.id, e, now),
            }
        })?;
        match &outcome {
            Ok(()) => crate::metrics::Metrics::inc(&st.metrics.outbox_sent),
            Err(e) if e.starts_with("permanent: ") || job.attempts >= MAX_ATTEMPTS => {
                crate::metrics::Metrics::inc(&st.metrics.outbox_failed);
            }
            Err(_) => {}
        }
        Ok(())
    })
    .await;
    if let Err(e) | Ok(Err(e)) = result.map_err(|e| StoreError::Pool(e.to_string())) {
        tracing::warn!(error = %e, "outbox: recording a job's outcome failed; its lease will expire and it will be retried");
    }
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
