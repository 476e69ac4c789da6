//! `/v1/auth/hash` (seed 001 §2.4.4, "hash always present"): compare a presented hash with
//! the AuthValue content an MFA rule selects, counting failures toward lockout.

use sae_core::lockout::Factor;

use super::lockout::{admit, clear_expired, record_failure};
use super::otp::Decision;
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::store::{NewAudit, Ops as _};
use crate::{with_conn, write_tx};

/// What the caller presented.
#[derive(Debug, Clone)]
pub struct HashInput {
    /// Login.
    pub login: String,
    /// MFA rule id.
    pub mfa: String,
    /// Presented hash.
    pub hash: String,
    /// Dynamic AuthValue key (device id, …) for rules without a fixed key.
    pub authvalue: Option<String>,
    /// Audit actor.
    pub actor: String,
    /// Client address.
    pub source: Option<String>,
}

/// Runs one hash check (blocking).
pub fn check(state: &AppState, input: &HashInput) -> Result<Decision, ApiError> {
    let now = crate::now();
    let policies = state.policies.get(&state.pool)?;
    if policies.mfa.find(&input.mfa).is_none() {
        return Err(ApiError::field(
            "mfa",
            format!("mfa: no MFA rule {:?}", input.mfa),
        ));
    }
    let mut conn = state.pool.get()?;
    let user = with_conn!(&mut conn, |c| c.user_by_login(&input.login))?;
    let audit = |d: &Decision| NewAudit {
        at: now,
        actor: input.actor.clone(),
        action: "auth.hash".into(),
        subject: Some(input.login.clone()),
        source: input.source.clone(),
        outcome: d.outcome(),
        detail: Some(format!("{{\"mfa\":{:?}}}", input.mfa)),
    };
    let Some(user) = user else {
        let d = Decision::rejected("unknown_user");
        write_tx!(&mut conn, |c| c.audit_insert(&audit(&d)))?;
        return Ok(d);
    };
    let expired_lock = match admit(&policies, &user, Factor::Hash, now) {
        Ok(e) => e,
        Err(refused) => {
            let d = Decision::refused(refused);
            write_tx!(&mut conn, |c| c.audit_insert(&audit(&d)))?;
            return Ok(d);
        }
    };
    let tree = crate::api::credentials::open_authsys(state, &user)?;
    let verdict = policies.mfa.check_hash(
        &input.mfa,
        tree.as_slice(),
        input.authvalue.as_deref(),
        &input.hash,
    );
    if let Err(e) = &verdict
        && !e.is_authentication_failure()
        && !matches!(
            e,
            sae_core::rules::mfa::MfaError::Mismatch | sae_core::rules::mfa::MfaError::EmptyContent
        )
    {
        // The caller's input is at fault (e.g. a dynamic key is required): 400, not a failure.
        return Err(ApiError::field(
            if matches!(e, sae_core::rules::mfa::MfaError::DynamicKeyMissing { .. }) {
                "authvalue"
            } else {
                "mfa"
            },
            e.to_string(),
        ));
    }
    let d = write_tx!(&mut conn, |c| {
        if expired_lock {
            clear_expired(c, &user)?;
        }
        let d = match &verdict {
            Ok(()) => {
                c.user_succeed(user.id, Factor::Hash)?;
                Decision::accepted()
            }
            Err(_) => Decision::failed(
                "invalid_code",
                record_failure(c, &policies, &user, Factor::Hash, now)?,
            ),
        };
        c.audit_insert(&audit(&d))?;
        Ok::<_, ApiError>(d)
    })?;
    Ok(d)
}
