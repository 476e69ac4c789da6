//! [`send`]: one mail through one account, with the OAuth2 refresh-and-retry rule.

use std::error::Error as StdError;
use std::future::Future;

use super::oauth2::OAuth2Error;
use super::smtp::{Accepted, OutgoingMail, SendError, SmtpAccount, send_mail};
use crate::{Classified, ErrorClass, SecretString};

/// Which access token the dispatcher asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRequest {
    /// The stored token, refreshed first if [`needs_refresh`](super::oauth2::needs_refresh)
    /// says so.
    Current,
    /// A new token even if the stored one looks valid: the SMTP server just refused it
    /// (revoked, or expired early).
    Refreshed,
}

/// Supplies OAuth2 access tokens for accounts with [`SmtpAuth::OAuth2`](super::SmtpAuth).
///
/// The server implements it over its store: look up the account's profile, decrypt the
/// token, call [`TokenClient::renew`](super::oauth2::TokenClient::renew) when asked (or when
/// the token needs a refresh), save the new token, and on
/// [`OAuth2Error::needs_reauthorization`](super::oauth2::OAuth2Error::needs_reauthorization)
/// mark the profile "authorise again" before returning the error.
pub trait TokenProvider: Sync {
    /// The provider's error (shown as the attempt's error text).
    type Error: StdError + Send + Sync + 'static;

    /// The access token to use for `account`.
    fn access_token(
        &self,
        account: &SmtpAccount,
        request: TokenRequest,
    ) -> impl Future<Output = Result<SecretString, Self::Error>> + Send;
}

/// A [`TokenProvider`] for deployments without OAuth2: every request fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOAuth2;

/// The error of [`NoOAuth2`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("OAuth2 is not configured for this sender")]
pub struct NoOAuth2Error;

impl TokenProvider for NoOAuth2 {
    type Error = NoOAuth2Error;

    async fn access_token(
        &self,
        _account: &SmtpAccount,
        _request: TokenRequest,
    ) -> Result<SecretString, Self::Error> {
        Err(NoOAuth2Error)
    }
}

/// A mail the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    accepted: Accepted,
    refreshed: bool,
}

impl Sent {
    /// The server's final reply (`250 …`).
    pub fn reply(&self) -> &str {
        self.accepted.reply()
    }

    /// The Message-ID of a tracked mail.
    pub fn message_id(&self) -> Option<&str> {
        self.accepted.message_id()
    }

    /// True when the first token was refused and the mail went out after a refresh.
    pub fn refreshed_token(&self) -> bool {
        self.refreshed
    }
}

/// Why [`send`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The SMTP send failed (after the refresh-and-retry, for OAuth2).
    #[error(transparent)]
    Send(#[from] SendError),
    /// The token provider could not supply an access token. `source` is the provider's
    /// own error (downcast it to see e.g. `invalid_grant`).
    #[error("no OAuth2 access token: {source}")]
    Token {
        /// The provider's error.
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl Classified for DispatchError {
    /// The class retry and failover decide on. A token that could not be obtained is
    /// transient when an [`OAuth2Error`] among the causes says so (endpoint unreachable,
    /// 5xx, 429), permanent otherwise (`invalid_grant`, no refresh token, no provider).
    fn class(&self) -> ErrorClass {
        match self {
            Self::Send(e) => e.class(),
            Self::Token { source } => {
                let mut cause: Option<&(dyn StdError + 'static)> = Some(source.as_ref());
                while let Some(e) = cause {
                    if let Some(oauth2) = e.downcast_ref::<OAuth2Error>() {
                        return if oauth2.is_transient() {
                            ErrorClass::Transient
                        } else {
                            ErrorClass::Permanent
                        };
                    }
                    cause = e.source();
                }
                ErrorClass::Permanent
            }
        }
    }
}

/// Sends `mail` through `account`.
///
/// Without OAuth2 this is one [`send_mail`]. With OAuth2: ask `tokens` for the current
/// token and send; if the server refuses it ([`SendError::is_authentication`]), ask for a
/// refreshed token once and send once more. Any other failure is returned as is.
pub async fn send<P: TokenProvider>(
    account: &SmtpAccount,
    mail: &OutgoingMail,
    tokens: &P,
) -> Result<Sent, DispatchError> {
    if !account.uses_oauth2() {
        let accepted = send_mail(account, mail, None).await?;
        return Ok(Sent {
            accepted,
            refreshed: false,
        });
    }
    let token = fetch_token(tokens, account, TokenRequest::Current).await?;
    match send_mail(account, mail, Some(&token)).await {
        Ok(accepted) => Ok(Sent {
            accepted,
            refreshed: false,
        }),
        Err(e) if e.is_authentication() => {
            let token = fetch_token(tokens, account, TokenRequest::Refreshed).await?;
            let accepted = send_mail(account, mail, Some(&token)).await?;
            Ok(Sent {
                accepted,
                refreshed: true,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// "Test configuration": sends [`OutgoingMail::test`] to `to` through `account`. The error's
/// text is what the administrator sees.
pub async fn send_test_mail<P: TokenProvider>(
    account: &SmtpAccount,
    to: &str,
    tokens: &P,
) -> Result<Sent, DispatchError> {
    let mail = OutgoingMail::test(to, account.name()).map_err(|e| SendError::Message {
        reason: e.to_string(),
    })?;
    send(account, &mail, tokens).await
}

async fn fetch_token<P: TokenProvider>(
    tokens: &P,
    account: &SmtpAccount,
    request: TokenRequest,
) -> Result<SecretString, DispatchError> {
    tokens
        .access_token(account, request)
        .await
        .map_err(|e| DispatchError::Token {
            source: Box::new(e),
        })
}
