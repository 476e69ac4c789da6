//! HOTP resynchronisation (RFC 4226 §7.4, SPEC §5.1): two consecutive codes from a token
//! whose counter ran ahead of the look-ahead window move the stored counter to the second.
//!
//! It is a credential check like `/v1/otp/validate`: it runs through the [gate](super::gate)
//! (factor OTP — a failed resynchronisation counts one OTP failure, a locked or throttled
//! user is refused unchecked), and the counter moves by compare-and-set, so a pair used
//! twice, or concurrently, wins once.

use sae_core::acl::UserField;
use sae_core::lockout::Factor;
use sae_core::otp::{Code, Hotp, OtpError, ResyncWindow};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::decision::{Decision, Reason};
use super::error::{Conflict, ServiceError};
use super::gate::{self, Subject};
use super::input::Login;
use super::otp_validate::open_hmac;
use super::users::find;
use crate::store::{counter_from_db, counter_to_db};
use delivery::SecretString;

/// `POST /v1/users/{login}/tokens/{id}/resync`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resync {
    /// A code of the token.
    #[schema(value_type = String)]
    pub code1: SecretString,
    /// The code that follows `code1`.
    #[schema(value_type = String)]
    pub code2: SecretString,
}

/// Resynchronises a HOTP token. Applications (`otp` keys) may call it like a validation;
/// administrators need `tokens: edit`. A refusal is a normal answer with a reason.
pub async fn resync(
    state: &AppState,
    caller: &Caller,
    login: Login,
    id: String,
    body: Resync,
) -> Result<Decision, ServiceError> {
    // Checking codes is an OTP oracle: a flow (issue 14), then the ACL for administrators.
    caller.require_flow()?;
    if !caller.is_application() {
        caller.acl()?.check_update([UserField::Tokens])?;
    }
    let now = state.now();
    let config = state.policies().await?.lockout;
    let lookup = login.to_string();
    let (user, token) = state
        .store
        .read(move |c| {
            let (user, _) = find(c, &lookup)?;
            let token = c
                .token_of(user.id, &id)?
                .ok_or_else(|| ServiceError::not_found(format!("no token {id:?}")))?;
            Ok::<_, ServiceError>((user, token))
        })
        .await?;
    if token.kind != "hotp" {
        return Err(ServiceError::conflict(
            Conflict::NotHotp,
            None,
            "only HOTP tokens are resynchronised (TOTP tokens follow the clock)",
        ));
    }
    let audit = caller
        .audit("token.resync", now)
        .subject(login.to_string())
        .detail(serde_json::json!({"token": token.id, "serial": token.serial}));
    if let Err(refused) = gate::precheck(&config, &gate::user_state(&user), Factor::Otp, now) {
        let decision = Decision::refused(refused);
        audit.outcome(decision.outcome()).record(state).await?;
        return Ok(decision);
    }
    if user.disabled {
        let decision = Decision::rejected(Reason::Disabled);
        audit.outcome(decision.outcome()).record(state).await?;
        return Ok(decision);
    }
    let keyring = std::sync::Arc::clone(&state.keyring);
    state
        .store
        .write(move |c| {
            let subject = Subject::User {
                id: user.id,
                login: &user.login,
            };
            let attempt = gate::attempt(c, subject, Factor::Otp, &config, now, false, |c| {
                // The counter as it is now, inside the transaction that holds the user.
                let current = c
                    .token_of(user.id, &token.id)?
                    .ok_or_else(|| ServiceError::not_found("the token was deleted"))?;
                let ring = crate::crypto::read(&keyring)?;
                let (secret, algorithm, digits) = open_hmac(&ring, &current)
                    .map_err(|e| ServiceError::corrupt(format!("token {}", current.id), e))?;
                let (Ok(first), Ok(second)) = (
                    Code::parse(body.code1.expose(), digits),
                    Code::parse(body.code2.expose(), digits),
                ) else {
                    return Ok(Err(Some(Reason::InvalidCode)));
                };
                let last = current.last_counter.map(counter_from_db);
                let hotp = Hotp::new(&secret, algorithm, digits);
                match hotp.resync(&first, &second, last, ResyncWindow::default()) {
                    Ok(v) => {
                        if c.token_advance(&current.id, counter_to_db(v.counter()), now.secs())? {
                            Ok(Ok(None))
                        } else {
                            Ok(Err(Some(Reason::Replayed)))
                        }
                    }
                    Err(OtpError::CodeReused) => Ok(Err(Some(Reason::Replayed))),
                    Err(_) => Ok(Err(Some(Reason::InvalidCode))),
                }
            })?;
            let decision = Decision::of(attempt);
            audit.outcome(decision.outcome()).write(c)?;
            Ok::<_, ServiceError>(decision)
        })
        .await
}
