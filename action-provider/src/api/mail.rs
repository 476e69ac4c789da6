//! `/v1/oauth2/*` and `/v1/smtp/accounts*`: OAuth2 profiles (with "renew authorization" and
//! the provider's callback) and SMTP accounts (with "test configuration").
//!
//! Client secrets, passwords, tokens and PKCE verifiers are sealed at rest and never
//! answered: views show `client_secret_set` / `password_set` and the token status only.
//! A PUT that omits the secret (or sends `null`) keeps the stored one.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use delivery::email::oauth2::{Flow, OAuth2Profile, PRESETS, ProfileError, ProfileSettings};
use delivery::email::smtp::{AccountError, MailError as OutgoingError, Warning};
use delivery::email::{OutgoingMail, SecretString as MailSecret, SmtpAccount, send_test_mail};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json, Query};
use super::types::{Page, SecretString};
use crate::app::AppState;
use crate::mail_sender::{
    AccountTokens, CTX_CLIENT_SECRET, CTX_PASSWORD, MailError, Tokens, ctx_pkce, db, keyring,
    parse_security, profile_from_row, smtp_settings,
};
use crate::store::mail_ops::{
    AccountRow, AccountSettingsRow, MailOps as _, PendingRow, ProfileRow, ProfileSettingsRow,
};
use crate::store::{NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

impl From<MailError> for ApiError {
    fn from(e: MailError) -> Self {
        Self::internal(e)
    }
}

fn profile_field_error(e: &ProfileError) -> ApiError {
    let field = match e {
        ProfileError::InvalidUrl { field, .. }
        | ProfileError::InsecureUrl { field }
        | ProfileError::MissingForFlow { field, .. } => *field,
        ProfileError::InvalidClientId { .. } => "client_id",
        ProfileError::EmptyScope | ProfileError::InvalidScope { .. } => "scope",
        ProfileError::UnknownFlow { .. } => "flow",
        _ => "profile",
    };
    ApiError::field(field, e.to_string())
}

fn account_field_error(e: &AccountError) -> ApiError {
    let field = match e {
        AccountError::InvalidName => "name",
        AccountError::InvalidHost => "host",
        AccountError::InvalidPort => "port",
        AccountError::InvalidAddress { field, .. } if *field == "read_receipt_to" => {
            "confirmation_address"
        }
        AccountError::InvalidAddress { field, .. } => field,
        AccountError::MissingUsername => "username",
        AccountError::InvalidFooter { .. } => {
            return ApiError::field("footer_text", format!("footer_text: {e}"));
        }
        _ => "account",
    };
    ApiError::field(field, e.to_string())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "name must be 1 to 100 characters, without control characters or surrounding spaces",
        ));
    }
    Ok(())
}

fn duplicate(field: &str, what: &str) -> ApiError {
    ApiError::Conflict {
        code: "duplicate",
        field: Some(field.into()),
        detail: format!("{field}: {what} with this name exists"),
    }
}

fn audit(actor: &str, action: &str, subject: &str) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: Some(subject.to_owned()),
        source: None,
        outcome: "ok".into(),
        detail: None,
    }
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------
// OAuth2 presets and profiles

/// A read-only OAuth2 preset an administrator copies into a profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresetView {
    /// Stable id.
    pub id: &'static str,
    /// Label.
    pub label: &'static str,
    /// Authorization endpoint (`{tenant}` is a placeholder).
    pub authorization_url: Option<&'static str>,
    /// Token endpoint.
    pub token_url: &'static str,
    /// Scopes.
    pub scope: &'static str,
    /// Flow.
    pub flow: &'static str,
    /// Whether the URLs hold a `{tenant}` placeholder.
    pub needs_tenant: bool,
}

/// Lists the read-only OAuth2 presets.
#[utoipa::path(get, path = "/v1/oauth2/presets", tag = "mail",
    responses((status = 200, body = serde_json::Value)))]
pub async fn presets(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let items: Vec<PresetView> = PRESETS
        .iter()
        .map(|p| PresetView {
            id: p.id(),
            label: p.label(),
            authorization_url: p.authorization_url(),
            token_url: p.token_url(),
            scope: p.scope(),
            flow: p.flow().as_str(),
            needs_tenant: p.needs_tenant(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
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
    /// Client id.
    pub client_id: String,
    /// Client secret (required on creation; omitted or `null` on PUT keeps the stored one).
    pub client_secret: Option<SecretString>,
    /// Space-separated scopes.
    pub scope: String,
    /// `authorization_code` or `client_credentials`.
    pub flow: String,
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
    /// A client secret is stored.
    pub client_secret_set: bool,
    /// Scopes.
    pub scope: String,
    /// Flow.
    pub flow: String,
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
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

fn profile_view(r: &ProfileRow) -> ProfileView {
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
        valid: r.valid,
        token_present: r.access_token_enc.is_some(),
        expires_at: r.expires_at.map(rfc3339),
        last_refresh_at: r.last_refresh_at.map(rfc3339),
        last_error: r.last_error.clone(),
        authorized_mailbox: r.authorized_mailbox.clone(),
        needs_reauthorization: r.needs_reauthorization,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

/// Checks a profile body with the delivery crate's rules; `secret` is the body's or the
/// stored one.
fn check_profile(
    state: &AppState,
    body: ProfileBody,
    secret: &str,
) -> Result<ProfileSettingsRow, ApiError> {
    check_name(&body.name)?;
    let flow: Flow = body.flow.parse().map_err(|e| profile_field_error(&e))?;
    let authorization_url = blank_to_none(body.authorization_url);
    let redirect_url = match flow {
        Flow::AuthorizationCode => Some(
            blank_to_none(body.redirect_url)
                .unwrap_or_else(|| format!("{}/v1/oauth2/callback", state.config.public_url)),
        ),
        Flow::ClientCredentials => blank_to_none(body.redirect_url),
    };
    let settings = ProfileSettings {
        authorization_url: authorization_url.clone(),
        token_url: body.token_url.clone(),
        redirect_url: redirect_url.clone(),
        client_id: body.client_id.clone(),
        client_secret: MailSecret::new(secret.to_owned()),
        scope: body.scope.clone(),
        flow,
    };
    let profile = OAuth2Profile::new(settings).map_err(|e| profile_field_error(&e))?;
    Ok(ProfileSettingsRow {
        name: body.name,
        authorization_url,
        token_url: body.token_url,
        redirect_url,
        client_id: body.client_id,
        scope: profile.scope(),
        flow: flow.as_str().to_owned(),
        updated_at: crate::now(),
    })
}

fn profile_path(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no OAuth2 profile {id:?}")))
}

async fn load_profile(state: &web::Data<AppState>, id: i64) -> Result<ProfileRow, ApiError> {
    db(state, move |_, conn| {
        Ok(with_conn!(conn, |c| c.profile_get(id))?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no OAuth2 profile {id}")))
}

/// Creates an OAuth2 profile.
#[utoipa::path(post, path = "/v1/oauth2/profiles", tag = "mail", request_body = ProfileBody,
    responses((status = 201, body = ProfileView), (status = 400, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn create_profile(
    state: web::Data<AppState>,
    caller: Caller,
    Json(mut body): Json<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let secret = body
        .client_secret
        .take()
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| ApiError::field("client_secret", "client_secret: required"))?;
    let settings = check_profile(&state, body, secret.expose())?;
    let actor = caller.actor();
    let st = state.clone();
    let row = crate::app::blocking(move || {
        let sealed = st
            .keyring
            .read()
            .map_err(ApiError::internal)?
            .seal(CTX_CLIENT_SECRET, secret.expose().as_bytes());
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            if c.profile_name_taken(&settings.name, None)? {
                return Err(duplicate("name", "a profile"));
            }
            let id = c.profile_insert(&settings, &sealed, crate::now())?;
            c.audit_insert(&audit(&actor, "oauth2.profile.create", &settings.name))?;
            c.profile_get(id)?.ok_or(ApiError::Internal)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(profile_view(&row)))
}

/// Lists OAuth2 profiles.
#[utoipa::path(get, path = "/v1/oauth2/profiles", tag = "mail", params(Page),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_profiles(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let rows = db(&state, move |_, conn| {
        Ok(with_conn!(conn, |c| c.profiles_page(cursor, limit))?)
    })
    .await?;
    let next = (i64::try_from(rows.len()).unwrap_or(0) == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let items: Vec<ProfileView> = rows.iter().map(profile_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// Reads an OAuth2 profile and its token status.
#[utoipa::path(get, path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")),
    responses((status = 200, body = ProfileView), (status = 404, body = super::error::Problem)))]
pub async fn read_profile(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let row = load_profile(&state, profile_path(&id)?).await?;
    Ok(HttpResponse::Ok().json(profile_view(&row)))
}

/// Replaces an OAuth2 profile's settings (the stored secret is kept when none is sent).
#[utoipa::path(put, path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")), request_body = ProfileBody,
    responses((status = 200, body = ProfileView), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn update_profile(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(mut body): Json<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = profile_path(&id)?;
    let current = load_profile(&state, id).await?;
    let new_secret = body.client_secret.take().filter(|s| !s.expose().is_empty());
    let settings = {
        let ring = keyring(&state)?;
        let stored;
        let secret = match &new_secret {
            Some(s) => s.expose(),
            None => {
                stored = ring
                    .open_string(CTX_CLIENT_SECRET, &current.client_secret_enc)
                    .map_err(ApiError::internal)?;
                stored.as_str()
            }
        };
        check_profile(&state, body, secret)?
    };
    let actor = caller.actor();
    let st = state.clone();
    let row = crate::app::blocking(move || {
        let sealed = match &new_secret {
            Some(s) => Some(
                st.keyring
                    .read()
                    .map_err(ApiError::internal)?
                    .seal(CTX_CLIENT_SECRET, s.expose().as_bytes()),
            ),
            None => None,
        };
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            if c.profile_name_taken(&settings.name, Some(id))? {
                return Err(duplicate("name", "a profile"));
            }
            if !c.profile_update(id, &settings, sealed.as_deref())? {
                return Err(ApiError::not_found(format!("no OAuth2 profile {id}")));
            }
            c.audit_insert(&audit(&actor, "oauth2.profile.update", &settings.name))?;
            c.profile_get(id)?.ok_or(ApiError::Internal)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(profile_view(&row)))
}

/// Deletes an OAuth2 profile that no SMTP account uses.
#[utoipa::path(delete, path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn delete_profile(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = profile_path(&id)?;
    let actor = caller.actor();
    let st = state.clone();
    crate::app::blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let users = c.profile_users(id)?;
            if !users.is_empty() {
                return Err(ApiError::Conflict {
                    code: "in_use",
                    field: None,
                    detail: format!("the profile is used by SMTP accounts {users:?}"),
                });
            }
            if !c.profile_delete(id)? {
                return Err(ApiError::not_found(format!("no OAuth2 profile {id}")));
            }
            c.audit_insert(&audit(&actor, "oauth2.profile.delete", &id.to_string()))?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `?login_hint=` of "renew authorization".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeQuery {
    /// The mailbox to authorise (default: the username of the first OAuth2 SMTP account
    /// using the profile).
    pub login_hint: Option<String>,
}

/// "Renew authorization": for authorization_code, the provider URL to open (the state and
/// PKCE verifier are kept 10 minutes); for client_credentials, fetches a token now and
/// answers the profile's status.
#[utoipa::path(post, path = "/v1/oauth2/profiles/{id}/authorize", tag = "mail",
    params(("id" = i64, Path, description = "profile id"), AuthorizeQuery),
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem)))]
pub async fn authorize(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = profile_path(&id)?;
    let row = load_profile(&state, id).await?;
    let profile = profile_from_row(&*keyring(&state)?, &row)?;
    if profile.flow() == Flow::ClientCredentials {
        let tokens = Tokens::new(state.clone())?;
        let result = tokens
            .client()
            .client_credentials(&profile, u64::try_from(crate::now()).unwrap_or(0))
            .await;
        // A refusal is recorded as the profile's last_error and shown in the status.
        let _ = tokens.record(id, result, None).await;
        let row = load_profile(&state, id).await?;
        return Ok(HttpResponse::Ok().json(profile_view(&row)));
    }
    let hint = match blank_to_none(query.login_hint) {
        Some(h) => Some(h),
        None => {
            db(&state, move |_, conn| {
                Ok(with_conn!(conn, |c| c.profile_mailbox(id))?)
            })
            .await?
        }
    };
    let request = profile
        .authorization_request_os(hint.as_deref())
        .map_err(ApiError::internal)?;
    let (url, oauth_state, verifier) = request.into_parts();
    let sealed = keyring(&state)?.seal(&ctx_pkce(&oauth_state), verifier.expose().as_bytes());
    let pending = PendingRow {
        state: oauth_state,
        profile_id: id,
        pkce_verifier_enc: sealed,
        login_hint: hint,
        created_at: crate::now(),
    };
    let actor = caller.actor();
    let name = row.name.clone();
    let st = state.clone();
    crate::app::blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.pending_insert(&pending, crate::now())?;
            c.audit_insert(&audit(&actor, "oauth2.profile.authorize", &name))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"authorization_url": url.as_str()})))
}

/// The provider's redirect back to SAE.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The one-time state of the pending authorization.
    pub state: Option<String>,
    /// The provider's error code.
    pub error: Option<String>,
    /// The provider's error text.
    pub error_description: Option<String>,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(ok: bool, text: &str, public_url: &str) -> HttpResponse {
    let title = if ok {
        "Authorization complete"
    } else {
        "Authorization failed"
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{}</p>\
         <p><a href=\"{}/admin/#/mail\">Back to the mail settings of the console</a></p></body></html>",
        escape_html(text),
        escape_html(public_url)
    );
    let mut resp = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::BadRequest()
    };
    resp.content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'none'"))
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// The OAuth2 provider redirects the administrator's browser here. No API key: the
/// one-time `state` authenticates the call. Exchanges the code, stores the tokens sealed.
#[utoipa::path(get, path = "/v1/oauth2/callback", tag = "mail", security(()), params(CallbackQuery),
    responses((status = 200, description = "HTML page: authorised", content_type = "text/html"),
              (status = 400, description = "HTML page: the error", content_type = "text/html")))]
pub async fn callback(
    state: web::Data<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(oauth_state) = query.state.clone() else {
        return Ok(page(
            false,
            "The provider's answer has no state.",
            &state.config.public_url,
        ));
    };
    let pending = db(&state, move |_, conn| {
        Ok(write_tx!(conn, |c| c.pending_take(&oauth_state, crate::now()))?)
    })
    .await?;
    let Some(pending) = pending else {
        return Ok(page(
            false,
            "Unknown or expired authorization request: start again from the profile.",
            &state.config.public_url,
        ));
    };
    let id = pending.profile_id;
    let tokens = Tokens::new(state.clone())?;
    if let Some(error) = &query.error {
        let text = format!(
            "the provider refused the authorization: {error}: {}",
            query.error_description.as_deref().unwrap_or("")
        );
        let stored = text.clone();
        db(&state, move |_, conn| {
            Ok(write_tx!(conn, |c| c.profile_token_failed(id, &stored, false))?)
        })
        .await?;
        return Ok(page(false, &text, &state.config.public_url));
    }
    let Some(code) = query.code.as_deref() else {
        return Ok(page(
            false,
            "The provider's answer has no code.",
            &state.config.public_url,
        ));
    };
    let (profile, _) = tokens.load(id).await?;
    let verifier = keyring(&state)?
        .open_string(&ctx_pkce(&pending.state), &pending.pkce_verifier_enc)
        .map_err(ApiError::internal)?;
    let verifier = MailSecret::new(verifier.as_str().to_owned());
    let now = u64::try_from(crate::now()).unwrap_or(0);
    let result = tokens
        .client()
        .exchange_code(&profile, code, &verifier, now)
        .await;
    let mailbox = pending.login_hint.clone();
    let recorded = tokens.record(id, result, Some(mailbox.clone())).await;
    let outcome = match &recorded {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("rejected:{e}"),
    };
    db(&state, move |_, conn| {
        let mut entry = audit(
            "oauth2:callback",
            "oauth2.profile.authorized",
            &id.to_string(),
        );
        entry.outcome = outcome;
        Ok(write_tx!(conn, |c| c.audit_insert(&entry))?)
    })
    .await?;
    match recorded {
        Ok(_) => Ok(page(
            true,
            &match mailbox {
                Some(m) => format!("The profile is authorised for {m}. You can close this page."),
                None => "The profile is authorised. You can close this page.".to_owned(),
            },
            &state.config.public_url,
        )),
        Err(e) => Ok(page(false, &e.to_string(), &state.config.public_url)),
    }
}

// ---------------------------------------------------------------------------------------
// SMTP accounts

fn yes() -> bool {
    true
}

/// An SMTP account as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    /// Unique name.
    pub name: String,
    /// May send (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Sends first; setting it makes the other accounts non-default.
    #[serde(default)]
    pub default: bool,
    /// `From`.
    pub sender: String,
    /// `Reply-To`.
    pub reply_to: Option<String>,
    /// Envelope sender.
    pub return_path: Option<String>,
    /// Read-receipt address (notifications only, never code mails).
    pub confirmation_address: Option<String>,
    /// Ask for read receipts on notifications.
    #[serde(default)]
    pub read_confirmation: bool,
    /// Force use: while any active account has it, only such accounts send (the others
    /// are not fallbacks).
    #[serde(default)]
    pub force_use: bool,
    /// Append `footer_text` to every mail of this account.
    #[serde(default)]
    pub footer: bool,
    /// The footer: plain text, at most 1000 characters, appended after a `-- ` line.
    /// Required when `footer` is on; kept while it is off.
    pub footer_text: Option<String>,
    /// SMTP host.
    pub host: String,
    /// SMTP port (default 25 / 587 / 465 by security).
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub security: Option<String>,
    /// `none` (default), `password` or `oauth2`.
    pub auth: Option<String>,
    /// Login (password) or mailbox (OAuth2).
    pub username: Option<String>,
    /// Password (auth password; omitted or `null` on PUT keeps the stored one).
    pub password: Option<SecretString>,
    /// OAuth2 profile id (auth oauth2).
    pub oauth2_profile: Option<i64>,
    /// Accept any certificate and host name (warned).
    #[serde(default)]
    pub ignore_cert_errors: bool,
}

/// An SMTP account as answered, never the password.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// May send.
    pub active: bool,
    /// Sends first.
    pub default: bool,
    /// `From`.
    pub sender: String,
    /// `Reply-To`.
    pub reply_to: Option<String>,
    /// Envelope sender.
    pub return_path: Option<String>,
    /// Read-receipt address.
    pub confirmation_address: Option<String>,
    /// Ask for read receipts on notifications.
    pub read_confirmation: bool,
    /// Force use: while any active account has it, only such accounts send.
    pub force_use: bool,
    /// Footer on/off.
    pub footer: bool,
    /// The footer's text.
    pub footer_text: Option<String>,
    /// Host.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Security.
    pub security: String,
    /// Authentication.
    pub auth: String,
    /// Login / mailbox.
    pub username: Option<String>,
    /// A password is stored.
    pub password_set: bool,
    /// OAuth2 profile id.
    pub oauth2_profile: Option<i64>,
    /// Certificate checks are off.
    pub ignore_cert_errors: bool,
    /// What the administrator should know (e.g. certificate checks off).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

fn warning_text(w: Warning) -> String {
    match w {
        Warning::CertificateChecksDisabled => "ignore_cert_errors: certificate and host name checks are off; anyone on the network path can impersonate the server and read the credentials".into(),
        Warning::CredentialsInPlainText => "security: credentials are sent in plain text to a non-loopback host".into(),
        other => format!("{other:?}"),
    }
}

fn warnings_of(settings: &AccountSettingsRow) -> Vec<String> {
    // Warnings depend on the settings, not on the password's value.
    let placeholder = Some(MailSecret::new("-".to_owned()));
    SmtpAccount::new(smtp_settings(settings, placeholder))
        .map(|a| a.warnings().into_iter().map(warning_text).collect())
        .unwrap_or_default()
}

fn account_view(r: &AccountRow) -> AccountView {
    AccountView {
        id: r.id,
        name: r.name.clone(),
        active: r.active,
        default: r.is_default,
        sender: r.sender.clone(),
        reply_to: r.reply_to.clone(),
        return_path: r.return_path.clone(),
        confirmation_address: r.confirmation_address.clone(),
        read_confirmation: r.read_confirmation,
        force_use: r.force_use,
        footer: r.footer,
        footer_text: r.footer_text.clone(),
        host: r.host.clone(),
        port: r.port,
        security: r.security.clone(),
        auth: r.auth.clone(),
        username: r.username.clone(),
        password_set: r.password_enc.is_some(),
        oauth2_profile: r.oauth2_profile_id,
        ignore_cert_errors: r.ignore_cert_errors,
        warnings: warnings_of(&crate::mail_sender::row_settings(r)),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

/// Checks an account body; `stored_password` says whether one is stored (PUT).
/// Returns the settings and what to do with the sealed password (`None` keep, `Some(None)`
/// clear, `Some(Some(p))` replace).
fn check_account(
    mut body: AccountBody,
    stored_password: bool,
) -> Result<(AccountSettingsRow, Option<Option<SecretString>>), ApiError> {
    check_name(&body.name)?;
    let security_name = body.security.take().unwrap_or_else(|| "starttls".into());
    let security = parse_security(&security_name).ok_or_else(|| {
        ApiError::field(
            "security",
            format!("security {security_name:?} is unknown: use none, starttls or tls"),
        )
    })?;
    let auth = body.auth.take().unwrap_or_else(|| "none".into());
    if !matches!(auth.as_str(), "none" | "password" | "oauth2") {
        return Err(ApiError::field(
            "auth",
            format!("auth {auth:?} is unknown: use none, password or oauth2"),
        ));
    }
    let port = body.port.unwrap_or(match security {
        delivery::email::Security::None => 25,
        delivery::email::Security::StartTls => 587,
        delivery::email::Security::Tls => 465,
    });
    let new_password = body.password.take().filter(|p| !p.expose().is_empty());
    let password_action = match auth.as_str() {
        "password" => {
            if new_password.is_none() && !stored_password {
                return Err(ApiError::field(
                    "password",
                    "password: required with auth password",
                ));
            }
            new_password.map(Some)
        }
        _ => stored_password.then_some(None),
    };
    if auth == "oauth2" && body.oauth2_profile.is_none() {
        return Err(ApiError::field(
            "oauth2_profile",
            "oauth2_profile: required with auth oauth2 (a profile id)",
        ));
    }
    if auth != "oauth2" && body.oauth2_profile.is_some() {
        return Err(ApiError::field(
            "oauth2_profile",
            "oauth2_profile: only with auth oauth2",
        ));
    }
    let row = AccountSettingsRow {
        name: body.name,
        active: body.active,
        is_default: body.default,
        sender: body.sender,
        reply_to: blank_to_none(body.reply_to),
        return_path: blank_to_none(body.return_path),
        confirmation_address: blank_to_none(body.confirmation_address),
        read_confirmation: body.read_confirmation,
        force_use: body.force_use,
        footer: body.footer,
        footer_text: body.footer_text,
        host: body.host,
        port: i32::from(port),
        security: security_name,
        username: blank_to_none(body.username).filter(|_| auth != "none"),
        auth,
        oauth2_profile_id: body.oauth2_profile,
        ignore_cert_errors: body.ignore_cert_errors,
        updated_at: crate::now(),
    };
    // Check every address, the confirmation address too even while read receipts are off.
    // The footer too, while it is off; it is stored as the check normalised it.
    let mut checked = row.clone();
    checked.read_confirmation = true;
    checked.footer = true;
    let placeholder = Some(MailSecret::new("-".to_owned()));
    let account = SmtpAccount::new(smtp_settings(&checked, placeholder))
        .map_err(|e| account_field_error(&e))?;
    let mut row = row;
    row.footer_text = account.footer().map(str::to_owned);
    if row.footer && row.footer_text.is_none() {
        return Err(ApiError::field(
            "footer_text",
            "footer_text: required when footer is on",
        ));
    }
    Ok((row, password_action))
}

fn account_path(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no SMTP account {id:?}")))
}

async fn load_account(state: &web::Data<AppState>, id: i64) -> Result<AccountRow, ApiError> {
    db(state, move |_, conn| {
        Ok(with_conn!(conn, |c| c.account_get(id))?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no SMTP account {id}")))
}

/// Saves an account (insert when `id` is `None`) in one transaction: name uniqueness,
/// profile existence, default demotion, audit.
async fn save_account(
    state: &web::Data<AppState>,
    caller: &Caller,
    id: Option<i64>,
    settings: AccountSettingsRow,
    password: Option<Option<SecretString>>,
) -> Result<AccountRow, ApiError> {
    let actor = caller.actor();
    let st = state.clone();
    crate::app::blocking(move || {
        let sealed: Option<Option<String>> = match &password {
            Some(Some(p)) => Some(Some(
                st.keyring
                    .read()
                    .map_err(ApiError::internal)?
                    .seal(CTX_PASSWORD, p.expose().as_bytes()),
            )),
            Some(None) => Some(None),
            None => None,
        };
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            if c.account_name_taken(&settings.name, id)? {
                return Err(duplicate("name", "an account"));
            }
            if let Some(p) = settings.oauth2_profile_id
                && c.profile_get(p)?.is_none()
            {
                return Err(ApiError::field(
                    "oauth2_profile",
                    format!("oauth2_profile: no OAuth2 profile {p}"),
                ));
            }
            let id = match id {
                Some(id) => {
                    let pw = sealed.as_ref().map(Option::as_deref);
                    if !c.account_update(id, &settings, pw)? {
                        return Err(ApiError::not_found(format!("no SMTP account {id}")));
                    }
                    c.audit_insert(&audit(&actor, "smtp.account.update", &settings.name))?;
                    id
                }
                None => {
                    let pw = sealed.clone().flatten();
                    let id = c.account_insert(&settings, pw.as_deref(), crate::now())?;
                    c.audit_insert(&audit(&actor, "smtp.account.create", &settings.name))?;
                    id
                }
            };
            if settings.is_default {
                c.accounts_demote_defaults(id)?;
            }
            c.account_get(id)?.ok_or(ApiError::Internal)
        })
    })
    .await
}

/// Creates an SMTP account.
#[utoipa::path(post, path = "/v1/smtp/accounts", tag = "mail", request_body = AccountBody,
    responses((status = 201, body = AccountView), (status = 400, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (settings, password) = check_account(body, false)?;
    let row = save_account(&state, &caller, None, settings, password).await?;
    Ok(HttpResponse::Created().json(account_view(&row)))
}

/// Lists SMTP accounts.
#[utoipa::path(get, path = "/v1/smtp/accounts", tag = "mail", params(Page),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let rows = db(&state, move |_, conn| {
        Ok(with_conn!(conn, |c| c.accounts_page(cursor, limit))?)
    })
    .await?;
    let next = (i64::try_from(rows.len()).unwrap_or(0) == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let items: Vec<AccountView> = rows.iter().map(account_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// Reads an SMTP account.
#[utoipa::path(get, path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = AccountView), (status = 404, body = super::error::Problem)))]
pub async fn read_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let row = load_account(&state, account_path(&id)?).await?;
    Ok(HttpResponse::Ok().json(account_view(&row)))
}

/// Replaces an SMTP account (the stored password is kept when none is sent).
#[utoipa::path(put, path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")), request_body = AccountBody,
    responses((status = 200, body = AccountView), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn update_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(body): Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = account_path(&id)?;
    let current = load_account(&state, id).await?;
    let (settings, password) = check_account(body, current.password_enc.is_some())?;
    let row = save_account(&state, &caller, Some(id), settings, password).await?;
    Ok(HttpResponse::Ok().json(account_view(&row)))
}

/// Deletes an SMTP account.
#[utoipa::path(delete, path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem)))]
pub async fn delete_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = account_path(&id)?;
    let actor = caller.actor();
    let st = state.clone();
    crate::app::blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            if !c.account_delete(id)? {
                return Err(ApiError::not_found(format!("no SMTP account {id}")));
            }
            c.audit_insert(&audit(&actor, "smtp.account.delete", &id.to_string()))?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of "test configuration".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// Where to send the test mail.
    pub to: String,
}

/// "Test configuration": sends a test mail through the account. Answers 200 with
/// `{ok: true}` or `{ok: false, error}` (the SMTP error text).
#[utoipa::path(post, path = "/v1/smtp/accounts/{id}/test", tag = "mail", params(("id" = i64, Path, description = "account id")), request_body = TestBody,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn test_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(body): Json<TestBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = account_path(&id)?;
    let row = load_account(&state, id).await?;
    OutgoingMail::test(&body.to, &row.name).map_err(|e| match e {
        OutgoingError::InvalidRecipient { .. } => ApiError::field("to", e.to_string()),
        other => ApiError::field("to", other.to_string()),
    })?;
    let account = match crate::mail_sender::account_from_row(&*keyring(&state)?, &row) {
        Ok(a) => a,
        Err(e) => {
            return Ok(
                HttpResponse::Ok().json(serde_json::json!({"ok": false, "error": e.to_string()}))
            );
        }
    };
    let tokens = Tokens::new(state.clone())?;
    let profiles: HashMap<String, i64> = row
        .oauth2_profile_id
        .map(|p| (row.name.clone(), p))
        .into_iter()
        .collect();
    let provider = AccountTokens::new(&tokens, profiles);
    let answer = match send_test_mail(&account, &body.to, &provider).await {
        Ok(_) => serde_json::json!({"ok": true}),
        Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// Registers the mail routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/oauth2/presets", web::get().to(presets))
        .route("/v1/oauth2/profiles", web::get().to(list_profiles))
        .route("/v1/oauth2/profiles", web::post().to(create_profile))
        .route("/v1/oauth2/profiles/{id}", web::get().to(read_profile))
        .route("/v1/oauth2/profiles/{id}", web::put().to(update_profile))
        .route("/v1/oauth2/profiles/{id}", web::delete().to(delete_profile))
        .route(
            "/v1/oauth2/profiles/{id}/authorize",
            web::post().to(authorize),
        )
        .route("/v1/oauth2/callback", web::get().to(callback))
        .route("/v1/smtp/accounts", web::get().to(list_accounts))
        .route("/v1/smtp/accounts", web::post().to(create_account))
        .route("/v1/smtp/accounts/{id}", web::get().to(read_account))
        .route("/v1/smtp/accounts/{id}", web::put().to(update_account))
        .route("/v1/smtp/accounts/{id}", web::delete().to(delete_account))
        .route("/v1/smtp/accounts/{id}/test", web::post().to(test_account));
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> AccountBody {
        serde_json::from_value(v).unwrap()
    }

    fn field_of(e: &ApiError) -> Option<String> {
        match e {
            ApiError::BadRequest { field, .. } => field.clone(),
            _ => None,
        }
    }

    #[test]
    fn account_checks_name_the_offending_field() {
        let base = serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h"});
        let rows: &[(&str, serde_json::Value, bool, Option<&str>)] = &[
            ("minimal", serde_json::json!({}), false, None),
            (
                "bad name",
                serde_json::json!({"name": " a"}),
                false,
                Some("name"),
            ),
            (
                "bad host",
                serde_json::json!({"host": "a b"}),
                false,
                Some("host"),
            ),
            (
                "port 0",
                serde_json::json!({"port": 0}),
                false,
                Some("port"),
            ),
            (
                "security",
                serde_json::json!({"security": "ssl"}),
                false,
                Some("security"),
            ),
            (
                "auth",
                serde_json::json!({"auth": "kerberos"}),
                false,
                Some("auth"),
            ),
            (
                "no password",
                serde_json::json!({"auth": "password", "username": "u"}),
                false,
                Some("password"),
            ),
            (
                "stored password",
                serde_json::json!({"auth": "password", "username": "u"}),
                true,
                None,
            ),
            (
                "no username",
                serde_json::json!({"auth": "password", "password": "p"}),
                false,
                Some("username"),
            ),
            (
                "no profile",
                serde_json::json!({"auth": "oauth2", "username": "u"}),
                false,
                Some("oauth2_profile"),
            ),
            (
                "stray profile",
                serde_json::json!({"oauth2_profile": 1}),
                false,
                Some("oauth2_profile"),
            ),
            (
                "reply_to",
                serde_json::json!({"reply_to": "nope"}),
                false,
                Some("reply_to"),
            ),
            (
                "confirmation",
                serde_json::json!({"confirmation_address": "nope"}),
                false,
                Some("confirmation_address"),
            ),
        ];
        for (name, patch, stored, want) in rows {
            let mut v = base.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let got = check_account(body(v), *stored);
            assert_eq!(
                got.as_ref().err().and_then(field_of).as_deref(),
                *want,
                "row {name:?}"
            );
        }
    }

    #[test]
    fn account_ports_default_by_security_and_passwords_follow_auth() {
        let rows: &[(&str, i32)] = &[("none", 25), ("starttls", 587), ("tls", 465)];
        for (security, port) in rows {
            let b = body(
                serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h", "security": security}),
            );
            let (row, _) = check_account(b, false).unwrap();
            assert_eq!(row.port, *port, "row {security}");
        }
        // Switching away from password auth clears the stored password.
        let b = body(serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h"}));
        let (_, action) = check_account(b, true).unwrap();
        assert!(matches!(action, Some(None)));
    }

    #[test]
    fn callback_pages_escape_provider_text() {
        assert_eq!(
            escape_html("<script>\"x\" & y</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; y&lt;/script&gt;"
        );
    }
}
