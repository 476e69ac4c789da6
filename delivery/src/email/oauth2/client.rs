//! [`TokenClient`]: the HTTP side of OAuth2 (form POSTs to the token endpoint).

use std::error::Error as _;
use std::time::Duration;

use zeroize::Zeroizing;

use super::error::OAuth2Error;
use super::jwt_bearer::{JWT_BEARER_GRANT_TYPE, JwtBearerGrant};
use super::profile::{Flow, OAuth2Profile};
use super::token::{Token, parse_token_answer};
use crate::SecretString;

/// Largest token endpoint answer read, in bytes; a token answer is well under 10 KiB.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Default timeout of a whole token request.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends token requests (RFC 6749 §4.1.3, §4.4, §6) to a profile's token endpoint.
///
/// The client authenticates with `client_id` + `client_secret` in the form body
/// (`client_secret_post`, accepted by Microsoft and Google; the secret is omitted for a
/// public client). Redirects are not followed, so the secret is never replayed to another
/// host. Clone it freely: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
}

impl TokenClient {
    /// A client whose requests time out after `timeout` (connect + answer).
    pub fn new(timeout: Duration) -> Result<Self, OAuth2Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OAuth2Error::HttpClient {
                reason: error_chain(&e),
            })?;
        Ok(Self { http })
    }

    /// Exchanges the authorization `code` from the callback, proving possession of the
    /// PKCE verifier stored with the state. `now` is the current unix time in seconds.
    pub async fn exchange_code(
        &self,
        profile: &OAuth2Profile,
        code: &str,
        pkce_verifier: &SecretString,
        now: u64,
    ) -> Result<Token, OAuth2Error> {
        let wrong_flow = OAuth2Error::WrongFlow {
            operation: "a code exchange",
            flow: profile.flow(),
        };
        if profile.flow() != Flow::AuthorizationCode {
            return Err(wrong_flow);
        }
        let Some(redirect_url) = profile.redirect_url() else {
            return Err(wrong_flow);
        };
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_url.as_str()),
            ("code_verifier", pkce_verifier.expose()),
        ];
        self.post(profile, &form, now, None).await
    }

    /// Uses `token`'s refresh token for a new access token. When the answer has no refresh
    /// token the old one is kept; when it has one (rotation) the new one replaces it.
    pub async fn refresh(
        &self,
        profile: &OAuth2Profile,
        token: &Token,
        now: u64,
    ) -> Result<Token, OAuth2Error> {
        let Some(refresh_token) = token.refresh_token() else {
            return Err(OAuth2Error::NoRefreshToken);
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        self.post(profile, &form, now, Some(refresh_token)).await
    }

    /// Asks for a token with the client credentials grant and the profile's scope.
    pub async fn client_credentials(
        &self,
        profile: &OAuth2Profile,
        now: u64,
    ) -> Result<Token, OAuth2Error> {
        if profile.flow() != Flow::ClientCredentials {
            return Err(OAuth2Error::WrongFlow {
                operation: "a client credentials grant",
                flow: profile.flow(),
            });
        }
        let scope = profile.scope();
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ];
        self.post(profile, &form, now, None).await
    }

    /// A fresh token by the profile's flow: client credentials ask again; the authorization
    /// code flow refreshes `current` (and fails with
    /// [`OAuth2Error::NoRefreshToken`] without one). A JWT bearer profile needs its grant
    /// (the service account's key and subject): use [`Self::jwt_bearer`].
    pub async fn renew(
        &self,
        profile: &OAuth2Profile,
        current: Option<&Token>,
        now: u64,
    ) -> Result<Token, OAuth2Error> {
        match (profile.flow(), current) {
            (Flow::ClientCredentials, _) => self.client_credentials(profile, now).await,
            (Flow::AuthorizationCode, Some(token)) => self.refresh(profile, token, now).await,
            (Flow::AuthorizationCode, None) => Err(OAuth2Error::NoRefreshToken),
            (Flow::JwtBearer, _) => Err(OAuth2Error::WrongFlow {
                operation: "a renewal without the service account's grant",
                flow: Flow::JwtBearer,
            }),
        }
    }

    /// The JWT bearer grant (RFC 7523 §2.1): a service account's signed assertion,
    /// issued at `now` (unix seconds), for an access token acting as the grant's mailbox.
    /// The assertion is the client authentication; no client secret is sent, and there
    /// is no refresh token (a new assertion is signed each time).
    pub async fn jwt_bearer(&self, grant: &JwtBearerGrant, now: u64) -> Result<Token, OAuth2Error> {
        let assertion = grant.assertion(now)?;
        let form = [
            ("grant_type", JWT_BEARER_GRANT_TYPE),
            ("assertion", assertion.expose()),
        ];
        self.post_form(grant.token_url(), &form, now, None).await
    }

    /// POSTs `grant` plus the client authentication and parses the answer.
    async fn post(
        &self,
        profile: &OAuth2Profile,
        grant: &[(&str, &str)],
        now: u64,
        previous_refresh: Option<&SecretString>,
    ) -> Result<Token, OAuth2Error> {
        let mut form: Vec<(&str, &str)> = grant.to_vec();
        form.push(("client_id", profile.client_id()));
        if !profile.client_secret().is_empty() {
            form.push(("client_secret", profile.client_secret().expose()));
        }
        self.post_form(profile.token_url(), &form, now, previous_refresh)
            .await
    }

    /// POSTs `form` to `url` and parses the token answer.
    async fn post_form(
        &self,
        url: &reqwest::Url,
        form: &[(&str, &str)],
        now: u64,
        previous_refresh: Option<&SecretString>,
    ) -> Result<Token, OAuth2Error> {
        let mut response = self
            .http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| OAuth2Error::Unreachable {
                reason: error_chain(&e),
            })?;
        let status = response.status().as_u16();
        let mut body = Zeroizing::new(Vec::new());
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| OAuth2Error::Unreachable {
                reason: error_chain(&e),
            })?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(OAuth2Error::UnexpectedAnswer {
                    status,
                    reason: "the answer is larger than 64 KiB",
                });
            }
            body.extend_from_slice(&chunk);
        }
        parse_token_answer(status, &body, now, previous_refresh)
    }
}

/// An error and its causes, joined with `: ` (reqwest's `Display` shows only the top).
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
