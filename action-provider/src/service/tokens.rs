//! A user's tokens: enrol, list (never the secret), read an OPIE challenge, delete.

use sae_core::acl::{Access, UserField};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::enrol::{Enrol, Enrolled, claim_serial, prepare};
use super::error::{Conflict, ServiceError};
use super::input::Login;
use super::page::Page;
use super::users::find;
use crate::clock::UnixTime;
use crate::store::tokens::Token;

/// A token as listed (no secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Serial (unique).
    pub serial: String,
    /// The user it is assigned to (inventory listings; absent when unassigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hash algorithm.
    pub algorithm: String,
    /// Code length (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digits: Option<i32>,
    /// Time step (TOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    /// Device.
    pub device: Option<String>,
    /// OPIE: remaining count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Whether the token is used for validation.
    pub active: bool,
    /// Issuer named by an imported file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Not usable before (RFC 3339; from an imported file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Not usable after (RFC 3339; from an imported file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last successful use.
    pub last_used_at: Option<String>,
}

/// The listing of one token (with its user's login for inventory listings).
pub fn view(t: Token, login: Option<String>) -> TokenView {
    let opie = t.kind == "opie";
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    TokenView {
        serial: t.serial,
        login,
        issuer: t.issuer,
        valid_from: t.valid_from.map(time),
        valid_until: t.valid_until.map(time),
        digits: (!opie).then_some(t.digits),
        period: (t.kind == "totp").then_some(t.period),
        count: if opie { t.opie_count } else { None },
        id: t.id,
        kind: t.kind,
        algorithm: t.algorithm,
        device: t.device,
        active: t.active,
        created_at: UnixTime::from_secs(t.created_at).rfc3339(),
        last_used_at: t.last_used_at.map(|t| UnixTime::from_secs(t).rfc3339()),
    }
}

/// Enrols a token. The secret (TOTP/HOTP) or the printed list (OPIE paper) is in this
/// answer only.
pub async fn enrol(
    state: &AppState,
    caller: &Caller,
    login: Login,
    body: Enrol,
) -> Result<Enrolled, ServiceError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let now = state.now();
    let given = body.serial.is_some();
    let known = body.secret_hex.is_some() || body.secret_base32.is_some();
    let (mut token, mut answer) = prepare(state, login.as_str(), body, now)?;
    let audit = caller.audit("token.enrol", now).subject(login.to_string());
    answer.serial = state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            token.user_id = Some(user.id);
            let serial = claim_serial(c, &mut token, given)?;
            c.token_insert(&token)?;
            audit
                .detail(serde_json::json!({
                    "token": token.id, "serial": serial, "type": token.kind, "known_secret": known,
                }))
                .write(c)?;
            Ok::<_, ServiceError>(serial)
        })
        .await?;
    Ok(answer)
}

/// Lists a user's tokens (never their secrets); a user's tokens fit in one page.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    login: Login,
) -> Result<Page<TokenView>, ServiceError> {
    caller.acl()?.require(UserField::Tokens, Access::View)?;
    let tokens = state
        .store
        .read(move |c| {
            let (user, _) = find(c, login.as_str())?;
            Ok::<_, ServiceError>(c.tokens_of(user.id)?)
        })
        .await?;
    Ok(Page::all(
        tokens.into_iter().map(|t| view(t, None)).collect(),
    ))
}

/// The challenge an OPIE client answers, e.g. `otp-md5 498 ke1234`.
pub async fn challenge(
    state: &AppState,
    caller: &Caller,
    login: Login,
    id: String,
) -> Result<String, ServiceError> {
    caller.require_flow()?;
    let token = state
        .store
        .read(move |c| {
            let (user, _) = find(c, login.as_str())?;
            c.token_of(user.id, &id)?
                .ok_or_else(|| ServiceError::not_found(format!("no token {id:?}")))
        })
        .await?;
    let opie = super::otp_validate::opie_state(&token).ok_or_else(|| {
        ServiceError::conflict(Conflict::NotOpie, None, "this token is not an OPIE token")
    })?;
    opie.challenge().map(|c| c.to_string()).map_err(|_| {
        ServiceError::conflict(
            Conflict::Exhausted,
            None,
            "this OPIE token is exhausted (count 0): enrol a new one",
        )
    })
}

/// Deletes a token.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    login: Login,
    id: String,
) -> Result<(), ServiceError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let audit = caller
        .audit("token.delete", state.now())
        .subject(login.to_string());
    state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            if !c.token_delete(user.id, &id)? {
                return Err(ServiceError::not_found(format!("no token {id:?}")));
            }
            audit.write(c)?;
            Ok(())
        })
        .await
}
