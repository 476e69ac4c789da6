//! One-time passwords: HOTP, TOTP, OPIE, issued codes and otpauth:// URIs.
//!
//! This module holds the parameter types shared by HOTP and TOTP ([`Algorithm`],
//! [`Digits`]), the presented code ([`Code`]), its display form ([`format_code`]), the
//! evidence a verification returns ([`Verified`]) and their error type ([`OtpError`]).
//!
//! An OTP is a `u32` from generation to comparison; it becomes text only at the edge,
//! through [`format_code`]. A presented code is parsed once into a [`Code`].

pub mod hotp;
pub mod issued;
pub mod opie;
pub mod qr;
pub mod totp;
pub mod uri;

/// The RFC 2289 hex and six-word codecs of an OPIE one-time password: [`opie::words`],
/// also reachable here by its former path.
pub use opie::words as opie_words;

pub use hotp::{Hotp, HotpWindow, ResyncWindow};
pub use qr::{QrError, qr_svg};
pub use totp::{TimeStep, Totp, TotpWindow};
pub use uri::{OtpAuthUri, OtpKind, UriError};

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why an OTP parameter, a presented code or a verification was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OtpError {
    /// `digits` outside 6..=10.
    #[error("digits must be between 6 and 10, got {digits}")]
    DigitsOutOfRange {
        /// The value given.
        digits: u8,
    },
    /// An algorithm name other than sha1, sha256 or sha512.
    #[error("algorithm must be one of sha1, sha256, sha512")]
    UnknownAlgorithm,
    /// A TOTP time step (period) of 0 seconds.
    #[error("time step (period) must be at least 1 second")]
    TimeStepZero,
    /// A HOTP look-ahead window above its bound.
    #[error("HOTP look-ahead must be at most {max}, got {look_ahead}")]
    LookAheadTooLarge {
        /// The value given.
        look_ahead: u32,
        /// The largest value accepted.
        max: u32,
    },
    /// A HOTP resynchronisation range outside its bounds.
    #[error("HOTP resynchronisation range must be between 1 and {max}, got {range}")]
    ResyncRangeOutOfBounds {
        /// The value given.
        range: u32,
        /// The largest value accepted.
        max: u32,
    },
    /// A TOTP clock-drift tolerance above its bound.
    #[error("TOTP look_around must be at most {max} steps, got {look_around}")]
    LookAroundTooLarge {
        /// The value given.
        look_around: u8,
        /// The largest value accepted.
        max: u8,
    },
    /// A TOTP token window outside 1..=10.
    #[error("token_window must be between 1 and {max}, got {token_window}")]
    TokenWindowOutOfRange {
        /// The value given.
        token_window: u8,
        /// The largest value accepted.
        max: u8,
    },
    /// A TOTP verification or generation time before the TOTP epoch T0.
    #[error("time {unix_time} is before the TOTP epoch T0 = {t0}")]
    TimeBeforeT0 {
        /// The time given (Unix seconds).
        unix_time: u64,
        /// The token's T0 (Unix seconds).
        t0: u64,
    },
    /// A presented code with the wrong number of digits.
    #[error("code must have {expected} digits, got {found}")]
    CodeLength {
        /// The token's number of digits.
        expected: u8,
        /// The number of digits presented.
        found: usize,
    },
    /// A presented code with a character that is neither a digit nor a space.
    #[error("code must contain only digits; position {position} is not one")]
    CodeNotNumeric {
        /// Byte offset of the first offending character.
        position: usize,
    },
    /// The code matches no counter or time step in the window.
    #[error("code does not match")]
    InvalidCode,
    /// The code matches only a counter or time step at or below the last accepted one.
    #[error("code was already used (its counter is at or below the last accepted one)")]
    CodeReused,
}

impl OtpError {
    /// The API `reason` when this error is an authentication answer: `invalid_code` for a
    /// wrong or malformed code, `replayed` for a reused one. `None` for parameter and
    /// clock errors, which are input or configuration problems, not answers.
    #[must_use]
    pub const fn reason(&self) -> Option<&'static str> {
        match self {
            Self::InvalidCode | Self::CodeLength { .. } | Self::CodeNotNumeric { .. } => {
                Some("invalid_code")
            }
            Self::CodeReused => Some("replayed"),
            _ => None,
        }
    }

    /// The request field at fault, for an input error's `field`: `digits`, `algorithm`,
    /// `period`, `look_ahead`, `resync_range`, `look_around`, `token_window`, `code`;
    /// `None` for verification outcomes and the TOTP clock error.
    #[must_use]
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            Self::DigitsOutOfRange { .. } => Some("digits"),
            Self::UnknownAlgorithm => Some("algorithm"),
            Self::TimeStepZero => Some("period"),
            Self::LookAheadTooLarge { .. } => Some("look_ahead"),
            Self::ResyncRangeOutOfBounds { .. } => Some("resync_range"),
            Self::LookAroundTooLarge { .. } => Some("look_around"),
            Self::TokenWindowOutOfRange { .. } => Some("token_window"),
            Self::CodeLength { .. } | Self::CodeNotNumeric { .. } => Some("code"),
            Self::TimeBeforeT0 { .. } | Self::InvalidCode | Self::CodeReused => None,
        }
    }
}

/// The HMAC hash function of a HOTP/TOTP token.
///
/// Parsed case-insensitively from `sha1`, `sha256`, `sha512`; displayed and serialized in
/// lower case. SHA-1 is the default: the only one every authenticator app honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226 default).
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// Lower-case name: `sha1`, `sha256`, `sha512`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Name used in otpauth:// URIs: `SHA1`, `SHA256`, `SHA512`.
    #[must_use]
    pub const fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Recommended secret length in bytes: the hash output size (20, 32, 64), as RFC 4226
    /// §4 and RFC 6238 Appendix B use.
    #[must_use]
    pub const fn secret_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

impl FromStr for Algorithm {
    type Err = OtpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|algorithm| s.eq_ignore_ascii_case(algorithm.as_str()))
            .ok_or(OtpError::UnknownAlgorithm)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AlgorithmVisitor;

        impl serde::de::Visitor<'_> for AlgorithmVisitor {
            type Value = Algorithm;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one of \"sha1\", \"sha256\", \"sha512\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Algorithm, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(AlgorithmVisitor)
    }
}

/// Number of decimal digits of a code: 6 to 10 (default 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Digits(u8);

impl Digits {
    /// Smallest number of digits accepted.
    pub const MIN: u8 = 6;
    /// Largest number of digits accepted.
    pub const MAX: u8 = 10;
    /// Six digits, the default.
    pub const SIX: Self = Self(6);
    /// Eight digits.
    pub const EIGHT: Self = Self(8);

    /// Checks that `digits` is within 6..=10.
    ///
    /// # Errors
    /// [`OtpError::DigitsOutOfRange`].
    pub const fn new(digits: u8) -> Result<Self, OtpError> {
        if digits >= Self::MIN && digits <= Self::MAX {
            Ok(Self(digits))
        } else {
            Err(OtpError::DigitsOutOfRange { digits })
        }
    }

    /// The number of digits.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Keeps the low `self` decimal digits of `value`.
    ///
    /// Dynamic truncation yields 31 bits (< 2^31 < 10^10), so with 10 digits the value is
    /// returned unchanged: a 10-digit HOTP is the 31-bit value zero-padded.
    #[must_use]
    pub(crate) const fn reduce(self, value: u32) -> u32 {
        // Constant divisors let the compiler replace each division by a multiplication.
        match self.0 {
            6 => value % 1_000_000,
            7 => value % 10_000_000,
            8 => value % 100_000_000,
            9 => value % 1_000_000_000,
            _ => value,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = OtpError;

    fn try_from(digits: u8) -> Result<Self, Self::Error> {
        Self::new(digits)
    }
}

impl From<Digits> for u8 {
    fn from(digits: Digits) -> Self {
        digits.0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A presented code, parsed once: its value and its number of digits.
///
/// Parse it with [`Code::parse`] and hand it to the verifiers; `Debug` does not show the
/// value.
///
/// It has no `PartialEq`: codes are compared only inside the verifiers, in constant time.
#[derive(Clone, Copy)]
pub struct Code {
    /// Up to 10 decimal digits, so it may exceed `u32::MAX` (and then matches nothing).
    value: u64,
    digits: Digits,
}

impl Code {
    /// Parses a presented code that must have exactly `digits` decimal digits.
    ///
    /// ASCII spaces anywhere are ignored (apps show codes as `123 456`); any other
    /// non-digit is refused.
    ///
    /// # Errors
    /// [`OtpError::CodeNotNumeric`], [`OtpError::CodeLength`].
    pub fn parse(input: &str, digits: Digits) -> Result<Self, OtpError> {
        let mut value: u64 = 0;
        let mut found: usize = 0;
        for (position, byte) in input.bytes().enumerate() {
            match byte {
                b' ' => {}
                b'0'..=b'9' => {
                    found += 1;
                    if found <= usize::from(Digits::MAX) {
                        value = value * 10 + u64::from(byte - b'0');
                    }
                }
                _ => return Err(OtpError::CodeNotNumeric { position }),
            }
        }
        if found != usize::from(digits.get()) {
            return Err(OtpError::CodeLength {
                expected: digits.get(),
                found,
            });
        }
        Ok(Self { value, digits })
    }

    /// The number of digits the code was parsed with.
    #[must_use]
    pub const fn digits(&self) -> Digits {
        self.digits
    }

    /// The numeric value, for the verifiers.
    pub(crate) const fn value(&self) -> u64 {
        self.value
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code")
            .field("value", &"<redacted>")
            .field("digits", &self.digits)
            .finish()
    }
}

/// A code written out in decimal, zero-padded to its number of digits, in a stack
/// buffer. Made by [`format_code`]; use [`FormattedCode::as_str`] or `Display`.
#[derive(Clone, Copy)]
pub struct FormattedCode {
    buf: [u8; Digits::MAX as usize],
    len: u8,
}

impl FormattedCode {
    /// The code as a string of ASCII digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let digits = self.buf.get(..usize::from(self.len)).unwrap_or_default();
        #[expect(
            clippy::expect_used,
            reason = "format_code writes only ASCII digits into the buffer"
        )]
        core::str::from_utf8(digits).expect("ASCII digits are UTF-8")
    }
}

impl fmt::Display for FormattedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for FormattedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FormattedCode(<redacted>)")
    }
}

/// Writes `code` as exactly `digits` decimal digits, zero-padded (`42` with six digits is
/// `000042`), without allocating. Only the low `digits` decimal digits are kept, so a
/// value too large for the width is never printed longer.
#[must_use]
pub fn format_code(code: u32, digits: Digits) -> FormattedCode {
    let mut buf = [b'0'; Digits::MAX as usize];
    let len = digits.get();
    let mut rest = code;
    for slot in buf.iter_mut().take(usize::from(len)).rev() {
        *slot = b'0' + low_decimal_digit(rest);
        rest /= 10;
    }
    FormattedCode { buf, len }
}

/// `value % 10` as a byte.
const fn low_decimal_digit(value: u32) -> u8 {
    (value % 10).to_be_bytes()[3]
}

/// What a successful verification matched: the counter (HOTP) or time step (TOTP) to
/// store as the new "last accepted" value, and how far it was from the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "store the matched counter, or the code can be replayed"]
pub struct Verified {
    counter: u64,
    drift: i64,
}

impl Verified {
    /// Evidence for `counter`, expected at `expected`.
    pub(crate) fn new(counter: u64, expected: u64) -> Self {
        let drift = if counter >= expected {
            i64::try_from(counter - expected).unwrap_or(i64::MAX)
        } else {
            i64::try_from(expected - counter).map_or(i64::MIN, |d| -d)
        };
        Self { counter, drift }
    }

    /// The HOTP counter or TOTP time step that matched; persist it as the last accepted
    /// value (the next verification rejects it and everything below).
    #[must_use]
    pub const fn counter(&self) -> u64 {
        self.counter
    }

    /// Distance from the expected counter: for HOTP how many counters the token was
    /// ahead of the next expected one (≥ 0); for TOTP the time step offset from the
    /// current one (negative = past, positive = the client clock runs ahead).
    #[must_use]
    pub const fn drift(&self) -> i64 {
        self.drift
    }
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn algorithm_parses_case_insensitively_and_displays_lower_case() {
        let cases = [
            ("sha1", Algorithm::Sha1),
            ("SHA1", Algorithm::Sha1),
            ("Sha256", Algorithm::Sha256),
            ("sHa512", Algorithm::Sha512),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Algorithm>(), Ok(expected), "input {input:?}");
            assert_eq!(
                expected.to_string(),
                input.to_ascii_lowercase(),
                "input {input:?}"
            );
        }
        for bad in ["", "sha", "sha-1", "md5", "sha1 "] {
            assert_eq!(
                bad.parse::<Algorithm>(),
                Err(OtpError::UnknownAlgorithm),
                "input {bad:?}"
            );
        }
    }

    #[test]
    fn algorithm_serde_is_lower_case_and_lenient_on_input() {
        assert_eq!(
            serde_json::to_string(&Algorithm::Sha256).ok().as_deref(),
            Some("\"sha256\"")
        );
        let parsed: Result<Algorithm, _> = serde_json::from_str("\"SHA512\"");
        assert_eq!(parsed.ok(), Some(Algorithm::Sha512));
        let bad: Result<Algorithm, _> = serde_json::from_str("\"md5\"");
        assert!(bad.is_err(), "md5 accepted");
    }

    #[test]
    fn defaults_are_the_enrolment_defaults() {
        assert_eq!(Algorithm::default(), Algorithm::Sha1);
        assert_eq!(Digits::default().get(), 6);
        assert_eq!(TimeStep::default().seconds(), 30);
    }

    #[test]
    fn digits_bounds() {
        for digits in 0..=u8::MAX {
            let expected_ok = (6..=10).contains(&digits);
            assert_eq!(Digits::new(digits).is_ok(), expected_ok, "digits {digits}");
        }
        let parsed: Result<Digits, _> = serde_json::from_str("11");
        assert!(parsed.is_err(), "11 digits accepted through serde");
        let parsed: Result<Digits, _> = serde_json::from_str("8");
        assert_eq!(parsed.ok(), Some(Digits::EIGHT));
    }

    #[test]
    fn code_parsing() {
        let six = Digits::SIX;
        let ten = Digits::new(10).expect("in range");
        let cases: &[(&str, Digits, Result<u64, OtpError>)] = &[
            ("755224", six, Ok(755_224)),
            ("000042", six, Ok(42)),
            ("755 224", six, Ok(755_224)),
            (" 755224 ", six, Ok(755_224)),
            ("9999999999", ten, Ok(9_999_999_999)),
            (
                "75522",
                six,
                Err(OtpError::CodeLength {
                    expected: 6,
                    found: 5,
                }),
            ),
            (
                "7552240",
                six,
                Err(OtpError::CodeLength {
                    expected: 6,
                    found: 7,
                }),
            ),
            (
                "",
                six,
                Err(OtpError::CodeLength {
                    expected: 6,
                    found: 0,
                }),
            ),
            ("75522a", six, Err(OtpError::CodeNotNumeric { position: 5 })),
            ("-55224", six, Err(OtpError::CodeNotNumeric { position: 0 })),
            ("७५५२२४", six, Err(OtpError::CodeNotNumeric { position: 0 })),
        ];
        for (input, digits, expected) in cases {
            assert_eq!(
                Code::parse(input, *digits).map(|c| c.value()),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn code_debug_hides_the_value() {
        let code = Code::parse("755224", Digits::SIX).expect("valid");
        assert!(!format!("{code:?}").contains("755224"));
        assert!(!format!("{:?}", format_code(755_224, Digits::SIX)).contains("755224"));
    }

    #[test]
    fn format_code_pads_and_truncates() {
        let cases: &[(u32, u8, &str)] = &[
            (42, 6, "000042"),
            (755_224, 6, "755224"),
            (0, 8, "00000000"),
            (1_234_567, 6, "234567"),
            (u32::MAX, 10, "4294967295"),
            (2_147_483_647, 10, "2147483647"),
            (7, 10, "0000000007"),
        ];
        for &(code, digits, expected) in cases {
            let digits = Digits::new(digits).expect("in range");
            assert_eq!(format_code(code, digits).as_str(), expected, "code {code}");
            assert_eq!(
                format_code(code, digits).to_string(),
                expected,
                "code {code}"
            );
        }
    }

    #[test]
    fn errors_map_to_api_reasons_and_fields() {
        let rows = [
            (OtpError::InvalidCode, Some("invalid_code"), None),
            (
                OtpError::CodeLength {
                    expected: 6,
                    found: 5,
                },
                Some("invalid_code"),
                Some("code"),
            ),
            (
                OtpError::CodeNotNumeric { position: 0 },
                Some("invalid_code"),
                Some("code"),
            ),
            (OtpError::CodeReused, Some("replayed"), None),
            (
                OtpError::DigitsOutOfRange { digits: 5 },
                None,
                Some("digits"),
            ),
            (OtpError::UnknownAlgorithm, None, Some("algorithm")),
            (OtpError::TimeStepZero, None, Some("period")),
            (
                OtpError::TokenWindowOutOfRange {
                    token_window: 0,
                    max: 10,
                },
                None,
                Some("token_window"),
            ),
            (
                OtpError::TimeBeforeT0 {
                    unix_time: 0,
                    t0: 1,
                },
                None,
                None,
            ),
        ];
        for (error, reason, field) in rows {
            assert_eq!(error.reason(), reason, "reason of {error:?}");
            assert_eq!(error.field(), field, "field of {error:?}");
            if let Some(field) = field {
                let message = error.to_string();
                let named =
                    message.contains(field) || (field == "period" && message.contains("time step"));
                assert!(named, "{error:?}: {message}");
            }
        }
    }

    #[test]
    fn verifiers_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Hotp>();
        assert_send_sync::<Totp>();
        assert_send_sync::<crate::secret::Secret>();
        assert_send_sync::<uri::OtpAuthUri>();
    }

    #[test]
    fn verified_drift_is_signed_and_saturates() {
        assert_eq!(Verified::new(10, 7).drift(), 3);
        assert_eq!(Verified::new(7, 10).drift(), -3);
        assert_eq!(Verified::new(u64::MAX, 0).drift(), i64::MAX);
        assert_eq!(Verified::new(0, u64::MAX).drift(), i64::MIN);
        assert_eq!(Verified::new(5, 5).counter(), 5);
    }

    proptest! {
        #[test]
        fn formatted_codes_parse_back(value in any::<u32>(), digits in 6u8..=10) {
            let digits = Digits::new(digits).expect("in range");
            let reduced = digits.reduce(value & 0x7fff_ffff);
            let text = format_code(reduced, digits);
            prop_assert_eq!(text.as_str().len(), usize::from(digits.get()));
            let code = Code::parse(text.as_str(), digits);
            prop_assert_eq!(code.map(|c| c.value()), Ok(u64::from(reduced)));
        }

        #[test]
        fn code_parse_never_panics(input in "\\PC*", digits in 6u8..=10) {
            let digits = Digits::new(digits).expect("in range");
            let _ = Code::parse(&input, digits);
        }

        #[test]
        fn long_digit_strings_are_rejected(input in "[0-9]{11,40}") {
            prop_assert!(Code::parse(&input, Digits::new(10).expect("in range")).is_err());
        }
    }
}
