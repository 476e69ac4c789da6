//! SMTP accounts (`/v1/smtp/accounts*`) with "test configuration". Passwords are sealed at
//! rest and never answered (`password_set` only); a PUT that omits the password (or sends
//! `null`) keeps the stored one.

use std::collections::HashMap;

use delivery::email::SecretString as MailSecret;
use delivery::email::smtp::{AccountError, MailError as OutgoingError, Warning};
use delivery::email::{OutgoingMail, SmtpAccount, send_test_mail};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::{Problems, ServiceError};
use super::oauth2::{blank_to_none, check_name, duplicate};
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::outbox::email::{
    AccountTokens, Tokens, account_from_row, ctx_password, parse_security, password_binding,
    row_settings, smtp_settings,
};
use crate::store::smtp::{AccountRow, AccountSettingsRow};
use delivery::SecretString;

fn account_field_error(e: &AccountError) -> ServiceError {
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
            return ServiceError::field("footer_text", format!("footer_text: {e}"));
        }
        _ => "account",
    };
    ServiceError::field(field, e.to_string())
}

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

/// The words of an account's warning (`field: detail`, as the console expects), for
/// outgoing and inbound accounts alike.
pub(crate) fn warning_text(w: Warning) -> String {
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
        warnings: warnings_of(&row_settings(r)),
        created_at: UnixTime::from_secs(r.created_at).rfc3339(),
        updated_at: UnixTime::from_secs(r.updated_at).rfc3339(),
    }
}

/// Checks an account body; `stored_password` says whether one is stored (PUT).
/// Returns the settings and what to do with the sealed password (`None` keep, `Some(None)`
/// clear, `Some(Some(p))` replace).
fn check_account(
    mut body: AccountBody,
    stored_password: bool,
    now: UnixTime,
) -> Result<(AccountSettingsRow, Option<Option<SecretString>>), ServiceError> {
    // Every invalid field is answered at once: each check records its problem and goes on.
    let mut problems = Problems::new();
    problems.take(check_name(&body.name))?;
    let security_name = body.security.take().unwrap_or_else(|| "starttls".into());
    let security = parse_security(&security_name);
    if security.is_none() {
        problems.add(
            "security",
            format!("security {security_name:?} is unknown: use none, starttls or tls"),
        );
    }
    let auth = body.auth.take().unwrap_or_else(|| "none".into());
    if !matches!(auth.as_str(), "none" | "password" | "oauth2") {
        problems.add(
            "auth",
            format!("auth {auth:?} is unknown: use none, password or oauth2"),
        );
    }
    let port = body.port.unwrap_or(match security {
        Some(delivery::email::Security::None) => 25,
        Some(delivery::email::Security::StartTls) | None => 587,
        Some(delivery::email::Security::Tls) => 465,
    });
    let new_password = body.password.take().filter(|p| !p.expose().is_empty());
    let password_action = match auth.as_str() {
        "password" => {
            if new_password.is_none() && !stored_password {
                problems.add("password", "required with auth password");
            }
            new_password.map(Some)
        }
        _ => stored_password.then_some(None),
    };
    if auth == "oauth2" && body.oauth2_profile.is_none() {
        problems.add("oauth2_profile", "required with auth oauth2 (a profile id)");
    }
    if auth != "oauth2" && body.oauth2_profile.is_some() {
        problems.add("oauth2_profile", "only with auth oauth2");
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
        security: if security.is_some() {
            security_name
        } else {
            "starttls".into()
        },
        username: blank_to_none(body.username).filter(|_| auth != "none"),
        auth,
        oauth2_profile_id: body.oauth2_profile,
        ignore_cert_errors: body.ignore_cert_errors,
        updated_at: now.secs(),
    };
    let footer_text = check_settings(&row, &mut problems)?;
    let mut row = row;
    row.footer_text = footer_text;
    if row.footer && row.footer_text.is_none() && !problems.has("footer_text") {
        problems.add("footer_text", "required when footer is on");
    }
    problems.finish()?;
    Ok((row, password_action))
}

/// Checks the settings the delivery crate checks (every address, the confirmation address
/// even while read receipts are off, the footer even while it is off), recording every
/// invalid field: the crate stops at the first, so each offending field is replaced by a
/// valid stand-in and the check runs again. Answers the footer as the check normalised it.
fn check_settings(
    row: &AccountSettingsRow,
    problems: &mut Problems,
) -> Result<Option<String>, ServiceError> {
    let mut checked = row.clone();
    checked.read_confirmation = true;
    checked.footer = true;
    // One round per field the crate checks, at most.
    for _ in 0..10 {
        let placeholder = Some(MailSecret::new("-".to_owned()));
        let e = match SmtpAccount::new(smtp_settings(&checked, placeholder)) {
            Ok(account) => return Ok(account.footer().map(str::to_owned)),
            Err(e) => e,
        };
        let ServiceError::Invalid(list) = account_field_error(&e) else {
            return Ok(None);
        };
        let field = list.first().field.clone();
        problems.take::<()>(Err(ServiceError::Invalid(list)))?;
        match field.as_str() {
            "name" => checked.name = "account".into(),
            "host" => checked.host = "localhost".into(),
            "port" => checked.port = 25,
            "sender" => checked.sender = "sae@example.com".into(),
            "reply_to" => checked.reply_to = None,
            "return_path" => checked.return_path = None,
            "confirmation_address" => checked.confirmation_address = None,
            "username" => checked.username = Some("user".into()),
            "footer_text" => checked.footer_text = None,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

fn no_account(id: i64) -> ServiceError {
    ServiceError::not_found(format!("no SMTP account {id}"))
}

async fn load(state: &AppState, id: i64) -> Result<AccountRow, ServiceError> {
    state
        .store
        .read(move |c| c.account_get(id)?.ok_or_else(|| no_account(id)))
        .await
}

/// Saves an account (insert when `id` is `None`) in one transaction: name uniqueness,
/// profile existence, the password sealed for this row and server, default demotion, audit.
async fn save(
    state: &AppState,
    caller: &Caller,
    id: Option<i64>,
    settings: AccountSettingsRow,
    password: Option<Option<SecretString>>,
) -> Result<AccountView, ServiceError> {
    let now = state.now();
    let action = if id.is_some() {
        "smtp.account.update"
    } else {
        "smtp.account.create"
    };
    let audit = caller.audit(action, now).subject(settings.name.clone());
    let keyring = std::sync::Arc::clone(&state.keyring);
    let row = state
        .store
        .write(move |c| {
            if c.account_name_taken(&settings.name, id)? {
                return Err(duplicate("an account"));
            }
            super::oauth2::check_profile_exists(c, settings.oauth2_profile_id)?;
            let id = match id {
                Some(id) => id,
                None => c.account_insert(&settings, None, now.secs())?,
            };
            // The password is sealed for this row and server: it never opens for another.
            let binding = password_binding(id, &settings.host, settings.port, &settings.security);
            let sealed = crate::crypto::read(&keyring)?.seal_change(
                &ctx_password(&binding),
                password
                    .as_ref()
                    .map(|p| p.as_ref().map(|p| p.expose().as_bytes())),
            );
            if !c.account_update(id, &settings, sealed.as_ref().map(Option::as_deref))? {
                return Err(no_account(id));
            }
            audit.write(c)?;
            if settings.is_default {
                c.accounts_demote_defaults(id)?;
            }
            c.account_get(id)?.ok_or_else(|| no_account(id))
        })
        .await?;
    Ok(account_view(&row))
}

/// Creates an SMTP account.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: AccountBody,
) -> Result<AccountView, ServiceError> {
    caller.require_admin()?;
    let (settings, password) = check_account(body, false, state.now())?;
    save(state, caller, None, settings, password).await
}

/// Lists SMTP accounts.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<AccountView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.accounts_page(page.cursor, page.fetch())?))
        .await?;
    Ok(Page::cut(rows, page, |r| r.id).map(|r| account_view(&r)))
}

/// Reads an SMTP account.
pub async fn read(state: &AppState, caller: &Caller, id: i64) -> Result<AccountView, ServiceError> {
    caller.require_admin()?;
    Ok(account_view(&load(state, id).await?))
}

/// Replaces an SMTP account (the stored password is kept when none is sent).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: AccountBody,
) -> Result<AccountView, ServiceError> {
    caller.require_admin()?;
    let current = load(state, id).await?;
    let (settings, password) = check_account(body, current.password_enc.is_some(), state.now())?;
    let moved = (&settings.host, settings.port, &settings.security)
        != (&current.host, current.port, &current.security);
    if moved && settings.auth == "password" && password.is_none() {
        return Err(ServiceError::field(
            "password",
            "password: the stored password stays with the server it was entered for; \
             enter it again to use it with this host, port or security",
        ));
    }
    save(state, caller, Some(id), settings, password).await
}

/// Deletes an SMTP account.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let audit = caller
        .audit("smtp.account.delete", state.now())
        .subject(id.to_string());
    state
        .store
        .write(move |c| {
            if !c.account_delete(id)? {
                return Err(no_account(id));
            }
            audit.write(c)?;
            Ok(())
        })
        .await
}

/// Body of "test configuration".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// Where to send the test mail.
    #[schema(value_type = crate::service::schemas::MailAddress)]
    pub to: String,
}

/// The answer of "test configuration".
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the server accepted the mail.
    pub ok: bool,
    /// The SMTP error text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// "Test configuration": sends a test mail through the account and reports the SMTP error.
pub async fn test(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: TestBody,
) -> Result<TestResult, ServiceError> {
    caller.require_admin()?;
    let row = load(state, id).await?;
    OutgoingMail::test(&body.to, &row.name).map_err(|e| match e {
        OutgoingError::InvalidRecipient { .. } => ServiceError::field("to", e.to_string()),
        other => ServiceError::field("to", other.to_string()),
    })?;
    let account = match account_from_row(&*state.ring()?, &row) {
        Ok(a) => a,
        Err(e) => {
            return Ok(TestResult {
                ok: false,
                error: Some(e.to_string()),
            });
        }
    };
    let tokens = Tokens::new(state.outbox())?;
    let profiles: HashMap<String, i64> = row
        .oauth2_profile_id
        .map(|p| (row.name.clone(), p))
        .into_iter()
        .collect();
    let provider = AccountTokens::new(&tokens, profiles);
    let result = match send_test_mail(&account, &body.to, &provider).await {
        Ok(_) => TestResult {
            ok: true,
            error: None,
        },
        Err(e) => TestResult {
            ok: false,
            error: Some(e.to_string()),
        },
    };
    caller
        .audit("smtp.account.test", state.now())
        .subject(row.name.clone())
        .outcome(if result.ok { "ok" } else { "failed" })
        .detail(serde_json::json!({ "to": crate::outbox::mask(&body.to) }))
        .record(state)
        .await?;
    Ok(result)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "in a test a panic is the failure report"
)]
mod tests;
