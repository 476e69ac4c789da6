//! [`ImportedToken`]: a validated OTP token read from an import file.

use crate::otp::{Algorithm, Digits, TimeStep};
use crate::secret::Secret;

/// HOTP or TOTP, with the moving factor's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Event based (RFC 4226).
    Hotp {
        /// The counter value the next code is computed from (PSKC `Counter`; 0 when absent).
        counter: u64,
    },
    /// Time based (RFC 6238), with T0 = 0.
    Totp {
        /// The time step (PSKC `TimeInterval`; 30 s when absent).
        period: TimeStep,
        /// Known clock drift of the device in time steps (PSKC `TimeDrift`; 0 when absent).
        /// Positive: the device runs ahead.
        drift: i64,
    },
}

impl TokenKind {
    /// `hotp` or `totp`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Hotp { .. } => "hotp",
            Self::Totp { .. } => "totp",
        }
    }
}

/// One token read from a PSKC or CSV file, with every parameter validated.
///
/// The secret is a [`Secret`]: wiped on drop and never printed by `Debug`. Seal it (or drop
/// it) as soon as possible; the readers hold no other copy once the token is yielded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImportedToken {
    /// The serial the file gives (PSKC `SerialNo`, else the `Key Id`; CSV `serial`), trimmed.
    /// `None` when the file names none: the caller generates one.
    pub serial: Option<String>,
    /// HOTP or TOTP and its moving factor.
    pub kind: TokenKind,
    /// HMAC hash function (PSKC `Suite`, CSV `algorithm`; SHA-1 when absent).
    pub algorithm: Algorithm,
    /// Digits of a code (PSKC `ResponseFormat Length`, CSV `digits`; 6 when absent).
    pub digits: Digits,
    /// The OTP key.
    pub secret: Secret,
    /// The user to assign the token to, as the file names it (PSKC `UserId` of the key, else
    /// of the device; CSV `login`). Matching it to a user is the caller's part.
    pub user: Option<String>,
    /// PSKC `Issuer`.
    pub issuer: Option<String>,
    /// PSKC `DeviceInfo/Manufacturer`.
    pub manufacturer: Option<String>,
    /// PSKC `Key Id`.
    pub key_id: Option<String>,
    /// PSKC `Policy/StartDate` in Unix seconds: the key must not be used before.
    pub valid_from: Option<i64>,
    /// PSKC `Policy/ExpiryDate` in Unix seconds: the key must not be used after.
    pub valid_until: Option<i64>,
}

impl ImportedToken {
    /// A token with only the OTP parameters set (no serial, user or PSKC metadata).
    #[must_use]
    pub const fn new(
        kind: TokenKind,
        algorithm: Algorithm,
        digits: Digits,
        secret: Secret,
    ) -> Self {
        Self {
            serial: None,
            kind,
            algorithm,
            digits,
            secret,
            user: None,
            issuer: None,
            manufacturer: None,
            key_id: None,
            valid_from: None,
            valid_until: None,
        }
    }
}
