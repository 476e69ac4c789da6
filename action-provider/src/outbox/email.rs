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

use delivery::email::oauth2::{
    DEFAULT_TOKEN_TIMEOUT, Flow, JwtBearerGrant, OAuth2Error, OAuth2Profile, ProfileError,
    ProfileSettings, ServiceAccountKey, Token, TokenClient,
};
use delivery::email::smtp::AccountError;
use delivery::email::{
    SecretString, Security, SmtpAccount, SmtpAccountSettings, SmtpAuth, TokenProvider, TokenRequest,
};
use std::collections::HashMap;

use super::Context;
pub use super::mail_sender::MailSender;
use crate::crypto::{CryptoError, Keyring};
use crate::store::StoreError;
use crate::store::oauth2::{ProfileRow, SealedTokens};
use crate::store::smtp::{AccountRow, AccountSettingsRow};

/// Seal context a profile's client secret had before it was bound to its row and endpoints
/// (re-sealed at start by [`reseal_legacy`]).
pub const LEGACY_CTX_CLIENT_SECRET: &str = "oauth2_profiles.client_secret";
/// Seal context an SMTP account's password had before it was bound to its row and server.
pub const LEGACY_CTX_PASSWORD: &str = "smtp_accounts.password";

/// What an SMTP account's password is bound to: its row and its server (host, port,
/// security). The same text is `aux` of the sealed column in `store::sealed`.
pub fn password_binding(id: i64, host: &str, port: i32, security: &str) -> String {
    format!("{id}:{host}:{port}:{security}")
}

/// Seal context of an SMTP account's password: it opens only for the server it was
/// entered for.
pub fn ctx_password(binding: &str) -> String {
    format!("{LEGACY_CTX_PASSWORD}:{binding}")
}

/// What a profile's client secret is bound to: its row and its endpoints.
pub fn client_secret_binding(id: i64, token_url: &str, authorization_url: Option<&str>) -> String {
    format!("{id}|{token_url}|{}", authorization_url.unwrap_or(""))
}

/// Seal context of a profile's client secret: it opens only for the endpoints it was
/// entered for.
pub fn ctx_client_secret(binding: &str) -> String {
    format!("{LEGACY_CTX_CLIENT_SECRET}:{binding}")
}

/// The seal context of the password of an SMTP account row.
pub fn account_password_ctx(row: &AccountRow) -> String {
    ctx_password(&password_binding(
        row.id,
        &row.host,
        row.port,
        &row.security,
    ))
}

/// The seal context of the client secret of a profile row.
pub fn profile_secret_ctx(row: &ProfileRow) -> String {
    ctx_client_secret(&client_secret_binding(
        row.id,
        &row.token_url,
        row.authorization_url.as_deref(),
    ))
}
/// Subject of a code mail whose job carries none.
pub(crate) const DEFAULT_SUBJECT: &str = "Your verification code";

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
    /// The keyring is unavailable.
    #[error(transparent)]
    Keyring(#[from] CryptoError),
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
    /// The profile is switched off: no token is obtained or used.
    #[error("OAuth2 profile {0:?} is disabled")]
    Disabled(String),
    /// The profile must be authorised again (its grant was refused, or its token is for
    /// another mailbox): its token is not used.
    #[error("OAuth2 profile {name:?} needs a new authorisation: {reason}")]
    NeedsReauthorization {
        /// The profile.
        name: String,
        /// Its last error.
        reason: String,
    },
    /// An OAuth2 account names no profile.
    #[error("SMTP account {0:?} authenticates with OAuth2 but names no profile")]
    NoProfileForAccount(String),
    /// The provider refused or could not be reached.
    #[error(transparent)]
    OAuth2(#[from] OAuth2Error),
    /// A stored service account key no longer reads (never shows the key).
    #[error("service account key: {0}")]
    ServiceAccount(delivery::email::oauth2::ServiceAccountError),
}

/// Rebuilds the checked profile of a stored row (unsealing the client secret).
pub fn profile_from_row(ring: &Keyring, row: &ProfileRow) -> Result<OAuth2Profile, MailError> {
    let secret = ring
        .open_string(&profile_secret_ctx(row), &row.client_secret_enc)
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

/// The JWT bearer grant of a `jwt_bearer` profile row: its sealed service account key, its
/// token endpoint, scope and subject; `None` for the other flows.
pub fn grant_from_row(
    ring: &Keyring,
    row: &ProfileRow,
) -> Result<Option<JwtBearerGrant>, MailError> {
    if row.flow != Flow::JwtBearer.as_str() {
        return Ok(None);
    }
    let json = ring
        .open_string(&profile_secret_ctx(row), &row.client_secret_enc)
        .map_err(|source| MailError::Unseal {
            what: "service account key",
            source,
        })?;
    let key = ServiceAccountKey::from_json(&json).map_err(MailError::ServiceAccount)?;
    let subject = row.subject.as_deref().unwrap_or_default();
    JwtBearerGrant::new(key, &row.token_url, &row.scope, subject)
        .map(Some)
        .map_err(|source| MailError::Profile { id: row.id, source })
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
            ring.open_string(&account_password_ctx(row), p)
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

impl From<diesel::result::Error> for MailError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(StoreError::Query(e))
    }
}

/// OAuth2 tokens kept in the database.
pub struct Tokens {
    pub(crate) ctx: Context,
    client: TokenClient,
    /// Serialises renewals of this node, so concurrent sends do not refresh twice.
    renewing: tokio::sync::Mutex<()>,
}

impl Tokens {
    /// Tokens over the server's database, with the default token endpoint timeout.
    pub fn new(ctx: Context) -> Result<Self, MailError> {
        Ok(Self {
            ctx,
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
                let sealed = seal_tokens(&*crate::crypto::read(&self.ctx.keyring)?, id, &token);
                let now = self.ctx.clock.now().secs();
                self.ctx
                    .store
                    .write(move |c| {
                        let mailbox = mailbox.as_ref().map(Option::as_deref);
                        c.profile_tokens_ok(id, &sealed, mailbox, now)?;
                        Ok::<_, MailError>(())
                    })
                    .await?;
                Ok(token)
            }
            Err(e) => {
                let text = e.to_string();
                let reauthorize = e.needs_reauthorization();
                let now = self.ctx.clock.now().secs();
                self.ctx
                    .store
                    .write(move |c| {
                        c.profile_token_failed(id, &text, reauthorize)?;
                        if reauthorize {
                            let detail =
                                format!("OAuth2 profile {id} must be authorised again: {text}");
                            let subject = format!("profile {id}");
                            super::notify::event(
                                c,
                                super::notify::Event::Oauth2Reauthorization,
                                &subject,
                                &detail,
                                now,
                            )?;
                        }
                        Ok::<_, MailError>(())
                    })
                    .await?;
                Err(MailError::OAuth2(e))
            }
        }
    }

    /// Profile `id` (checked) and its stored token.
    pub async fn load(&self, id: i64) -> Result<(OAuth2Profile, Option<Token>), MailError> {
        let row = self.row(id).await?;
        let ring = crate::crypto::read(&self.ctx.keyring)?;
        Ok((profile_from_row(&ring, &row)?, stored_token(&ring, &row)?))
    }

    async fn row(&self, id: i64) -> Result<ProfileRow, MailError> {
        self.ctx
            .store
            .read(move |c| Ok::<_, MailError>(c.profile_get(id)?))
            .await?
            .ok_or(MailError::NoProfile(id))
    }

    /// Profile `id`'s access token: the stored one, unless it is due for refresh or `force`
    /// asks for a new one (the SMTP server refused it).
    pub async fn access_token(&self, id: i64, force: bool) -> Result<SecretString, MailError> {
        let _renewing = self.renewing.lock().await;
        let row = self.row(id).await?;
        if !row.enabled {
            return Err(MailError::Disabled(row.name));
        }
        if row.needs_reauthorization {
            return Err(MailError::NeedsReauthorization {
                reason: row.last_error.unwrap_or_default(),
                name: row.name,
            });
        }
        let current = stored_token(&*crate::crypto::read(&self.ctx.keyring)?, &row)?;
        let now = self.ctx.clock.now().core_secs();
        if let Some(token) = current.as_ref().filter(|t| !force && !t.needs_refresh(now)) {
            return Ok(token.access_token().clone());
        }
        let token = self.obtain(&row).await?;
        Ok(token.access_token().clone())
    }

    /// A new token for the profile of `row` by its flow — client credentials ask again,
    /// the authorization code flow refreshes, a service account signs a new assertion for
    /// its subject (recorded as the authorised mailbox) — stored sealed, or the refusal
    /// recorded. No check of `enabled` or of a needed re-authorisation: callers do that.
    pub async fn obtain(&self, row: &ProfileRow) -> Result<Token, MailError> {
        let (profile, current, grant) = {
            let ring = crate::crypto::read(&self.ctx.keyring)?;
            (
                profile_from_row(&ring, row)?,
                stored_token(&ring, row)?,
                grant_from_row(&ring, row)?,
            )
        };
        let now = self.ctx.clock.now().core_secs();
        let (result, mailbox) = match &grant {
            Some(grant) => (
                self.client.jwt_bearer(grant, now).await,
                Some(Some(grant.subject().to_owned())),
            ),
            None => (
                self.client.renew(&profile, current.as_ref(), now).await,
                None,
            ),
        };
        self.record(row.id, result, mailbox).await
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

/// Re-seals secrets stored before they were bound to their row and endpoint (SMTP
/// passwords, OAuth2 client secrets) under their bound contexts; run at start, before
/// serving. A value that opens under neither context is left as it is (and reported when
/// used). Returns how many values were re-sealed.
pub fn reseal_legacy(store: &crate::store::Store, ring: &Keyring) -> Result<usize, StoreError> {
    let (accounts, profiles) = store.read_blocking(|c| {
        Ok::<_, StoreError>((c.accounts_page(0, i64::MAX)?, c.profiles_page(0, i64::MAX)?))
    })?;
    let mut swaps: Vec<(
        &'static crate::store::sealed::SealedColumn,
        String,
        String,
        String,
    )> = Vec::new();
    let column = |table: &str, col: &str| {
        crate::store::sealed::SEALED
            .iter()
            .find(|c| c.table == table && c.column == col)
    };
    for a in &accounts {
        if let (Some(old), Some(col)) = (&a.password_enc, column("smtp_accounts", "password_enc"))
            && let Ok(plain) = ring.open(LEGACY_CTX_PASSWORD, old)
        {
            let new = ring.seal(&account_password_ctx(a), &plain);
            swaps.push((col, a.id.to_string(), old.clone(), new));
        }
    }
    for p in &profiles {
        if let Some(col) = column("oauth2_profiles", "client_secret_enc")
            && let Ok(plain) = ring.open(LEGACY_CTX_CLIENT_SECRET, &p.client_secret_enc)
        {
            let new = ring.seal(&profile_secret_ctx(p), &plain);
            swaps.push((col, p.id.to_string(), p.client_secret_enc.clone(), new));
        }
    }
    if swaps.is_empty() {
        return Ok(0);
    }
    store.write_blocking(|c| {
        let mut n = 0;
        for (col, pk, old, new) in &swaps {
            if c.sealed_swap(col, pk, old, new)? {
                n += 1;
            }
        }
        Ok(n)
    })
}
