//! The outbox's SMS channel: the broker configuration (sealed at rest in the settings table,
//! one cached [`SmsSender`] per stored version, checked like the policies) and the sender
//! for channel `sms`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use delivery::{SmsConfig, SmsMessage, SmsSender};

use super::{AttemptReport, Context, Payload, SendReport, Sender};
use crate::cache::VersionedCache;
use crate::clock::UnixTime;
use crate::crypto::{CryptoError, SharedKeyring};
use crate::store::outbox::ClaimedJob;
use crate::store::{Store, StoreError};

/// Settings document of the SMS configuration.
pub const DOC: &str = "delivery.sms";
/// Settings document of the (disabled) voice configuration.
pub const VOICE_DOC: &str = "delivery.voice";

/// Why the stored SMS configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsConfigError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed document does not open.
    #[error("the stored SMS configuration does not open: {0}")]
    Unseal(#[from] CryptoError),
    /// The stored document no longer validates.
    #[error("the stored SMS configuration is invalid: {0}")]
    Invalid(delivery::ConfigError),
    /// The sender could not be built from it.
    #[error("the SMS sender cannot start: {0}")]
    Sender(String),
}

/// The configuration and its sender, for one stored version.
#[derive(Clone)]
pub struct Current {
    /// Stored version.
    pub version: i64,
    /// The validated configuration.
    pub config: Arc<SmsConfig>,
    /// Its sender (keeps the WSDL parse and the round-robin position).
    pub sender: Arc<SmsSender>,
}

/// Per-node cache of the SMS configuration, keyed by the stored version (the rule of
/// [`VersionedCache`]: checked at most once per
/// [`SETTINGS_REFRESH`](crate::clock::SETTINGS_REFRESH), dropped at once after this node's
/// own change through [`SmsState::invalidate`], as for the policies).
#[derive(Default, Debug)]
pub struct SmsState(VersionedCache<i64, Current>);

/// Reads and opens a sealed configuration document (`DOC` or `VOICE_DOC`).
pub async fn load_config(
    store: &Store,
    keyring: &SharedKeyring,
    doc: &'static str,
) -> Result<Option<(i64, SmsConfig)>, SmsConfigError> {
    let stored = store
        .read(move |c| Ok::<_, StoreError>(c.setting_get(doc)?))
        .await?;
    let Some((sealed, version)) = stored else {
        return Ok(None);
    };
    let json = crate::crypto::read(keyring)?.open_string(doc, &sealed)?;
    let config = SmsConfig::from_stored_json(json.as_bytes()).map_err(SmsConfigError::Invalid)?;
    Ok(Some((version, config)))
}

impl SmsState {
    /// The current configuration and sender, if SMS is configured.
    pub async fn current(
        &self,
        store: &Store,
        keyring: &SharedKeyring,
        now: UnixTime,
    ) -> Result<Option<Current>, SmsConfigError> {
        let version = async {
            let v = store
                .read(|c| Ok::<_, StoreError>(c.setting_version(DOC)?))
                .await?;
            Ok::<_, SmsConfigError>(v)
        };
        let load = |_| async {
            let Some((version, config)) = load_config(store, keyring, DOC).await? else {
                return Ok(None);
            };
            let sender =
                SmsSender::new(&config).map_err(|e| SmsConfigError::Sender(e.to_string()))?;
            let current = Current {
                version,
                config: Arc::new(config),
                sender: Arc::new(sender),
            };
            Ok(Some((version, current)))
        };
        self.0.get(now, version, load).await
    }

    /// Forgets the cached configuration (after this node changed it).
    pub fn invalidate(&self) {
        self.0.invalidate();
    }
}

/// Maps the delivery crate's attempts to the outbox's reports.
pub fn reports(delivery: &delivery::Delivery) -> Vec<AttemptReport> {
    delivery
        .attempts()
        .iter()
        .map(|a| AttemptReport {
            broker: a.broker.as_str().to_owned(),
            delivered: a.outcome.is_delivered(),
            http_status: a.http_status,
            error: a.fault.clone().or_else(|| a.error.clone()),
            latency_ms: u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX),
            excerpt: (!a.excerpt.is_empty()).then(|| a.excerpt.clone()),
            message_id: None,
        })
        .collect()
}

/// The outbox sender of channel `sms`.
pub struct SmsOutbox {
    ctx: Context,
}

impl SmsOutbox {
    /// A sender over the server's SMS configuration.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

impl Sender for SmsOutbox {
    fn send<'a>(
        &'a self,
        _job: &'a ClaimedJob,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            let current = match self
                .ctx
                .sms
                .current(&self.ctx.store, &self.ctx.keyring, self.ctx.clock.now())
                .await
            {
                Ok(Some(c)) => c,
                Ok(None) => return SendReport::failed("no SMS broker is configured", true),
                Err(e) => return SendReport::failed(e.to_string(), true),
            };
            let message = match SmsMessage::new(
                &payload.to,
                payload.text.as_str(),
                payload.otp.as_str(),
                payload.login.as_str(),
                payload.name.as_str(),
            ) {
                Ok(m) => m,
                Err(e) => {
                    return SendReport::failed(format!("the message cannot be sent: {e}"), false);
                }
            };
            let delivery = current.sender.deliver(&message).await;
            SendReport {
                attempts: reports(&delivery),
                delivered: delivery.delivered(),
                retryable: delivery.retry_advised(),
                error: (!delivery.delivered()).then(|| {
                    delivery
                        .attempts()
                        .last()
                        .and_then(|a| a.fault.clone().or_else(|| a.error.clone()))
                        .unwrap_or_else(|| "not delivered".into())
                }),
            }
        })
    }
}
