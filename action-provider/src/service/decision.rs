//! The answer of an authentication flow (validate, password, MFA hash): accepted, or
//! rejected with a stable reason.

use super::gate::{Attempt, Failure, Refused};
use crate::clock::UnixTime;

/// Why a credential was not accepted (the API's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The code does not match.
    InvalidCode,
    /// The password does not match.
    InvalidPassword,
    /// The code (or a later one) was already used.
    Replayed,
    /// Too many failures: the account is locked.
    Locked,
    /// Too many failures: wait `retry_after`.
    Throttled,
    /// The code matched an issued code that has expired.
    Expired,
    /// The OPIE sequence is used up.
    Exhausted,
    /// The user has no active token and no live issued code.
    NoToken,
    /// No such user.
    UnknownUser,
    /// The user is disabled.
    Disabled,
    /// The password is right but has expired: it must be changed.
    PasswordExpired,
    /// The user has no password.
    NoPassword,
    /// The code belongs to a request replaced by a newer one.
    Superseded,
}

impl Reason {
    /// The stable name (`invalid_code`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCode => "invalid_code",
            Self::InvalidPassword => "invalid_password",
            Self::Replayed => "replayed",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::Expired => "expired",
            Self::Exhausted => "exhausted",
            Self::NoToken => "no_token",
            Self::UnknownUser => "unknown_user",
            Self::Disabled => "disabled",
            Self::PasswordExpired => "password_expired",
            Self::NoPassword => "no_password",
            Self::Superseded => "superseded",
        }
    }
}

/// The answer of an authentication flow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Whether the credential was accepted.
    pub valid: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// End of a temporary lock (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Seconds to wait before the next attempt (throttled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Decision {
    /// Accepted.
    pub fn accepted() -> Self {
        Self {
            valid: true,
            reason: None,
            locked_until: None,
            retry_after: None,
        }
    }

    /// Rejected for `reason`.
    pub fn rejected(reason: Reason) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            locked_until: None,
            retry_after: None,
        }
    }

    /// Rejected before checking (locked or throttled).
    pub fn refused(r: Refused) -> Self {
        match r {
            Refused::Locked { until } => Self {
                locked_until: until.map(UnixTime::rfc3339),
                ..Self::rejected(Reason::Locked)
            },
            Refused::Throttled { retry_after } => Self {
                retry_after: Some(
                    u64::try_from(retry_after.as_millis().div_ceil(1000))
                        .unwrap_or(u64::MAX)
                        .max(1),
                ),
                ..Self::rejected(Reason::Throttled)
            },
        }
    }

    /// Rejected after counting a failure.
    pub fn failed(reason: Reason, f: Failure) -> Self {
        match f {
            Failure::Counted { lock } => Self {
                locked_until: lock.flatten().map(UnixTime::rfc3339),
                ..Self::rejected(reason)
            },
            Failure::AlreadyLocked => Self::rejected(Reason::Locked),
        }
    }

    /// The decision of a gated attempt whose values are rejection reasons.
    pub fn of(attempt: Attempt<Option<Reason>>) -> Self {
        match attempt {
            Attempt::Refused(r) => Self::refused(r),
            Attempt::Accepted(None) => Self::accepted(),
            Attempt::Accepted(Some(reason)) => Self::rejected(reason),
            Attempt::Rejected(reason, f) => Self::failed(reason.unwrap_or(Reason::InvalidCode), f),
        }
    }

    /// `ok`, or the reason's name (for counting decisions).
    pub fn label(&self) -> &'static str {
        self.reason.map_or("ok", Reason::as_str)
    }

    /// The audit outcome text.
    pub fn outcome(&self) -> String {
        match self.reason {
            None => "ok".into(),
            Some(r) => format!("rejected:{}", r.as_str()),
        }
    }
}
