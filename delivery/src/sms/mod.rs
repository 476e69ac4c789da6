//! SMS delivery through REST and SOAP brokers: configuration, the [`Broker`] trait, the two
//! broker kinds, [`SendError`] (classified with the shared [`crate::ErrorClass`]),
//! [`next_broker`] (the pure failover decision) and [`SmsSender`] (one delivery with
//! failover).

mod answer;
mod auth;
mod changes;
mod config;
mod doc;
mod envelope;
mod error;
mod failover;
mod http;
mod login;
mod rest;
mod rest_config;
mod secret_fields;
mod secrets;
mod sender;
mod soap;
mod soap_config;
mod soap_options;
mod validate;
mod wsdl;
mod xml_body;

use std::fmt;
use std::future::Future;

use zeroize::Zeroizing;

use crate::template::TagValues;

pub use config::{
    BrokerConfig, Budget, Budgets, ConfigError, SmsConfig, SmsConfigInput, TIMEOUT_DEFAULT_MS,
    TIMEOUT_MAX_MS, TIMEOUT_MIN_MS,
};
pub use error::SendError;
pub use failover::{BrokerLabel, BrokerMode, next_broker};
pub use rest::RestBroker;
pub use rest_config::{Authorization, HttpMethod, RestConfig};
pub use sender::{AttemptRecord, Delivery, SmsSender};
pub use soap::SoapBroker;
pub use soap_config::{SoapConfig, SoapType, SoapVersion};

/// Shortest destination accepted, in digits.
pub const PHONE_MIN_DIGITS: usize = 3;
/// Longest destination accepted, in digits (E.164 allows 15).
pub const PHONE_MAX_DIGITS: usize = 15;

/// Why an [`SmsMessage`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The destination is not an E.164 number.
    #[error(
        "phone: must be an E.164 number, 3 to 15 digits with an optional leading +; got {len} characters"
    )]
    InvalidPhone {
        /// The length of what was given (the number itself is not echoed).
        len: usize,
    },
    /// The code has characters other than ASCII letters and digits.
    #[error("otp: must be ASCII letters and digits")]
    InvalidOtp,
}

/// Why a message is sent: a real delivery or an administrator's test send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A code for a user: return keys are checked only with `check_each_call`.
    Delivery,
    /// A test send: return keys are always checked.
    Test,
}

/// One SMS to deliver: destination, rendered text, the bare code and the user's fields.
///
/// `Debug` hides the text and the code.
#[derive(Clone)]
pub struct SmsMessage {
    phone: String,
    text: Zeroizing<String>,
    otp: Zeroizing<String>,
    login: String,
    name: String,
    purpose: Purpose,
}

impl SmsMessage {
    /// A delivery: `phone` in E.164 (`+` optional), `text` rendered from the channel's message
    /// template, `otp` the bare code, `login` and `name` of the user.
    pub fn new(
        phone: &str,
        text: impl Into<String>,
        otp: impl Into<String>,
        login: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, MessageError> {
        let otp = Zeroizing::new(otp.into());
        if !otp.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MessageError::InvalidOtp);
        }
        Ok(Self {
            phone: parse_phone(phone)?,
            text: Zeroizing::new(text.into()),
            otp,
            login: login.into(),
            name: name.into(),
            purpose: Purpose::Delivery,
        })
    }

    /// A test send (`POST /v1/delivery/sms/test`): no code, no user; return keys always checked.
    pub fn test(phone: &str, text: impl Into<String>) -> Result<Self, MessageError> {
        let mut message = Self::new(phone, text, "", "", "")?;
        message.purpose = Purpose::Test;
        Ok(message)
    }

    /// The destination in E.164 digits, without `+`.
    pub fn phone(&self) -> &str {
        &self.phone
    }

    /// The rendered text (carries the code).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The bare code (empty for test sends).
    pub fn otp(&self) -> &str {
        &self.otp
    }

    /// The user's login.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The user's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Why the message is sent.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The values of the broker template tags.
    fn tag_values(&self) -> TagValues<'_> {
        TagValues {
            otp: &self.otp,
            login: &self.login,
            name: &self.name,
            phone: &self.phone,
            message: &self.text,
            ..TagValues::default()
        }
    }

    /// Whether the answer's keys must be checked, given the broker's `check_each_call`.
    fn checks_keys(&self, check_each_call: bool) -> bool {
        check_each_call || self.purpose == Purpose::Test
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("phone", &self.phone)
            .field("text", &"<redacted>")
            .field("otp", &"<redacted>")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("purpose", &self.purpose)
            .finish()
    }
}

fn parse_phone(phone: &str) -> Result<String, MessageError> {
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    let valid = (PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(digits.to_owned())
    } else {
        Err(MessageError::InvalidPhone {
            len: phone.chars().count(),
        })
    }
}

/// A broker's acceptance of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// The redacted start of the answer (at most [`EXCERPT_MAX_CHARS`] characters, the code
    /// replaced by `***`).
    pub excerpt: String,
}

/// Longest response excerpt kept in attempt records, in characters.
pub const EXCERPT_MAX_CHARS: usize = 200;

/// An SMS broker: one async send.
pub trait Broker: Send + Sync {
    /// Sends `message` once; no retry, no failover.
    fn send(&self, message: &SmsMessage)
    -> impl Future<Output = Result<Attempt, SendError>> + Send;
}

/// The start of `answer` for reports: every `hidden` value (the code, the broker's secrets
/// and passwords, which a broker may echo) replaced by `***`, control characters by spaces,
/// cut at [`EXCERPT_MAX_CHARS`] characters (with `…` when cut).
pub(crate) fn redact_excerpt(answer: &str, hidden: &[&str]) -> String {
    let mut cleaned = answer.to_owned();
    for value in hidden.iter().filter(|value| !value.is_empty()) {
        if cleaned.contains(value) {
            cleaned = cleaned.replace(value, "***");
        }
    }
    cleaned = cleaned
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    let mut out: String = trimmed.chars().take(EXCERPT_MAX_CHARS).collect();
    if trimmed.chars().count() > EXCERPT_MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("+5511999998888", Some("5511999998888")),
            ("5511999998888", Some("5511999998888")),
            ("123", Some("123")),
            ("123456789012345", Some("123456789012345")),
            ("1234567890123456", None),
            ("12", None),
            ("", None),
            ("+", None),
            ("0551199999", None),
            ("55 11 9999", None),
            ("+55-11", None),
            ("++5511", None),
            ("５５１１９", None),
        ];
        for (input, expected) in rows {
            let got = SmsMessage::new(input, "t", "1", "l", "n").ok();
            assert_eq!(
                got.as_ref().map(SmsMessage::phone),
                *expected,
                "row {input:?}"
            );
        }
    }

    #[test]
    fn otp_must_be_alphanumeric() {
        assert_eq!(
            SmsMessage::new("5511", "t", "12 34", "l", "n").err(),
            Some(MessageError::InvalidOtp)
        );
        assert!(SmsMessage::new("5511", "t", "a1B2", "l", "n").is_ok());
    }

    #[test]
    fn debug_hides_text_and_code() {
        let message =
            SmsMessage::new("5511", "Your code is 424242", "424242", "ana", "Ana").unwrap();
        let debug = format!("{message:?}");
        assert!(!debug.contains("424242"), "{debug}");
        assert!(debug.contains("ana"), "{debug}");
    }

    #[test]
    fn test_sends_always_check_keys() {
        let test = SmsMessage::test("5511", "hello").unwrap();
        let real = SmsMessage::new("5511", "hello", "1", "l", "n").unwrap();
        assert!(test.checks_keys(false));
        assert!(!real.checks_keys(false));
        assert!(real.checks_keys(true));
    }

    #[test]
    fn excerpt_table() {
        let long = "x".repeat(300);
        let long_expected = format!("{}…", "x".repeat(EXCERPT_MAX_CHARS));
        let rows: &[(&str, &str, &str, &str)] = &[
            (
                "code replaced",
                r#"{"text":"code 424242"}"#,
                "424242",
                r#"{"text":"code ***"}"#,
            ),
            (
                "every occurrence",
                "424242 and 424242",
                "424242",
                "*** and ***",
            ),
            ("no code", "ok", "", "ok"),
            ("newlines become spaces", "a\r\nb", "1", "a  b"),
            ("trimmed", "  ok\n", "1", "ok"),
            ("cut", &long, "1", &long_expected),
        ];
        for (row, answer, otp, expected) in rows {
            assert_eq!(redact_excerpt(answer, &[otp]), *expected, "row {row}");
        }
        assert_eq!(
            redact_excerpt(r#"{"key":"sk-1","code":"42"}"#, &["42", "", "sk-1"]),
            r#"{"key":"***","code":"***"}"#,
            "secrets a broker echoes are hidden too"
        );
    }
}
