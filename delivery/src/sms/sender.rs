//! [`SmsSender`]: the configured brokers and one delivery with failover, returning every
//! attempt for the outbox worker to record (retries with backoff are the outbox's job).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Classified as _, Outcome};
use crate::sms::config::{BrokerConfig, SmsConfig};
use crate::sms::rest::RestBroker;
use crate::sms::soap::SoapBroker;
use crate::sms::{Attempt, Broker, SmsMessage};
use crate::sms::{BrokerLabel, BrokerMode, SendError, next_broker};

/// One attempt through one broker, for delivery reports. Holds no secret and no message
/// text: the excerpt and fault are redacted (`***` for the code) and capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Which broker.
    pub broker: BrokerLabel,
    /// How it ended (a timeout is [`Outcome::Failed`] with [`crate::ErrorClass::Timeout`]).
    pub outcome: Outcome,
    /// The HTTP status of the answer, when there was one.
    pub http_status: Option<u16>,
    /// The SOAP fault as `code: reason`, when the answer was a fault.
    pub fault: Option<String>,
    /// The error message, when the attempt failed.
    pub error: Option<String>,
    /// Time from the start of the attempt to its end.
    pub latency: Duration,
    /// The redacted start of the answer.
    pub excerpt: String,
}

impl AttemptRecord {
    fn new(broker: BrokerLabel, result: &Result<Attempt, SendError>, latency: Duration) -> Self {
        match result {
            Ok(attempt) => Self {
                broker,
                outcome: Outcome::Delivered,
                http_status: Some(attempt.http_status),
                fault: None,
                error: None,
                latency,
                excerpt: attempt.excerpt.clone(),
            },
            Err(error) => Self {
                broker,
                outcome: Outcome::Failed(error.class()),
                http_status: error.http_status(),
                fault: error.fault(),
                error: Some(error.to_string()),
                latency,
                excerpt: error.excerpt().unwrap_or_default().to_owned(),
            },
        }
    }
}

/// The result of one delivery: every attempt, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    attempts: Vec<AttemptRecord>,
}

impl Delivery {
    /// Every attempt, in order (one or two).
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// The attempts, owned.
    pub fn into_attempts(self) -> Vec<AttemptRecord> {
        self.attempts
    }

    /// Whether a broker accepted the message.
    pub fn delivered(&self) -> bool {
        self.delivered_by().is_some()
    }

    /// The broker that accepted the message.
    pub fn delivered_by(&self) -> Option<BrokerLabel> {
        self.attempts
            .iter()
            .find(|attempt| attempt.outcome.is_delivered())
            .map(|attempt| attempt.broker)
    }

    /// Whether retrying later may help: not delivered, and some attempt failed transiently.
    /// (When every failure is permanent the outbox may still retry, e.g. after a
    /// configuration change; that is its policy.)
    pub fn retry_advised(&self) -> bool {
        !self.delivered()
            && self
                .attempts
                .iter()
                .any(|attempt| attempt.outcome.failure().is_some_and(|c| c.is_transient()))
    }
}

/// A configured broker of either kind.
#[derive(Debug)]
enum AnyBroker {
    Rest(RestBroker),
    Soap(SoapBroker),
}

impl AnyBroker {
    fn new(config: &BrokerConfig) -> Result<Self, SendError> {
        Ok(match config {
            BrokerConfig::Rest(config) => Self::Rest(RestBroker::new(config.clone())?),
            BrokerConfig::Soap(config) => Self::Soap(SoapBroker::new(config.clone())?),
        })
    }
}

impl Broker for AnyBroker {
    async fn send(&self, message: &SmsMessage) -> Result<Attempt, SendError> {
        match self {
            Self::Rest(broker) => broker.send(message).await,
            Self::Soap(broker) => broker.send(message).await,
        }
    }
}

/// The brokers of one [`SmsConfig`]. Keep one per configuration version: SOAP brokers cache
/// their WSDL, and `balance` keeps its round-robin position here.
#[derive(Debug)]
pub struct SmsSender {
    mode: BrokerMode,
    primary: AnyBroker,
    secondary: Option<AnyBroker>,
    position: AtomicU64,
}

impl SmsSender {
    /// Builds the HTTP clients of the configured brokers.
    pub fn new(config: &SmsConfig) -> Result<Self, SendError> {
        let secondary = config.secondary().map(AnyBroker::new).transpose()?;
        let mode = match secondary {
            Some(_) => config.mode(),
            None => BrokerMode::None,
        };
        Ok(Self {
            mode,
            primary: AnyBroker::new(config.primary())?,
            secondary,
            position: AtomicU64::new(0),
        })
    }

    /// One delivery: the broker(s) chosen by [`next_broker`] with this sender's round-robin
    /// position, at most one attempt per broker.
    pub async fn deliver(&self, message: &SmsMessage) -> Delivery {
        let position = self.position.fetch_add(1, Ordering::Relaxed);
        self.deliver_at(message, position).await
    }

    /// One delivery at a given round-robin position (for callers that keep the position,
    /// e.g. in the database).
    pub async fn deliver_at(&self, message: &SmsMessage, position: u64) -> Delivery {
        let mut attempts: Vec<AttemptRecord> = Vec::new();
        let mut previous: Vec<(BrokerLabel, Outcome)> = Vec::new();
        while let Some(label) = next_broker(self.mode, position, &previous) {
            let Some(record) = self.send_via(label, message).await else {
                break;
            };
            previous.push((label, record.outcome));
            attempts.push(record);
        }
        Delivery { attempts }
    }

    /// One attempt through one broker, no failover (test sends per broker); `None` when no
    /// secondary broker is configured.
    pub async fn send_via(
        &self,
        label: BrokerLabel,
        message: &SmsMessage,
    ) -> Option<AttemptRecord> {
        let broker = match label {
            BrokerLabel::Primary => &self.primary,
            BrokerLabel::Secondary => self.secondary.as_ref()?,
        };
        let started = Instant::now();
        let result = broker.send(message).await;
        Some(AttemptRecord::new(label, &result, started.elapsed()))
    }
}
