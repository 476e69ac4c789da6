//! Inbound accounts (`/v1/inbound/accounts*`): the IMAP/POP3 mailboxes SAE reads bounces
//! from, with "test" and "check now"; the checks themselves are in [`check`].
//!
//! The password is sealed at rest with a context that names the account and its endpoint
//! (protocol, host, port, security): it opens only for the server it was entered for. A `PUT`
//! that changes the endpoint without the password again is refused (400 naming `password`),
//! never silently keeps it; a `PUT` that omits it (or sends `null`) otherwise keeps it.

pub mod check;

use delivery::SecretString;
use delivery::email::inbound::{
    InboundAccount, InboundAccountError, InboundAuth, InboundSettings, OAuth2Mechanism, Protocol,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
use super::oauth2::{check_name, duplicate};
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::crypto::Keyring;
use crate::outbox::email::parse_security;
use crate::store::inbound::{InboundRow, InboundSettingsRow};

/// Longest automatic check interval (a day).
const MAX_CHECK_EVERY_S: u32 = 86_400;
/// Shortest automatic check interval.
const MIN_CHECK_EVERY_S: u32 = 10;
/// Default limit of each network operation.
const DEFAULT_TIMEOUT_S: u32 = 30;

fn yes() -> bool {
    true
}

/// An inbound account as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundBody {
    /// Unique name.
    pub name: String,
    /// Checked automatically (default true). "Check now" works either way.
    #[serde(default = "yes")]
    pub active: bool,
    /// `imap` or `pop3`.
    pub protocol: String,
    /// Server host.
    pub host: String,
    /// Server port (default 993 / 995 with `tls`, else 143 / 110).
    pub port: Option<u16>,
    /// `none`, `starttls` or `tls` (default).
    pub security: Option<String>,
    /// `password` (default) or `oauth2`.
    pub auth: Option<String>,
    /// Login (password) or mailbox (OAuth2).
    pub username: String,
    /// Password (auth password; omitted or `null` on PUT keeps the stored one while the
    /// endpoint is unchanged).
    pub password: Option<SecretString>,
    /// OAuth2 profile id (auth oauth2).
    pub oauth2_profile: Option<i64>,
    /// SASL mechanism for OAuth2: `xoauth2` (default) or `oauthbearer` (RFC 7628).
    pub mechanism: Option<String>,
    /// IMAP folder (default `INBOX`; POP3 has only the inbox).
    pub folder: Option<String>,
    /// Leave processed messages on the server (default true).
    #[serde(default = "yes")]
    pub keep_copy: bool,
    /// Automatic check interval in seconds, 10 to 86400; 0 (default) = manual only.
    #[serde(default)]
    pub check_every_s: u32,
    /// Limit of each network operation, 1 to 600 seconds (default 30).
    pub timeout_s: Option<u32>,
    /// Accept any certificate and host name (warned).
    #[serde(default)]
    pub ignore_cert_errors: bool,
}

/// An inbound account as answered, never the password.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Checked automatically.
    pub active: bool,
    /// `imap` / `pop3`.
    pub protocol: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Security.
    pub security: String,
    /// `password` / `oauth2`.
    pub auth: String,
    /// Login / mailbox.
    pub username: String,
    /// A password is stored.
    pub password_set: bool,
    /// OAuth2 profile id.
    pub oauth2_profile: Option<i64>,
    /// SASL mechanism for OAuth2.
    pub mechanism: String,
    /// Folder.
    pub folder: String,
    /// Keep copy on server.
    pub keep_copy: bool,
    /// Automatic check interval (0: manual).
    pub check_every_s: i64,
    /// Timeout of each network operation.
    pub timeout_s: i32,
    /// Certificate checks are off.
    pub ignore_cert_errors: bool,
    /// What the administrator should know (e.g. certificate checks off).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// When the last check ended (RFC 3339).
    pub last_check_at: Option<String>,
    /// The last check's error (the server's own words).
    pub last_error: Option<String>,
    /// When the next automatic check is due (RFC 3339; absent when manual).
    pub next_check_at: Option<String>,
    /// A check is running now (on some node).
    pub checking: bool,
    /// Messages processed so far.
    pub fetched_total: i64,
    /// Bounces matched so far.
    pub bounces_total: i64,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// The endpoint a password is bound to: protocol, host, port and security.
fn endpoint(s: &InboundSettingsRow) -> String {
    format!("{}://{}:{}/{}", s.protocol, s.host, s.port, s.security)
}

/// The seal context of account `id`'s password: it names the account and its endpoint, so
/// a password opens only for the row and the server it was entered for.
fn password_context(id: i64, s: &InboundSettingsRow) -> String {
    format!("inbound_accounts.password:{id}:{}", endpoint(s))
}

fn same_endpoint(a: &InboundSettingsRow, b: &InboundSettingsRow) -> bool {
    endpoint(a) == endpoint(b)
}

fn settings_of(r: &InboundRow) -> InboundSettingsRow {
    InboundSettingsRow {
        name: r.name.clone(),
        active: r.active,
        protocol: r.protocol.clone(),
        host: r.host.clone(),
        port: r.port,
        security: r.security.clone(),
        auth: r.auth.clone(),
        username: r.username.clone(),
        oauth2_profile_id: r.oauth2_profile_id,
        mechanism: r.mechanism.clone(),
        folder: r.folder.clone(),
        keep_copy: r.keep_copy,
        check_every_s: r.check_every_s,
        timeout_s: r.timeout_s,
        ignore_cert_errors: r.ignore_cert_errors,
        updated_at: r.updated_at,
    }
}

fn parse_protocol(name: &str) -> Option<Protocol> {
    match name {
        "imap" => Some(Protocol::Imap),
        "pop3" => Some(Protocol::Pop3),
        _ => None,
    }
}

fn parse_mechanism(name: &str) -> Option<OAuth2Mechanism> {
    match name {
        "xoauth2" => Some(OAuth2Mechanism::XOAuth2),
        "oauthbearer" => Some(OAuth2Mechanism::OAuthBearer),
        _ => None,
    }
}

/// The delivery crate's settings for a row; `password` is used with auth password.
fn inbound_settings(s: &InboundSettingsRow, password: SecretString) -> InboundSettings {
    let protocol = parse_protocol(&s.protocol).unwrap_or(Protocol::Imap);
    let auth = match s.auth.as_str() {
        "oauth2" => InboundAuth::OAuth2 {
            username: s.username.clone(),
            mechanism: parse_mechanism(&s.mechanism).unwrap_or(OAuth2Mechanism::XOAuth2),
        },
        _ => InboundAuth::Password {
            username: s.username.clone(),
            password,
        },
    };
    let mut settings = InboundSettings::new(s.name.clone(), protocol, s.host.clone(), auth);
    settings.port = u16::try_from(s.port).unwrap_or(0);
    settings.security = parse_security(&s.security).unwrap_or(delivery::email::Security::Tls);
    settings.folder = s.folder.clone();
    settings.keep_copy = s.keep_copy;
    settings.dangerous_ignore_cert_errors = s.ignore_cert_errors;
    settings.timeout =
        std::time::Duration::from_secs(u64::try_from(s.timeout_s.max(1)).unwrap_or(1));
    settings
}

/// Rebuilds the checked account of a stored row (unsealing the password).
pub fn account_from_row(ring: &Keyring, row: &InboundRow) -> Result<InboundAccount, String> {
    let settings = settings_of(row);
    let password = match &row.password_enc {
        Some(sealed) => ring
            .open_string(&password_context(row.id, &settings), sealed)
            .map(|p| SecretString::new(p.as_str().to_owned()))
            .map_err(|e| format!("the stored password cannot be opened: {e}"))?,
        None => SecretString::new(String::new()),
    };
    InboundAccount::new(inbound_settings(&settings, password))
        .map_err(|e| format!("inbound account {:?}: {e}", row.name))
}

fn account_field_error(e: &InboundAccountError) -> ServiceError {
    let field = match e {
        InboundAccountError::InvalidName => "name",
        InboundAccountError::InvalidHost => "host",
        InboundAccountError::InvalidPort => "port",
        InboundAccountError::InvalidUsername => "username",
        InboundAccountError::InvalidFolder | InboundAccountError::FolderWithPop3 => "folder",
        InboundAccountError::InvalidTimeout => "timeout_s",
        _ => "account",
    };
    ServiceError::field(field, e.to_string())
}

fn view(r: &InboundRow, now: UnixTime) -> InboundView {
    let settings = settings_of(r);
    let warnings = InboundAccount::new(inbound_settings(&settings, SecretString::new("-".into())))
        .map(|a| {
            a.warnings()
                .into_iter()
                .map(super::smtp::warning_text)
                .collect()
        })
        .unwrap_or_default();
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    InboundView {
        id: r.id,
        name: r.name.clone(),
        active: r.active,
        protocol: r.protocol.clone(),
        host: r.host.clone(),
        port: r.port,
        security: r.security.clone(),
        auth: r.auth.clone(),
        username: r.username.clone(),
        password_set: r.password_enc.is_some(),
        oauth2_profile: r.oauth2_profile_id,
        mechanism: r.mechanism.clone(),
        folder: r.folder.clone(),
        keep_copy: r.keep_copy,
        check_every_s: r.check_every_s,
        timeout_s: r.timeout_s,
        ignore_cert_errors: r.ignore_cert_errors,
        warnings,
        last_check_at: r.last_check_at.map(time),
        last_error: r.last_error.clone(),
        next_check_at: (r.active && r.check_every_s > 0).then(|| time(r.next_check_at)),
        checking: r.lease_until.is_some_and(|t| t >= now.secs()),
        fetched_total: r.fetched_total,
        bounces_total: r.bounces_total,
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
    }
}

/// What to do with the stored password: `None` keep, `Some(None)` clear, `Some(Some(p))`
/// replace.
type PasswordAction = Option<Option<SecretString>>;

/// Checks a body against the stored account (PUT) or none (POST).
fn check_body(
    mut body: InboundBody,
    current: Option<&InboundRow>,
    now: UnixTime,
) -> Result<(InboundSettingsRow, PasswordAction), ServiceError> {
    check_name(&body.name)?;
    let protocol = parse_protocol(&body.protocol).ok_or_else(|| {
        ServiceError::field(
            "protocol",
            format!("protocol {:?} is unknown: use imap or pop3", body.protocol),
        )
    })?;
    let security_name = body.security.take().unwrap_or_else(|| "tls".into());
    let security = parse_security(&security_name).ok_or_else(|| {
        ServiceError::field(
            "security",
            format!("security {security_name:?} is unknown: use none, starttls or tls"),
        )
    })?;
    let auth = body.auth.take().unwrap_or_else(|| "password".into());
    if !matches!(auth.as_str(), "password" | "oauth2") {
        return Err(ServiceError::field(
            "auth",
            format!("auth {auth:?} is unknown: use password or oauth2"),
        ));
    }
    let mechanism = body.mechanism.take().unwrap_or_else(|| "xoauth2".into());
    if parse_mechanism(&mechanism).is_none() {
        return Err(ServiceError::field(
            "mechanism",
            format!("mechanism {mechanism:?} is unknown: use xoauth2 or oauthbearer"),
        ));
    }
    match (auth.as_str(), body.oauth2_profile) {
        ("oauth2", None) => {
            return Err(ServiceError::field(
                "oauth2_profile",
                "oauth2_profile: required with auth oauth2 (a profile id)",
            ));
        }
        ("password", Some(_)) => {
            return Err(ServiceError::field(
                "oauth2_profile",
                "oauth2_profile: only with auth oauth2",
            ));
        }
        _ => {}
    }
    let check_every_s = body.check_every_s;
    if check_every_s != 0 && !(MIN_CHECK_EVERY_S..=MAX_CHECK_EVERY_S).contains(&check_every_s) {
        return Err(ServiceError::field(
            "check_every_s",
            format!(
                "check_every_s: 0 (manual) or {MIN_CHECK_EVERY_S} to {MAX_CHECK_EVERY_S} seconds"
            ),
        ));
    }
    let timeout_s = body.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(1..=600).contains(&timeout_s) {
        return Err(ServiceError::field(
            "timeout_s",
            "timeout_s: 1 to 600 seconds",
        ));
    }
    let row = InboundSettingsRow {
        name: body.name,
        active: body.active,
        protocol: protocol.as_str().to_owned(),
        host: body.host,
        port: i32::from(body.port.unwrap_or(protocol.default_port(security))),
        security: security_name,
        username: body.username,
        oauth2_profile_id: body.oauth2_profile,
        mechanism,
        folder: body.folder.unwrap_or_default(),
        keep_copy: body.keep_copy,
        check_every_s: i64::from(check_every_s),
        timeout_s: i32::try_from(timeout_s).unwrap_or(600),
        ignore_cert_errors: body.ignore_cert_errors,
        updated_at: now.secs(),
        auth,
    };
    // Normalised as the delivery crate checks it (host, folder trimmed, `INBOX` default).
    let account = InboundAccount::new(inbound_settings(&row, SecretString::new("-".into())))
        .map_err(|e| account_field_error(&e))?;
    let mut row = row;
    row.host = account.host().to_owned();
    row.folder = account.folder().to_owned();
    let new_password = body.password.filter(|p| !p.expose().is_empty());
    let stored = current.filter(|c| c.password_enc.is_some());
    let action = if row.auth == "password" {
        match (new_password, stored) {
            (Some(p), _) => Some(Some(p)),
            (None, None) => {
                return Err(ServiceError::field(
                    "password",
                    "password: required with auth password",
                ));
            }
            (None, Some(c)) if !same_endpoint(&settings_of(c), &row) => {
                return Err(ServiceError::field(
                    "password",
                    "password: the server changed (protocol, host, port or security); enter the password again for the new server",
                ));
            }
            (None, Some(_)) => None,
        }
    } else {
        stored.map(|_| None)
    };
    Ok((row, action))
}

fn no_account(id: i64) -> ServiceError {
    ServiceError::not_found(format!("no inbound account {id}"))
}

async fn load(state: &AppState, id: i64) -> Result<InboundRow, ServiceError> {
    state
        .store
        .read(move |c| c.inbound_get(id)?.ok_or_else(|| no_account(id)))
        .await
}

/// Saves an account (insert when `id` is `None`) in one transaction.
async fn save(
    state: &AppState,
    caller: &Caller,
    id: Option<i64>,
    settings: InboundSettingsRow,
    password: PasswordAction,
    reset_position: bool,
) -> Result<InboundView, ServiceError> {
    let now = state.now();
    let action = if id.is_some() {
        "inbound.account.update"
    } else {
        "inbound.account.create"
    };
    let audit = caller.audit(action, now).subject(settings.name.clone());
    let keyring = std::sync::Arc::clone(&state.keyring);
    let row = state
        .store
        .write(move |c| {
            if c.inbound_name_taken(&settings.name, id)? {
                return Err(duplicate("an inbound account"));
            }
            super::oauth2::check_profile_exists(c, settings.oauth2_profile_id)?;
            // Sealed with the row's id, so a new row is inserted first.
            let id = match id {
                Some(id) => id,
                None => c.inbound_insert(&settings, None, now.secs())?,
            };
            let sealed = crate::crypto::read(&keyring)?.seal_change(
                &password_context(id, &settings),
                password
                    .as_ref()
                    .map(|p| p.as_ref().map(|p| p.expose().as_bytes())),
            );
            let pw = sealed.as_ref().map(Option::as_deref);
            if !c.inbound_update(id, &settings, pw, reset_position)? {
                return Err(no_account(id));
            }
            audit.write(c)?;
            c.inbound_get(id)?.ok_or_else(|| no_account(id))
        })
        .await?;
    Ok(view(&row, now))
}

/// Creates an inbound account.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: InboundBody,
) -> Result<InboundView, ServiceError> {
    caller.require_admin()?;
    let (settings, password) = check_body(body, None, state.now())?;
    save(state, caller, None, settings, password, false).await
}

/// Lists inbound accounts.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<InboundView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.inbound_page(page.cursor, page.fetch())?))
        .await?;
    let now = state.now();
    Ok(Page::cut(rows, page, |r| r.id).map(|r| view(&r, now)))
}

/// Reads an inbound account.
pub async fn read(state: &AppState, caller: &Caller, id: i64) -> Result<InboundView, ServiceError> {
    caller.require_admin()?;
    Ok(view(&load(state, id).await?, state.now()))
}

/// Replaces an inbound account. Pointing it at another mailbox (protocol, host, username
/// or folder) forgets how far the old one was processed.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: InboundBody,
) -> Result<InboundView, ServiceError> {
    caller.require_admin()?;
    let current = load(state, id).await?;
    let (settings, password) = check_body(body, Some(&current), state.now())?;
    let reset = current.protocol != settings.protocol
        || current.host != settings.host
        || current.username != settings.username
        || current.folder != settings.folder;
    save(state, caller, Some(id), settings, password, reset).await
}

/// Deletes an inbound account.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let audit = caller
        .audit("inbound.account.delete", state.now())
        .subject(id.to_string());
    state
        .store
        .write(move |c| {
            if !c.inbound_delete(id)? {
                return Err(no_account(id));
            }
            audit.write(c)?;
            Ok(())
        })
        .await
}
