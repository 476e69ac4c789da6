//! From a [`RawKey`] of a key package to an [`ImportedToken`] or a [`SkipReason`]: every parameter is
//! checked, then the secret is opened (MAC first, then decryption).

use super::keys::Keys;
use super::package::{Device, RawKey, SecretValue};
use super::reason::{PskcError, SkipReason, echo};
use super::uris::{self, KeyAlgorithm};
use crate::import::{ImportedToken, TokenKind};
use crate::otp::{Algorithm, Digits, TimeStep};
use crate::secret::Secret;

/// Longest serial accepted, in characters.
pub(super) const MAX_SERIAL_LEN: usize = 128;

fn invalid(field: &'static str, problem: &'static str) -> SkipReason {
    SkipReason::InvalidParameter { field, problem }
}

/// The serial a key is known by: its device's `SerialNo`, else the `Key Id`.
pub(super) fn serial_of(device: &Device, raw: &RawKey) -> Option<String> {
    device
        .serial_no
        .as_deref()
        .or(raw.key_id.as_deref())
        .map(str::trim)
        .filter(|serial| !serial.is_empty())
        .map(str::to_owned)
}

/// Checks everything but the secret and builds the token around `secret` later.
pub(super) fn convert(
    device: &Device,
    raw: RawKey,
    keys: &mut Keys,
    position: u64,
    skip_bad: bool,
) -> Result<Result<ImportedToken, SkipReason>, PskcError> {
    let mut raw = raw;
    if let Some(problem) = raw.problem.take() {
        return Ok(Err(problem));
    }
    let uri = raw.algorithm.as_deref().unwrap_or_default();
    let Some(algorithm) = uris::key_algorithm(uri) else {
        return Ok(Err(SkipReason::UnsupportedAlgorithm { uri: echo(uri) }));
    };
    let token = match parameters(device, &raw, algorithm) {
        Ok(token) => token,
        Err(reason) => return Ok(Err(reason)),
    };
    let secret = match std::mem::take(&mut raw.secret) {
        SecretValue::Absent => return Ok(Err(SkipReason::MissingSecret)),
        SecretValue::Plain(bytes) => {
            Secret::from_bytes(&bytes).map_err(|_| invalid("Secret", "the PlainValue is empty"))
        }
        SecretValue::Encrypted { method, data } => {
            keys.open(&method, &data, raw.value_mac.as_deref(), position, skip_bad)?
        }
    };
    Ok(secret.map(token))
}

/// Everything of the token except its secret, validated.
fn parameters(
    device: &Device,
    raw: &RawKey,
    algorithm: KeyAlgorithm,
) -> Result<impl FnOnce(Secret) -> ImportedToken + use<>, SkipReason> {
    let serial = serial_of(device, raw);
    if let Some(serial) = &serial {
        if serial.chars().count() > MAX_SERIAL_LEN {
            return Err(invalid("SerialNo", "is longer than 128 characters"));
        }
        if serial.chars().any(char::is_control) {
            return Err(invalid("SerialNo", "contains a control character"));
        }
    }
    if !raw.key_usage.is_empty() && !raw.key_usage.iter().any(|u| u.eq_ignore_ascii_case("OTP")) {
        return Err(SkipReason::UnsupportedPolicy {
            element: "KeyUsage".into(),
        });
    }
    let digits = match raw.length.as_deref() {
        None => Digits::SIX,
        Some(length) => length
            .trim()
            .parse::<u8>()
            .ok()
            .and_then(|n| Digits::new(n).ok())
            .ok_or_else(|| invalid("ResponseFormat.Length", "must be a number from 6 to 10"))?,
    };
    if let Some(encoding) = raw.encoding.as_deref()
        && !encoding.trim().eq_ignore_ascii_case("DECIMAL")
    {
        return Err(invalid(
            "ResponseFormat.Encoding",
            "only DECIMAL codes are supported",
        ));
    }
    let hash = match raw.suite.as_deref() {
        None => Algorithm::Sha1,
        Some(suite) => hash_of_suite(suite)
            .ok_or_else(|| invalid("Suite", "must name SHA-1, SHA-256 or SHA-512"))?,
    };
    let counter = parse_opt::<u64>(
        raw.counter.as_deref(),
        "Counter",
        "must be a whole number from 0 to 2^64-1",
    )?;
    parse_opt::<u64>(
        raw.time.as_deref(),
        "Time",
        "must be a whole number of seconds",
    )?;
    let interval = parse_opt::<u64>(
        raw.time_interval.as_deref(),
        "TimeInterval",
        "must be a whole number of seconds",
    )?;
    let drift = parse_drift(raw.time_drift.as_deref())?;
    let kind = match algorithm {
        KeyAlgorithm::Hotp => TokenKind::Hotp {
            counter: counter.unwrap_or(0),
        },
        KeyAlgorithm::Totp => TokenKind::Totp {
            period: match interval {
                None => TimeStep::default(),
                Some(seconds) => TimeStep::new(seconds)
                    .map_err(|_| invalid("TimeInterval", "must be at least 1 second"))?,
            },
            drift: drift.unwrap_or(0),
        },
    };
    let valid_from = date(raw.start_date.as_deref(), "Policy.StartDate")?;
    let valid_until = date(raw.expiry_date.as_deref(), "Policy.ExpiryDate")?;
    let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    let user = nonempty(&raw.user).or_else(|| nonempty(&device.user));
    let issuer = nonempty(&raw.issuer);
    let manufacturer = nonempty(&device.manufacturer);
    let key_id = nonempty(&raw.key_id);
    Ok(move |secret| {
        let mut token = ImportedToken::new(kind, hash, digits, secret);
        token.serial = serial;
        token.user = user;
        token.issuer = issuer;
        token.manufacturer = manufacturer;
        token.key_id = key_id;
        token.valid_from = valid_from;
        token.valid_until = valid_until;
        token
    })
}

/// `sha256`, `HMAC-SHA256`, `SHA-256`, `hmac-sha-512` → the algorithm.
fn hash_of_suite(suite: &str) -> Option<Algorithm> {
    let lower = suite.trim().to_ascii_lowercase();
    let name = lower
        .strip_prefix("hmac-")
        .unwrap_or(&lower)
        .replace('-', "");
    name.parse().ok()
}

/// Parses an integer parameter. privacyIDEA's exports write an unset value as `None`,
/// which counts as absent.
fn parse_opt<T: core::str::FromStr>(
    value: Option<&str>,
    field: &'static str,
    problem: &'static str,
) -> Result<Option<T>, SkipReason> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "None")
        .map(|v| v.parse::<T>().map_err(|_| invalid(field, problem)))
        .transpose()
}

/// `TimeDrift` in time steps. privacyIDEA writes it as a decimal (`0.0`); a whole number
/// written so is accepted, a fraction is not.
fn parse_drift(value: Option<&str>) -> Result<Option<i64>, SkipReason> {
    const PROBLEM: &str = "must be a whole number of time steps";
    let whole = value.map(|v| match v.trim().split_once('.') {
        Some((int, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => int,
        _ => v,
    });
    parse_opt::<i64>(whole, "TimeDrift", PROBLEM)
}

fn date(value: Option<&str>, field: &'static str) -> Result<Option<i64>, SkipReason> {
    value
        .map(|v| super::datetime::parse(v).ok_or_else(|| invalid(field, "is not an xs:dateTime")))
        .transpose()
}
