//! `/v1/users/{login}/devices`: a user's authenticators (phones, tablets, hardware tokens).
//!
//! With the IM switch `device_secret_same_as_principal` off (the default) each device gets a
//! token of its own. With it on, a device shares the principal token (the user's first
//! TOTP/HOTP token without a device): the same secret and the same replay state, so a code
//! used on one device is spent on all. Provisioning such a device necessarily shows the
//! principal secret again; that answer is audited.

use actix_web::{HttpResponse, web};
use sae_core::acl::{Access, UserField};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::tokens::{Enrol, prepare, provisioning};
use super::types::check_login;
use crate::app::{AppState, blocking};
use crate::store::{NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

/// `POST /v1/users/{login}/devices`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Device name, unique per user (1..=128 characters).
    pub name: String,
    /// `totp` (default) or `hotp`, for a device with its own token.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A device as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// Name.
    pub name: String,
    /// The token the device uses.
    pub token_id: String,
    /// Whether it shares the principal token (secret and replay state).
    pub shares_principal: bool,
    /// Creation time.
    pub created_at: String,
}

/// Adds a device: with its own token (answered once, like an enrolment), or sharing the
/// principal token when `device_secret_same_as_principal` is on.
#[utoipa::path(post, path = "/v1/users/{login}/devices", tag = "devices", params(("login" = String, Path, description = "the user's login")),
    request_body = NewDevice,
    responses((status = 201, body = serde_json::Value), (status = 400, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
    Json(body): Json<NewDevice>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_update([UserField::Devices])?;
    let login = login.into_inner();
    check_login(&login)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "name: 1 to 128 printable characters",
        ));
    }
    let kind = body.kind.unwrap_or_else(|| "totp".into());
    if kind != "totp" && kind != "hotp" {
        return Err(ApiError::field("type", "type: totp or hotp"));
    }
    let st = state.clone();
    let actor = caller.actor();
    let now = crate::now();
    let (shares, token) = blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let shared = policies.im.device_secret_same_as_principal();
        let mut conn = st.pool.get()?;
        let user = with_conn!(&mut conn, |c| c.user_by_login(&login))?.ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
        let prepared = if shared {
            None
        } else {
            let enrol = Enrol { kind: kind.clone(), algorithm: None, digits: None, period: None, device: Some(name.clone()), seed: None, count: None, otp: None, list_size: None };
            Some(prepare(&st, &login, enrol, now)?)
        };
        let answer = write_tx!(&mut conn, |c| {
            if c.devices_of(user.id)?.iter().any(|d| d.0 == name) {
                return Err(ApiError::Conflict { code: "duplicate", field: Some("name".into()), detail: format!("name: the user has a device {name:?}") });
            }
            let (token_id, answer) = match &prepared {
                Some((token, enrolled)) => {
                    let mut token = token.clone();
                    token.user_id = user.id;
                    c.token_insert(&token)?;
                    (token.id, Some(enrolled.clone()))
                }
                None => {
                    let principal = c
                        .tokens_of(user.id)?
                        .into_iter()
                        .find(|t| t.active && t.device.is_none() && (t.kind == "totp" || t.kind == "hotp"))
                        .ok_or_else(|| ApiError::Conflict {
                            code: "no_principal_token",
                            field: None,
                            detail: "device_secret_same_as_principal is on but the user has no TOTP/HOTP token to share: enrol one first".into(),
                        })?;
                    let enrolled = provisioning(&st, &login, &principal)?;
                    (principal.id.clone(), Some(enrolled))
                }
            };
            c.device_insert(user.id, &name, &token_id, shared, now)?;
            c.audit_insert(&NewAudit {
                at: now,
                actor: actor.clone(),
                action: "device.create".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: Some(serde_json::json!({"device": name, "shares_principal": shared}).to_string()),
            })?;
            Ok::<_, ApiError>(answer)
        })?;
        Ok((shared, answer))
    })
    .await?;
    Ok(HttpResponse::Created()
        .json(serde_json::json!({"shares_principal": shares, "token": token})))
}

/// Lists a user's devices.
#[utoipa::path(get, path = "/v1/users/{login}/devices", tag = "devices", params(("login" = String, Path, description = "the user's login")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.require(UserField::Devices, Access::View)?;
    let login = login.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let items = blocking(move || {
        let mut conn = st.pool.get()?;
        with_conn!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            Ok::<_, ApiError>(
                c.devices_of(user.id)?
                    .into_iter()
                    .map(|(name, token_id, shares_principal, at)| DeviceView {
                        name,
                        token_id,
                        shares_principal,
                        created_at: rfc3339(at),
                    })
                    .collect::<Vec<_>>(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

/// Removes a device (and its own token; a shared principal token stays).
#[utoipa::path(delete, path = "/v1/users/{login}/devices/{name}", tag = "devices",
    params(("login" = String, Path, description = "the user's login"), ("name" = String, Path, description = "device name")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_update([UserField::Devices])?;
    let (login, name) = path.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            let (token_id, shared) = c
                .device_delete(user.id, &name)?
                .ok_or_else(|| ApiError::not_found(format!("no device {name:?}")))?;
            if !shared {
                c.token_delete(user.id, &token_id)?;
            }
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: "device.delete".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the device routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users/{login}/devices", web::post().to(create))
        .route("/v1/users/{login}/devices", web::get().to(list))
        .route("/v1/users/{login}/devices/{name}", web::delete().to(delete));
}
