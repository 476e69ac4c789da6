//! One SMTP send through lettre.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::account::{Security, SmtpAccount, SmtpAuth};
use super::error::SendError;
use super::mail::OutgoingMail;
use crate::SecretString;

/// The server's positive answer to a sent mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    reply: String,
    message_id: Option<String>,
}

impl Accepted {
    /// The final reply, e.g. `250 OK queued as 4Xz`.
    pub fn reply(&self) -> &str {
        &self.reply
    }

    /// The Message-ID of a tracked mail (see
    /// [`OutgoingMail::with_tracking`](super::OutgoingMail::with_tracking)).
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
}

/// Sends `mail` through `account` once: connect, TLS as configured, authenticate, send,
/// all within the account's timeout.
///
/// For an OAuth2 account `access_token` is required (SASL XOAUTH2 with the account's
/// username); other accounts ignore it. No retry here: see
/// [`send`](crate::email::send) for the refresh-and-retry and
/// [`send_with_failover`](crate::email::send_with_failover) for failover.
pub async fn send_mail(
    account: &SmtpAccount,
    mail: &OutgoingMail,
    access_token: Option<&SecretString>,
) -> Result<Accepted, SendError> {
    let rendered = mail.render(account)?;
    let (transport, xoauth2) = transport(account, access_token)?;
    // lettre's async transport bounds only the TCP connect; a server that accepts and then
    // stalls would hold the send forever, so the whole dialogue is bounded here.
    let response = tokio::time::timeout(account.timeout(), transport.send(rendered.message))
        .await
        .map_err(|_| timeout(account, "connect, TLS, AUTH and sending together"))?
        .map_err(|e| SendError::from_lettre(&e, xoauth2))?;
    let mut reply = u16::from(response.code()).to_string();
    for line in response.message() {
        reply.push(' ');
        reply.push_str(line);
    }
    Ok(Accepted {
        reply,
        message_id: rendered.message_id,
    })
}

/// Connects, secures and authenticates as the account would to send, then quits without
/// sending: tells whether the server accepts the account's credentials (for an OAuth2
/// account, whether it accepts `access_token` for the account's username — the check that
/// a token is for the account's mailbox when the provider did not say which it is for).
pub async fn authenticate(
    account: &SmtpAccount,
    access_token: Option<&SecretString>,
) -> Result<(), SendError> {
    let (transport, xoauth2) = transport(account, access_token)?;
    tokio::time::timeout(account.timeout(), transport.test_connection())
        .await
        .map_err(|_| timeout(account, "connect, TLS and AUTH together"))?
        .map_err(|e| SendError::from_lettre(&e, xoauth2))
        .map(|_| ())
}

fn timeout(account: &SmtpAccount, what: &str) -> SendError {
    SendError::Timeout {
        text: format!(
            "no complete answer within {} ms ({what})",
            account.timeout().as_millis()
        ),
    }
}

/// lettre's transport for the account, and whether it authenticates with XOAUTH2.
fn transport(
    account: &SmtpAccount,
    access_token: Option<&SecretString>,
) -> Result<(AsyncSmtpTransport<Tokio1Executor>, bool), SendError> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(account.host())
        .port(account.port())
        .timeout(Some(account.timeout()))
        .tls(tls(account)?);
    let xoauth2 = match account.auth() {
        SmtpAuth::None => false,
        SmtpAuth::Password { username, password } => {
            builder = builder
                .credentials(Credentials::new(
                    username.clone(),
                    password.expose().to_owned(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            false
        }
        SmtpAuth::OAuth2 { username } => {
            let token = access_token.ok_or(SendError::MissingAccessToken)?;
            builder = builder
                .credentials(Credentials::new(
                    username.clone(),
                    token.expose().to_owned(),
                ))
                .authentication(vec![Mechanism::Xoauth2]);
            true
        }
    };
    Ok((builder.build(), xoauth2))
}

/// lettre's TLS setting for the account. STARTTLS is required, never opportunistic.
fn tls(account: &SmtpAccount) -> Result<Tls, SendError> {
    let wrap: fn(TlsParameters) -> Tls = match account.security() {
        Security::None => return Ok(Tls::None),
        Security::StartTls => Tls::Required,
        Security::Tls => Tls::Wrapper,
    };
    let ignore = account.ignore_cert_errors();
    let parameters = TlsParameters::builder(account.host().to_owned())
        .dangerous_accept_invalid_certs(ignore)
        .dangerous_accept_invalid_hostnames(ignore)
        .build_rustls()
        .map_err(|e| SendError::Tls {
            text: e.to_string(),
        })?;
    Ok(wrap(parameters))
}
