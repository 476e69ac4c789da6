//! Passwords: hashing new ones under the effective policy, importing legacy hashes, expiry,
//! and the first-factor check (`/v1/auth/password`) through the gate.

use sae_core::lockout::Factor;
use sae_core::password::{PasswordHistory, PasswordPolicy, StoredHash, Verification};

use super::AppState;
use super::caller::Caller;
use super::decision::{Decision, Reason};
use super::error::{Refusal, ServiceError};
use super::gate::{self, Subject};
use super::policies::Policies;
use crate::clock::UnixTime;
use crate::metrics::Metrics;
use crate::store::users::User;
use delivery::SecretString;

/// The AuthSys names stored on a user.
pub fn authsys_names(user: &User) -> Result<Vec<String>, ServiceError> {
    serde_json::from_str(&user.authsys_names)
        .map_err(|e| ServiceError::corrupt(format!("users.authsys_names of {:?}", user.login), e))
}

/// The password history stored on a user (newest first).
pub fn history(user: &User) -> Result<Vec<String>, ServiceError> {
    serde_json::from_str(&user.password_history).map_err(|e| {
        ServiceError::corrupt(format!("users.password_history of {:?}", user.login), e)
    })
}

/// Whether the user's password has expired under their effective policy.
pub fn is_expired(user: &User, policies: &Policies, now: UnixTime) -> Result<bool, ServiceError> {
    let (Some(changed), true) = (user.password_changed_at, user.password_hash.is_some()) else {
        return Ok(false);
    };
    let policy = policies.password_policy(&authsys_names(user)?);
    Ok(policy
        .reset_every()
        .is_expired(UnixTime::from_secs(changed).core_secs(), now.core_secs()))
}

/// Refuses a password that does not meet the policy's strength rule, listing every unmet
/// requirement.
pub fn check_strength(policy: &PasswordPolicy, password: &str) -> Result<(), ServiceError> {
    let unmet = policy.test(password);
    if unmet.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unmet.iter().map(|u| u.message.to_string()).collect();
    Err(ServiceError::Refused {
        kind: Refusal::WeakPassword,
        field: Some("password".into()),
        detail: format!("password: {}", list.join("; ")),
    })
}

/// Checks a new password against `policy` (strength, then reuse of the last `differ`
/// passwords in `history`) and hashes it. Returns the PHC string.
pub async fn hash_new(
    state: &AppState,
    policy: &PasswordPolicy,
    history: &[String],
    password: &SecretString,
) -> Result<String, ServiceError> {
    check_strength(policy, password.expose())?;
    let policy = policy.clone();
    let history = history.to_vec();
    let password = password.clone();
    state
        .hashing(move || {
            let corrupt = |e| ServiceError::corrupt("a password history entry", e);
            let past = PasswordHistory::parse_newest_first(history.iter().map(String::as_str))
                .map_err(corrupt)?;
            if let Some(reused) = past
                .find_reuse(policy.differ(), password.expose())
                .map_err(|e| ServiceError::internal("checking password reuse", e))?
            {
                return Err(ServiceError::Refused {
                    kind: Refusal::PasswordReused,
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
                .map_err(|e| ServiceError::internal("hashing a password", e))?;
            Ok(hash.into_string())
        })
        .await
}

/// Validates an imported hash (`password_hash` on user creation).
pub fn check_import(stored: &str) -> Result<String, ServiceError> {
    StoredHash::parse(stored)
        .map(StoredHash::into_string)
        .map_err(|e| ServiceError::field("password_hash", format!("password_hash: {e}")))
}

/// The new history (newest first, current included) after setting `new_hash`.
pub fn record_history(
    policy: &PasswordPolicy,
    history: &[String],
    new_hash: &str,
) -> Result<String, ServiceError> {
    let mut past = PasswordHistory::parse_newest_first(history.iter().map(String::as_str))
        .map_err(|e| ServiceError::corrupt("a password history entry", e))?;
    past.record(
        StoredHash::parse(new_hash)
            .map_err(|e| ServiceError::internal("a new password hash", e))?,
        policy.differ(),
    );
    let list: Vec<&str> = past.entries().iter().map(StoredHash::as_str).collect();
    serde_json::to_string(&list).map_err(|e| ServiceError::internal("the password history", e))
}

/// Verifies `password` against a stored hash on the hashing pool; for an unknown user or
/// one without a password, verifies against a fixed dummy hash so the answer takes as long.
pub async fn verify(
    state: &AppState,
    stored: Option<String>,
    policy: &PasswordPolicy,
    password: &SecretString,
) -> Result<Verification, ServiceError> {
    let policy = policy.clone();
    let password = password.clone();
    state
        .hashing(move || {
            let real = stored.is_some();
            let hash = match stored {
                Some(s) => StoredHash::parse(&s)
                    .map_err(|e| ServiceError::corrupt("a stored password hash", e))?,
                None => policy
                    .hash()
                    .hash("sae-dummy-password", &mut crate::crypto::os_rng())
                    .map_err(|e| ServiceError::internal("hashing the dummy password", e))?,
            };
            let verdict = hash
                .verify(password.expose(), policy.hash())
                .map_err(|e| ServiceError::internal("verifying a password", e))?;
            Ok(if real { verdict } else { Verification::Invalid })
        })
        .await
}

/// One password check with lockout, throttling, expiry and rehash-on-success.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    login: &str,
    password: &SecretString,
) -> Result<Decision, ServiceError> {
    caller.require_flow()?;
    let decision = check_once(state, caller, login, password).await?;
    state.metrics.decision("password", decision.label());
    Metrics::inc(if decision.valid {
        &state.metrics.password_accepted
    } else {
        &state.metrics.password_rejected
    });
    Ok(decision)
}

async fn check_once(
    state: &AppState,
    caller: &Caller,
    login: &str,
    password: &SecretString,
) -> Result<Decision, ServiceError> {
    let now = state.now();
    let policies = state.policies().await?;
    let lookup = login.to_owned();
    let user = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.user_by_login(&lookup)?))
        .await?;
    let audit = caller.audit("auth.password", now).subject(login);
    let config = policies.lockout;
    let decision = match user {
        None => {
            // Same work as for a real user, then a plain rejection.
            let _ = verify(state, None, &policies.global, password).await?;
            Decision::rejected(Reason::UnknownUser)
        }
        Some(user) => {
            if let Err(refused) =
                gate::precheck(&config, &gate::user_state(&user), Factor::Password, now)
            {
                Decision::refused(refused)
            } else if user.disabled {
                Decision::rejected(Reason::Disabled)
            } else if user.password_hash.is_none() {
                // Nothing to check, nothing to count; as long as a check would take.
                let _ = verify(state, None, &policies.global, password).await?;
                Decision::rejected(Reason::NoPassword)
            } else {
                return checked(state, user, &policies, password, audit, now).await;
            }
        }
    };
    audit.outcome(decision.outcome()).record(state).await?;
    Ok(decision)
}

/// Verifies the password of an existing, enabled user through the gate: the slot is taken
/// before the hash is checked, the outcome recorded after.
async fn checked(
    state: &AppState,
    user: User,
    policies: &Policies,
    password: &SecretString,
    audit: super::audit::Audit,
    now: UnixTime,
) -> Result<Decision, ServiceError> {
    let config = policies.lockout;
    let (id, login) = (user.id, user.login.clone());
    let reserved = state
        .store
        .write(move |c| gate::reserve(c, Subject::User { id, login: &login }, &config, now))
        .await?;
    if let Err(refused) = reserved {
        let decision = Decision::refused(refused);
        audit.outcome(decision.outcome()).record(state).await?;
        return Ok(decision);
    }
    let policy = policies.password_policy(&authsys_names(&user)?).clone();
    let outcome = verified(state, &user, &policy, password).await;
    let (valid, rehash) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let id = user.id;
            state
                .store
                .write(move |c| Ok::<_, ServiceError>(c.user_password_inflight(id, None)?))
                .await?;
            return Err(e);
        }
    };
    let expired = is_expired(&user, policies, now)?;
    state
        .store
        .write(move |c| {
            let subject = Subject::User {
                id: user.id,
                login: &user.login,
            };
            let attempt = gate::attempt(c, subject, Factor::Password, &config, now, true, |c| {
                if !valid {
                    return Ok(Err(Some(Reason::InvalidPassword)));
                }
                if let Some((old, new)) = &rehash {
                    c.user_rehash(user.id, old, new)?;
                }
                Ok(Ok(expired.then_some(Reason::PasswordExpired)))
            })?;
            let decision = Decision::of(attempt);
            audit.outcome(decision.outcome()).write(c)?;
            Ok::<_, ServiceError>(decision)
        })
        .await
}

/// Checks the password (and computes the new hash when the stored one uses older
/// parameters): whether it is right, and the rehash to store.
async fn verified(
    state: &AppState,
    user: &User,
    policy: &PasswordPolicy,
    password: &SecretString,
) -> Result<(bool, Option<(String, String)>), ServiceError> {
    Ok(
        match verify(state, user.password_hash.clone(), policy, password).await? {
            Verification::Valid { needs_rehash: true } => {
                let old = user.password_hash.clone().unwrap_or_default();
                let secret = password.clone();
                let p = policy.clone();
                let new = state
                    .hashing(move || {
                        p.hash()
                            .hash(secret.expose(), &mut crate::crypto::os_rng())
                            .map(StoredHash::into_string)
                            .map_err(|e| ServiceError::internal("re-hashing a password", e))
                    })
                    .await?;
                (true, Some((old, new)))
            }
            Verification::Valid { .. } => (true, None),
            _ => (false, None),
        },
    )
}
