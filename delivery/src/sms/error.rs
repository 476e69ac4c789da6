//! [`SendError`]: why a send through one SMS broker failed, and its [`ErrorClass`].
//!
//! Classification (the [`ErrorClass`] both channels share):
//!
//! | variant | class |
//! |---|---|
//! | [`SendError::Timeout`] | timeout |
//! | [`SendError::Connect`] (refused, DNS, TLS), [`SendError::Transport`] | transient |
//! | [`SendError::HttpStatus`] 408, 425, 429, 5xx | transient |
//! | [`SendError::HttpStatus`] other (4xx, unexpected 1xx/3xx) | permanent |
//! | [`SendError::SoapFault`] `Server` / `Receiver` | transient |
//! | [`SendError::SoapFault`] `Client` / `Sender` and every other code | permanent |
//! | [`SendError::MissingKeys`], [`SendError::UnreadableAnswer`], [`SendError::Wsdl`], [`SendError::Request`], [`SendError::Authentication`], [`SendError::ClientSetup`] | permanent |
//!
//! "Permanent" means "this broker will refuse the same request again"; failover still tries
//! the other broker (see [`crate::sms::next_broker`]). No variant carries a secret or the message
//! text: excerpts and fault strings are redacted (`***` for the code) and capped.

use crate::error::{Classified, ErrorClass};

/// A failed send through one broker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The broker could not be reached: connection refused, DNS failure, TLS handshake.
    #[error("could not connect to the broker: {reason}")]
    Connect {
        /// What the HTTP client reported.
        reason: String,
    },
    /// The broker did not answer within the broker's timeout (connect or total).
    #[error("the broker did not answer within {after_ms} ms")]
    Timeout {
        /// The timeout that expired, in milliseconds.
        after_ms: u64,
    },
    /// The connection failed after it was established (reset, truncated answer).
    #[error("the connection to the broker failed: {reason}")]
    Transport {
        /// What the HTTP client reported.
        reason: String,
    },
    /// The broker answered with a non-success HTTP status and no SOAP fault.
    #[error("the broker answered HTTP {status}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// Redacted start of the answer.
        excerpt: String,
    },
    /// The SOAP broker answered with a fault.
    #[error("SOAP fault {code}: {reason}")]
    SoapFault {
        /// The fault code's local part (`Client`, `Server`, `Sender`, `Receiver`, …).
        code: String,
        /// The fault string / reason text (redacted, capped).
        reason: String,
        /// The HTTP status of the answer.
        status: u16,
        /// Redacted start of the answer.
        excerpt: String,
    },
    /// The answer lacks keys that the configuration requires.
    #[error("the answer lacks the required keys {}", missing.join(", "))]
    MissingKeys {
        /// The missing keys, as configured.
        missing: Vec<String>,
        /// The HTTP status of the answer.
        status: u16,
        /// Redacted start of the answer.
        excerpt: String,
    },
    /// The answer could not be read as the protocol requires (not JSON, not a SOAP envelope).
    #[error("the broker's answer is unreadable: {reason}")]
    UnreadableAnswer {
        /// What is wrong with it.
        reason: String,
        /// The HTTP status of the answer.
        status: u16,
        /// Redacted start of the answer.
        excerpt: String,
    },
    /// The WSDL could be fetched but not used: unparseable, or lacking the operation.
    #[error("WSDL {url}: {reason}")]
    Wsdl {
        /// The WSDL URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request could not be built from the configuration and the message (for example a
    /// variable that the SOAP operation does not have).
    #[error("cannot build the request: {reason}")]
    Request {
        /// Why.
        reason: String,
    },
    /// The broker's authentication challenge could not be answered, or refused the credentials.
    #[error("authentication with the broker failed: {reason}")]
    Authentication {
        /// Why.
        reason: String,
        /// The HTTP status of the last answer.
        status: u16,
    },
    /// The HTTP client could not be set up (TLS backend initialisation).
    #[error("cannot set up the HTTP client: {reason}")]
    ClientSetup {
        /// What the HTTP client reported.
        reason: String,
    },
}

impl Classified for SendError {
    /// The class retry and failover decide on.
    fn class(&self) -> ErrorClass {
        match self {
            Self::Timeout { .. } => ErrorClass::Timeout,
            Self::Connect { .. } | Self::Transport { .. } => ErrorClass::Transient,
            Self::HttpStatus { status, .. } if status_is_transient(*status) => {
                ErrorClass::Transient
            }
            Self::SoapFault { code, .. } if fault_is_transient(code) => ErrorClass::Transient,
            Self::HttpStatus { .. }
            | Self::SoapFault { .. }
            | Self::MissingKeys { .. }
            | Self::UnreadableAnswer { .. }
            | Self::Wsdl { .. }
            | Self::Request { .. }
            | Self::Authentication { .. }
            | Self::ClientSetup { .. } => ErrorClass::Permanent,
        }
    }
}

impl SendError {
    /// The HTTP status of the broker's answer, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::HttpStatus { status, .. }
            | Self::SoapFault { status, .. }
            | Self::MissingKeys { status, .. }
            | Self::UnreadableAnswer { status, .. }
            | Self::Authentication { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The SOAP fault as `code: reason`, when the answer was a fault.
    pub fn fault(&self) -> Option<String> {
        match self {
            Self::SoapFault { code, reason, .. } => Some(format!("{code}: {reason}")),
            _ => None,
        }
    }

    /// The redacted start of the broker's answer, when there was one.
    pub fn excerpt(&self) -> Option<&str> {
        match self {
            Self::HttpStatus { excerpt, .. }
            | Self::SoapFault { excerpt, .. }
            | Self::MissingKeys { excerpt, .. }
            | Self::UnreadableAnswer { excerpt, .. } => Some(excerpt),
            _ => None,
        }
    }
}

/// 408 Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx may pass.
fn status_is_transient(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500..=599)
}

/// SOAP 1.1 `Server[.x]` and SOAP 1.2 `Receiver` are the broker's own trouble.
fn fault_is_transient(code: &str) -> bool {
    let head = code.split('.').next().unwrap_or(code);
    matches!(head, "Server" | "Receiver")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> SendError {
        SendError::HttpStatus {
            status,
            excerpt: String::new(),
        }
    }

    fn fault(code: &str) -> SendError {
        SendError::SoapFault {
            code: code.into(),
            reason: "r".into(),
            status: 500,
            excerpt: String::new(),
        }
    }

    #[test]
    fn classification_table() {
        let rows: Vec<(&str, SendError, bool, bool)> = vec![
            // (row, error, transient, timeout)
            (
                "refused",
                SendError::Connect {
                    reason: "refused".into(),
                },
                true,
                false,
            ),
            ("timeout", SendError::Timeout { after_ms: 100 }, true, true),
            (
                "reset",
                SendError::Transport {
                    reason: "reset".into(),
                },
                true,
                false,
            ),
            ("500", status(500), true, false),
            ("503", status(503), true, false),
            ("429", status(429), true, false),
            ("408", status(408), true, false),
            ("400", status(400), false, false),
            ("401", status(401), false, false),
            ("404", status(404), false, false),
            ("302", status(302), false, false),
            ("fault Server", fault("Server"), true, false),
            ("fault Server.Busy", fault("Server.Busy"), true, false),
            ("fault Receiver", fault("Receiver"), true, false),
            ("fault Client", fault("Client"), false, false),
            ("fault Sender", fault("Sender"), false, false),
            (
                "fault VersionMismatch",
                fault("VersionMismatch"),
                false,
                false,
            ),
            (
                "missing keys",
                SendError::MissingKeys {
                    missing: vec!["id".into()],
                    status: 200,
                    excerpt: String::new(),
                },
                false,
                false,
            ),
            (
                "request",
                SendError::Request { reason: "x".into() },
                false,
                false,
            ),
        ];
        for (row, error, transient, timeout) in rows {
            assert_eq!(error.is_transient(), transient, "row {row}: transient");
            assert_eq!(error.is_permanent(), !transient, "row {row}: permanent");
            assert_eq!(error.is_timeout(), timeout, "row {row}: timeout");
        }
    }

    #[test]
    fn accessors_report_status_fault_and_excerpt() {
        let error = SendError::SoapFault {
            code: "Client".into(),
            reason: "invalid destination".into(),
            status: 500,
            excerpt: "<Envelope>".into(),
        };
        assert_eq!(error.http_status(), Some(500));
        assert_eq!(
            error.fault().as_deref(),
            Some("Client: invalid destination")
        );
        assert_eq!(error.excerpt(), Some("<Envelope>"));
        assert_eq!(SendError::Timeout { after_ms: 5 }.http_status(), None);
    }
}
