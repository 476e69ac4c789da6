//! OAuth2 profiles for mail (`/v1/oauth2/*`): read-only presets, profiles with their token
//! status, "renew authorization" and the provider's callback. Client secrets, tokens and
//! PKCE verifiers are sealed at rest and never answered.

use delivery::email::SecretString as MailSecret;
use delivery::email::oauth2::{Flow, OAuth2Profile, ProfileError, ProfileSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::{Conflict, Problems, ServiceError};
pub use super::oauth2_presets::{PresetView, presets};
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::outbox::email::{
    MailError, client_secret_binding, ctx_client_secret, ctx_pkce, profile_from_row,
    profile_secret_ctx,
};
use crate::store::oauth2::{PendingRow, ProfileRow, ProfileSettingsRow};
use delivery::SecretString;

impl From<MailError> for ServiceError {
    fn from(e: MailError) -> Self {
        Self::internal("mail settings", e)
    }
}

/// Checks an object name: 1..=100 characters, no control characters or surrounding spaces.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(ServiceError::field(
            "name",
            "name must be 1 to 100 characters, without control characters or surrounding spaces",
        ));
    }
    Ok(())
}

/// A name taken by another object of the same kind.
pub fn duplicate(what: &str) -> ServiceError {
    ServiceError::conflict(
        Conflict::Duplicate,
        Some("name"),
        format!("name: {what} with this name exists"),
    )
}

/// An optional text, trimmed; blank is absent.
pub fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(super) fn profile_field_error(e: &ProfileError) -> ServiceError {
    let field = match e {
        ProfileError::InvalidUrl { field, .. }
        | ProfileError::InsecureUrl { field }
        | ProfileError::MissingForFlow { field, .. } => *field,
        ProfileError::InvalidClientId { .. } => "client_id",
        ProfileError::EmptyScope | ProfileError::InvalidScope { .. } => "scope",
        ProfileError::UnknownFlow { .. } => "flow",
        ProfileError::InvalidSubject => "subject",
        _ => "profile",
    };
    ServiceError::field(field, e.to_string())
}

/// An OAuth2 profile as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// Unique name.
    pub name: String,
    /// Provider authorization endpoint (authorization_code flow).
    pub authorization_url: Option<String>,
    /// Provider token endpoint.
    pub token_url: String,
    /// Callback registered at the provider; default `public_url` + `/v1/oauth2/callback`.
    pub redirect_url: Option<String>,
    /// Client id (for `jwt_bearer`: the service account's `client_email`, filled in from
    /// the key when blank).
    #[serde(default)]
    pub client_id: String,
    /// Client secret (required on creation of an `authorization_code` or
    /// `client_credentials` profile; omitted or `null` on PUT keeps the stored one).
    pub client_secret: Option<SecretString>,
    /// `jwt_bearer` only: the service account's JSON key file as Google issues it (sealed,
    /// bound to the token endpoint, never answered; omitted or `null` on PUT keeps it).
    pub service_account_key: Option<SecretString>,
    /// `jwt_bearer` only: the mailbox to act as (the assertions' `sub`).
    pub subject: Option<String>,
    /// Space-separated scopes.
    pub scope: String,
    /// `authorization_code`, `client_credentials` or `jwt_bearer`.
    pub flow: String,
    /// Tokens are obtained and used only while enabled (default true).
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// When the client secret expires at the provider (RFC 3339), as the provider showed
    /// it; warned about 30 days ahead.
    pub client_secret_expires_at: Option<String>,
}

fn enabled_default() -> bool {
    true
}

/// An OAuth2 profile as answered: settings and token status, never a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Authorization endpoint.
    pub authorization_url: Option<String>,
    /// Token endpoint.
    pub token_url: String,
    /// Callback URL.
    pub redirect_url: Option<String>,
    /// Client id.
    pub client_id: String,
    /// A client secret (for `jwt_bearer`: the service account's key) is stored.
    pub client_secret_set: bool,
    /// Scopes.
    pub scope: String,
    /// Flow.
    pub flow: String,
    /// `jwt_bearer`: the mailbox the service account acts as.
    pub subject: Option<String>,
    /// A token is stored and the last token operation succeeded.
    pub valid: bool,
    /// An access token is stored.
    pub token_present: bool,
    /// Access token expiry (RFC 3339).
    pub expires_at: Option<String>,
    /// Last time a token was obtained (RFC 3339).
    pub last_refresh_at: Option<String>,
    /// Last token error.
    pub last_error: Option<String>,
    /// The mailbox the profile was authorised for.
    pub authorized_mailbox: Option<String>,
    /// The grant was refused: authorise again.
    pub needs_reauthorization: bool,
    /// Tokens are obtained and used only while enabled.
    pub enabled: bool,
    /// When the client secret expires at the provider (RFC 3339).
    pub client_secret_expires_at: Option<String>,
    /// What the administrator should act on (the client secret expires within 30 days, or
    /// has expired).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

fn profile_view(r: &ProfileRow, now: UnixTime) -> ProfileView {
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    ProfileView {
        id: r.id,
        name: r.name.clone(),
        authorization_url: r.authorization_url.clone(),
        token_url: r.token_url.clone(),
        redirect_url: r.redirect_url.clone(),
        client_id: r.client_id.clone(),
        client_secret_set: !r.client_secret_enc.is_empty(),
        scope: r.scope.clone(),
        flow: r.flow.clone(),
        subject: r.subject.clone(),
        valid: r.valid,
        token_present: r.access_token_enc.is_some(),
        expires_at: r.expires_at.map(time),
        last_refresh_at: r.last_refresh_at.map(time),
        last_error: r.last_error.clone(),
        authorized_mailbox: r.authorized_mailbox.clone(),
        needs_reauthorization: r.needs_reauthorization,
        enabled: r.enabled,
        client_secret_expires_at: r.client_secret_expires_at.map(time),
        warnings: super::oauth2_refresh::secret_warning(r.client_secret_expires_at, now)
            .into_iter()
            .collect(),
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
    }
}

/// Checks a profile body with the delivery crate's rules; `secret` is the body's or the
/// stored one.
fn check_profile(
    state: &AppState,
    body: ProfileBody,
    secret: &str,
) -> Result<ProfileSettingsRow, ServiceError> {
    // Every invalid field is answered at once: the delivery crate stops at the first, so
    // each offending field is replaced by a valid stand-in and the check runs again.
    let mut problems = Problems::new();
    problems.take(check_name(&body.name))?;
    let flow = match body.flow.parse::<Flow>() {
        Ok(flow) => flow,
        Err(e) => {
            problems.take::<()>(Err(profile_field_error(&e)))?;
            Flow::AuthorizationCode
        }
    };
    let (client_id, subject) = if flow == Flow::JwtBearer {
        super::oauth2_jwt::check(&body, secret, &mut problems)
    } else {
        (body.client_id.clone(), None)
    };
    let client_secret_expires_at =
        blank_to_none(body.client_secret_expires_at.clone()).and_then(|t| {
            let parsed = crate::timefmt::parse_rfc3339(&t);
            if parsed.is_none() {
                problems.add(
                    "client_secret_expires_at",
                    "client_secret_expires_at: not an RFC 3339 time",
                );
            }
            parsed
        });
    let authorization_url = blank_to_none(body.authorization_url);
    let redirect_url = match flow {
        Flow::AuthorizationCode => Some(
            blank_to_none(body.redirect_url)
                .unwrap_or_else(|| format!("{}/v1/oauth2/callback", state.config.public_url)),
        ),
        Flow::ClientCredentials => blank_to_none(body.redirect_url),
        Flow::JwtBearer => None,
    };
    let authorization_url = authorization_url.filter(|_| flow != Flow::JwtBearer);
    let mut settings = ProfileSettings {
        authorization_url: authorization_url.clone(),
        token_url: body.token_url.clone(),
        redirect_url: redirect_url.clone(),
        client_id: client_id.clone(),
        client_secret: MailSecret::new(secret.to_owned()),
        scope: body.scope.clone(),
        flow,
    };
    let mut scope = None;
    for _ in 0..8 {
        let e = match OAuth2Profile::new(settings.clone()) {
            Ok(profile) => {
                scope = Some(profile.scope());
                break;
            }
            Err(e) => e,
        };
        let error = profile_field_error(&e);
        let ServiceError::Invalid(list) = &error else {
            return Err(error);
        };
        let field = list.first().field.clone();
        problems.take::<()>(Err(error))?;
        let stand_in = "https://stand-in.invalid/".to_owned();
        match field.as_str() {
            "authorization_url" => settings.authorization_url = Some(stand_in),
            "token_url" => settings.token_url = stand_in,
            "redirect_url" => settings.redirect_url = Some(stand_in),
            "client_id" => settings.client_id = "stand-in".into(),
            "scope" => settings.scope = "stand-in".into(),
            _ => break,
        }
    }
    problems.finish()?;
    let scope = scope.unwrap_or(body.scope);
    Ok(ProfileSettingsRow {
        name: body.name,
        authorization_url,
        token_url: body.token_url,
        redirect_url,
        client_id,
        scope,
        flow: flow.as_str().to_owned(),
        enabled: body.enabled,
        client_secret_expires_at,
        subject,
        updated_at: state.now().secs(),
    })
}

/// The rule for an account that names an OAuth2 profile (SMTP and inbound alike): the
/// profile exists when the account is saved, or the `oauth2_profile` field is answered as
/// a missing reference (404).
pub(super) fn check_profile_exists(
    c: &mut dyn crate::store::Conn,
    profile: Option<i64>,
) -> Result<(), ServiceError> {
    match profile {
        Some(p) if c.profile_get(p)?.is_none() => Err(ServiceError::missing(
            "oauth2_profile",
            format!("no OAuth2 profile {p}"),
        )),
        _ => Ok(()),
    }
}

fn no_profile(id: i64) -> ServiceError {
    ServiceError::not_found(format!("no OAuth2 profile {id}"))
}

async fn load(state: &AppState, id: i64) -> Result<ProfileRow, ServiceError> {
    state
        .store
        .read(move |c| c.profile_get(id)?.ok_or_else(|| no_profile(id)))
        .await
}

/// Creates an OAuth2 profile; its client secret is sealed for this row and its endpoints.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    mut body: ProfileBody,
) -> Result<ProfileView, ServiceError> {
    caller.require_admin()?;
    let (field, secret) = super::oauth2_jwt::take_secret(&mut body)?;
    let secret = secret.ok_or_else(|| ServiceError::field(field, format!("{field}: required")))?;
    let settings = check_profile(state, body, secret.expose())?;
    let now = state.now();
    let audit = caller
        .audit("oauth2.profile.create", now)
        .subject(settings.name.clone());
    let keyring = std::sync::Arc::clone(&state.keyring);
    let row = state
        .store
        .write(move |c| {
            if c.profile_name_taken(&settings.name, None)? {
                return Err(duplicate("a profile"));
            }
            let id = c.profile_insert(&settings, "", now.secs())?;
            let sealed = crate::crypto::read(&keyring)?
                .seal(&bound_ctx(id, &settings), secret.expose().as_bytes());
            c.profile_update(id, &settings, Some(&sealed))?;
            audit.write(c)?;
            c.profile_get(id)?.ok_or_else(|| no_profile(id))
        })
        .await?;
    Ok(profile_view(&row, state.now()))
}

/// The seal context of the client secret of profile `id` with these settings.
fn bound_ctx(id: i64, settings: &ProfileSettingsRow) -> String {
    ctx_client_secret(&client_secret_binding(
        id,
        &settings.token_url,
        settings.authorization_url.as_deref(),
    ))
}

/// The origin (scheme, host, port) of a URL, as the binding of credentials compares it.
fn origin(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Lists OAuth2 profiles.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<ProfileView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.profiles_page(page.cursor, page.fetch())?))
        .await?;
    let now = state.now();
    Ok(Page::cut(rows, page, |r| r.id).map(|r| profile_view(&r, now)))
}

/// Reads an OAuth2 profile and its token status.
pub async fn read(state: &AppState, caller: &Caller, id: i64) -> Result<ProfileView, ServiceError> {
    caller.require_admin()?;
    Ok(profile_view(&load(state, id).await?, state.now()))
}

/// Replaces an OAuth2 profile's settings. The stored client secret is kept when none is
/// sent — but only while the token and authorization URLs keep their origins: the secret
/// stays with the endpoints it was entered for (a changed origin without the secret is
/// refused naming `client_secret`), and the tokens obtained from the old token endpoint are
/// dropped when its origin changes (authorise again).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut body: ProfileBody,
) -> Result<ProfileView, ServiceError> {
    caller.require_admin()?;
    let current = load(state, id).await?;
    let (field, new_secret) = super::oauth2_jwt::take_secret(&mut body)?;
    let token_moved = origin(&body.token_url) != origin(&current.token_url);
    let auth_moved = body.authorization_url.as_deref().and_then(origin)
        != current.authorization_url.as_deref().and_then(origin);
    if (token_moved || auth_moved) && new_secret.is_none() {
        return Err(ServiceError::field(
            field,
            format!(
                "{field}: the stored secret stays with the endpoints it was entered for; \
                 enter it again to use it with another token or authorization URL origin"
            ),
        ));
    }
    // A service account's key is not a client secret: switching to or from jwt_bearer
    // needs the new kind of secret.
    let kind_changed = (body.flow == "jwt_bearer") != (current.flow == "jwt_bearer");
    if kind_changed && new_secret.is_none() {
        return Err(ServiceError::field(
            field,
            format!("{field}: required when the flow changes to or from jwt_bearer"),
        ));
    }
    let (settings, sealed) = {
        let ring = state.ring()?;
        let secret = match &new_secret {
            Some(s) => zeroize::Zeroizing::new(s.expose().to_owned()),
            None => ring.open_string(&profile_secret_ctx(&current), &current.client_secret_enc)?,
        };
        let settings = check_profile(state, body, &secret)?;
        // Re-sealed under the (possibly changed) URLs it is bound to.
        let sealed = ring.seal(&bound_ctx(id, &settings), secret.as_bytes());
        (settings, sealed)
    };
    let subject_changed = settings.subject != current.subject;
    let audit = caller
        .audit("oauth2.profile.update", state.now())
        .subject(settings.name.clone());
    let row = state
        .store
        .write(move |c| {
            if c.profile_name_taken(&settings.name, Some(id))? {
                return Err(duplicate("a profile"));
            }
            if !c.profile_update(id, &settings, Some(&sealed))? {
                return Err(no_profile(id));
            }
            if token_moved || subject_changed {
                c.profile_token_failed(
                    id,
                    // `field: detail`, as warnings are: the console words it by the field.
                    if token_moved {
                        "token_url: the token endpoint changed: its tokens were dropped; authorise again"
                    } else {
                        "subject: the subject changed: the tokens for the old mailbox were dropped; authorise again"
                    },
                    true,
                )?;
                c.profile_drop_tokens(id)?;
            }
            audit.write(c)?;
            c.profile_get(id)?.ok_or_else(|| no_profile(id))
        })
        .await?;
    Ok(profile_view(&row, state.now()))
}

/// Deletes an OAuth2 profile that no SMTP account uses.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let audit = caller
        .audit("oauth2.profile.delete", state.now())
        .subject(id.to_string());
    state
        .store
        .write(move |c| {
            let users = c.profile_users(id)?;
            if !users.is_empty() {
                return Err(ServiceError::conflict(
                    Conflict::InUse,
                    None,
                    format!("the profile is used by SMTP accounts {users:?}"),
                ));
            }
            if !c.profile_delete(id)? {
                return Err(no_profile(id));
            }
            audit.write(c)?;
            Ok(())
        })
        .await
}

/// What "renew authorization" answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Authorization {
    /// Authorization code flow: the provider URL to open.
    Redirect {
        /// Open this URL in the administrator's browser.
        authorization_url: String,
    },
    /// Client credentials and JWT bearer flows: the profile's status after fetching a
    /// token (and checking its mailbox).
    Fetched(Box<ProfileView>),
}

/// "Renew authorization": for authorization_code, the provider URL to open (the state and
/// PKCE verifier are kept 10 minutes); for client_credentials and jwt_bearer, fetches a
/// token now, checks which mailbox it is for, and answers the profile's status.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    id: i64,
    login_hint: Option<String>,
) -> Result<Authorization, ServiceError> {
    caller.require_admin()?;
    let row = load(state, id).await?;
    let profile = profile_from_row(&*state.ring()?, &row)?;
    let now = state.now();
    if profile.flow() != Flow::AuthorizationCode {
        super::oauth2_verify::obtain_now(state, &row).await?;
        return Ok(Authorization::Fetched(Box::new(profile_view(
            &load(state, id).await?,
            state.now(),
        ))));
    }
    let hint = match blank_to_none(login_hint) {
        Some(h) => Some(h),
        None => {
            state
                .store
                .read(move |c| Ok::<_, ServiceError>(c.profile_mailbox(id)?))
                .await?
        }
    };
    let request = profile
        .authorization_request_os(hint.as_deref())
        .map_err(|e| ServiceError::internal("an authorization request", e))?;
    let (url, oauth_state, verifier) = request.into_parts();
    let sealed = state
        .ring()?
        .seal(&ctx_pkce(&oauth_state), verifier.expose().as_bytes());
    let pending = PendingRow {
        state: oauth_state,
        profile_id: id,
        pkce_verifier_enc: sealed,
        login_hint: hint,
        created_at: now.secs(),
    };
    let audit = caller
        .audit("oauth2.profile.authorize", now)
        .subject(row.name.clone());
    state
        .store
        .write(move |c| {
            c.pending_insert(&pending, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok(Authorization::Redirect {
        authorization_url: url.as_str().to_owned(),
    })
}

pub use super::oauth2_callback::{CallbackOutcome, CallbackQuery, callback};
