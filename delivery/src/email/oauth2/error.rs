//! [`OAuth2Error`]: why a token could not be obtained.

use super::profile::Flow;

/// Why an authorization request or a token request failed.
///
/// [`needs_reauthorization`](Self::needs_reauthorization) tells the server to mark the
/// profile "authorise again"; [`is_transient`](Self::is_transient) tells it that trying
/// later may work. Messages never contain a secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuth2Error {
    /// The operation needs another flow than the profile's.
    #[error("{operation} is not possible with the {flow} flow of the profile")]
    WrongFlow {
        /// What was attempted.
        operation: &'static str,
        /// The profile's flow.
        flow: Flow,
    },
    /// A refresh was asked for, but the stored token has no refresh token.
    #[error("the stored token has no refresh token: the profile must be authorised again")]
    NoRefreshToken,
    /// The provider answered `invalid_grant`: the code, verifier or refresh token is
    /// invalid, expired or revoked (or the consent was withdrawn).
    #[error(
        "the provider refused the grant (invalid_grant): {description}; the profile must be authorised again"
    )]
    InvalidGrant {
        /// The provider's `error_description` (empty when absent).
        description: String,
    },
    /// The provider answered another OAuth2 error (`invalid_client`, `invalid_scope`,
    /// `unauthorized_client`, …).
    #[error("the token endpoint answered HTTP {status} {error}: {description}")]
    Provider {
        /// HTTP status of the answer.
        status: u16,
        /// The provider's `error` code.
        error: String,
        /// The provider's `error_description` (empty when absent).
        description: String,
    },
    /// The answer is not an OAuth2 token answer.
    #[error("the token endpoint answered HTTP {status} that is not a token answer: {reason}")]
    UnexpectedAnswer {
        /// HTTP status of the answer.
        status: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token is not a bearer token (SMTP XOAUTH2 needs one).
    #[error("token_type {token_type:?} is not supported: XOAUTH2 needs a Bearer token")]
    UnsupportedTokenType {
        /// The `token_type` the provider gave.
        token_type: String,
    },
    /// The token endpoint could not be reached (DNS, connection, TLS, timeout).
    #[error("the token endpoint could not be reached: {reason}")]
    Unreachable {
        /// The transport error, with its causes.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("the HTTP client could not be built: {reason}")]
    HttpClient {
        /// The builder's error.
        reason: String,
    },
    /// The JWT bearer assertion could not be signed.
    #[error("the JWT bearer assertion could not be signed: {reason}")]
    Assertion {
        /// The signer's reason (never the key).
        reason: String,
    },
    /// The random number generator failed.
    #[error("the random number generator failed: {reason}")]
    Randomness {
        /// The generator's error.
        reason: String,
    },
}

impl OAuth2Error {
    /// True when only a new authorization by an administrator can fix the profile
    /// (`invalid_grant`, or no refresh token to use).
    pub fn needs_reauthorization(&self) -> bool {
        matches!(self, Self::InvalidGrant { .. } | Self::NoRefreshToken)
    }

    /// True when trying again later may succeed: the endpoint was unreachable, or answered
    /// 5xx or 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Provider { status, .. } | Self::UnexpectedAnswer { status, .. } => {
                *status >= 500 || *status == 429
            }
            _ => false,
        }
    }
}
