//! A user's credentials: setting or changing the password, lifting a lock, and the
//! AuthSys / claims / values tree (whose contents are credentials, sealed at rest).

use sae_core::acl::{Access, UserField};
use sae_core::rules::user_authsys::UserAuthsysList;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::{Caller, View};
use super::decision::Reason;
use super::error::{Denial, ServiceError};
use super::input::Login;
use super::users::find;
use crate::crypto::Keyring;
use crate::store::users::User;
use delivery::SecretString;

/// `POST /v1/users/{login}/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password.
    #[schema(value_type = String, min_length = 1, max_length = 1024)]
    pub password: SecretString,
    /// The current password (required unless the caller has the admin scope).
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub current_password: Option<SecretString>,
}

/// Sets or changes a user's password under the effective policy (strength, reuse). An
/// administrator (with `edit` on the password field) needs no current password; an
/// application must prove the current one (a password check, gated like `/v1/auth/password`).
pub async fn set_password(
    state: &AppState,
    caller: &Caller,
    login: Login,
    body: SetPassword,
) -> Result<(), ServiceError> {
    let is_admin = match caller.acl() {
        Ok(acl) => {
            acl.require(UserField::Password, Access::Edit)?;
            true
        }
        Err(_) => false,
    };
    let policies = state.policies().await?;
    let lookup = login.clone();
    let (user, _) = state.store.read(move |c| find(c, lookup.as_str())).await?;
    let policy = policies
        .password_policy(&super::password::authsys_names(&user)?)
        .clone();
    if !is_admin {
        let current = body.current_password.as_ref().ok_or_else(|| {
            ServiceError::field(
                "current_password",
                "current_password: required with an otp-scope key",
            )
        })?;
        let d = super::password::check(state, caller, login.as_str(), current).await?;
        if !d.valid && d.reason != Some(Reason::PasswordExpired) {
            return Err(ServiceError::Denied {
                kind: Denial::Scope,
                field: Some("current_password".into()),
                detail: format!(
                    "current_password: not accepted ({})",
                    d.reason.map_or("invalid", Reason::as_str)
                ),
            });
        }
    }
    let history = super::password::history(&user)?;
    let hash = super::password::hash_new(state, &policy, &history, &body.password).await?;
    let new_history = super::password::record_history(&policy, &history, &hash)?;
    let now = state.now();
    let audit = caller
        .audit("user.password.set", now)
        .subject(login.to_string());
    state
        .store
        .write(move |c| {
            c.user_set_password(user.id, &hash, &new_history, now.secs())?;
            audit.write(c)?;
            Ok(())
        })
        .await
}

/// Lifts a lock and resets every failure counter; answers the user as the caller sees it.
pub async fn unlock(state: &AppState, caller: &Caller, login: Login) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.check_update([UserField::Status])?;
    let policies = state.policies().await?;
    let now = state.now();
    let audit = caller.audit("user.unlock", now).subject(login.to_string());
    let (user, wallet) = state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            c.user_unlock(user.id, now.secs())?;
            audit.write(c)?;
            find(c, login.as_str())
        })
        .await?;
    acl.view::<UserField, _>(&super::users::view(user, wallet, &policies, now)?)
}

fn authsys_context(user_id: i64) -> String {
    format!("authsys:{user_id}")
}

/// Decrypts a user's AuthSys tree.
pub fn open_authsys(ring: &Keyring, user: &User) -> Result<UserAuthsysList, ServiceError> {
    match &user.authsys_enc {
        None => Ok(UserAuthsysList::default()),
        Some(sealed) => {
            let json = ring.open(&authsys_context(user.id), sealed)?;
            serde_json::from_slice(&json).map_err(|e| {
                ServiceError::corrupt(format!("users.authsys_enc of {:?}", user.login), e)
            })
        }
    }
}

/// Reads a user's AuthSys / claims / values (values are credentials: admin scope only).
pub async fn get_authsys(
    state: &AppState,
    caller: &Caller,
    login: Login,
) -> Result<UserAuthsysList, ServiceError> {
    caller.acl()?.require(UserField::Authsys, Access::View)?;
    let (user, _) = state.store.read(move |c| find(c, login.as_str())).await?;
    open_authsys(&*state.ring()?, &user)
}

/// Replaces a user's AuthSys / claims / values (the contents are sealed at rest).
pub async fn put_authsys(
    state: &AppState,
    caller: &Caller,
    login: Login,
    list: UserAuthsysList,
) -> Result<UserAuthsysList, ServiceError> {
    caller.acl()?.check_update([UserField::Authsys])?;
    let names: Vec<&str> = list.names();
    let names_json =
        serde_json::to_string(&names).map_err(|e| ServiceError::internal("AuthSys names", e))?;
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&list).map_err(|e| ServiceError::internal("AuthSys tree", e))?,
    );
    let now = state.now();
    let audit = caller
        .audit("user.authsys.set", now)
        .subject(login.to_string());
    let keyring = std::sync::Arc::clone(&state.keyring);
    state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            let sealed = crate::crypto::read(&keyring)?.seal(&authsys_context(user.id), &plain);
            c.user_set_authsys(user.id, &names_json, Some(&sealed), now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok(list)
}
