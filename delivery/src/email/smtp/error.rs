//! [`SendError`]: why one SMTP send failed, what the server objected to, and its
//! [`ErrorClass`] (shared with the SMS channel).

use std::error::Error as StdError;

use crate::{Classified, ErrorClass};

/// Why one SMTP send failed. The text is the SMTP client's or server's own (e.g.
/// `permanent error (535): 5.7.8 Authentication credentials invalid`); it never holds a
/// password or token.
///
/// | variant | when | [`ErrorClass`] |
/// |---|---|---|
/// | `Authentication` | SMTP 530/534/535; an XOAUTH2 error challenge (Gmail style) | permanent (with OAuth2, [`send`](crate::email::send) first refreshes the token once and retries) |
/// | `Transient` | connection refused/reset, DNS, SMTP 4xx (incl. 454) | transient |
/// | `Timeout` | no complete answer within the account's timeout | timeout |
/// | `Permanent` | other SMTP 5xx (policy, relay denied, size) | permanent |
/// | `Recipient` | 5xx with enhanced status `5.1.x` (unknown or invalid recipient) | recipient |
/// | `Tls` | handshake failure (untrusted or mismatched certificate, protocol), STARTTLS required but not offered | permanent |
/// | `MissingAccessToken`, `Message` | misconfiguration, a mail that cannot be built | permanent |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The server refused the credentials (SMTP 530/534/535, or an XOAUTH2 error
    /// challenge).
    #[error("SMTP authentication failed: {text}")]
    Authentication {
        /// The error text.
        text: String,
    },
    /// Trying again later may work: connection refused or reset, DNS, SMTP 4xx.
    #[error("temporary SMTP failure: {text}")]
    Transient {
        /// The error text.
        text: String,
    },
    /// The server gave no complete answer within the account's timeout.
    #[error("SMTP timeout: {text}")]
    Timeout {
        /// The error text.
        text: String,
    },
    /// The server refused the mail for good (SMTP 5xx other than authentication and
    /// recipient).
    #[error("SMTP failure: {text}")]
    Permanent {
        /// The error text.
        text: String,
    },
    /// The server refused the recipient address (5xx with enhanced status 5.1.x): another
    /// account would do no better.
    #[error("the SMTP server refused the recipient: {text}")]
    Recipient {
        /// The error text.
        text: String,
    },
    /// The TLS handshake failed (certificate not trusted, wrong host name, protocol) or
    /// STARTTLS was required but not offered.
    #[error("TLS failure: {text}")]
    Tls {
        /// The error text (e.g. `invalid peer certificate: UnknownIssuer`).
        text: String,
    },
    /// The account authenticates with OAuth2 but no access token was given.
    #[error("the account authenticates with OAuth2 but no access token was given")]
    MissingAccessToken,
    /// The MIME message could not be built.
    #[error("the mail could not be built: {reason}")]
    Message {
        /// The builder's reason.
        reason: String,
    },
}

impl Classified for SendError {
    /// The class retry and failover decide on.
    fn class(&self) -> ErrorClass {
        match self {
            Self::Transient { .. } => ErrorClass::Transient,
            Self::Timeout { .. } => ErrorClass::Timeout,
            Self::Recipient { .. } => ErrorClass::Recipient,
            Self::Authentication { .. }
            | Self::Permanent { .. }
            | Self::Tls { .. }
            | Self::MissingAccessToken
            | Self::Message { .. } => ErrorClass::Permanent,
        }
    }
}

impl SendError {
    /// Whether the server refused the credentials: with OAuth2, the cue to refresh the
    /// token once and retry.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Authentication { .. })
    }

    /// Classifies an error of lettre's SMTP transport. `xoauth2` says whether the attempt
    /// authenticated with XOAUTH2 (then an unexpected challenge is the server's way of
    /// rejecting the token, as Gmail does).
    pub(crate) fn from_lettre(error: &lettre::transport::smtp::Error, xoauth2: bool) -> Self {
        let text = error_text(error);
        let observed = Observed {
            code: error.status().map(u16::from),
            reply: error.source().map(ToString::to_string),
            tls: error.is_tls() || has_rustls_cause(error),
            client: error.is_client(),
            timeout: error.is_timeout(),
            text: &text,
            xoauth2,
        };
        match classify(&observed) {
            Verdict::Authentication => Self::Authentication { text },
            Verdict::Transient => Self::Transient { text },
            Verdict::Timeout => Self::Timeout { text },
            Verdict::Permanent => Self::Permanent { text },
            Verdict::Recipient => Self::Recipient { text },
            Verdict::Tls => Self::Tls { text },
        }
    }
}

/// Which [`SendError`] variant a lettre error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Authentication,
    Transient,
    Timeout,
    Permanent,
    Recipient,
    Tls,
}

/// What classification needs to know about a lettre error.
struct Observed<'a> {
    /// The SMTP reply code of a negative reply.
    code: Option<u16>,
    /// The reply text of a negative reply (starts with the enhanced status code).
    reply: Option<String>,
    /// A TLS error, or a rustls error anywhere in the causes.
    tls: bool,
    /// A client-side protocol error.
    client: bool,
    /// An I/O timeout.
    timeout: bool,
    /// The whole error text.
    text: &'a str,
    /// The attempt authenticated with XOAUTH2.
    xoauth2: bool,
}

/// The pure classification rule, documented on [`SendError`].
fn classify(o: &Observed<'_>) -> Verdict {
    if o.tls {
        return Verdict::Tls;
    }
    if let Some(code) = o.code {
        return match code {
            530 | 534 | 535 => Verdict::Authentication,
            400..=499 => Verdict::Transient,
            _ if o
                .reply
                .as_deref()
                .is_some_and(|r| r.trim_start().starts_with("5.1.")) =>
            {
                Verdict::Recipient
            }
            _ => Verdict::Permanent,
        };
    }
    if o.client {
        if o.xoauth2 && o.text.contains("does not expect a challenge") {
            return Verdict::Authentication;
        }
        if o.text.contains("STARTTLS is not supported") {
            return Verdict::Tls;
        }
        return Verdict::Permanent;
    }
    if o.timeout {
        return Verdict::Timeout;
    }
    // Connection, network, unparseable answer, shut-down transport.
    Verdict::Transient
}

/// True when a `rustls::Error` is among the causes (a failed handshake surfaces as a
/// lettre connection error wrapping an `io::Error` wrapping the rustls error).
fn has_rustls_cause(error: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The error's text with every cause not already shown in it, and without the repeated
/// segments lettre produces when it wraps an error twice (`Connection error: Connection
/// error: …`).
fn error_text(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    collapse_repeats(&text)
}

/// Drops a `": "`-separated segment equal to the one before it.
fn collapse_repeats(text: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if segments.last() != Some(&segment) {
            segments.push(segment);
        }
    }
    segments.join(": ")
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        // (name, code, reply, tls, client, text, xoauth2, expected)
        type Row = (
            &'static str,
            Option<u16>,
            Option<&'static str>,
            bool,
            bool,
            &'static str,
            bool,
            Verdict,
        );
        let rows: &[Row] = &[
            (
                "535 bad credentials",
                Some(535),
                Some("5.7.8 Authentication credentials invalid"),
                false,
                false,
                "",
                true,
                Verdict::Authentication,
            ),
            (
                "534 app password needed",
                Some(534),
                Some("5.7.9"),
                false,
                false,
                "",
                false,
                Verdict::Authentication,
            ),
            (
                "530 auth required",
                Some(530),
                Some("5.7.0"),
                false,
                false,
                "",
                false,
                Verdict::Authentication,
            ),
            (
                "454 temporary auth failure",
                Some(454),
                Some("4.7.0"),
                false,
                false,
                "",
                true,
                Verdict::Transient,
            ),
            (
                "421 service unavailable",
                Some(421),
                None,
                false,
                false,
                "",
                false,
                Verdict::Transient,
            ),
            (
                "450 mailbox busy",
                Some(450),
                Some("4.2.1"),
                false,
                false,
                "",
                false,
                Verdict::Transient,
            ),
            (
                "550 unknown recipient",
                Some(550),
                Some("5.1.1 no such user"),
                false,
                false,
                "",
                false,
                Verdict::Recipient,
            ),
            (
                "550 relay denied",
                Some(550),
                Some("5.7.1 relaying denied"),
                false,
                false,
                "",
                false,
                Verdict::Permanent,
            ),
            (
                "552 too big",
                Some(552),
                None,
                false,
                false,
                "",
                false,
                Verdict::Permanent,
            ),
            (
                "tls handshake",
                None,
                None,
                true,
                false,
                "invalid peer certificate",
                false,
                Verdict::Tls,
            ),
            (
                "xoauth2 error challenge",
                None,
                None,
                false,
                true,
                "internal client error: This mechanism does not expect a challenge",
                true,
                Verdict::Authentication,
            ),
            (
                "challenge without xoauth2",
                None,
                None,
                false,
                true,
                "internal client error: This mechanism does not expect a challenge",
                false,
                Verdict::Permanent,
            ),
            (
                "no starttls",
                None,
                None,
                false,
                true,
                "STARTTLS is not supported on this server",
                false,
                Verdict::Tls,
            ),
            (
                "no mechanism",
                None,
                None,
                false,
                true,
                "No compatible authentication mechanism was found",
                false,
                Verdict::Permanent,
            ),
            (
                "connection refused",
                None,
                None,
                false,
                false,
                "Connection error: Connection refused",
                false,
                Verdict::Transient,
            ),
        ];
        for (name, code, reply, tls, client, text, xoauth2, expected) in rows {
            let observed = Observed {
                code: *code,
                reply: reply.map(str::to_owned),
                tls: *tls,
                client: *client,
                timeout: false,
                text,
                xoauth2: *xoauth2,
            };
            assert_eq!(classify(&observed), *expected, "row {name}");
        }
    }

    #[test]
    fn an_io_timeout_is_a_timeout() {
        let observed = Observed {
            code: None,
            reply: None,
            tls: false,
            client: false,
            timeout: true,
            text: "Connection error: timed out",
            xoauth2: false,
        };
        assert_eq!(classify(&observed), Verdict::Timeout);
    }

    #[test]
    fn every_variant_has_its_class() {
        let text = || "t".to_owned();
        let rows = [
            (
                SendError::Authentication { text: text() },
                ErrorClass::Permanent,
            ),
            (SendError::Transient { text: text() }, ErrorClass::Transient),
            (SendError::Timeout { text: text() }, ErrorClass::Timeout),
            (SendError::Permanent { text: text() }, ErrorClass::Permanent),
            (SendError::Recipient { text: text() }, ErrorClass::Recipient),
            (SendError::Tls { text: text() }, ErrorClass::Permanent),
            (SendError::MissingAccessToken, ErrorClass::Permanent),
            (SendError::Message { reason: text() }, ErrorClass::Permanent),
        ];
        for (error, class) in rows {
            assert_eq!(error.class(), class, "{error:?}");
            assert_eq!(error.is_transient(), class.is_transient(), "{error:?}");
            assert_eq!(error.is_permanent(), class.is_permanent(), "{error:?}");
            assert_eq!(error.is_timeout(), class.is_timeout(), "{error:?}");
            assert_eq!(
                error.is_authentication(),
                matches!(error, SendError::Authentication { .. }),
                "{error:?}"
            );
        }
    }

    #[test]
    fn repeated_segments_are_collapsed() {
        let rows = [
            (
                "double wrap",
                "Connection error: Connection error: invalid peer certificate: UnknownIssuer",
                "Connection error: invalid peer certificate: UnknownIssuer",
            ),
            (
                "nothing repeated",
                "permanent error (535): 5.7.8 bad",
                "permanent error (535): 5.7.8 bad",
            ),
            ("repeat not adjacent", "a: b: a", "a: b: a"),
        ];
        for (name, input, expected) in rows {
            assert_eq!(collapse_repeats(input), expected, "row {name}");
        }
    }

    #[test]
    fn rustls_cause_is_found_through_io_error() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        assert!(has_rustls_cause(&io));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!has_rustls_cause(&plain));
    }
}
