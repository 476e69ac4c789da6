//! SMS delivery on the server: the broker configuration (sealed at rest, one cached
//! `SmsSender` per configuration version), the outbox sender for channel `sms`, and the
//! budgets against SMS pumping.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::web;
use delivery::{SmsConfig, SmsMessage, SmsSender};

use crate::api::error::ApiError;
use crate::app::AppState;
use crate::outbox::{AttemptReport, Payload, SendReport, Sender};
use crate::store::Ops as _;
use crate::with_conn;

/// Settings document of the SMS configuration.
pub const DOC: &str = "delivery.sms";
/// Settings document of the (disabled) voice configuration.
pub const VOICE_DOC: &str = "delivery.voice";

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

/// Per-node cache of the SMS configuration.
#[derive(Default)]
pub struct SmsState {
    cached: Mutex<Option<Current>>,
}

/// Reads a sealed configuration document (blocking).
pub fn load_config(state: &AppState, doc: &str) -> Result<Option<(i64, SmsConfig)>, ApiError> {
    let mut conn = state.pool.get()?;
    let Some((sealed, version)) = with_conn!(&mut conn, |c| c.setting_get(doc))? else {
        return Ok(None);
    };
    let json = state
        .keyring
        .read()
        .map_err(ApiError::internal)?
        .open_string(doc, &sealed)
        .map_err(ApiError::internal)?;
    let config = SmsConfig::from_stored_json(json.as_bytes()).map_err(ApiError::internal)?;
    Ok(Some((version, config)))
}

impl SmsState {
    /// The current configuration and sender, if SMS is configured (blocking).
    pub fn current(&self, state: &AppState) -> Result<Option<Current>, ApiError> {
        let mut conn = state.pool.get()?;
        let version = with_conn!(&mut conn, |c| c.setting_get(DOC))?.map(|(_, v)| v);
        drop(conn);
        let Some(version) = version else {
            return Ok(None);
        };
        if let Ok(guard) = self.cached.lock()
            && let Some(c) = guard.as_ref().filter(|c| c.version == version)
        {
            return Ok(Some(c.clone()));
        }
        let Some((version, config)) = load_config(state, DOC)? else {
            return Ok(None);
        };
        let sender = SmsSender::new(&config).map_err(ApiError::internal)?;
        let current = Current {
            version,
            config: Arc::new(config),
            sender: Arc::new(sender),
        };
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some(current.clone());
        }
        Ok(Some(current))
    }
}

/// The outbox sender of channel `sms`.
pub struct SmsOutbox {
    /// Server state.
    pub state: web::Data<AppState>,
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
        })
        .collect()
}

impl Sender for SmsOutbox {
    fn send<'a>(
        &'a self,
        _channel: &'a str,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            let fail = |error: String, retryable: bool| SendReport {
                attempts: Vec::new(),
                delivered: false,
                retryable,
                error: Some(error),
            };
            let st = self.state.clone();
            let current = match web::block(move || st.sms.current(&st)).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => return fail("no SMS broker is configured".into(), true),
                Ok(Err(e)) => return fail(format!("SMS configuration unavailable: {e}"), true),
                Err(e) => return fail(e.to_string(), true),
            };
            let message = match SmsMessage::new(
                &payload.to,
                payload.text.as_str(),
                payload.otp.as_str(),
                payload.login.as_str(),
                payload.name.as_str(),
            ) {
                Ok(m) => m,
                Err(e) => return fail(format!("the message cannot be sent: {e}"), false),
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
