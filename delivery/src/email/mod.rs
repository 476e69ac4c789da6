//! E-mail delivery: SMTP accounts (lettre) with password or OAuth2 (SASL XOAUTH2)
//! authentication, OAuth2 token management, and failover across accounts.
//!
//! This module does network I/O (tokio) but knows nothing of the database: the server
//! stores profiles, tokens (encrypted) and PKCE state, and passes them in.
//!
//! # OAuth2 flows
//!
//! A profile ([`oauth2::OAuth2Profile`], built from [`oauth2::ProfileSettings`] or copied
//! from a read-only [`oauth2::Preset`]: Microsoft 365 authorization code, Microsoft 365
//! client credentials, Google authorization code) uses one of two flows.
//!
//! **Authorization code + PKCE (S256)** — "renew authorization":
//! 1. [`OAuth2Profile::authorization_request`](oauth2::OAuth2Profile::authorization_request)
//!    draws `state` and a PKCE verifier from a crypto RNG (or the OS RNG with
//!    `authorization_request_os`) and builds the provider URL. The server stores state →
//!    (profile, verifier, expiry) and sends the administrator's browser to the URL.
//! 2. The provider redirects to `redirect_url?code=…&state=…`. The server looks the state up
//!    (single use) and calls [`TokenClient::exchange_code`](oauth2::TokenClient::exchange_code)
//!    with the stored verifier; the provider checks the verifier against the challenge.
//! 3. The [`oauth2::Token`] (access token, refresh token, `expires_at` computed from
//!    `expires_in` and the `now` passed in) is stored encrypted.
//! 4. Before use, [`oauth2::needs_refresh`] (`expires_at - now <` 5 minutes) decides whether
//!    to call [`TokenClient::refresh`](oauth2::TokenClient::refresh); a refresh answer
//!    without a refresh token keeps the old one, a rotated one replaces it.
//!
//! **Client credentials**: [`TokenClient::client_credentials`](oauth2::TokenClient::client_credentials)
//! asks for a token with the client secret; there is no refresh token, "refresh" asks
//! again. [`TokenClient::renew`](oauth2::TokenClient::renew) picks the right call by flow.
//!
//! Token errors ([`oauth2::OAuth2Error`]): `invalid_grant` is its own variant
//! (`InvalidGrant`) and, with `NoRefreshToken`, reports
//! [`needs_reauthorization`](oauth2::OAuth2Error::needs_reauthorization) so the server
//! marks the profile; other provider errors keep the provider's `error` and
//! `error_description`; unreachable endpoints and 5xx/429 are
//! [`is_transient`](oauth2::OAuth2Error::is_transient). Provider URLs must be `https`
//! (plain `http` only to loopback, for tests); the client never follows redirects.
//!
//! # Sending
//!
//! [`SmtpAccount`] (from [`SmtpAccountSettings`]): host, port, [`Security`] (`None`,
//! `StartTls` — required, never opportunistic — or implicit `Tls`), [`SmtpAuth`] (`None`,
//! `Password` with PLAIN/LOGIN, `OAuth2` with XOAUTH2 as the mailbox `username`), sender,
//! reply-to, return path (the envelope sender), read-receipt address, `ignore_cert_errors`
//! (off by default; when on, both the certificate chain and the host name are accepted
//! unchecked, and [`SmtpAccount::warnings`] says so), and a timeout that bounds the whole
//! send (lettre's async transport bounds only the TCP connect, so the dialogue is wrapped
//! in `tokio::time::timeout`).
//!
//! An [`OutgoingMail`] is plain text to one recipient with a [`MailKind`]:
//! `Disposition-Notification-To` is added only to `Notification` mails of an account with a
//! read-receipt address, never to `Code` or `Test` mails.
//!
//! - [`smtp::send_mail`]: one attempt, with the access token the caller supplies.
//! - [`send`]: for OAuth2 accounts asks a [`TokenProvider`] for the current token; if the
//!   server refuses it, asks for a refreshed token once and retries once.
//! - [`send_test_mail`]: "test configuration"; the error text is the SMTP error.
//! - [`send_with_failover`]: tries accounts in [`failover_order`] (active default first,
//!   then the other active accounts) and returns a [`FailoverReport`] with every
//!   [`Attempt`] (account, [`Outcome`], error text or server reply, latency, whether the
//!   token was refreshed).
//!
//! ```no_run
//! use delivery::email::oauth2::{
//!     DEFAULT_TOKEN_TIMEOUT, MICROSOFT_365_AUTHORIZATION_CODE, OAuth2Profile, TokenClient,
//! };
//! use delivery::email::{
//!     MailKind, OutgoingMail, Security, SmtpAccount, SmtpAccountSettings, SmtpAuth,
//!     TokenProvider, send,
//! };
//!
//! # async fn demo(now: u64, code: &str, tokens: &impl TokenProvider)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! // "Renew authorization": copy a preset, build the provider URL.
//! let settings = MICROSOFT_365_AUTHORIZATION_CODE.settings(
//!     Some("contoso.onmicrosoft.com"),
//!     "client-id".into(),
//!     "client-secret".into(),
//!     Some("https://sae.example/v1/oauth2/callback".into()),
//! )?;
//! let profile = OAuth2Profile::new(settings)?;
//! let request = profile.authorization_request_os(Some("noreply@contoso.com"))?;
//! // Store request.state() -> request.pkce_verifier(), send the browser to request.url().
//! // The callback brings `code` and the state back:
//! let client = TokenClient::new(DEFAULT_TOKEN_TIMEOUT)?;
//! let token = client.exchange_code(&profile, code, request.pkce_verifier(), now).await?;
//! // Store `token` encrypted; a TokenProvider hands it (refreshed when due) to `send`.
//! # let _ = token;
//!
//! let mut account = SmtpAccountSettings::new("office", "smtp.office365.com", "noreply@contoso.com");
//! account.security = Security::StartTls;
//! account.auth = SmtpAuth::OAuth2 { username: "noreply@contoso.com".into() };
//! let account = SmtpAccount::new(account)?;
//! let mail = OutgoingMail::new("user@example.org", "Your code", "Code: 123456", MailKind::Code)?;
//! let sent = send(&account, &mail, tokens).await?;
//! println!("{}", sent.reply());
//! # Ok(()) }
//! ```
//!
//! # Error classification
//!
//! Every failed send has an [`ErrorClass`], the classification the SMS channel uses too;
//! [`SendError`] and [`DispatchError`] say in their own terms what the server objected to:
//!
//! | failure | class | what the caller does |
//! |---|---|---|
//! | `SendError::Authentication`: SMTP 530/534/535; an XOAUTH2 error challenge (Gmail style) | permanent | OAuth2: refresh once and retry (done by [`send`]); then the next account |
//! | `SendError::Transient`: connection refused/reset, DNS, SMTP 4xx (incl. 454) | transient | next account; the outbox retries later |
//! | `SendError::Timeout`: no complete answer within the account's timeout | timeout | next account; the outbox retries later |
//! | `SendError::Permanent`: other SMTP 5xx (policy, relay denied, size), misconfiguration | permanent | next account |
//! | `SendError::Recipient`: 5xx with enhanced status `5.1.x` (unknown or invalid recipient) | recipient | stop: no account will do better |
//! | `SendError::Tls`: handshake failure (untrusted or mismatched certificate, protocol), STARTTLS required but not offered; the text says why | permanent | next account; fix the configuration |
//! | `DispatchError::Token`: the [`TokenProvider`] failed | transient when the cause is an [`oauth2::OAuth2Error`] that [`is_transient`](oauth2::OAuth2Error::is_transient), else permanent (e.g. `invalid_grant`) | next account |
//!
//! [`should_try_next`] is the whole failover decision.
//!
//! # Secrets
//!
//! Passwords, client secrets, access and refresh tokens and PKCE verifiers are
//! [`SecretString`]s: redacted `Debug`, zeroized on drop, read only with `expose()`.
//! Settings, profiles, tokens and mails (whose body may hold a code) never print them, and
//! no error message contains them.

mod dispatch;
mod failover;
pub mod inbound;
pub mod oauth2;
pub mod smtp;

/// The crate's one secret text type, also reachable here.
pub use crate::SecretString;
pub use dispatch::{
    DispatchError, NoOAuth2, NoOAuth2Error, Sent, TokenProvider, TokenRequest, send, send_test_mail,
};
pub use failover::{
    AccountRole, Attempt, FailoverReport, failover_order, send_with_failover, should_try_next,
};
pub use smtp::{
    MailKind, OutgoingMail, Security, SendError, SmtpAccount, SmtpAccountSettings, SmtpAuth,
    Tracking, TrackingError,
};

/// The classification both channels share, its accessors, and how an attempt ended, also
/// reachable here.
pub use crate::{Classified, ErrorClass, Outcome};
