//! [`InboundAccount`]: a checked IMAP or POP3 mailbox (server, security, authentication,
//! folder, limits).

use std::fmt;
use std::time::Duration;

use crate::email::SecretString;
use crate::email::smtp::account::{checked_host, checked_name, is_loopback_host, valid_timeout};
use crate::email::smtp::{Security, Warning};

/// Default limit of each network operation (connect, TLS handshake, one command and its
/// answer).
pub const DEFAULT_INBOUND_TIMEOUT: Duration = Duration::from_secs(30);

/// Default size kept of one message; a bounce's report and headers come first, so a
/// longer message is cut, not skipped. With [`DEFAULT_MAX_MESSAGES`] a check holds at
/// most 12.5 MiB of mail.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Default number of new messages fetched by one check (the rest wait for the next).
pub const DEFAULT_MAX_MESSAGES: usize = 50;

/// Accepted range of the per-message size limit.
const MESSAGE_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=(50 * 1024 * 1024);

/// Accepted range of the per-check message count.
const MESSAGES_RANGE: std::ops::RangeInclusive<usize> = 1..=10_000;

/// Longest folder name, in characters.
const MAX_FOLDER_LEN: usize = 255;

/// The mailbox access protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// IMAP4rev1 (RFC 3501): folders, UIDs; messages processed once by UIDVALIDITY + UID.
    Imap,
    /// POP3 (RFC 1939): the inbox only; messages processed once by UIDL.
    Pop3,
}

impl Protocol {
    /// The wire name: `imap` or `pop3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imap => "imap",
            Self::Pop3 => "pop3",
        }
    }

    /// The usual port for `security`: IMAP 143 / 993, POP3 110 / 995.
    pub fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Self::Imap, Security::Tls) => 993,
            (Self::Imap, _) => 143,
            (Self::Pop3, Security::Tls) => 995,
            (Self::Pop3, _) => 110,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SASL mechanism that carries an OAuth2 access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OAuth2Mechanism {
    /// Google's and Microsoft's `XOAUTH2`.
    XOAuth2,
    /// The standard `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

impl OAuth2Mechanism {
    /// The SASL name: `XOAUTH2` or `OAUTHBEARER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XOAuth2 => "XOAUTH2",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// How the account logs in.
#[derive(Clone, Debug)]
pub enum InboundAuth {
    /// A password: IMAP `AUTHENTICATE PLAIN` (or `LOGIN` when the server offers no
    /// PLAIN), POP3 `AUTH PLAIN` (or `USER`/`PASS`).
    Password {
        /// The login.
        username: String,
        /// The password (`Debug` redacts it).
        password: SecretString,
    },
    /// An OAuth2 access token of the account's profile, given at each call.
    OAuth2 {
        /// The mailbox the token was issued for.
        username: String,
        /// XOAUTH2 or OAUTHBEARER.
        mechanism: OAuth2Mechanism,
    },
}

impl InboundAuth {
    /// The login name.
    pub fn username(&self) -> &str {
        match self {
            Self::Password { username, .. } | Self::OAuth2 { username, .. } => username,
        }
    }
}

/// The raw, unchecked fields of an inbound account. Turn them into an [`InboundAccount`]
/// with [`InboundAccount::new`]. `Debug` redacts the password.
#[derive(Clone, Debug)]
pub struct InboundSettings {
    /// The account's name (shown in reports).
    pub name: String,
    /// IMAP or POP3.
    pub protocol: Protocol,
    /// Server host name or IP address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection (STARTTLS is required when chosen, never opportunistic).
    pub security: Security,
    /// Login.
    pub auth: InboundAuth,
    /// IMAP folder holding the bounces (`INBOX` when blank; names may be non-ASCII). POP3
    /// has only the inbox: anything but blank or `INBOX` is refused.
    pub folder: String,
    /// Leave processed messages on the server. When off, messages already processed (as
    /// the stored position says) are deleted at the next check.
    pub keep_copy: bool,
    /// DANGEROUS: accept any server certificate and host name. Off by default; anyone on
    /// the path can then read the password or token. See [`InboundAccount::warnings`].
    pub dangerous_ignore_cert_errors: bool,
    /// Limit of each network operation.
    pub timeout: Duration,
    /// Bytes kept of one message (1 KiB to 50 MiB); longer messages are cut.
    pub max_message_bytes: usize,
    /// New messages fetched by one check (1 to 10000); the rest wait for the next.
    pub max_messages: usize,
}

impl InboundSettings {
    /// Settings for `host` with implicit TLS on the protocol's TLS port, the `INBOX`
    /// folder, keep copy on, certificate checks on and the default limits.
    pub fn new(
        name: impl Into<String>,
        protocol: Protocol,
        host: impl Into<String>,
        auth: InboundAuth,
    ) -> Self {
        Self {
            name: name.into(),
            protocol,
            host: host.into(),
            port: protocol.default_port(Security::Tls),
            security: Security::Tls,
            auth,
            folder: "INBOX".into(),
            keep_copy: true,
            dangerous_ignore_cert_errors: false,
            timeout: DEFAULT_INBOUND_TIMEOUT,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_messages: DEFAULT_MAX_MESSAGES,
        }
    }
}

/// A checked inbound account. `Debug` redacts the password.
#[derive(Clone, Debug)]
pub struct InboundAccount {
    settings: InboundSettings,
}

impl InboundAccount {
    /// Checks `settings`: a name of 1 to 100 characters; a host without white space, `/`
    /// or control characters (at most 253 bytes); a non-zero port; a non-empty username;
    /// a folder of at most 255 characters without control characters (POP3: blank or
    /// `INBOX`); a timeout between 1 ms and 10 minutes; the size and count limits in
    /// range.
    pub fn new(settings: InboundSettings) -> Result<Self, InboundAccountError> {
        let mut settings = settings;
        settings.name = checked_name(&settings.name).ok_or(InboundAccountError::InvalidName)?;
        settings.host = checked_host(&settings.host).ok_or(InboundAccountError::InvalidHost)?;
        if settings.port == 0 {
            return Err(InboundAccountError::InvalidPort);
        }
        let username = settings.auth.username();
        if username.trim().is_empty() || username.chars().any(char::is_control) {
            return Err(InboundAccountError::InvalidUsername);
        }
        let folder = settings.folder.trim();
        let folder = if folder.is_empty() { "INBOX" } else { folder };
        if folder.chars().count() > MAX_FOLDER_LEN || folder.chars().any(char::is_control) {
            return Err(InboundAccountError::InvalidFolder);
        }
        if settings.protocol == Protocol::Pop3 && !folder.eq_ignore_ascii_case("INBOX") {
            return Err(InboundAccountError::FolderWithPop3);
        }
        settings.folder = folder.to_owned();
        if !valid_timeout(settings.timeout) {
            return Err(InboundAccountError::InvalidTimeout);
        }
        if !MESSAGE_BYTES_RANGE.contains(&settings.max_message_bytes) {
            return Err(InboundAccountError::InvalidMaxMessageBytes);
        }
        if !MESSAGES_RANGE.contains(&settings.max_messages) {
            return Err(InboundAccountError::InvalidMaxMessages);
        }
        Ok(Self { settings })
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// IMAP or POP3.
    pub fn protocol(&self) -> Protocol {
        self.settings.protocol
    }

    /// The server host.
    pub fn host(&self) -> &str {
        &self.settings.host
    }

    /// The server port.
    pub fn port(&self) -> u16 {
        self.settings.port
    }

    /// The connection protection.
    pub fn security(&self) -> Security {
        self.settings.security
    }

    /// The login.
    pub fn auth(&self) -> &InboundAuth {
        &self.settings.auth
    }

    /// True when logging in needs an OAuth2 access token.
    pub fn uses_oauth2(&self) -> bool {
        matches!(self.settings.auth, InboundAuth::OAuth2 { .. })
    }

    /// The IMAP folder (`INBOX` for POP3).
    pub fn folder(&self) -> &str {
        &self.settings.folder
    }

    /// True when processed messages stay on the server.
    pub fn keep_copy(&self) -> bool {
        self.settings.keep_copy
    }

    /// True when certificate and host name checks are disabled.
    pub fn dangerous_ignore_cert_errors(&self) -> bool {
        self.settings.dangerous_ignore_cert_errors
    }

    /// The limit of each network operation.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Bytes kept of one message.
    pub fn max_message_bytes(&self) -> usize {
        self.settings.max_message_bytes
    }

    /// New messages fetched by one check.
    pub fn max_messages(&self) -> usize {
        self.settings.max_messages
    }

    /// What an administrator should be warned about (the account still works).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.settings.dangerous_ignore_cert_errors && self.settings.security != Security::None {
            warnings.push(Warning::CertificateChecksDisabled);
        }
        if self.settings.security == Security::None && !is_loopback_host(&self.settings.host) {
            warnings.push(Warning::CredentialsInPlainText);
        }
        warnings
    }
}

/// Why inbound account settings were refused. Each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboundAccountError {
    /// The name is empty or longer than 100 characters.
    #[error("name must be 1 to 100 characters")]
    InvalidName,
    /// The host is empty, too long, or has white space, control characters or `/`.
    #[error("host must be a host name or IP address (no spaces, no scheme, at most 253 bytes)")]
    InvalidHost,
    /// The port is 0.
    #[error("port must be between 1 and 65535")]
    InvalidPort,
    /// The username is empty or has control characters.
    #[error("username must be non-empty text without control characters")]
    InvalidUsername,
    /// The folder is too long or has control characters.
    #[error("folder must be at most 255 characters without control characters")]
    InvalidFolder,
    /// A POP3 account names a folder other than the inbox.
    #[error("folder must be INBOX (or blank) for POP3, which has no folders")]
    FolderWithPop3,
    /// The timeout is zero or longer than 10 minutes.
    #[error("timeout must be more than 0 and at most 600 seconds")]
    InvalidTimeout,
    /// The per-message size limit is out of range.
    #[error("max_message_bytes must be between 1024 and 52428800")]
    InvalidMaxMessageBytes,
    /// The per-check message count is out of range.
    #[error("max_messages must be between 1 and 10000")]
    InvalidMaxMessages,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn base(protocol: Protocol) -> InboundSettings {
        InboundSettings::new(
            "bounces",
            protocol,
            "mail.example.com",
            InboundAuth::Password {
                username: "bounces@example.com".into(),
                password: "pw-SECRET".into(),
            },
        )
    }

    #[test]
    fn defaults_are_safe() {
        for (protocol, port) in [(Protocol::Imap, 993), (Protocol::Pop3, 995)] {
            let account = InboundAccount::new(base(protocol)).expect("valid");
            assert_eq!(account.port(), port);
            assert_eq!(account.security(), Security::Tls);
            assert!(!account.dangerous_ignore_cert_errors());
            assert!(account.keep_copy());
            assert_eq!(account.folder(), "INBOX");
            assert!(account.warnings().is_empty());
        }
    }

    #[test]
    fn invalid_settings_name_the_field() {
        type Edit = fn(&mut InboundSettings);
        let rows: &[(&str, Protocol, Edit, &str)] = &[
            (
                "empty name",
                Protocol::Imap,
                |s| s.name = " ".into(),
                "name",
            ),
            (
                "host with scheme",
                Protocol::Imap,
                |s| s.host = "imaps://x".into(),
                "host",
            ),
            ("port 0", Protocol::Imap, |s| s.port = 0, "port"),
            (
                "blank user",
                Protocol::Imap,
                |s| {
                    s.auth = InboundAuth::OAuth2 {
                        username: " ".into(),
                        mechanism: OAuth2Mechanism::XOAuth2,
                    }
                },
                "username",
            ),
            (
                "folder with newline",
                Protocol::Imap,
                |s| s.folder = "a\r\nb".into(),
                "folder",
            ),
            (
                "pop3 folder",
                Protocol::Pop3,
                |s| s.folder = "Bounces".into(),
                "folder",
            ),
            (
                "zero timeout",
                Protocol::Imap,
                |s| s.timeout = Duration::ZERO,
                "timeout",
            ),
            (
                "tiny size",
                Protocol::Imap,
                |s| s.max_message_bytes = 10,
                "max_message_bytes",
            ),
            (
                "no messages",
                Protocol::Pop3,
                |s| s.max_messages = 0,
                "max_messages",
            ),
        ];
        for (name, protocol, edit, field) in rows {
            let mut s = base(*protocol);
            edit(&mut s);
            let err = InboundAccount::new(s).expect_err(name);
            assert!(err.to_string().starts_with(field), "row {name}: {err}");
        }
    }

    #[test]
    fn blank_folder_is_the_inbox_and_pop3_accepts_inbox() {
        let mut s = base(Protocol::Pop3);
        s.folder = " inbox ".into();
        assert_eq!(InboundAccount::new(s).expect("valid").folder(), "inbox");
        let mut s = base(Protocol::Imap);
        s.folder = String::new();
        assert_eq!(InboundAccount::new(s).expect("valid").folder(), "INBOX");
    }

    #[test]
    fn warnings_and_redaction() {
        let mut s = base(Protocol::Imap);
        s.dangerous_ignore_cert_errors = true;
        let account = InboundAccount::new(s.clone()).expect("valid");
        assert_eq!(account.warnings(), [Warning::CertificateChecksDisabled]);
        s.security = Security::None;
        s.dangerous_ignore_cert_errors = false;
        let account = InboundAccount::new(s.clone()).expect("valid");
        assert_eq!(account.warnings(), [Warning::CredentialsInPlainText]);
        s.host = "127.0.0.1".into();
        assert!(
            InboundAccount::new(s.clone())
                .expect("valid")
                .warnings()
                .is_empty()
        );
        let shown = format!("{s:?} {account:?}");
        assert!(!shown.contains("pw-SECRET"), "{shown}");
    }
}
