//! Configuration documents (`/v1/config/*`): the IM configuration, lockout and throttling,
//! retention. Every change goes through [`save`]: one transaction that stores the document
//! and its audit row, then this node's policy cache is refreshed (others within a second).

use sae_core::config::{
    CodeDigits, CodeTtl, ConfigError, ExistingUser, ImConfig, ImConfigInput, TokenWindow,
    check_switches,
};
use sae_core::lockout::{
    AdminLockout, AdminLockoutInput, Attempts, LockMinutes, LockoutConfig, LockoutConfigInput,
    LockoutError, ThrottlePolicy,
};

use super::AppState;
use super::audit::changed_fields;
use super::caller::Caller;
use super::error::{Conflict, Problems, ServiceError};
use super::policies::{Retention, doc, load};
use crate::store::prelude::*;

/// Serialises a document for storage.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ServiceError> {
    serde_json::to_string(value).map_err(|e| ServiceError::internal("a configuration document", e))
}

/// Stores configuration document `name` (with its audit row, which names the fields that
/// changed — never their values) and refreshes the policies.
/// `check` runs first inside the same transaction (e.g. against existing users).
pub async fn save(
    state: &AppState,
    caller: &Caller,
    name: &'static str,
    json: String,
    check: impl FnOnce(&mut dyn Conn) -> Result<(), ServiceError> + Send + 'static,
) -> Result<(), ServiceError> {
    let now = state.now();
    let audit = caller.audit(&format!("config.{name}.update"), now);
    let parse = |t: &str| serde_json::from_str(t).unwrap_or(serde_json::Value::Null);
    state
        .store
        .write(move |c| {
            check(c)?;
            let before = c
                .setting_get(name)?
                .map_or_else(|| default_document(name), |(v, _)| parse(&v));
            c.setting_put(name, &json, now.secs())?;
            let changed = changed_fields(&before, &parse(&json));
            audit
                .detail(serde_json::json!({ "changed": changed }))
                .write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    state.policies.invalidate();
    Ok(())
}

/// The document in force while none is stored (the defaults), so the first change names
/// only the fields it changed.
fn default_document(name: &str) -> serde_json::Value {
    let value = match name {
        doc::IM => serde_json::to_value(ImConfigInput::from(ImConfig::default())),
        doc::LOCKOUT => serde_json::to_value(LockoutConfigInput::from(LockoutConfig::default())),
        doc::ADMIN_LOCKOUT => {
            serde_json::to_value(AdminLockoutInput::from(AdminLockout::default()))
        }
        doc::RETENTION => serde_json::to_value(Retention::default()),
        _ => Ok(serde_json::Value::Null),
    };
    value.unwrap_or(serde_json::Value::Null)
}

/// The IM configuration.
pub async fn im(state: &AppState, caller: &Caller) -> Result<ImConfigInput, ServiceError> {
    caller.require_admin()?;
    Ok(ImConfigInput::from(state.policies().await?.im))
}

/// Replaces the IM configuration. Turning a switch on while existing users violate it is
/// refused (409), listing the first conflicts; a token window of 3 or more needs
/// `accept_risk: true`.
pub async fn put_im(
    state: &AppState,
    caller: &Caller,
    input: ImConfigInput,
) -> Result<ImConfigInput, ServiceError> {
    caller.require_admin()?;
    // Every invalid field at once: each bounded value is checked on its own first.
    let mut problems = Problems::new();
    let config = |r: Result<(), ConfigError>| r.map_err(|e| super::users::config_error(&e));
    problems.take(config(
        TokenWindow::new(input.token_window, input.accept_risk).map(drop),
    ))?;
    problems.take(config(CodeDigits::new(input.code_digits).map(drop)))?;
    problems.take(config(CodeTtl::from_secs(input.code_ttl_s).map(drop)))?;
    problems.finish()?;
    let next = ImConfig::try_from(input).map_err(|e| super::users::config_error(&e))?;
    let json = to_json(&ImConfigInput::from(next))?;
    let candidate = next;
    save(state, caller, doc::IM, json, move |c| {
        let previous = load(c)?.im;
        let users = c.users_identity()?;
        let existing = users.iter().map(|(login, document, mobile)| ExistingUser {
            login,
            document: document.as_deref(),
            mobile: mobile.as_deref(),
        });
        check_switches(&previous, &candidate, existing).map_err(|e| {
            ServiceError::conflict(
                Conflict::ConflictsWithExistingUsers,
                Some(e.field()),
                e.to_string(),
            )
        })
    })
    .await?;
    Ok(ImConfigInput::from(next))
}

/// The lockout and throttle configuration.
pub async fn lockout(
    state: &AppState,
    caller: &Caller,
) -> Result<LockoutConfigInput, ServiceError> {
    caller.require_admin()?;
    Ok(LockoutConfigInput::from(state.policies().await?.lockout))
}

/// Replaces the lockout and throttle configuration.
pub async fn put_lockout(
    state: &AppState,
    caller: &Caller,
    input: LockoutConfigInput,
) -> Result<LockoutConfigInput, ServiceError> {
    caller.require_admin()?;
    let lockout =
        |r: Result<(), LockoutError>| r.map_err(|e| ServiceError::field(e.field(), e.to_string()));
    // Every invalid field at once: each bounded value is checked on its own first.
    let mut problems = Problems::new();
    problems.take(lockout(Attempts::new(input.attempts).map(drop)))?;
    if let Some(m) = input.minutes {
        problems.take(lockout(LockMinutes::new(m).map(drop)))?;
    }
    problems.take(lockout(ThrottlePolicy::try_from(input.throttle).map(drop)))?;
    problems.finish()?;
    let next = LockoutConfig::try_from(input)
        .map_err(|e| ServiceError::field(e.field(), e.to_string()))?;
    let answer = LockoutConfigInput::from(next);
    save(state, caller, doc::LOCKOUT, to_json(&answer)?, |_| Ok(())).await?;
    Ok(answer)
}

/// The administrators' lockout and throttle.
pub async fn admin_lockout(
    state: &AppState,
    caller: &Caller,
) -> Result<AdminLockoutInput, ServiceError> {
    caller.require_admin()?;
    Ok(AdminLockoutInput::from(
        state.policies().await?.admin_lockout,
    ))
}

/// Replaces the administrators' lockout and throttle (temporary locks only).
pub async fn put_admin_lockout(
    state: &AppState,
    caller: &Caller,
    input: AdminLockoutInput,
) -> Result<AdminLockoutInput, ServiceError> {
    caller.require_admin()?;
    let next =
        AdminLockout::try_from(input).map_err(|e| ServiceError::field(e.field(), e.to_string()))?;
    let answer = AdminLockoutInput::from(next);
    save(state, caller, doc::ADMIN_LOCKOUT, to_json(&answer)?, |_| {
        Ok(())
    })
    .await?;
    Ok(answer)
}

/// The retention settings.
pub async fn retention(state: &AppState, caller: &Caller) -> Result<Retention, ServiceError> {
    caller.require_admin()?;
    Ok(state.policies().await?.retention)
}

/// Sets how long audit records and delivery reports are kept (days; 0 keeps forever).
pub async fn put_retention(
    state: &AppState,
    caller: &Caller,
    r: Retention,
) -> Result<Retention, ServiceError> {
    caller.require_admin()?;
    let mut problems = Problems::new();
    for (name, v) in [
        ("audit_days", r.audit_days),
        ("deliveries_days", r.deliveries_days),
    ] {
        if v > 3650 {
            problems.add(name, "at most 3650 days (0 keeps records forever)");
        }
    }
    problems.finish()?;
    save(state, caller, doc::RETENTION, to_json(&r)?, |_| Ok(())).await?;
    Ok(r)
}
