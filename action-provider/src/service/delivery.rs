//! SMS delivery settings (`/v1/delivery/sms`, the disabled `/v1/delivery/voice`), the test
//! send and the delivery reports.

use delivery::{SmsConfig, SmsConfigInput, SmsMessage, SmsSender};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
use super::page::{Page, PageRequest, TimeOrder};
use crate::clock::UnixTime;
use crate::outbox::sms::{DOC, VOICE_DOC, load_config, reports};
use crate::store::attempts::{AttemptFilter, AttemptRow};

/// Which broker configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// SMS.
    Sms,
    /// Voice (configurable; the service is disabled).
    Voice,
}

impl Channel {
    fn doc(self) -> &'static str {
        match self {
            Self::Sms => DOC,
            Self::Voice => VOICE_DOC,
        }
    }
}

fn config_error(e: &delivery::ConfigError) -> ServiceError {
    ServiceError::field(e.path(), e.to_string())
}

async fn stored(state: &AppState, channel: Channel) -> Result<Option<SmsConfig>, ServiceError> {
    Ok(load_config(&state.store, &state.keyring, channel.doc())
        .await
        .map_err(|e| ServiceError::internal("reading the broker configuration", e))?
        .map(|(_, c)| c))
}

/// The configuration as answered: secrets redacted (`null`); voice says it is disabled.
fn answer(config: &SmsConfig, channel: Channel) -> Result<serde_json::Value, ServiceError> {
    let mut v: serde_json::Value = serde_json::from_str(&config.redacted_json())
        .map_err(|e| ServiceError::internal("a redacted broker configuration", e))?;
    if let (Channel::Voice, Some(obj)) = (channel, v.as_object_mut()) {
        obj.insert(
            "service".into(),
            serde_json::json!("disabled: voice calls are not offered by this version"),
        );
    }
    Ok(v)
}

/// Reads a broker configuration (secrets redacted as `null`).
pub async fn get(
    state: &AppState,
    caller: &Caller,
    channel: Channel,
) -> Result<serde_json::Value, ServiceError> {
    caller.require_admin()?;
    let config = stored(state, channel).await?.ok_or_else(|| {
        ServiceError::not_found(match channel {
            Channel::Sms => "SMS delivery is not configured",
            Channel::Voice => "voice is not configured (and the voice service is disabled)",
        })
    })?;
    answer(&config, channel)
}

/// Replaces a broker configuration given as JSON. A secret omitted (or null) keeps the
/// stored one while the broker's address is unchanged. The audit entry lists the names of the
/// changed fields (`{"changed": ["primary.url", "primary.secrets.API_KEY"]}`).
pub async fn put(
    state: &AppState,
    caller: &Caller,
    channel: Channel,
    body: &[u8],
) -> Result<serde_json::Value, ServiceError> {
    caller.require_admin()?;
    let mut input = SmsConfigInput::from_json_slice(body).map_err(|e| config_error(&e))?;
    let previous = stored(state, channel).await?;
    if let Some(previous) = &previous {
        input.merge_secrets_from(previous);
    }
    let config = input.validate().map_err(|e| config_error(&e))?;
    let doc = channel.doc();
    let sealed = state.ring()?.seal(doc, config.to_stored_json().as_bytes());
    let now = state.now();
    // The names of the changed fields, never values (secrets included).
    let changed = config.changed_fields(previous.as_ref());
    let audit = caller
        .audit(&format!("config.{doc}.update"), now)
        .detail(serde_json::json!({ "changed": changed }));
    state
        .store
        .write(move |c| {
            c.setting_put(doc, &sealed, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    state.sms.invalidate();
    answer(&config, channel)
}

/// `POST /v1/delivery/sms/test`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsTest {
    /// Destination phone, in any notation a user's mobile may have (`+55 (11) 91234-5678`),
    /// in international form: a country code never starts with 0.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^(?: *\+[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}|[ ().-]*(?:[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*0[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}))[ ().-]*$"
    )]
    pub phone: String,
    /// Text to send.
    #[schema(
        min_length = 1,
        max_length = 1600,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub message: String,
}

/// One attempt of a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// `primary` / `secondary` (SMS) or an account name (e-mail).
    pub broker: String,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// Error or SOAP fault.
    pub error: Option<String>,
    /// Milliseconds.
    pub latency_ms: u64,
    /// Redacted start of the answer.
    pub excerpt: Option<String>,
}

/// The answer of a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Whether a broker delivered.
    pub delivered: bool,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptView>,
}

/// Sends one test message through the configured brokers and answers every attempt.
pub async fn test_sms(
    state: &AppState,
    caller: &Caller,
    body: SmsTest,
) -> Result<TestResult, ServiceError> {
    caller.require_admin()?;
    if body.message.is_empty() || body.message.chars().count() > 1600 {
        return Err(ServiceError::field(
            "message",
            "message: 1 to 1600 characters",
        ));
    }
    // Read as a user's mobile is (any common notation, `00` or `+` for the country), so
    // the test goes where a code to that number would.
    let phone = sae_core::config::normalize_mobile(&body.phone)
        .map_err(|e| ServiceError::field("phone", e.to_string()))?;
    let message = SmsMessage::test(&phone, body.message.as_str())
        .map_err(|e| ServiceError::field("phone", e.to_string()))?;
    let config = stored(state, Channel::Sms)
        .await?
        .ok_or_else(|| ServiceError::not_found("SMS delivery is not configured"))?;
    let sender =
        SmsSender::new(&config).map_err(|e| ServiceError::field("primary", e.to_string()))?;
    let delivery = sender.deliver(&message).await;
    caller
        .audit("delivery.sms.test", state.now())
        .subject(crate::outbox::mask(&body.phone))
        .outcome(if delivery.delivered() { "ok" } else { "failed" })
        .record(state)
        .await?;
    let attempts = reports(&delivery)
        .into_iter()
        .map(|a| AttemptView {
            broker: a.broker,
            outcome: if a.delivered { "delivered" } else { "failed" }.into(),
            http_status: a.http_status,
            error: a.error,
            latency_ms: a.latency_ms,
            excerpt: a.excerpt,
        })
        .collect();
    Ok(TestResult {
        delivered: delivery.delivered(),
        attempts,
    })
}

/// One delivery attempt as reported (destination masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportItem {
    /// The request.
    pub request_id: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Broker or account.
    pub broker: String,
    /// Masked destination.
    pub destination: String,
    /// `delivered`, `failed`, or what a bounce said later: `bounced` / `delayed`.
    pub outcome: String,
    /// The status code of a bounce (RFC 3463, e.g. `5.1.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounce_status: Option<String>,
    /// The diagnostic of a bounce (the remote server's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounce_diagnostic: Option<String>,
    /// When the bounce was read (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<String>,
    /// HTTP status.
    pub http_status: Option<i32>,
    /// Error or fault.
    pub error: Option<String>,
    /// Milliseconds.
    pub latency_ms: i64,
    /// Redacted answer excerpt.
    pub excerpt: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

impl From<AttemptRow> for ReportItem {
    fn from(r: AttemptRow) -> Self {
        Self {
            request_id: r.request_id,
            channel: r.channel,
            broker: r.broker,
            destination: r.destination_masked,
            outcome: r.outcome,
            bounce_status: r.bounce_status,
            bounce_diagnostic: r.bounce_diagnostic,
            bounced_at: r.bounced_at.map(|t| UnixTime::from_secs(t).rfc3339()),
            http_status: r.http_status,
            error: r.error,
            latency_ms: r.latency_ms,
            excerpt: r.excerpt,
            at: UnixTime::from_secs(r.at).rfc3339(),
        }
    }
}

/// Filters of the delivery report.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// One request.
    pub request_id: Option<String>,
    /// From this time.
    pub since: Option<UnixTime>,
    /// Until this time.
    pub until: Option<UnixTime>,
    /// One channel.
    pub channel: Option<String>,
    /// One broker or account.
    pub broker: Option<String>,
    /// One outcome.
    pub outcome: Option<String>,
    /// The order (default: oldest first).
    pub order: Option<TimeOrder>,
}

/// Delivery attempts, oldest first unless asked otherwise.
pub async fn report(
    state: &AppState,
    caller: &Caller,
    filter: ReportFilter,
    page: PageRequest,
) -> Result<Page<ReportItem>, ServiceError> {
    caller.require_admin()?;
    let newest_first = filter.order == Some(TimeOrder::NewestFirst);
    let filter = AttemptFilter {
        request_id: filter.request_id,
        since: filter.since.map(UnixTime::secs),
        until: filter.until.map(UnixTime::secs),
        channel: filter.channel,
        broker: filter.broker,
        outcome: filter.outcome,
    };
    let rows = state
        .store
        .read(move |c| {
            Ok::<_, ServiceError>(c.attempts_page(
                &filter,
                newest_first,
                page.cursor,
                page.fetch(),
            )?)
        })
        .await?;
    Ok(Page::cut(rows, page, |r| r.id).map(ReportItem::from))
}

/// The name of the e-mail delivery settings document.
pub const EMAIL_DOC: &str = "delivery.email";

/// E-mail delivery settings (`/v1/delivery/email`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// When a bounce says a code mail did not arrive, send the same request's code by SMS
    /// (a new code, the same expiry) to a user who has a mobile number.
    pub fallback_to_sms: bool,
}

/// The stored e-mail settings (defaults when none are stored).
pub fn email_settings(c: &mut dyn crate::store::Conn) -> Result<EmailSettings, ServiceError> {
    match c.setting_get(EMAIL_DOC)? {
        None => Ok(EmailSettings::default()),
        Some((json, _)) => {
            serde_json::from_str(&json).map_err(|e| ServiceError::corrupt(EMAIL_DOC, e))
        }
    }
}

/// Reads the e-mail delivery settings.
pub async fn email_get(state: &AppState, caller: &Caller) -> Result<EmailSettings, ServiceError> {
    caller.require_admin()?;
    state.store.read(email_settings).await
}

/// Replaces the e-mail delivery settings.
pub async fn email_put(
    state: &AppState,
    caller: &Caller,
    body: EmailSettings,
) -> Result<EmailSettings, ServiceError> {
    caller.require_admin()?;
    let now = state.now();
    let json = serde_json::to_string(&body)
        .map_err(|e| ServiceError::internal("the e-mail settings", e))?;
    let audit = caller
        .audit(&format!("config.{EMAIL_DOC}.update"), now)
        .detail(serde_json::json!({"fallback_to_sms": body.fallback_to_sms}));
    state
        .store
        .write(move |c| {
            c.setting_put(EMAIL_DOC, &json, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok(body)
}
