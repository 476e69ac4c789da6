//! Passwords: hashing new ones under the effective policy, importing legacy hashes, expiry,
//! and the `/v1/auth/password` check.

use sae_core::password::{PasswordHistory, PasswordPolicy, StoredHash, Verification};

use crate::api::error::ApiError;
use crate::api::types::SecretString;
use crate::app::AppState;
use crate::policies::Policies;
use crate::store::models::user::User;

/// The AuthSys names stored on a user.
pub fn authsys_names(user: &User) -> Vec<String> {
    serde_json::from_str(&user.authsys_names).unwrap_or_default()
}

/// Whether the user's password has expired under their effective policy.
pub fn is_expired(user: &User, policies: &Policies, now: i64) -> bool {
    let (Some(changed), true) = (user.password_changed_at, user.password_hash.is_some()) else {
        return false;
    };
    let policy = policies.password_policy(&authsys_names(user));
    policy.reset_every().is_expired(
        u64::try_from(changed).unwrap_or(0),
        u64::try_from(now).unwrap_or(0),
    )
}

/// Refuses a password that does not meet the policy's strength rule, listing every unmet
/// requirement.
pub fn check_strength(policy: &PasswordPolicy, password: &str) -> Result<(), ApiError> {
    let unmet = policy.test(password);
    if unmet.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unmet.iter().map(|u| u.message.to_string()).collect();
    Err(ApiError::BadRequest {
        code: "weak_password",
        field: Some("password".into()),
        detail: format!("password: {}", list.join("; ")),
    })
}

/// Runs a password hash computation on the blocking pool, bounded by the hashing slots.
pub async fn with_hash_slot<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    let _permit = state
        .hash_slots
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    crate::app::blocking(f).await
}

/// Checks a new password against `policy` (strength, then reuse of the last `differ`
/// passwords in `history`) and hashes it. Returns the PHC string.
pub async fn hash_new(
    state: &AppState,
    policy: &PasswordPolicy,
    history: &[String],
    password: &SecretString,
) -> Result<String, ApiError> {
    check_strength(policy, password.expose())?;
    let policy = policy.clone();
    let history = history.to_vec();
    let password = password.clone();
    with_hash_slot(state, move || {
        let past = PasswordHistory::parse_newest_first(history.iter().map(String::as_str)).map_err(ApiError::internal)?;
        if let Some(reused) = past.find_reuse(policy.differ(), password.expose()).map_err(ApiError::internal)? {
            return Err(ApiError::BadRequest {
                code: "password_reused",
                field: Some("password".into()),
                detail: format!(
                    "password: it is one of your last {} passwords (number {} back); choose another",
                    policy.differ().get(),
                    reused.age
                ),
            });
        }
        let hash = policy
            .hash()
            .hash(password.expose(), &mut crate::crypto::os_rng())
            .map_err(ApiError::internal)?;
        Ok(hash.into_string())
    })
    .await
}

/// Validates an imported hash (`password_hash` on user creation).
pub fn check_import(stored: &str) -> Result<String, ApiError> {
    StoredHash::parse(stored)
        .map(StoredHash::into_string)
        .map_err(|e| ApiError::field("password_hash", format!("password_hash: {e}")))
}

/// The new history (newest first, current included) after setting `new_hash`.
pub fn record_history(
    policy: &PasswordPolicy,
    history: &[String],
    new_hash: &str,
) -> Result<String, ApiError> {
    let mut past = PasswordHistory::parse_newest_first(history.iter().map(String::as_str))
        .map_err(ApiError::internal)?;
    past.record(
        StoredHash::parse(new_hash).map_err(ApiError::internal)?,
        policy.differ(),
    );
    let list: Vec<&str> = past.entries().iter().map(StoredHash::as_str).collect();
    serde_json::to_string(&list).map_err(ApiError::internal)
}

/// Verifies `password` against a stored hash on the blocking pool; for an unknown user or
/// one without a password, verifies against a fixed dummy hash so the answer takes as long.
pub async fn verify(
    state: &AppState,
    stored: Option<String>,
    policy: &PasswordPolicy,
    password: &SecretString,
) -> Result<Verification, ApiError> {
    let policy = policy.clone();
    let password = password.clone();
    with_hash_slot(state, move || {
        let real = stored.is_some();
        let hash = match stored {
            Some(s) => StoredHash::parse(&s).map_err(ApiError::internal)?,
            None => dummy_hash(&policy)?,
        };
        let verdict = hash
            .verify(password.expose(), policy.hash())
            .map_err(ApiError::internal)?;
        Ok(if real { verdict } else { Verification::Invalid })
    })
    .await
}

fn dummy_hash(policy: &PasswordPolicy) -> Result<StoredHash, ApiError> {
    policy
        .hash()
        .hash("sae-dummy-password", &mut crate::crypto::os_rng())
        .map_err(ApiError::internal)
}
