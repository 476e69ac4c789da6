//! [`SmtpAccount`]: a checked SMTP account (server, security, authentication, addresses).

use std::net::IpAddr;
use std::time::Duration;

use lettre::Address;
use lettre::message::Mailbox;

use crate::SecretString;

/// Default limit of one whole send (connect, TLS, AUTH and the mail together).
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest accepted timeout.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest host name (RFC 1035).
const MAX_HOST_LEN: usize = 253;

/// Longest account name, in characters.
const MAX_NAME_LEN: usize = 100;

/// Longest footer, in characters.
pub const MAX_FOOTER_LEN: usize = 1000;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain text (only for a trusted local relay).
    None,
    /// Plain connection upgraded with STARTTLS, which is required: a server that does not
    /// offer it is refused (no silent fall back to plain text). Usually port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS", implicit TLS). Usually port 465.
    Tls,
}

/// How the account authenticates to the SMTP server.
#[derive(Clone, Debug)]
pub enum SmtpAuth {
    /// No authentication (relay by IP).
    None,
    /// SASL PLAIN or LOGIN with a password.
    Password {
        /// The login.
        username: String,
        /// The password (`Debug` redacts it).
        password: SecretString,
    },
    /// SASL XOAUTH2 with an access token of the account's OAuth2 profile, supplied at send
    /// time by a [`TokenProvider`](crate::email::TokenProvider).
    OAuth2 {
        /// The mailbox the token was issued for (`user=` in XOAUTH2).
        username: String,
    },
}

/// The raw, unchecked fields of an SMTP account. Turn them into an [`SmtpAccount`] with
/// [`SmtpAccount::new`]. `Debug` redacts the password.
#[derive(Clone, Debug)]
pub struct SmtpAccountSettings {
    /// The account's name (shown in attempts and reports).
    pub name: String,
    /// SMTP server host name or IP address.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// Connection protection.
    pub security: Security,
    /// Authentication.
    pub auth: SmtpAuth,
    /// `From`: `addr@example.com` or `Name <addr@example.com>`.
    pub sender: String,
    /// `Reply-To`, same forms as `sender`.
    pub reply_to: Option<String>,
    /// Envelope sender (`MAIL FROM`, where bounces go); the sender's address when absent.
    pub return_path: Option<String>,
    /// Address asked for read receipts (`Disposition-Notification-To`) on notifications;
    /// `None` asks for none. Never used on mails carrying a code.
    pub read_receipt_to: Option<String>,
    /// Accept any server certificate and host name (self-signed relays). Off by default;
    /// it exposes credentials to an active attacker, see [`Warning`].
    pub ignore_cert_errors: bool,
    /// Limit of one whole send (connect, TLS, AUTH and the mail together).
    pub timeout: Duration,
    /// Text appended to every mail the account sends, after a `-- ` signature separator
    /// (a legal notice, a contact line). `None` or blank: no footer. Plain text, at most
    /// [`MAX_FOOTER_LEN`] characters; tabs and line breaks are the only control characters
    /// allowed (CR LF is stored as LF).
    pub footer: Option<String>,
}

impl SmtpAccountSettings {
    /// Settings for `host` on port 587 with required STARTTLS, no authentication, no
    /// reply-to / return-path / read receipt, certificate checks on and
    /// [`DEFAULT_SMTP_TIMEOUT`]. Adjust the public fields, then call [`SmtpAccount::new`].
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        sender: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port: 587,
            security: Security::StartTls,
            auth: SmtpAuth::None,
            sender: sender.into(),
            reply_to: None,
            return_path: None,
            read_receipt_to: None,
            ignore_cert_errors: false,
            timeout: DEFAULT_SMTP_TIMEOUT,
            footer: None,
        }
    }
}

/// Something an administrator should be warned about (the account still works).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// `ignore_cert_errors` is on: anyone on the path can impersonate the server.
    CertificateChecksDisabled,
    /// A password or token is sent over a plain-text connection to a non-loopback host.
    CredentialsInPlainText,
}

/// A checked SMTP account. `Debug` redacts the password.
#[derive(Clone, Debug)]
pub struct SmtpAccount {
    name: String,
    host: String,
    port: u16,
    security: Security,
    auth: SmtpAuth,
    sender: Mailbox,
    reply_to: Option<Mailbox>,
    return_path: Option<Address>,
    read_receipt_to: Option<Address>,
    ignore_cert_errors: bool,
    timeout: Duration,
    footer: Option<String>,
}

impl SmtpAccount {
    /// Checks `settings`: a non-empty name (at most 100 characters); a host without white
    /// space (at most 253 bytes); a non-zero port; parseable sender / reply-to mailboxes and
    /// return-path / read-receipt addresses; a non-empty username for password and OAuth2
    /// authentication; a timeout between 1 ms and 10 minutes; a footer of plain text.
    pub fn new(settings: SmtpAccountSettings) -> Result<Self, AccountError> {
        let SmtpAccountSettings {
            name,
            host,
            port,
            security,
            auth,
            sender,
            reply_to,
            return_path,
            read_receipt_to,
            ignore_cert_errors,
            timeout,
            footer,
        } = settings;
        let name = checked_name(&name).ok_or(AccountError::InvalidName)?;
        let host = checked_host(&host).ok_or(AccountError::InvalidHost)?;
        if port == 0 {
            return Err(AccountError::InvalidPort);
        }
        let sender = mailbox("sender", &sender)?;
        let reply_to = optional(reply_to, |v| mailbox("reply_to", v))?;
        let return_path = optional(return_path, |v| address("return_path", v))?;
        let read_receipt_to = optional(read_receipt_to, |v| address("read_receipt_to", v))?;
        match &auth {
            SmtpAuth::Password { username, .. } | SmtpAuth::OAuth2 { username }
                if username.trim().is_empty() =>
            {
                return Err(AccountError::MissingUsername);
            }
            _ => {}
        }
        if !valid_timeout(timeout) {
            return Err(AccountError::InvalidTimeout);
        }
        let footer = footer.map(|f| checked_footer(&f)).transpose()?.flatten();
        Ok(Self {
            name,
            host,
            port,
            security,
            auth,
            sender,
            reply_to,
            return_path,
            read_receipt_to,
            ignore_cert_errors,
            timeout,
            footer,
        })
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection protection.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The authentication.
    pub fn auth(&self) -> &SmtpAuth {
        &self.auth
    }

    /// True when sending needs an OAuth2 access token.
    pub fn uses_oauth2(&self) -> bool {
        matches!(self.auth, SmtpAuth::OAuth2 { .. })
    }

    /// The `From` mailbox.
    pub fn sender(&self) -> &Mailbox {
        &self.sender
    }

    /// The `Reply-To` mailbox.
    pub fn reply_to(&self) -> Option<&Mailbox> {
        self.reply_to.as_ref()
    }

    /// The envelope sender: the return path, else the sender's address.
    pub fn envelope_sender(&self) -> &Address {
        self.return_path.as_ref().unwrap_or(&self.sender.email)
    }

    /// Where read receipts of notifications go, if asked for.
    pub fn read_receipt_to(&self) -> Option<&Address> {
        self.read_receipt_to.as_ref()
    }

    /// True when certificate and host name checks are disabled.
    pub fn ignore_cert_errors(&self) -> bool {
        self.ignore_cert_errors
    }

    /// The limit of one whole send.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The footer appended to every mail, if any.
    pub fn footer(&self) -> Option<&str> {
        self.footer.as_deref()
    }

    /// What an administrator should be warned about.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.ignore_cert_errors && self.security != Security::None {
            warnings.push(Warning::CertificateChecksDisabled);
        }
        let has_credentials = !matches!(self.auth, SmtpAuth::None);
        if has_credentials && self.security == Security::None && !is_loopback_host(&self.host) {
            warnings.push(Warning::CredentialsInPlainText);
        }
        warnings
    }
}

/// A footer as stored: CR LF and lone CR become LF, surrounding blank space is dropped
/// (blank: no footer); then at most [`MAX_FOOTER_LEN`] characters, no control characters but
/// tab and line feed.
fn checked_footer(footer: &str) -> Result<Option<String>, AccountError> {
    let footer = footer.replace("\r\n", "\n").replace('\r', "\n");
    let footer = footer.trim();
    if footer.is_empty() {
        return Ok(None);
    }
    if footer.chars().count() > MAX_FOOTER_LEN {
        return Err(AccountError::InvalidFooter {
            reason: "longer than 1000 characters",
        });
    }
    if footer
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AccountError::InvalidFooter {
            reason: "control characters other than tab and line break",
        });
    }
    Ok(Some(footer.to_owned()))
}

fn optional<T>(
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, AccountError>,
) -> Result<Option<T>, AccountError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse(v.trim()))
        .transpose()
}

fn mailbox(field: &'static str, value: &str) -> Result<Mailbox, AccountError> {
    value
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| AccountError::InvalidAddress {
            field,
            reason: e.to_string(),
        })
}

fn address(field: &'static str, value: &str) -> Result<Address, AccountError> {
    value
        .trim()
        .parse::<Address>()
        .map_err(|e| AccountError::InvalidAddress {
            field,
            reason: e.to_string(),
        })
}

/// An account name without surrounding space: 1 to 100 characters. Shared by the SMTP
/// and inbound accounts.
pub(crate) fn checked_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= MAX_NAME_LEN).then(|| name.to_owned())
}

/// A server host without surrounding space: at most 253 bytes, no white space, control
/// characters or `/` (so no scheme). Shared by the SMTP and inbound accounts.
pub(crate) fn checked_host(host: &str) -> Option<String> {
    let host = host.trim();
    let valid = !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && !host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
    valid.then(|| host.to_owned())
}

/// A network timeout between 1 ms and 10 minutes. Shared by the SMTP and inbound
/// accounts.
pub(crate) fn valid_timeout(timeout: Duration) -> bool {
    !timeout.is_zero() && timeout <= MAX_TIMEOUT
}

/// True for `localhost`, 127.0.0.0/8 and ::1 (with or without brackets).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Why SMTP account settings were refused. Each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The name is empty or longer than 100 characters.
    #[error("name must be 1 to 100 characters")]
    InvalidName,
    /// The host is empty, too long, or contains white space, control characters or `/`.
    #[error("host must be a host name or IP address (no spaces, no scheme, at most 253 bytes)")]
    InvalidHost,
    /// The port is 0.
    #[error("port must be between 1 and 65535")]
    InvalidPort,
    /// A mailbox or address field does not parse.
    #[error("{field} is not a valid mail address: {reason}")]
    InvalidAddress {
        /// The field name.
        field: &'static str,
        /// The parser's reason.
        reason: String,
    },
    /// Password or OAuth2 authentication without a username.
    #[error("username is required for password and OAuth2 authentication")]
    MissingUsername,
    /// The timeout is zero or longer than 10 minutes.
    #[error("timeout must be more than 0 and at most 600 seconds")]
    InvalidTimeout,
    /// The footer is too long or holds control characters.
    #[error("the footer must be plain text of at most 1000 characters; this one has {reason}")]
    InvalidFooter {
        /// What is wrong.
        reason: &'static str,
    },
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn base() -> SmtpAccountSettings {
        SmtpAccountSettings::new("main", "smtp.example.com", "SAE <sae@example.com>")
    }

    #[test]
    fn defaults_are_safe() {
        let account = SmtpAccount::new(base()).expect("valid");
        assert_eq!(account.port(), 587);
        assert_eq!(account.security(), Security::StartTls);
        assert!(!account.ignore_cert_errors());
        assert_eq!(account.envelope_sender().to_string(), "sae@example.com");
        assert!(account.warnings().is_empty());
    }

    #[test]
    fn invalid_settings_name_the_field() {
        type Edit = fn(&mut SmtpAccountSettings);
        let rows: &[(&str, Edit, &str)] = &[
            ("empty name", |s| s.name = " ".into(), "name"),
            ("host with scheme", |s| s.host = "smtp://x".into(), "host"),
            ("host with space", |s| s.host = "a b".into(), "host"),
            ("port 0", |s| s.port = 0, "port"),
            (
                "bad sender",
                |s| s.sender = "not an address".into(),
                "sender",
            ),
            (
                "bad reply_to",
                |s| s.reply_to = Some("x@".into()),
                "reply_to",
            ),
            (
                "bad return_path",
                |s| s.return_path = Some("Name <a@b.c>".into()),
                "return_path",
            ),
            (
                "bad read_receipt_to",
                |s| s.read_receipt_to = Some("@b".into()),
                "read_receipt_to",
            ),
            (
                "password without user",
                |s| {
                    s.auth = SmtpAuth::Password {
                        username: "".into(),
                        password: "p".into(),
                    }
                },
                "username",
            ),
            (
                "oauth2 without user",
                |s| {
                    s.auth = SmtpAuth::OAuth2 {
                        username: " ".into(),
                    }
                },
                "username",
            ),
            ("zero timeout", |s| s.timeout = Duration::ZERO, "timeout"),
            (
                "footer too long",
                |s| s.footer = Some("x".repeat(MAX_FOOTER_LEN + 1)),
                "footer",
            ),
            (
                "footer with escape",
                |s| s.footer = Some("a\u{1b}[31mred".into()),
                "footer",
            ),
            (
                "footer with NUL",
                |s| s.footer = Some("a\0b".into()),
                "footer",
            ),
            (
                "huge timeout",
                |s| s.timeout = Duration::from_secs(3600),
                "timeout",
            ),
        ];
        for (name, edit, field) in rows {
            let mut s = base();
            edit(&mut s);
            let err = SmtpAccount::new(s).expect_err(name);
            assert!(err.to_string().contains(field), "row {name}: {err}");
        }
    }

    #[test]
    fn optional_fields_parse() {
        let mut s = base();
        s.reply_to = Some("Help <help@example.com>".into());
        s.return_path = Some("bounces@example.com".into());
        s.read_receipt_to = Some("receipts@example.com".into());
        s.auth = SmtpAuth::OAuth2 {
            username: "box@example.com".into(),
        };
        let account = SmtpAccount::new(s).expect("valid");
        assert_eq!(account.envelope_sender().to_string(), "bounces@example.com");
        assert_eq!(
            account.reply_to().map(|m| m.email.to_string()).as_deref(),
            Some("help@example.com")
        );
        assert!(account.uses_oauth2());
    }

    #[test]
    fn footers_are_normalised() {
        let rows: &[(&str, Option<&str>, Option<&str>)] = &[
            ("absent", None, None),
            ("blank", Some(" \r\n\t "), None),
            (
                "CR LF and CR become LF; outer space trimmed",
                Some("\n Example Corp\r\nConfidential\rline 3\t \n"),
                Some("Example Corp\nConfidential\nline 3"),
            ),
            ("tab inside kept", Some("a\tb"), Some("a\tb")),
            (
                "unicode",
                Some("Société — São Paulo"),
                Some("Société — São Paulo"),
            ),
        ];
        for (name, given, expected) in rows {
            let mut s = base();
            s.footer = given.map(str::to_owned);
            let account = SmtpAccount::new(s).expect(name);
            assert_eq!(account.footer(), *expected, "row {name}");
        }
        let mut s = base();
        s.footer = Some("é".repeat(MAX_FOOTER_LEN));
        assert!(
            SmtpAccount::new(s).is_ok(),
            "the limit counts characters, not bytes"
        );
    }

    #[test]
    fn warnings_table() {
        // (name, security, ignore_cert_errors, host, password auth, expected)
        type Row = (
            &'static str,
            Security,
            bool,
            &'static str,
            bool,
            &'static [Warning],
        );
        let rows: &[Row] = &[
            ("safe", Security::Tls, false, "smtp.example.com", true, &[]),
            (
                "ignore certs",
                Security::StartTls,
                true,
                "smtp.example.com",
                false,
                &[Warning::CertificateChecksDisabled],
            ),
            (
                "plain with password",
                Security::None,
                false,
                "smtp.example.com",
                true,
                &[Warning::CredentialsInPlainText],
            ),
            (
                "plain with password on loopback",
                Security::None,
                false,
                "127.0.0.1",
                true,
                &[],
            ),
            (
                "plain without auth",
                Security::None,
                false,
                "smtp.example.com",
                false,
                &[],
            ),
        ];
        for (name, security, ignore, host, password, expected) in rows {
            let mut s = base();
            s.security = *security;
            s.ignore_cert_errors = *ignore;
            s.host = (*host).into();
            if *password {
                s.auth = SmtpAuth::Password {
                    username: "u".into(),
                    password: "p".into(),
                };
            }
            let account = SmtpAccount::new(s).expect(name);
            assert_eq!(account.warnings(), *expected, "row {name}");
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let mut s = base();
        s.auth = SmtpAuth::Password {
            username: "u".into(),
            password: "pa55-SECRET".into(),
        };
        let shown = format!("{s:?} {:?}", SmtpAccount::new(s.clone()).expect("valid"));
        assert!(!shown.contains("pa55-SECRET"), "{shown}");
    }
}
