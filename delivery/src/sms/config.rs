//! The SMS configuration (`PUT /v1/delivery/sms`): parsing with JSON-path errors, validation,
//! secret redaction for GET answers and secret keeping for PUTs.
//!
//! Flow on save: [`SmsConfigInput::from_json_slice`] → [`SmsConfigInput::merge_secrets_from`]
//! (the stored configuration) → [`SmsConfigInput::validate`] → store
//! [`SmsConfig::to_stored_json`] (encrypted by the caller). On GET answer
//! [`SmsConfig::redacted_json`]. On load [`SmsConfig::from_stored_json`].

use std::time::Duration;

use zeroize::Zeroizing;

use crate::sms::changes::{Mask, changed_paths};
use crate::sms::doc::{BrokerDoc, BrokerKind, BudgetDoc, SmsConfigDoc};
use crate::sms::rest_config::RestConfig;
use crate::sms::secret_fields::{mask_broker, merge_broker};
use crate::sms::soap_config::SoapConfig;
pub(crate) use crate::sms::validate::{
    KeyPath, Timeouts, bounded, is_sensitive_name, join, parse_template, parse_url, refuse,
    sample_values,
};
use crate::sms::{BrokerLabel, BrokerMode};
use crate::template::TemplateError;

/// Shortest broker timeout, in milliseconds.
pub const TIMEOUT_MIN_MS: u64 = 100;
/// Longest broker timeout, in milliseconds.
pub const TIMEOUT_MAX_MS: u64 = 60_000;
/// Total timeout of a broker call when `timeout_ms` is absent.
pub const TIMEOUT_DEFAULT_MS: u64 = 10_000;
/// Largest budget count.
const BUDGET_COUNT_MAX: u64 = 1_000_000;
/// Longest budget window: 31 days.
const BUDGET_WINDOW_MAX_S: u64 = 31 * 24 * 3600;

/// Why a configuration was refused. Every variant names the offending field as a JSON path
/// (`primary.url`, `broker2.broker.body`, `primary.return_keys[1]`), see [`ConfigError::path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON is not the expected shape: syntax, wrong type, unknown or missing field.
    #[error("{path}: {reason}")]
    Malformed {
        /// Where (`.` for the whole document).
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// A field that this kind of broker (or this mode) does not have.
    #[error("{path}: {reason}")]
    FieldNotAllowed {
        /// Where.
        path: String,
        /// Why it is refused here.
        reason: &'static str,
    },
    /// A required field is absent (or a kept secret has no stored value).
    #[error("{path}: {reason}")]
    Missing {
        /// Where.
        path: String,
        /// When it is required.
        reason: &'static str,
    },
    /// Not an absolute http(s) URL with a host, or one carrying credentials.
    #[error("{path}: {reason}")]
    InvalidUrl {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A template that does not parse (unknown tag, too long).
    #[error("{path}: {}", without_field(source))]
    Template {
        /// Where.
        path: String,
        /// The template parser's error.
        source: TemplateError,
    },
    /// A message-template tag that broker templates do not have (`{expires_in}`, `{app}`).
    #[error(
        "{path}: the tag {{{tag}}} is not available in broker templates (they know {{phone}}, {{message}}, {{otp}}, {{login}}, {{name}}); put it in the message template"
    )]
    TagNotAvailable {
        /// Where.
        path: String,
        /// The tag name.
        tag: &'static str,
    },
    /// A number outside its bounds.
    #[error("{path}: {value} is out of range; allowed {min}..={max} {unit}")]
    OutOfRange {
        /// Where.
        path: String,
        /// The value given.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
        /// The unit (`ms`, `s`, `messages`).
        unit: &'static str,
    },
    /// A return / response key that is not a dotted path of non-empty names.
    #[error("{path}: {reason}")]
    InvalidKey {
        /// Where.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An HTTP header or XML name that is not valid.
    #[error("{path}: {reason}")]
    InvalidName {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A JSON body template that does not render to JSON.
    #[error("{path}: the body is sent as JSON but does not render to valid JSON: {reason}")]
    InvalidJsonBody {
        /// Where.
        path: String,
        /// The JSON parser's message on a sample rendering.
        reason: String,
    },
    /// A POST body whose `Content-Type` SAE cannot escape tag values for.
    #[error(
        "{path}: tag values can only be escaped for JSON (application/json, */*+json), form \
         (application/x-www-form-urlencoded) and XML (application/xml, text/xml, */*+xml) \
         bodies; {content_type:?} is not one of them"
    )]
    UnsupportedContentType {
        /// The header that sets the type.
        path: String,
        /// The type given.
        content_type: String,
    },
    /// An XML body template that does not render to well-formed XML.
    #[error("{path}: the body is sent as XML but does not render to well-formed XML: {reason}")]
    InvalidXmlBody {
        /// Where.
        path: String,
        /// What is wrong with a sample rendering.
        reason: String,
    },
    /// A template naming a secret the broker does not have.
    #[error(
        "{path}: {{secret.{name}}} names no secret of this broker; add it to secrets (this broker's secrets: {known})"
    )]
    UnknownSecret {
        /// Where.
        path: String,
        /// The secret name used.
        name: String,
        /// The names the broker has (comma-separated, maybe empty).
        known: String,
    },
    /// A secret value that is empty or too long.
    #[error("{path}: {reason}")]
    InvalidSecret {
        /// Where (`primary.secrets.NAME`).
        path: String,
        /// What is wrong (never the value).
        reason: &'static str,
    },
    /// A tag other than `{secret.NAME}` in a header value.
    #[error(
        "{path}: header values may use {{secret.NAME}} tags only, not {{{tag}}}; put it in the body or query"
    )]
    TagNotInHeader {
        /// Where.
        path: String,
        /// The tag name.
        tag: &'static str,
    },
    /// A SOAP `options` entry that SAE does not know.
    #[error("{path}: unknown option; supported: {supported}")]
    UnknownOption {
        /// Where.
        path: String,
        /// The options that are supported.
        supported: &'static str,
    },
    /// A SOAP `options` entry with a value that does not fit it.
    #[error("{path}: {reason}")]
    InvalidOption {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The template error's message without its leading `field: ` (the path replaces it).
fn without_field(error: &TemplateError) -> String {
    let text = error.to_string();
    match text
        .strip_prefix(error.field())
        .and_then(|rest| rest.strip_prefix(": "))
    {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

impl ConfigError {
    /// The JSON path of the offending field.
    pub fn path(&self) -> &str {
        match self {
            Self::Malformed { path, .. }
            | Self::FieldNotAllowed { path, .. }
            | Self::Missing { path, .. }
            | Self::InvalidUrl { path, .. }
            | Self::Template { path, .. }
            | Self::TagNotAvailable { path, .. }
            | Self::OutOfRange { path, .. }
            | Self::InvalidKey { path, .. }
            | Self::InvalidName { path, .. }
            | Self::InvalidJsonBody { path, .. }
            | Self::UnknownOption { path, .. }
            | Self::InvalidOption { path, .. }
            | Self::UnsupportedContentType { path, .. }
            | Self::InvalidXmlBody { path, .. }
            | Self::UnknownSecret { path, .. }
            | Self::InvalidSecret { path, .. }
            | Self::TagNotInHeader { path, .. } => path,
        }
    }
}

/// A configuration as received, parsed but not validated: secrets may still be missing
/// because a PUT omitted them (see [`SmsConfigInput::merge_secrets_from`]).
#[derive(Debug, Clone)]
pub struct SmsConfigInput {
    doc: SmsConfigDoc,
}

impl SmsConfigInput {
    /// Parses JSON text; errors name the JSON path. Object key order is kept (SOAP
    /// `request` and `variables` are sequences).
    pub fn from_json_slice(json: &[u8]) -> Result<Self, ConfigError> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let doc = serde_path_to_error::deserialize(&mut deserializer).map_err(malformed)?;
        deserializer.end().map_err(|error| ConfigError::Malformed {
            path: ".".into(),
            reason: error.to_string(),
        })?;
        Ok(Self { doc })
    }

    /// Parses an already decoded JSON value. Key order is that of `serde_json::Map`
    /// (sorted unless serde_json's `preserve_order` is on): prefer
    /// [`SmsConfigInput::from_json_slice`].
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let doc = serde_path_to_error::deserialize(value).map_err(malformed)?;
        Ok(Self { doc })
    }

    /// Keeps the stored secrets that this input omitted or sent as `null`: `password`,
    /// `secret`, `token`, `token_secret` (while the authorization still uses them), SOAP
    /// `options.password` (while `options.login` is set), the values of sensitive headers and
    /// query parameters, and the `secrets` entries sent as `null` (an omitted entry is
    /// removed); see [`SmsConfig::redacted_json`]. A broker slot keeps its stored secrets only
    /// while its kind and the scheme, host and port of its `url` (REST) or of its `wsdl_url`
    /// and `options.location` (SOAP) are unchanged, so a secret is never sent to a host it was
    /// not entered for; a `null` left without a value is then refused by validation, naming
    /// the field.
    pub fn merge_secrets_from(&mut self, stored: &SmsConfig) {
        merge_broker(&mut self.doc.primary, &stored.doc.primary);
        if let (Some(input), Some(stored)) = (
            self.doc.broker2.broker.as_mut(),
            stored.doc.broker2.broker.as_ref(),
        ) {
            merge_broker(input, stored);
        }
    }

    /// Validates everything: URLs, templates, keys, bounds, required secrets.
    pub fn validate(self) -> Result<SmsConfig, ConfigError> {
        let primary = BrokerConfig::from_doc("primary", &self.doc.primary)?;
        let mode = self.doc.broker2.mode;
        let secondary = match (&self.doc.broker2.broker, mode) {
            (Some(doc), _) => Some(BrokerConfig::from_doc("broker2.broker", doc)?),
            (None, BrokerMode::None) => None,
            (None, BrokerMode::Backup | BrokerMode::Balance) => {
                return Err(ConfigError::Missing {
                    path: "broker2.broker".into(),
                    reason: "required when broker2.mode is backup or balance",
                });
            }
        };
        let budgets = match &self.doc.budgets {
            Some(budgets) => Budgets {
                per_destination: budgets
                    .per_destination
                    .map(|doc| Budget::from_doc("budgets.per_destination", doc))
                    .transpose()?,
                per_user: budgets
                    .per_user
                    .map(|doc| Budget::from_doc("budgets.per_user", doc))
                    .transpose()?,
            },
            None => Budgets::default(),
        };
        Ok(SmsConfig {
            doc: self.doc,
            primary,
            mode,
            secondary,
            budgets,
        })
    }
}

/// A validated SMS configuration.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    doc: SmsConfigDoc,
    primary: BrokerConfig,
    mode: BrokerMode,
    secondary: Option<BrokerConfig>,
    budgets: Budgets,
}

impl SmsConfig {
    /// Parses and validates a stored configuration (as written by
    /// [`SmsConfig::to_stored_json`]).
    pub fn from_stored_json(json: &[u8]) -> Result<Self, ConfigError> {
        SmsConfigInput::from_json_slice(json)?.validate()
    }

    /// The configuration with its secrets, for storage (encrypt it at rest).
    pub fn to_stored_json(&self) -> Zeroizing<String> {
        Zeroizing::new(serde_json::to_string(&self.doc).unwrap_or_default())
    }

    /// The configuration for GET answers, as JSON text in document order: `password`,
    /// `secret`, `token`, `token_secret`, every value of `secrets` and SOAP
    /// `options.password` are `null` when set (absent when not), and so are the values of
    /// sensitive headers and query parameters (names containing `auth`, `key`, `token`,
    /// `secret`, `pass`, `pwd`, `signature`, `cookie`, `session`, case-insensitive). Sending it
    /// back in a PUT keeps every secret.
    pub fn redacted_json(&self) -> String {
        serde_json::to_string(&self.redacted_doc()).unwrap_or_default()
    }

    /// [`SmsConfig::redacted_json`] as a `serde_json::Value` (object keys in
    /// `serde_json::Map` order).
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::to_value(self.redacted_doc()).unwrap_or_default()
    }

    fn redacted_doc(&self) -> SmsConfigDoc {
        self.masked_doc(&Mask::Redact)
    }

    fn masked_doc(&self, mask: &Mask) -> SmsConfigDoc {
        let mut doc = self.doc.clone();
        mask_broker(&mut doc.primary, mask);
        if let Some(broker) = doc.broker2.broker.as_mut() {
            mask_broker(broker, mask);
        }
        doc
    }

    /// The dotted names of the fields that differ from `before` (everything set when there was
    /// no configuration), sorted: what the audit records of a change — names, never values.
    /// A secret whose value changed is listed although both GET answers show `null`.
    pub fn changed_fields(&self, before: Option<&SmsConfig>) -> Vec<String> {
        let mask = Mask::fingerprint();
        let view =
            |config: &SmsConfig| serde_json::to_value(config.masked_doc(&mask)).unwrap_or_default();
        let before = before.map_or(serde_json::Value::Null, view);
        changed_paths(&before, &view(self))
    }

    /// The primary broker.
    pub fn primary(&self) -> &BrokerConfig {
        &self.primary
    }

    /// What the second broker is for.
    pub fn mode(&self) -> BrokerMode {
        self.mode
    }

    /// The second broker, when configured (it may be configured with mode `none`).
    pub fn secondary(&self) -> Option<&BrokerConfig> {
        self.secondary.as_ref()
    }

    /// The broker with this label.
    pub fn broker(&self, label: BrokerLabel) -> Option<&BrokerConfig> {
        match label {
            BrokerLabel::Primary => Some(&self.primary),
            BrokerLabel::Secondary => self.secondary.as_ref(),
        }
    }

    /// The anti-pumping budgets (enforced by the server).
    pub fn budgets(&self) -> &Budgets {
        &self.budgets
    }
}

/// One validated broker.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BrokerConfig {
    /// `kind: "rest"`.
    Rest(RestConfig),
    /// `kind: "soap"`.
    Soap(SoapConfig),
}

impl BrokerConfig {
    fn from_doc(path: &str, doc: &BrokerDoc) -> Result<Self, ConfigError> {
        match doc.kind {
            BrokerKind::Rest => RestConfig::from_doc(path, doc).map(Self::Rest),
            BrokerKind::Soap => SoapConfig::from_doc(path, doc).map(Self::Soap),
        }
    }
}

/// Anti-pumping budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budgets {
    per_destination: Option<Budget>,
    per_user: Option<Budget>,
}

impl Budgets {
    /// Sends allowed per destination number.
    pub fn per_destination(&self) -> Option<Budget> {
        self.per_destination
    }

    /// Sends allowed per user.
    pub fn per_user(&self) -> Option<Budget> {
        self.per_user
    }
}

/// At most `count` sends per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    count: u32,
    window_s: u32,
}

impl Budget {
    fn from_doc(path: &str, doc: BudgetDoc) -> Result<Self, ConfigError> {
        let count = bounded(
            &join(path, "count"),
            doc.count,
            1,
            BUDGET_COUNT_MAX,
            "messages",
        )?;
        let window = bounded(
            &join(path, "window_s"),
            doc.window_s,
            1,
            BUDGET_WINDOW_MAX_S,
            "s",
        )?;
        Ok(Self {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            window_s: u32::try_from(window).unwrap_or(u32::MAX),
        })
    }

    /// Sends allowed in one window.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_s))
    }
}

fn malformed<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ConfigError {
    ConfigError::Malformed {
        path: error.path().to_string(),
        reason: error.inner().to_string(),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod secrets_tests;
