//! [`InboundError`]: why an IMAP or POP3 operation failed, classified for retry decisions.

use crate::{Classified, ErrorClass};

/// Why a mailbox test or check failed.
///
/// The texts carry the server's own words (`NO [AUTHENTICATIONFAILED] Authentication
/// failed.`, `-ERR [AUTH] Authentication failed.`) or the transport's, never a password or
/// token. It implements [`Classified`], the class both channels share (transient: try
/// again later; timeout; permanent: fix the configuration);
/// [`is_authentication`](Self::is_authentication) tells an OAuth2 caller to refresh the
/// token once and try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// The server could not be reached (DNS, refused, reset, unreachable).
    #[error("cannot connect to {host}:{port}: {text}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The transport's error.
        text: String,
    },
    /// A network operation did not finish within the account's timeout.
    #[error("no answer within {timeout_ms} ms while {operation}")]
    Timeout {
        /// What was being done (`connecting`, `reading the greeting`, `fetching`, …).
        operation: &'static str,
        /// The limit, in milliseconds.
        timeout_ms: u128,
    },
    /// The TLS handshake failed (untrusted or mismatched certificate, protocol).
    #[error("TLS failure: {text}")]
    Tls {
        /// rustls's reason, e.g. `invalid peer certificate: UnknownIssuer`.
        text: String,
    },
    /// STARTTLS (IMAP) or STLS (POP3) was required but the server refused or does not
    /// offer it; nothing was sent in plain text.
    #[error("the server does not accept STARTTLS: {text}")]
    StartTlsRefused {
        /// The server's answer.
        text: String,
    },
    /// The server refused the login (wrong password, expired or revoked token, token for
    /// another mailbox).
    #[error("login refused: {text}")]
    Authentication {
        /// The server's answer, with the decoded SASL error challenge if there was one.
        text: String,
    },
    /// The folder could not be opened.
    #[error("cannot open folder {folder:?}: {text}")]
    Folder {
        /// The folder.
        folder: String,
        /// The server's answer.
        text: String,
    },
    /// The server refused a command for a reason it says is temporary (IMAP `[INUSE]`,
    /// `[UNAVAILABLE]`, `BYE`; POP3 `[IN-USE]`, `[SYS/TEMP]`).
    #[error("the server is busy or unavailable ({command}): {text}")]
    Unavailable {
        /// The command.
        command: &'static str,
        /// The server's answer.
        text: String,
    },
    /// The server refused a command.
    #[error("the server refused {command}: {text}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The server's answer.
        text: String,
    },
    /// The server's answer breaks the protocol (or exceeds the size limit).
    #[error("unexpected answer from the server: {text}")]
    Protocol {
        /// What was wrong, with the start of the answer.
        text: String,
    },
    /// The connection closed in the middle of an exchange.
    #[error("the server closed the connection while {operation}")]
    Closed {
        /// What was being done.
        operation: &'static str,
    },
    /// Reading or writing the connection failed.
    #[error("connection error while {operation}: {text}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The error.
        text: String,
    },
    /// The account logs in with OAuth2 but no access token was given.
    #[error("the account logs in with OAuth2 but no access token was given")]
    MissingAccessToken,
    /// The password cannot be sent: the server offers only `LOGIN` and the password has
    /// characters a quoted string cannot carry.
    #[error(
        "the server offers no AUTH=PLAIN and the password has characters IMAP LOGIN cannot carry"
    )]
    PasswordNotSendable,
    /// The stored position belongs to the other protocol.
    #[error("the stored position is for {stored}, but the account uses {account}")]
    PositionMismatch {
        /// The position's protocol.
        stored: &'static str,
        /// The account's protocol.
        account: &'static str,
    },
}

impl Classified for InboundError {
    /// Timeouts are [`ErrorClass::Timeout`]; an unreachable, busy or vanished server is
    /// [`ErrorClass::Transient`]; everything else (TLS, login, folder, refusals, protocol
    /// errors, configuration) is [`ErrorClass::Permanent`].
    fn class(&self) -> ErrorClass {
        match self {
            Self::Timeout { .. } => ErrorClass::Timeout,
            Self::Connect { .. }
            | Self::Unavailable { .. }
            | Self::Closed { .. }
            | Self::Io { .. } => ErrorClass::Transient,
            Self::Tls { .. }
            | Self::StartTlsRefused { .. }
            | Self::Authentication { .. }
            | Self::Folder { .. }
            | Self::Refused { .. }
            | Self::Protocol { .. }
            | Self::MissingAccessToken
            | Self::PasswordNotSendable
            | Self::PositionMismatch { .. } => ErrorClass::Permanent,
        }
    }
}

impl InboundError {
    /// The server refused the credentials: an OAuth2 caller refreshes the token once and
    /// tries again (the class is [`ErrorClass::Permanent`]).
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Authentication { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_exclusive_where_they_must_be() {
        let rows = [
            (
                InboundError::Timeout {
                    operation: "connecting",
                    timeout_ms: 5,
                },
                true,
                true,
                false,
            ),
            (
                InboundError::Authentication {
                    text: "NO [AUTHENTICATIONFAILED] x".into(),
                },
                false,
                false,
                true,
            ),
            (
                InboundError::Closed {
                    operation: "fetching",
                },
                true,
                false,
                false,
            ),
            (
                InboundError::Tls {
                    text: "UnknownIssuer".into(),
                },
                false,
                false,
                false,
            ),
        ];
        for (error, transient, timeout, authentication) in rows {
            assert_eq!(error.is_transient(), transient, "{error}");
            assert_eq!(error.is_permanent(), !transient, "{error}");
            assert_eq!(error.is_timeout(), timeout, "{error}");
            assert_eq!(error.is_authentication(), authentication, "{error}");
        }
    }
}
