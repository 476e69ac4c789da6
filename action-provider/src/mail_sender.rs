//! The outbox's e-mail channel, and the database-backed OAuth2 tokens it (and the admin
//! API) uses.
//!
//! [`MailSender`] loads the active SMTP accounts (default first, then the others by id;
//! only the forced ones while an active account has `force_use`, see [`failover_order`]),
//! renders the job as a [`MailKind::Code`] mail (never a read receipt), and sends it with
//! [`send_with_failover`]. OAuth2 accounts get their access token from [`Tokens`]: the
//! stored token is unsealed and used until it is within the refresh margin of its expiry;
//! then (or when the SMTP server refused it) a new one is asked for, sealed and stored. A
//! refused grant (`invalid_grant`, no refresh token) marks the profile
//! `needs_reauthorization` with the provider's error as `last_error`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLockReadGuard;

use actix_web::web;
use delivery::email::oauth2::{
    DEFAULT_TOKEN_TIMEOUT, Flow, OAuth2Error, OAuth2Profile, ProfileError, ProfileSettings, Token,
    TokenClient,
};
use delivery::email::smtp::AccountError;
use delivery::email::{
    AccountRole, ErrorClass, MailKind, Outcome, OutgoingMail, SecretString, Security, SmtpAccount,
    SmtpAccountSettings, SmtpAuth, TokenProvider, TokenRequest, failover_order, send_with_failover,
};

use crate::app::AppState;
use crate::crypto::{CryptoError, Keyring};
use crate::outbox::{AttemptReport, Payload, SendReport, Sender};
use crate::store::mail_ops::{
    AccountRow, AccountSettingsRow, MailOps as _, ProfileRow, SealedTokens,
};
use crate::store::{DbConn, StoreError};
use crate::{with_conn, write_tx};

/// Seal context of a profile's client secret.
pub const CTX_CLIENT_SECRET: &str = "oauth2_profiles.client_secret";
/// Seal context of an SMTP account's password.
pub const CTX_PASSWORD: &str = "smtp_accounts.password";
/// Subject of a code mail whose job carries none.
const DEFAULT_SUBJECT: &str = "Your verification code";

/// Seal context of profile `id`'s access token.
pub fn ctx_access(id: i64) -> String {
    format!("oauth2_profiles.access_token:{id}")
}

/// Seal context of profile `id`'s refresh token.
pub fn ctx_refresh(id: i64) -> String {
    format!("oauth2_profiles.refresh_token:{id}")
}

/// Seal context of the PKCE verifier of a pending authorization.
pub fn ctx_pkce(state: &str) -> String {
    format!("oauth2_pending.pkce_verifier:{state}")
}

/// Why mail settings could not be used or a token could not be had. Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A query failed.
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// The blocking thread pool failed.
    #[error("blocking task: {0}")]
    Blocking(String),
    /// The keyring lock is poisoned.
    #[error("the keyring is unavailable")]
    Keyring,
    /// A stored secret could not be opened.
    #[error("{what} could not be decrypted: {source}")]
    Unseal {
        /// Which secret.
        what: &'static str,
        /// Why.
        source: CryptoError,
    },
    /// A stored profile no longer validates.
    #[error("OAuth2 profile {id}: {source}")]
    Profile {
        /// The profile.
        id: i64,
        /// Why.
        source: ProfileError,
    },
    /// A stored account no longer validates.
    #[error("SMTP account {name:?}: {source}")]
    Account {
        /// The account.
        name: String,
        /// Why.
        source: AccountError,
    },
    /// The profile does not exist.
    #[error("OAuth2 profile {0} does not exist")]
    NoProfile(i64),
    /// An OAuth2 account names no profile.
    #[error("SMTP account {0:?} authenticates with OAuth2 but names no profile")]
    NoProfileForAccount(String),
    /// The provider refused or could not be reached.
    #[error(transparent)]
    OAuth2(#[from] OAuth2Error),
}

/// Runs `f` with a connection on the blocking pool.
pub async fn db<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, MailError>
where
    T: Send + 'static,
    F: FnOnce(&AppState, &mut DbConn) -> Result<T, MailError> + Send + 'static,
{
    let st = state.clone();
    web::block(move || {
        let mut conn = st.pool.get()?;
        f(&st, &mut conn)
    })
    .await
    .map_err(|e| MailError::Blocking(e.to_string()))?
}

/// The keyring, read-locked.
pub fn keyring(state: &AppState) -> Result<RwLockReadGuard<'_, Keyring>, MailError> {
    state.keyring.read().map_err(|_| MailError::Keyring)
}

/// Rebuilds the checked profile of a stored row (unsealing the client secret).
pub fn profile_from_row(ring: &Keyring, row: &ProfileRow) -> Result<OAuth2Profile, MailError> {
    let secret = ring
        .open_string(CTX_CLIENT_SECRET, &row.client_secret_enc)
        .map_err(|source| MailError::Unseal {
            what: "client_secret",
            source,
        })?;
    let profile_error = |source| MailError::Profile { id: row.id, source };
    let flow: Flow = row.flow.parse().map_err(profile_error)?;
    OAuth2Profile::new(ProfileSettings {
        authorization_url: row.authorization_url.clone(),
        token_url: row.token_url.clone(),
        redirect_url: row.redirect_url.clone(),
        client_id: row.client_id.clone(),
        client_secret: SecretString::new(secret.as_str().to_owned()),
        scope: row.scope.clone(),
        flow,
    })
    .map_err(profile_error)
}

fn stored_token(ring: &Keyring, row: &ProfileRow) -> Result<Option<Token>, MailError> {
    let Some(access) = &row.access_token_enc else {
        return Ok(None);
    };
    let access = ring
        .open_string(&ctx_access(row.id), access)
        .map_err(|source| MailError::Unseal {
            what: "access token",
            source,
        })?;
    let refresh = match &row.refresh_token_enc {
        Some(r) => Some(
            ring.open_string(&ctx_refresh(row.id), r)
                .map_err(|source| MailError::Unseal {
                    what: "refresh token",
                    source,
                })?,
        ),
        None => None,
    };
    Ok(Some(Token::new(
        SecretString::new(access.as_str().to_owned()),
        refresh.map(|r| SecretString::new(r.as_str().to_owned())),
        row.expires_at.and_then(|e| u64::try_from(e).ok()),
    )))
}

fn seal_tokens(ring: &Keyring, id: i64, token: &Token) -> SealedTokens {
    SealedTokens {
        access: ring.seal(&ctx_access(id), token.access_token().expose().as_bytes()),
        refresh: token
            .refresh_token()
            .map(|r| ring.seal(&ctx_refresh(id), r.expose().as_bytes())),
        expires_at: token.expires_at().and_then(|e| i64::try_from(e).ok()),
    }
}

/// Parses a stored or requested security name.
pub fn parse_security(name: &str) -> Option<Security> {
    match name {
        "none" => Some(Security::None),
        "starttls" => Some(Security::StartTls),
        "tls" => Some(Security::Tls),
        _ => None,
    }
}

/// The delivery crate's settings for an account row; `password` is used with `auth` password.
pub fn smtp_settings(
    row: &AccountSettingsRow,
    password: Option<SecretString>,
) -> SmtpAccountSettings {
    let mut s = SmtpAccountSettings::new(row.name.clone(), row.host.clone(), row.sender.clone());
    s.port = u16::try_from(row.port).unwrap_or(0);
    s.security = parse_security(&row.security).unwrap_or(Security::StartTls);
    let username = row.username.clone().unwrap_or_default();
    s.auth = match row.auth.as_str() {
        "password" => SmtpAuth::Password {
            username,
            password: password.unwrap_or_else(|| SecretString::new(String::new())),
        },
        "oauth2" => SmtpAuth::OAuth2 { username },
        _ => SmtpAuth::None,
    };
    s.reply_to = row.reply_to.clone();
    s.return_path = row.return_path.clone();
    s.read_receipt_to = row
        .confirmation_address
        .clone()
        .filter(|_| row.read_confirmation);
    s.ignore_cert_errors = row.ignore_cert_errors;
    s.footer = row.footer_text.clone().filter(|_| row.footer);
    s
}

/// The settings part of a stored account.
pub fn row_settings(row: &AccountRow) -> AccountSettingsRow {
    AccountSettingsRow {
        name: row.name.clone(),
        active: row.active,
        is_default: row.is_default,
        sender: row.sender.clone(),
        reply_to: row.reply_to.clone(),
        return_path: row.return_path.clone(),
        confirmation_address: row.confirmation_address.clone(),
        read_confirmation: row.read_confirmation,
        force_use: row.force_use,
        footer: row.footer,
        footer_text: row.footer_text.clone(),
        host: row.host.clone(),
        port: row.port,
        security: row.security.clone(),
        auth: row.auth.clone(),
        username: row.username.clone(),
        oauth2_profile_id: row.oauth2_profile_id,
        ignore_cert_errors: row.ignore_cert_errors,
        updated_at: row.updated_at,
    }
}

/// Rebuilds the checked account of a stored row (unsealing the password).
pub fn account_from_row(ring: &Keyring, row: &AccountRow) -> Result<SmtpAccount, MailError> {
    let password = match &row.password_enc {
        Some(p) => Some(
            ring.open_string(CTX_PASSWORD, p)
                .map_err(|source| MailError::Unseal {
                    what: "password",
                    source,
                })?,
        ),
        None => None,
    };
    let password = password.map(|p| SecretString::new(p.as_str().to_owned()));
    SmtpAccount::new(smtp_settings(&row_settings(row), password)).map_err(|source| {
        MailError::Account {
            name: row.name.clone(),
            source,
        }
    })
}

fn now_u64() -> u64 {
    u64::try_from(crate::now()).unwrap_or(0)
}

/// OAuth2 tokens kept in the database.
pub struct Tokens {
    state: web::Data<AppState>,
    client: TokenClient,
    /// Serialises renewals of this node, so concurrent sends do not refresh twice.
    renewing: tokio::sync::Mutex<()>,
}

impl Tokens {
    /// Tokens over `state`'s database, with the default token endpoint timeout.
    pub fn new(state: web::Data<AppState>) -> Result<Self, MailError> {
        Ok(Self {
            state,
            client: TokenClient::new(DEFAULT_TOKEN_TIMEOUT)?,
            renewing: tokio::sync::Mutex::new(()),
        })
    }

    /// The token endpoint client.
    pub fn client(&self) -> &TokenClient {
        &self.client
    }

    /// Stores the outcome of a token request for profile `id`: the new token sealed (and
    /// `mailbox` as the authorized mailbox, when given), or the error as `last_error`.
    pub async fn record(
        &self,
        id: i64,
        result: Result<Token, OAuth2Error>,
        mailbox: Option<Option<String>>,
    ) -> Result<Token, MailError> {
        match result {
            Ok(token) => {
                let copy = token.clone();
                db(&self.state, move |st, conn| {
                    let sealed = seal_tokens(&*keyring(st)?, id, &copy);
                    let mailbox = mailbox.as_ref().map(Option::as_deref);
                    write_tx!(conn, |c| c.profile_tokens_ok(
                        id,
                        &sealed,
                        mailbox,
                        crate::now()
                    ))?;
                    Ok(())
                })
                .await?;
                Ok(token)
            }
            Err(e) => {
                let text = e.to_string();
                let reauthorize = e.needs_reauthorization();
                db(&self.state, move |_, conn| {
                    write_tx!(conn, |c| c.profile_token_failed(id, &text, reauthorize))?;
                    Ok(())
                })
                .await?;
                Err(MailError::OAuth2(e))
            }
        }
    }

    /// Profile `id` (checked) and its stored token.
    pub async fn load(&self, id: i64) -> Result<(OAuth2Profile, Option<Token>), MailError> {
        db(&self.state, move |st, conn| {
            let row = with_conn!(conn, |c| c.profile_get(id))?.ok_or(MailError::NoProfile(id))?;
            let ring = keyring(st)?;
            Ok((profile_from_row(&ring, &row)?, stored_token(&ring, &row)?))
        })
        .await
    }

    /// Profile `id`'s access token: the stored one, unless it is due for refresh or `force`
    /// asks for a new one (the SMTP server refused it).
    pub async fn access_token(&self, id: i64, force: bool) -> Result<SecretString, MailError> {
        let _renewing = self.renewing.lock().await;
        let (profile, current) = self.load(id).await?;
        if let Some(token) = current
            .as_ref()
            .filter(|t| !force && !t.needs_refresh(now_u64()))
        {
            return Ok(token.access_token().clone());
        }
        let result = self
            .client
            .renew(&profile, current.as_ref(), now_u64())
            .await;
        let token = self.record(id, result, None).await?;
        Ok(token.access_token().clone())
    }
}

/// Access tokens of the accounts of one send, by account name.
pub struct AccountTokens<'a> {
    tokens: &'a Tokens,
    profiles: HashMap<String, i64>,
}

impl<'a> AccountTokens<'a> {
    /// Tokens for accounts named in `profiles` (account name → profile id).
    pub fn new(tokens: &'a Tokens, profiles: HashMap<String, i64>) -> Self {
        Self { tokens, profiles }
    }
}

impl TokenProvider for AccountTokens<'_> {
    type Error = MailError;

    async fn access_token(
        &self,
        account: &SmtpAccount,
        request: TokenRequest,
    ) -> Result<SecretString, MailError> {
        let id = *self
            .profiles
            .get(account.name())
            .ok_or_else(|| MailError::NoProfileForAccount(account.name().to_owned()))?;
        self.tokens
            .access_token(id, request == TokenRequest::Refreshed)
            .await
    }
}

/// The outbox sender of the `email` channel.
pub struct MailSender {
    tokens: Tokens,
}

impl MailSender {
    /// A sender over `state`'s accounts and profiles.
    pub fn new(state: web::Data<AppState>) -> Result<Self, MailError> {
        Ok(Self {
            tokens: Tokens::new(state)?,
        })
    }

    async fn deliver(&self, payload: &Payload) -> Result<SendReport, MailError> {
        let accounts = db(&self.tokens.state, |st, conn| {
            let rows = with_conn!(conn, |c| c.accounts_active())?;
            let ring = keyring(st)?;
            Ok(rows
                .iter()
                .filter_map(|row| match account_from_row(&ring, row) {
                    Ok(account) => Some((
                        account,
                        AccountRole {
                            active: row.active,
                            default: row.is_default,
                            forced: row.force_use,
                        },
                        row.oauth2_profile_id,
                    )),
                    Err(e) => {
                        tracing::warn!(error = %e, "SMTP account skipped");
                        None
                    }
                })
                .collect::<Vec<_>>())
        })
        .await?;
        if accounts.is_empty() {
            return Ok(failure("no active SMTP account is configured", true));
        }
        let subject = payload.subject.as_deref().unwrap_or(DEFAULT_SUBJECT);
        let mail =
            match OutgoingMail::new(&payload.to, subject, payload.text.as_str(), MailKind::Code) {
                Ok(mail) => mail,
                Err(e) => return Ok(failure(&e.to_string(), false)),
            };
        let profiles = accounts
            .iter()
            .filter_map(|(a, _, p)| p.map(|p| (a.name().to_owned(), p)))
            .collect();
        let provider = AccountTokens::new(&self.tokens, profiles);
        let order: Vec<&SmtpAccount> = failover_order(&accounts, role_of)
            .into_iter()
            .map(account_of)
            .collect();
        let report = send_with_failover(order, &mail, &provider).await;
        let attempts: Vec<AttemptReport> = report
            .attempts()
            .iter()
            .map(|a| AttemptReport {
                broker: a.account().to_owned(),
                delivered: a.outcome() == Outcome::Delivered,
                http_status: None,
                error: a.error().map(str::to_owned),
                latency_ms: u64::try_from(a.latency().as_millis()).unwrap_or(u64::MAX),
                excerpt: a.reply().map(str::to_owned),
            })
            .collect();
        let delivered = report.delivered_by().is_some();
        let error = (!delivered).then(|| {
            attempts
                .last()
                .and_then(|a| a.error.clone())
                .unwrap_or_else(|| "no account delivered".into())
        });
        Ok(SendReport {
            attempts,
            delivered,
            retryable: report.final_failure() != Some(ErrorClass::Recipient),
            error,
        })
    }
}

type Candidate = (SmtpAccount, AccountRole, Option<i64>);

fn role_of(candidate: &Candidate) -> AccountRole {
    candidate.1
}

fn account_of(candidate: &Candidate) -> &SmtpAccount {
    &candidate.0
}

fn failure(error: &str, retryable: bool) -> SendReport {
    SendReport {
        attempts: Vec::new(),
        delivered: false,
        retryable,
        error: Some(error.to_owned()),
    }
}

impl Sender for MailSender {
    fn send<'a>(
        &'a self,
        _channel: &'a str,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            self.deliver(payload)
                .await
                .unwrap_or_else(|e| failure(&e.to_string(), true))
        })
    }
}
