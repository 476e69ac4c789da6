//! The token inventory (`/v1/tokens`, SPEC §5.1): every token by serial, assigned or not;
//! assigning an unassigned token to a user, taking it back, deleting it.
//!
//! Assigning and unassigning keep the token's replay state (its last accepted counter), so
//! a code used before cannot be used again by the next holder. A token that a device uses
//! is neither unassigned nor deleted here (409 `in_use`): delete the device first.

use sae_core::acl::{Access, UserField};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::{Conflict, ServiceError};
use super::input::Login;
use super::page::{Page, PageRequest};
use super::tokens::{TokenView, view};
use super::users::find;
use crate::store::Conn;
use crate::store::tokens::{Token, TokenFilter};

/// Filters of `GET /v1/tokens`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryFilter {
    /// Serials starting with this text.
    pub serial: Option<String>,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only assigned (`true`) or only unassigned (`false`) tokens.
    pub assigned: Option<bool>,
    /// Only the tokens of the user with this login.
    pub login: Option<String>,
}

/// `POST /v1/tokens/{serial}/assign`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// The user who gets the token.
    pub login: Login,
}

fn no_token(serial: &str) -> ServiceError {
    ServiceError::not_found(format!("no token with serial {serial:?}"))
}

/// The token with `serial`, with its user's login.
fn by_serial(c: &mut dyn Conn, serial: &str) -> Result<(Token, Option<String>), ServiceError> {
    c.token_by_serial(serial)?.ok_or_else(|| no_token(serial))
}

/// Refuses to take away a token that a device uses.
fn not_on_a_device(c: &mut dyn Conn, token: &Token) -> Result<(), ServiceError> {
    let devices = c.devices_using(&token.id)?;
    if devices.is_empty() {
        return Ok(());
    }
    Err(ServiceError::conflict(
        Conflict::InUse,
        None,
        format!(
            "the token is used by the device(s) {}: delete them first",
            devices
                .iter()
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// Lists the inventory, filtered, a page at a time (keyset on the token's `seq`).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    q: InventoryFilter,
    page: PageRequest,
) -> Result<Page<TokenView>, ServiceError> {
    caller.acl()?.require(UserField::Tokens, Access::View)?;
    if let Some(kind) = q.kind.as_deref()
        && !["totp", "hotp", "opie"].contains(&kind)
    {
        return Err(ServiceError::field(
            "type",
            "type: must be totp, hotp or opie",
        ));
    }
    let mut filter = TokenFilter {
        serial_prefix: q.serial,
        kind: q.kind,
        assigned: q.assigned,
        user_id: None,
    };
    let login = q.login;
    let rows = state
        .store
        .read(move |c| {
            if let Some(login) = &login {
                filter.user_id = Some(find(c, login)?.0.id);
            }
            Ok::<_, ServiceError>(c.tokens_page(&filter, page.cursor, page.fetch())?)
        })
        .await?;
    Ok(Page::cut(rows, page, |(t, _)| t.seq).map(|(t, login)| view(t, login)))
}

/// Assigns an unassigned token to a user (its replay state is kept).
pub async fn assign(
    state: &AppState,
    caller: &Caller,
    serial: String,
    body: Assign,
) -> Result<TokenView, ServiceError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let audit = caller
        .audit("token.assign", state.now())
        .subject(body.login.to_string());
    state
        .store
        .write(move |c| {
            let (token, holder) = by_serial(c, &serial)?;
            if holder.is_some() {
                return Err(ServiceError::conflict(
                    Conflict::AlreadyAssigned,
                    None,
                    "the token is assigned to a user: unassign it first",
                ));
            }
            let (user, _) = find(c, body.login.as_str())?;
            if !c.token_assign(&token.id, user.id)? {
                return Err(ServiceError::conflict(
                    Conflict::AlreadyAssigned,
                    None,
                    "the token was assigned meanwhile",
                ));
            }
            audit
                .detail(serde_json::json!({"serial": token.serial, "token": token.id}))
                .write(c)?;
            let mut token = token;
            token.user_id = Some(user.id);
            Ok(view(token, Some(user.login)))
        })
        .await
}

/// Takes a token back from its user into the inventory (replay state kept).
pub async fn unassign(
    state: &AppState,
    caller: &Caller,
    serial: String,
) -> Result<TokenView, ServiceError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let audit = caller.audit("token.unassign", state.now());
    state
        .store
        .write(move |c| {
            let (mut token, holder) = by_serial(c, &serial)?;
            let (Some(user_id), Some(login)) = (token.user_id, holder) else {
                return Err(ServiceError::conflict(
                    Conflict::NotAssigned,
                    None,
                    "the token is not assigned to a user",
                ));
            };
            not_on_a_device(c, &token)?;
            c.token_unassign(&token.id, user_id)?;
            audit
                .subject(login)
                .detail(serde_json::json!({"serial": token.serial, "token": token.id}))
                .write(c)?;
            token.user_id = None;
            token.device = None;
            Ok(view(token, None))
        })
        .await
}

/// Deletes a token by serial, assigned or not.
pub async fn delete(state: &AppState, caller: &Caller, serial: String) -> Result<(), ServiceError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let audit = caller.audit("token.delete", state.now());
    state
        .store
        .write(move |c| {
            let (token, holder) = by_serial(c, &serial)?;
            not_on_a_device(c, &token)?;
            c.token_delete_any(&token.id)?;
            let audit = match holder {
                Some(login) => audit.subject(login),
                None => audit,
            };
            audit
                .detail(serde_json::json!({"serial": token.serial, "token": token.id}))
                .write(c)?;
            Ok(())
        })
        .await
}
