//! The delivery outbox: jobs queued in the same transaction as the request that caused
//! them, claimed by a worker on some node, handed to the [`Sender`] of their channel, and
//! retried with backoff.
//!
//! A job requested on a node whose worker has room skips the claim: it is inserted already
//! leased to that worker and handed to it in memory (see [`handoff`]).
//!
//! A claim is a lease: the job is marked `sending` until `lease_until`; if the node dies
//! mid-send, another node (or the restarted one) claims it again when the lease expires.
//! Delivery is therefore at-least-once, and a resend carries the same payload (the same
//! code). Payloads are sealed at rest and scrubbed once the job is sent or given up.

pub mod email;
pub mod handoff;
pub mod mail_sender;
pub mod notify;
pub mod router;
pub mod sms;
pub mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::clock::Clock;
use crate::crypto::SharedKeyring;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::outbox::ClaimedJob;

/// What the outbox and its senders need of the server.
#[derive(Clone, Debug)]
pub struct Context {
    /// The database.
    pub store: Store,
    /// The master keyring.
    pub keyring: SharedKeyring,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The SMS configuration cache.
    pub sms: Arc<sms::SmsState>,
}

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

/// The seal context of a job's payload.
pub fn payload_context(request_id: &str) -> String {
    format!("outbox:{request_id}")
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
    /// The Message-ID of a delivered e-mail (bounces name it).
    pub message_id: Option<String>,
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

impl SendReport {
    /// A failure before any attempt was made.
    pub fn failed(error: impl Into<String>, retryable: bool) -> Self {
        Self {
            attempts: Vec::new(),
            delivered: false,
            retryable,
            error: Some(error.into()),
        }
    }
}

/// Delivers one job's payload on a channel.
pub trait Sender: Send + Sync {
    /// Sends `payload` on the job's channel (`sms`, `email`); the job's request and attempt
    /// number go into what the channel can carry back (an e-mail's Message-ID).
    fn send<'a>(
        &'a self,
        job: &'a ClaimedJob,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>>;
}
