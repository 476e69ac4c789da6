//! IM configuration (SPEC §4.2): the token window, the SMS/e-mail code shape and the
//! four user-registration switches, with the normalisation used to enforce uniqueness.
//!
//! [`ImConfigInput`] is the body of `PUT /v1/config/im` as it arrives; [`ImConfig`] is the
//! validated configuration built from it with [`ImConfig::try_from`]. Both serialise to the
//! same JSON shape, so a stored configuration round-trips.
//!
//! Turning a uniqueness or format switch on while existing users violate it is refused:
//! [`check_switches`] scans the existing users and lists the first conflicts.

mod conflicts;
mod login;
mod normalize;

pub use conflicts::{
    Conflict, ExistingUser, MAX_REPORTED_CONFLICTS, check_switches, find_conflicts,
};
pub use login::{LoginKeys, confusable, forbidden_in_login, login_key};
pub use normalize::{
    check_login, check_login_is_email, normalize_document, normalize_email, normalize_mobile,
};

use serde::{Deserialize, Serialize};

/// Errors of the IM configuration and of the user-field normalisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `token_window` is outside 1..=10.
    #[error("token_window: {value} is out of range; it must be between 1 and 10")]
    TokenWindowOutOfRange {
        /// The refused value.
        value: u8,
    },
    /// `token_window` of 3 or more was asked for without `accept_risk: true`.
    #[error(
        "token_window: accepting the last {value} codes needs accept_risk: true. Each extra valid \
         code multiplies the chance that a guessed or intercepted old code still works, and \
         lets a code that was sent but not used stay valid after a newer one arrived; keep 1 \
         (only the newest code) or 2 unless users really receive codes late"
    )]
    TokenWindowRiskNotAccepted {
        /// The refused value.
        value: u8,
    },
    /// `code_digits` is outside 4..=10.
    #[error("code_digits: {value} is out of range; it must be between 4 and 10")]
    CodeDigitsOutOfRange {
        /// The refused value.
        value: u8,
    },
    /// `code_ttl_s` is outside 30..=86400.
    #[error("code_ttl_s: {value} is out of range; it must be between 30 and 86400 seconds")]
    CodeTtlOutOfRange {
        /// The refused value.
        value: u32,
    },
    /// An e-mail address (the `email` field, or `login` when `login_is_email` is on) is invalid.
    #[error("{field}: not a valid e-mail address: {reason}")]
    InvalidEmail {
        /// The API field holding the address: `email` or `login`.
        field: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A mobile number cannot be normalised to E.164 digits.
    #[error("mobile: not a valid mobile number: {reason}")]
    InvalidMobile {
        /// Why it is refused.
        reason: &'static str,
    },
    /// A login breaks the structural rules of [`check_login`].
    #[error("login: {reason}")]
    InvalidLogin {
        /// Why it is refused.
        reason: &'static str,
    },
    /// A document (national id) holds no digits.
    #[error("document: not a valid document: {reason}")]
    InvalidDocument {
        /// Why it is refused.
        reason: &'static str,
    },
    /// Turning a switch on would make existing users violate it.
    #[error("{}", conflicts::describe(.conflicts))]
    ConflictsWithExistingUsers {
        /// The first conflicts found (at most [`MAX_REPORTED_CONFLICTS`]).
        conflicts: Vec<Conflict>,
    },
}

impl ConfigError {
    /// The API field the error is about, for the `field` member of a problem+json answer.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TokenWindowOutOfRange { .. } | Self::TokenWindowRiskNotAccepted { .. } => {
                "token_window"
            }
            Self::CodeDigitsOutOfRange { .. } => "code_digits",
            Self::CodeTtlOutOfRange { .. } => "code_ttl_s",
            Self::InvalidEmail { field, .. } => field,
            Self::InvalidMobile { .. } => "mobile",
            Self::InvalidLogin { .. } => "login",
            Self::InvalidDocument { .. } => "document",
            Self::ConflictsWithExistingUsers { conflicts } => conflicts
                .first()
                .map_or("config", |conflict| conflict.switch()),
        }
    }
}

/// How many of a user's most recent codes are accepted (1 = only the newest), 1..=10.
///
/// For SMS/e-mail codes: the last N issued, unexpired, unused codes are valid. For TOTP: N − 1
/// past time steps beyond the clock-drift tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenWindow(u8);

impl TokenWindow {
    /// Smallest window: only the newest code.
    pub const MIN: u8 = 1;
    /// Largest window.
    pub const MAX: u8 = 10;
    /// From this value on the administrator must accept the risk explicitly.
    pub const RISKY_FROM: u8 = 3;

    /// Checks the bounds; values from [`Self::RISKY_FROM`] on need `accept_risk`.
    pub fn new(value: u8, accept_risk: bool) -> Result<Self, ConfigError> {
        if !(Self::MIN..=Self::MAX).contains(&value) {
            return Err(ConfigError::TokenWindowOutOfRange { value });
        }
        if value >= Self::RISKY_FROM && !accept_risk {
            return Err(ConfigError::TokenWindowRiskNotAccepted { value });
        }
        Ok(Self(value))
    }

    /// The number of accepted codes.
    pub fn value(self) -> u8 {
        self.0
    }

    /// TOTP steps accepted in the past beyond the drift tolerance: `value − 1`.
    pub fn extra_past_steps(self) -> u8 {
        self.0 - 1
    }

    /// Whether this window needed the risk acknowledgement.
    pub fn is_risky(self) -> bool {
        self.0 >= Self::RISKY_FROM
    }
}

impl Default for TokenWindow {
    fn default() -> Self {
        Self(Self::MIN)
    }
}

/// Number of digits of SMS/e-mail codes, 4..=10 (default 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodeDigits(u8);

impl CodeDigits {
    /// Fewest digits.
    pub const MIN: u8 = 4;
    /// Most digits.
    pub const MAX: u8 = 10;
    /// Default number of digits.
    pub const DEFAULT: u8 = 6;

    /// Checks the bounds.
    pub fn new(value: u8) -> Result<Self, ConfigError> {
        if (Self::MIN..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ConfigError::CodeDigitsOutOfRange { value })
        }
    }

    /// The number of digits.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl Default for CodeDigits {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// Lifetime of SMS/e-mail codes in seconds, 30..=86400 (default 300).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodeTtl(u32);

impl CodeTtl {
    /// Shortest lifetime: long enough for a slow SMS.
    pub const MIN_S: u32 = 30;
    /// Longest lifetime: one day.
    pub const MAX_S: u32 = 86_400;
    /// Default lifetime: five minutes.
    pub const DEFAULT_S: u32 = 300;

    /// Checks the bounds.
    pub fn from_secs(value: u32) -> Result<Self, ConfigError> {
        if (Self::MIN_S..=Self::MAX_S).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ConfigError::CodeTtlOutOfRange { value })
        }
    }

    /// The lifetime in seconds.
    pub fn secs(self) -> u32 {
        self.0
    }
}

impl Default for CodeTtl {
    fn default() -> Self {
        Self(Self::DEFAULT_S)
    }
}

/// The body of `PUT /v1/config/im` as received, before validation.
///
/// Every member may be omitted and then takes its default (window 1, switches off, 6 digits,
/// 300 s). Unknown members are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImConfigInput {
    /// Accepted most recent codes, 1..=10.
    pub token_window: u8,
    /// Acknowledgement required for `token_window` ≥ 3.
    pub accept_risk: bool,
    /// The login must be a valid e-mail address.
    pub login_is_email: bool,
    /// No two users with the same document.
    pub unique_document: bool,
    /// Devices use the user's principal secret (and share its replay state).
    pub device_secret_same_as_principal: bool,
    /// No two users with the same mobile number.
    pub unique_mobile: bool,
    /// Digits of SMS/e-mail codes, 4..=10.
    pub code_digits: u8,
    /// Lifetime of SMS/e-mail codes in seconds, 30..=86400.
    pub code_ttl_s: u32,
}

impl Default for ImConfigInput {
    fn default() -> Self {
        ImConfig::default().into()
    }
}

/// The validated IM configuration. Build it from an [`ImConfigInput`] with `try_from`;
/// `Default` gives the product defaults (window 1, every switch off, 6 digits, 300 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "ImConfigInput", into = "ImConfigInput")]
pub struct ImConfig {
    token_window: TokenWindow,
    login_is_email: bool,
    unique_document: bool,
    device_secret_same_as_principal: bool,
    unique_mobile: bool,
    code_digits: CodeDigits,
    code_ttl: CodeTtl,
}

impl TryFrom<ImConfigInput> for ImConfig {
    type Error = ConfigError;

    fn try_from(input: ImConfigInput) -> Result<Self, Self::Error> {
        Ok(Self {
            token_window: TokenWindow::new(input.token_window, input.accept_risk)?,
            login_is_email: input.login_is_email,
            unique_document: input.unique_document,
            device_secret_same_as_principal: input.device_secret_same_as_principal,
            unique_mobile: input.unique_mobile,
            code_digits: CodeDigits::new(input.code_digits)?,
            code_ttl: CodeTtl::from_secs(input.code_ttl_s)?,
        })
    }
}

impl From<ImConfig> for ImConfigInput {
    fn from(config: ImConfig) -> Self {
        Self {
            token_window: config.token_window.value(),
            accept_risk: config.token_window.is_risky(),
            login_is_email: config.login_is_email,
            unique_document: config.unique_document,
            device_secret_same_as_principal: config.device_secret_same_as_principal,
            unique_mobile: config.unique_mobile,
            code_digits: config.code_digits.value(),
            code_ttl_s: config.code_ttl.secs(),
        }
    }
}

impl ImConfig {
    /// How many of the most recent codes are accepted.
    pub fn token_window(&self) -> TokenWindow {
        self.token_window
    }

    /// Whether logins must be e-mail addresses.
    pub fn login_is_email(&self) -> bool {
        self.login_is_email
    }

    /// Whether documents are unique among users.
    pub fn unique_document(&self) -> bool {
        self.unique_document
    }

    /// Whether devices use the user's principal secret.
    pub fn device_secret_same_as_principal(&self) -> bool {
        self.device_secret_same_as_principal
    }

    /// Whether mobile numbers are unique among users.
    pub fn unique_mobile(&self) -> bool {
        self.unique_mobile
    }

    /// Digits of SMS/e-mail codes.
    pub fn code_digits(&self) -> CodeDigits {
        self.code_digits
    }

    /// Lifetime of SMS/e-mail codes.
    pub fn code_ttl(&self) -> CodeTtl {
        self.code_ttl
    }

    /// Checks a login against `login_is_email` (a no-op when the switch is off).
    pub fn check_login(&self, login: &str) -> Result<(), ConfigError> {
        if self.login_is_email {
            check_login_is_email(login)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn token_window_bounds_and_risk() {
        // (value, accept_risk, expected)
        let rows: [(u8, bool, Result<u8, ConfigError>); 8] = [
            (
                0,
                true,
                Err(ConfigError::TokenWindowOutOfRange { value: 0 }),
            ),
            (1, false, Ok(1)),
            (2, false, Ok(2)),
            (
                3,
                false,
                Err(ConfigError::TokenWindowRiskNotAccepted { value: 3 }),
            ),
            (3, true, Ok(3)),
            (
                10,
                false,
                Err(ConfigError::TokenWindowRiskNotAccepted { value: 10 }),
            ),
            (10, true, Ok(10)),
            (
                11,
                true,
                Err(ConfigError::TokenWindowOutOfRange { value: 11 }),
            ),
        ];
        for (value, accept, expected) in rows {
            let got = TokenWindow::new(value, accept).map(TokenWindow::value);
            assert_eq!(got, expected, "row value={value} accept_risk={accept}");
        }
    }

    #[test]
    fn token_window_three_without_risk_is_explained() {
        let body = r#"{"token_window": 3}"#;
        let input: ImConfigInput = serde_json::from_str(body).unwrap();
        let err = ImConfig::try_from(input).unwrap_err();
        assert_eq!(err.field(), "token_window");
        let message = err.to_string();
        assert!(message.contains("accept_risk"), "{message}");
        assert!(message.contains("intercepted"), "{message}");
    }

    #[test]
    fn defaults_match_the_spec() {
        let config: ImConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, ImConfig::default());
        assert_eq!(config.token_window().value(), 1);
        assert_eq!(config.token_window().extra_past_steps(), 0);
        assert_eq!(config.code_digits().value(), 6);
        assert_eq!(config.code_ttl().secs(), 300);
        assert!(!config.login_is_email());
        assert!(!config.unique_document());
        assert!(!config.device_secret_same_as_principal());
        assert!(!config.unique_mobile());
    }

    #[test]
    fn full_body_round_trips() {
        let body = serde_json::json!({
            "token_window": 4, "accept_risk": true, "login_is_email": true,
            "unique_document": true, "device_secret_same_as_principal": false,
            "unique_mobile": true, "code_digits": 8, "code_ttl_s": 600
        });
        let config: ImConfig = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(config.token_window().value(), 4);
        assert_eq!(config.code_digits().value(), 8);
        assert_eq!(config.code_ttl().secs(), 600);
        assert_eq!(serde_json::to_value(config).unwrap(), body);
    }

    #[test]
    fn unknown_member_is_refused() {
        let err = serde_json::from_str::<ImConfigInput>(r#"{"token_windw": 2}"#).unwrap_err();
        assert!(err.to_string().contains("token_windw"), "{err}");
    }

    #[test]
    fn code_digits_and_ttl_bounds() {
        let digits: [(u8, bool); 5] = [(3, false), (4, true), (6, true), (10, true), (11, false)];
        for (value, ok) in digits {
            assert_eq!(
                CodeDigits::new(value).is_ok(),
                ok,
                "code_digits row {value}"
            );
        }
        let ttls: [(u32, bool); 5] = [
            (29, false),
            (30, true),
            (300, true),
            (86_400, true),
            (86_401, false),
        ];
        for (value, ok) in ttls {
            assert_eq!(
                CodeTtl::from_secs(value).is_ok(),
                ok,
                "code_ttl_s row {value}"
            );
        }
        let err = CodeTtl::from_secs(5).unwrap_err();
        assert_eq!(err.field(), "code_ttl_s");
        assert!(err.to_string().starts_with("code_ttl_s"), "{err}");
    }

    #[test]
    fn check_login_only_when_switched_on() {
        let off = ImConfig::default();
        assert!(off.check_login("not an email").is_ok());
        let on = ImConfig::try_from(ImConfigInput {
            login_is_email: true,
            ..ImConfigInput::default()
        })
        .unwrap();
        assert_eq!(on.check_login("not an email").unwrap_err().field(), "login");
        assert!(on.check_login("ana@example.com").is_ok());
    }
}
