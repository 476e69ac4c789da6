//! [`Position`]: how far a mailbox has been processed, stored by the server between
//! checks (as JSON) so that each message is processed once across restarts and nodes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::account::Protocol;
use super::error::InboundError;

/// Where the last check stopped.
///
/// The caller stores the position returned with the messages in the same transaction as
/// the outcome of processing them; a crash before that commit fetches the same messages
/// again, never skips one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum Position {
    /// An IMAP folder.
    Imap(ImapPosition),
    /// A POP3 mailbox.
    Pop3(Pop3Position),
}

impl Position {
    /// The position of a mailbox never checked: every message in it is new.
    pub fn start(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Imap => Self::Imap(ImapPosition::default()),
            Protocol::Pop3 => Self::Pop3(Pop3Position::default()),
        }
    }

    /// The protocol the position belongs to.
    pub fn protocol(&self) -> Protocol {
        match self {
            Self::Imap(_) => Protocol::Imap,
            Self::Pop3(_) => Protocol::Pop3,
        }
    }

    pub(crate) fn imap(&self) -> Result<&ImapPosition, InboundError> {
        match self {
            Self::Imap(p) => Ok(p),
            Self::Pop3(_) => Err(InboundError::PositionMismatch {
                stored: "pop3",
                account: "imap",
            }),
        }
    }

    pub(crate) fn pop3(&self) -> Result<&Pop3Position, InboundError> {
        match self {
            Self::Pop3(p) => Ok(p),
            Self::Imap(_) => Err(InboundError::PositionMismatch {
                stored: "imap",
                account: "pop3",
            }),
        }
    }
}

/// An IMAP folder's position: its UIDVALIDITY and the highest UID processed. When the
/// server reports another UIDVALIDITY (the folder was recreated), every message in it is
/// new again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapPosition {
    /// UIDVALIDITY when the position was taken (0: never checked).
    pub uid_validity: u32,
    /// The highest UID processed (0: none).
    pub last_uid: u32,
}

/// A POP3 mailbox's position: the unique ids (UIDL) of the messages processed that are
/// still on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pop3Position {
    /// UIDL values already processed.
    pub uidls: BTreeSet<String>,
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
    fn positions_round_trip_through_json() {
        let imap = Position::Imap(ImapPosition {
            uid_validity: 1_700_000_000,
            last_uid: 42,
        });
        let text = serde_json::to_string(&imap).expect("json");
        assert_eq!(
            text,
            r#"{"protocol":"imap","uid_validity":1700000000,"last_uid":42}"#
        );
        assert_eq!(
            serde_json::from_str::<Position>(&text).expect("parse"),
            imap
        );
        let pop3 = Position::Pop3(Pop3Position {
            uidls: ["a1".to_owned(), "b2".to_owned()].into(),
        });
        let text = serde_json::to_string(&pop3).expect("json");
        assert_eq!(text, r#"{"protocol":"pop3","uidls":["a1","b2"]}"#);
        assert_eq!(
            serde_json::from_str::<Position>(&text).expect("parse"),
            pop3
        );
    }

    #[test]
    fn the_wrong_protocol_is_refused() {
        assert!(Position::start(Protocol::Imap).pop3().is_err());
        assert!(Position::start(Protocol::Pop3).imap().is_err());
        assert_eq!(Position::start(Protocol::Pop3).protocol(), Protocol::Pop3);
    }
}
