//! Inbound mail: reading the bounce mailbox over IMAP or POP3, and understanding what is
//! in it ([`bounce`]).
//!
//! An [`InboundAccount`] (from [`InboundSettings`]) names the server, the [`Security`]
//! (none, STARTTLS — required, never opportunistic — or implicit TLS; "ignore certificate
//! errors" is the explicitly dangerous `dangerous_ignore_cert_errors`), the login
//! ([`InboundAuth`]: a password, or an OAuth2 access token sent with SASL XOAUTH2 or
//! OAUTHBEARER), the IMAP folder, "keep copy on server" and the limits. Two operations:
//!
//! - [`test`]: log in, open the folder, report its [`MailboxStatus`] — or the server's
//!   exact error text ([`InboundError`]).
//! - [`fetch_new`]: given the stored [`Position`] (IMAP: UIDVALIDITY + last UID; POP3: the
//!   UIDLs processed), return the new messages (at most `max_messages`, each cut to
//!   `max_message_bytes`) and the position after them ([`Fetched`]). The caller processes
//!   the messages and stores the new position in one transaction; a crash in between
//!   fetches the same messages again. When "keep copy" is off, the messages the given
//!   position covers — processed and committed by an earlier check — are deleted first
//!   (so deletion never precedes the commit that made a message "processed").
//!
//! Every network operation (connect, TLS handshake, each command and its answer) is
//! bounded by the account's timeout. IMAP responses are parsed by `imap-proto` (the parser
//! of the `async-imap` crate); the commands, the POP3 replies and the framing are here.
//!
//! [`Security`]: crate::email::Security

mod account;
pub mod bounce;
mod error;
mod imap;
mod net;
mod pop3;
mod position;
mod sasl;

pub use account::{
    DEFAULT_INBOUND_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGES, InboundAccount,
    InboundAccountError, InboundAuth, InboundSettings, OAuth2Mechanism, Protocol,
};
pub use error::InboundError;
pub use position::{ImapPosition, Pop3Position, Position};

use crate::email::SecretString;

/// What [`test`] found in the mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Messages in the folder (IMAP `EXISTS`, POP3 `STAT`).
    pub messages: u32,
    /// Unseen messages (IMAP only).
    pub unseen: Option<u32>,
    /// Total size in octets (POP3 only).
    pub size_bytes: Option<u64>,
    /// The folder's UIDVALIDITY (IMAP only).
    pub uid_validity: Option<u32>,
    /// The next UID the folder will assign (IMAP only, when the server says).
    pub uid_next: Option<u32>,
}

/// Which message on the server a fetched message is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageRef {
    /// IMAP UID (within the position's UIDVALIDITY).
    Uid(u32),
    /// POP3 UIDL.
    Uidl(String),
}

/// One fetched message. `Debug` shows its size, not its content.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// Which message it is.
    pub id: MessageRef,
    /// The raw RFC 5322 message, at most `max_message_bytes`.
    pub raw: Vec<u8>,
    /// The size the server gave (octets).
    pub size: u64,
    /// True when `raw` is cut to the limit.
    pub truncated: bool,
}

impl std::fmt::Debug for InboundMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundMessage")
            .field("id", &self.id)
            .field("raw", &format_args!("<{} bytes>", self.raw.len()))
            .field("size", &self.size)
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// The result of [`fetch_new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The new messages, oldest first.
    pub messages: Vec<InboundMessage>,
    /// The position after them: store it with the outcome of processing them.
    pub position: Position,
    /// Messages deleted from the server (keep copy off) before fetching.
    pub deleted: u32,
    /// True when more new messages wait than `max_messages` allowed.
    pub more: bool,
    /// IMAP: the folder's UIDVALIDITY changed, so every message in it counted as new.
    pub uid_validity_changed: bool,
}

/// Logs in, opens the folder and reports what is in it. `access_token` is required for
/// OAuth2 accounts and ignored otherwise. The error's text is the server's own answer.
pub async fn test(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
) -> Result<MailboxStatus, InboundError> {
    match account.protocol() {
        Protocol::Imap => imap::test(account, access_token).await,
        Protocol::Pop3 => pop3::test(account, access_token).await,
    }
}

/// Fetches the messages that arrived after `position` (see the module documentation for
/// the exactly-once rule and when messages are deleted).
pub async fn fetch_new(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
    position: &Position,
) -> Result<Fetched, InboundError> {
    match account.protocol() {
        Protocol::Imap => imap::fetch_new(account, access_token, position.imap()?).await,
        Protocol::Pop3 => pop3::fetch_new(account, access_token, position.pop3()?).await,
    }
}

/// Entry points for the fuzz targets (`fuzz/`): the hand-written parsers behind the
/// clients, fed arbitrary server output. Not part of the supported API.
#[doc(hidden)]
pub mod fuzzing {
    /// Runs the POP3 reply parsers over every line of `data`.
    pub fn pop3_lines(data: &[u8]) {
        super::pop3::fuzz_lines(data);
    }

    /// Reads IMAP responses from `data` as the client does (imap-proto plus the
    /// client's skipping and extraction), until the data is used up or refused.
    pub fn imap_responses(data: &[u8]) {
        super::imap::fuzz_responses(data);
    }
}
