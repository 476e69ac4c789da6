//! Validation helpers shared by the broker configurations: JSON paths, URLs, templates,
//! bounds, answer key paths, timeouts, sensitive names.

use std::time::Duration;

use reqwest::Url;

use crate::sms::config::{ConfigError, TIMEOUT_DEFAULT_MS, TIMEOUT_MAX_MS, TIMEOUT_MIN_MS};
use crate::sms::secrets::BrokerSecrets;
use crate::template::{Tag, TagSet, TagValues, Template};

/// Connect timeout when `connect_timeout_ms` is absent (capped by the total timeout).
const CONNECT_TIMEOUT_DEFAULT_MS: u64 = 5_000;
/// Most return keys / response keys.
const KEYS_MAX: usize = 32;
/// Longest key path, in bytes.
const KEY_MAX_BYTES: usize = 256;

/// Connect and total timeouts of one broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Timeouts {
    /// From `timeout_ms` / `connect_timeout_ms` (either may come from SOAP options).
    pub fn from_ms(
        total_ms: Option<(String, u64)>,
        connect_ms: Option<(String, u64)>,
    ) -> Result<Self, ConfigError> {
        let total = match total_ms {
            Some((field, ms)) => bounded(&field, ms, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS, "ms")?,
            None => TIMEOUT_DEFAULT_MS,
        };
        let connect = match connect_ms {
            Some((field, ms)) => {
                bounded(&field, ms, TIMEOUT_MIN_MS, total, "ms (the total timeout)")?
            }
            None => CONNECT_TIMEOUT_DEFAULT_MS.min(total),
        };
        Ok(Self {
            connect: Duration::from_millis(connect),
            total: Duration::from_millis(total),
        })
    }
}

/// A required key path in a broker's answer: names separated by dots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPath {
    text: String,
}

impl KeyPath {
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        let reason = if text.is_empty() {
            Some("a key must not be empty")
        } else if text.len() > KEY_MAX_BYTES {
            Some("a key must be at most 256 bytes")
        } else if text.split('.').any(str::is_empty) {
            Some("a dotted path must not have empty names (`a..b`, `.a`, `a.`)")
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("a key must not contain spaces or control characters")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ConfigError::InvalidKey {
                path: path.to_owned(),
                reason,
            }),
            None => Ok(Self {
                text: text.to_owned(),
            }),
        }
    }

    /// Parses a whole key list (`return_keys` / `response`).
    pub fn parse_list(path: &str, keys: Option<&Vec<String>>) -> Result<Vec<Self>, ConfigError> {
        let keys = keys.map(Vec::as_slice).unwrap_or_default();
        if keys.len() > KEYS_MAX {
            return Err(ConfigError::OutOfRange {
                path: path.to_owned(),
                value: keys.len() as u64,
                min: 0,
                max: KEYS_MAX as u64,
                unit: "keys",
            });
        }
        keys.iter()
            .enumerate()
            .map(|(index, key)| Self::parse(&format!("{path}[{index}]"), key))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.text.split('.')
    }
}

/// `prefix.field`.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    format!("{prefix}.{field}")
}

/// An absolute http(s) URL with a host and no credentials.
pub(crate) fn parse_url(path: &str, text: Option<&String>) -> Result<Url, ConfigError> {
    let text = text.ok_or_else(|| ConfigError::Missing {
        path: path.to_owned(),
        reason: "required",
    })?;
    let invalid = |reason: String| ConfigError::InvalidUrl {
        path: path.to_owned(),
        reason,
    };
    let url = Url::parse(text).map_err(|error| invalid(format!("not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are refused; use the credential fields".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid(
            "a URL fragment (#…) is not sent to servers; remove it".into(),
        ));
    }
    Ok(url)
}

/// A broker template: the broker tag set, without `{expires_in}` and `{app}`; every
/// `{secret.NAME}` must name one of `secrets`.
pub(crate) fn parse_template(
    path: &str,
    field: &'static str,
    text: &str,
    secrets: &BrokerSecrets,
) -> Result<Template, ConfigError> {
    let template =
        Template::parse(field, text, TagSet::Broker).map_err(|source| ConfigError::Template {
            path: path.to_owned(),
            source,
        })?;
    for tag in [Tag::ExpiresIn, Tag::App] {
        if template.uses(tag) {
            return Err(ConfigError::TagNotAvailable {
                path: path.to_owned(),
                tag: tag.name(),
            });
        }
    }
    secrets.check(path, &template)?;
    Ok(template)
}

/// Sample values used to check that a body template renders to JSON or XML.
pub(crate) fn sample_values<'a>(secrets: &'a [(&'a str, &'a str)]) -> TagValues<'a> {
    TagValues {
        secrets,
        otp: "123456",
        login: "user\\name",
        name: "Ana \"Q\" O'Neil",
        phone: "5511999998888",
        message: "Your code: 123456\n{é}",
        ..TagValues::default()
    }
}

/// `value` within `min..=max`.
pub(crate) fn bounded(
    path: &str,
    value: u64,
    min: u64,
    max: u64,
    unit: &'static str,
) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::OutOfRange {
            path: path.to_owned(),
            value,
            min,
            max,
            unit,
        })
    }
}

/// Refuses `value` when present: a field of another broker kind or mode.
pub(crate) fn refuse<T>(
    path: &str,
    field: &str,
    value: &Option<T>,
    reason: &'static str,
) -> Result<(), ConfigError> {
    match value {
        Some(_) => Err(ConfigError::FieldNotAllowed {
            path: join(path, field),
            reason,
        }),
        None => Ok(()),
    }
}

/// Whether a header or query parameter name looks like it carries a credential.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    const MARKERS: [&str; 9] = [
        "auth",
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "signature",
        "cookie",
        "session",
    ];
    let lower = name.to_ascii_lowercase();
    MARKERS.iter().any(|marker| lower.contains(marker))
}
