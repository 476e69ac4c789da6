//! The MFA "hash always present" check (`/v1/auth/hash`, seed 001 §2.4.4): compare a
//! presented hash with the AuthValue content an MFA rule selects, through the gate.

use std::sync::Arc;

use sae_core::lockout::Factor;
use sae_core::rules::mfa::MfaError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::decision::{Decision, Reason};
use super::error::ServiceError;
use super::gate::{self, Subject};
use super::input::Login;
use delivery::SecretString;

/// `POST /v1/auth/hash`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HashInput {
    /// The user's login.
    pub login: Login,
    /// MFA rule id (1..=64 characters).
    #[schema(
        min_length = 1,
        max_length = 16,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub mfa: String,
    /// The presented hash (at most 4096 bytes).
    #[schema(value_type = String, max_length = 1024)]
    pub hash: SecretString,
    /// Dynamic AuthValue key (e.g. a device id) for rules without a fixed key.
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub authvalue: Option<String>,
}

/// Runs one hash check.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    input: HashInput,
) -> Result<Decision, ServiceError> {
    caller.require_flow()?;
    if input.mfa.is_empty() || input.mfa.len() > 64 {
        return Err(ServiceError::field("mfa", "mfa: 1 to 64 characters"));
    }
    if input.hash.expose().len() > 4096 {
        return Err(ServiceError::field("hash", "hash: at most 4096 bytes"));
    }
    let now = state.now();
    let policies = state.policies().await?;
    if policies.mfa.find(&input.mfa).is_none() {
        return Err(ServiceError::missing(
            "mfa",
            format!("no MFA rule {:?}", input.mfa),
        ));
    }
    let login = input.login.to_string();
    let lookup = login.clone();
    let user = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.user_by_login(&lookup)?))
        .await?;
    let audit = caller
        .audit("auth.hash", now)
        .subject(login)
        .detail(serde_json::json!({"mfa": input.mfa}));
    let config = policies.lockout;
    let decision = match user {
        None => Decision::rejected(Reason::UnknownUser),
        Some(user) => match gate::precheck(&config, &gate::user_state(&user), Factor::Hash, now) {
            Err(refused) => Decision::refused(refused),
            Ok(()) if user.disabled => Decision::rejected(Reason::Disabled),
            Ok(()) => {
                let tree = super::credentials::open_authsys(&*state.ring()?, &user)?;
                let verdict = policies.mfa.check_hash(
                    &input.mfa,
                    tree.as_slice(),
                    input.authvalue.as_deref(),
                    input.hash.expose(),
                );
                if let Err(e) = &verdict
                    && !e.is_authentication_failure()
                    && !matches!(e, MfaError::Mismatch | MfaError::EmptyContent)
                {
                    // The caller's input is at fault (e.g. a dynamic key is required): 400.
                    let field = if matches!(e, MfaError::DynamicKeyMissing { .. }) {
                        "authvalue"
                    } else {
                        "mfa"
                    };
                    return Err(ServiceError::field(field, e.to_string()));
                }
                let matched = verdict.is_ok();
                let policies = Arc::clone(&policies);
                return state
                    .store
                    .write(move |c| {
                        let subject = Subject::User {
                            id: user.id,
                            login: &user.login,
                        };
                        let attempt = gate::attempt(
                            c,
                            subject,
                            Factor::Hash,
                            &policies.lockout,
                            now,
                            false,
                            |_| {
                                Ok(if matched {
                                    Ok(None)
                                } else {
                                    Err(Some(Reason::InvalidCode))
                                })
                            },
                        )?;
                        let decision = Decision::of(attempt);
                        audit.outcome(decision.outcome()).write(c)?;
                        Ok(decision)
                    })
                    .await;
            }
        },
    };
    audit.outcome(decision.outcome()).record(state).await?;
    Ok(decision)
}
