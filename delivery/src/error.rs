//! [`ErrorClass`]: the one classification of a failed send, shared by the SMS and e-mail
//! channels, and [`Outcome`]: how one attempt ended.
//!
//! Each channel's error ([`crate::sms::SendError`], [`crate::email::SendError`],
//! [`crate::email::DispatchError`]) says what went wrong in its own terms and implements
//! [`Classified`]: `class()`, `is_transient()`, `is_permanent()` and `is_timeout()` (lettre's
//! accessors). Retry and failover look only at the class:
//!
//! | class | may pass later, same peer | another peer may do better | produced by |
//! |---|---|---|---|
//! | [`ErrorClass::Transient`] | yes | yes | both channels |
//! | [`ErrorClass::Timeout`] | yes | yes | both channels |
//! | [`ErrorClass::Permanent`] | no | yes | both channels |
//! | [`ErrorClass::Recipient`] | no | no | e-mail (SMTP 5.1.x); SMS brokers report no such refusal |

use std::fmt;

/// How a failed send is classified: the only thing retry and failover decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Trying again later through the same peer may work: connection refused or reset, DNS,
    /// HTTP 408/425/429/5xx, a SOAP `Server` fault, SMTP 4xx, a token endpoint that was
    /// unreachable.
    Transient,
    /// A timeout expired (connect or total): a transient failure, told apart because a peer
    /// that times out is slow rather than refusing.
    Timeout,
    /// This peer will refuse the same request again: misconfiguration, refused credentials,
    /// a TLS failure, HTTP 4xx, a SOAP `Client` fault, SMTP 5xx. Another peer is configured
    /// independently, so failover still tries it.
    Permanent,
    /// The recipient itself was refused (SMTP 5xx with enhanced status 5.1.x): permanent, and
    /// every other peer would refuse it too.
    Recipient,
}

impl ErrorClass {
    /// Whether the same request may succeed later through the same peer
    /// ([`Transient`](Self::Transient) or [`Timeout`](Self::Timeout)).
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Transient | Self::Timeout)
    }

    /// Whether the peer will refuse the same request again (the opposite of transient).
    pub fn is_permanent(self) -> bool {
        !self.is_transient()
    }

    /// Whether a timeout expired.
    pub fn is_timeout(self) -> bool {
        self == Self::Timeout
    }

    /// Whether another peer may do better: every class but [`Recipient`](Self::Recipient).
    pub fn another_peer_may_succeed(self) -> bool {
        self != Self::Recipient
    }

    /// The stable snake_case name: `transient`, `timeout`, `permanent`, `recipient`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Timeout => "timeout",
            Self::Permanent => "permanent",
            Self::Recipient => "recipient",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that carries the shared [`ErrorClass`]: the accessors retry and failover use,
/// the same on both channels.
pub trait Classified {
    /// The class retry and failover decide on.
    fn class(&self) -> ErrorClass;

    /// Whether the same request may succeed later through the same peer.
    fn is_transient(&self) -> bool {
        self.class().is_transient()
    }

    /// Whether the peer will refuse the same request again (the opposite of transient).
    fn is_permanent(&self) -> bool {
        self.class().is_permanent()
    }

    /// Whether a timeout expired (a transient failure).
    fn is_timeout(&self) -> bool {
        self.class().is_timeout()
    }
}

/// How one attempt through one peer (SMS broker or SMTP account) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The peer accepted the message.
    Delivered,
    /// The attempt failed, with this class.
    Failed(ErrorClass),
}

impl Outcome {
    /// Whether the peer accepted the message.
    pub fn is_delivered(self) -> bool {
        self == Self::Delivered
    }

    /// The class of a failed attempt; `None` when delivered.
    pub fn failure(self) -> Option<ErrorClass> {
        match self {
            Self::Delivered => None,
            Self::Failed(class) => Some(class),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorClass::{Permanent, Recipient, Timeout, Transient};
    use super::*;

    #[test]
    fn class_table() {
        // (class, transient, permanent, timeout, another peer, name)
        let rows = [
            (Transient, true, false, false, true, "transient"),
            (Timeout, true, false, true, true, "timeout"),
            (Permanent, false, true, false, true, "permanent"),
            (Recipient, false, true, false, false, "recipient"),
        ];
        for (class, transient, permanent, timeout, another, name) in rows {
            assert_eq!(class.is_transient(), transient, "row {name}: transient");
            assert_eq!(class.is_permanent(), permanent, "row {name}: permanent");
            assert_eq!(class.is_timeout(), timeout, "row {name}: timeout");
            assert_eq!(
                class.another_peer_may_succeed(),
                another,
                "row {name}: another peer"
            );
            assert_eq!(class.to_string(), name, "row {name}: name");
        }
    }

    #[test]
    fn outcome_reports_its_failure() {
        assert!(Outcome::Delivered.is_delivered());
        assert_eq!(Outcome::Delivered.failure(), None);
        let failed = Outcome::Failed(Timeout);
        assert!(!failed.is_delivered());
        assert_eq!(failed.failure(), Some(Timeout));
    }
}
