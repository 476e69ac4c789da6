//! A user's devices (phones, tablets, hardware tokens).
//!
//! With the IM switch `device_secret_same_as_principal` off (the default) each device gets a
//! token of its own. With it on, a device shares the principal token (the user's first
//! TOTP/HOTP token without a device): the same secret and the same replay state, so a code
//! used on one device is spent on all. Provisioning such a device necessarily shows the
//! principal secret again; that answer is audited.

use sae_core::acl::{Access, UserField};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::enrol::{Enrol, Enrolled, claim_serial, prepare, provisioning};
use super::error::{Conflict, ServiceError};
use super::input::Login;
use super::page::Page;
use super::users::find;
use crate::clock::UnixTime;

/// `POST /v1/users/{login}/devices`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Device name, unique per user (1..=128 characters).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// `totp` (default) or `hotp`, for a device with its own token.
    #[serde(rename = "type")]
    #[schema(value_type = Option<super::input::words::DeviceTokenType>)]
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

/// The answer to adding a device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceAdded {
    /// Whether the device shares the principal token.
    pub shares_principal: bool,
    /// The device's token, shown once: its own, or the principal's when shared.
    pub token: Option<Enrolled>,
}

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(ServiceError::field(
            "name",
            "name: 1 to 128 printable characters",
        ));
    }
    Ok(name)
}

/// Adds a device: with its own token (answered once, like an enrolment), or sharing the
/// principal token when `device_secret_same_as_principal` is on.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    login: Login,
    body: NewDevice,
) -> Result<DeviceAdded, ServiceError> {
    let acl = caller.acl()?;
    acl.check_update([UserField::Devices])?;
    let name = check_name(&body.name)?;
    let kind = body.kind.unwrap_or_else(|| "totp".into());
    if kind != "totp" && kind != "hotp" {
        return Err(ServiceError::field("type", "type: totp or hotp"));
    }
    let now = state.now();
    let shared = state.policies().await?.im.device_secret_same_as_principal();
    if shared {
        // The answer shows the principal token's secret: a disclosure of the tokens field.
        acl.check_update([UserField::Tokens])?;
    }
    let prepared = if shared {
        None
    } else {
        let enrol = Enrol {
            kind,
            device: Some(name.clone()),
            ..Enrol::default()
        };
        Some(prepare(state, login.as_str(), enrol, now)?)
    };
    let audit = caller
        .audit("device.create", now)
        .subject(login.to_string())
        .detail(serde_json::json!({"device": name, "shares_principal": shared}));
    let disclosure = caller
        .audit("token.secret.disclosed", now)
        .subject(login.to_string());
    let keyring = std::sync::Arc::clone(&state.keyring);
    let token = state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            if c.devices_of(user.id)?.iter().any(|d| d.0 == name) {
                return Err(ServiceError::conflict(
                    Conflict::Duplicate,
                    Some("name"),
                    format!("name: the user has a device {name:?}"),
                ));
            }
            let (token_id, answer) = match prepared {
                Some((mut token, mut enrolled)) => {
                    token.user_id = Some(user.id);
                    enrolled.serial = claim_serial(c, &mut token, false)?;
                    c.token_insert(&token)?;
                    (token.id, enrolled)
                }
                None => {
                    let principal = c
                        .tokens_of(user.id)?
                        .into_iter()
                        .find(|t| t.active && t.device.is_none() && (t.kind == "totp" || t.kind == "hotp"))
                        .ok_or_else(|| {
                            ServiceError::conflict(
                                Conflict::NoPrincipalToken,
                                None,
                                "device_secret_same_as_principal is on but the user has no TOTP/HOTP token to share: enrol one first",
                            )
                        })?;
                    let ring = crate::crypto::read(&keyring)?;
                    let answer = provisioning(&ring, login.as_str(), &principal)?;
                    disclosure
                        .detail(serde_json::json!({"token": principal.id, "device": name}))
                        .write(c)?;
                    (principal.id.clone(), answer)
                }
            };
            c.device_insert(user.id, &name, &token_id, shared, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(answer)
        })
        .await?;
    Ok(DeviceAdded {
        shares_principal: shared,
        token: Some(token),
    })
}

/// Lists a user's devices; they fit in one page.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    login: Login,
) -> Result<Page<DeviceView>, ServiceError> {
    caller.acl()?.require(UserField::Devices, Access::View)?;
    let rows = state
        .store
        .read(move |c| {
            let (user, _) = find(c, login.as_str())?;
            Ok::<_, ServiceError>(c.devices_of(user.id)?)
        })
        .await?;
    Ok(Page::all(
        rows.into_iter()
            .map(|(name, token_id, shares_principal, at)| DeviceView {
                name,
                token_id,
                shares_principal,
                created_at: UnixTime::from_secs(at).rfc3339(),
            })
            .collect(),
    ))
}

/// Removes a device (and its own token; a shared principal token stays).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    login: Login,
    name: String,
) -> Result<(), ServiceError> {
    caller.acl()?.check_update([UserField::Devices])?;
    let audit = caller
        .audit("device.delete", state.now())
        .subject(login.to_string());
    state
        .store
        .write(move |c| {
            let (user, _) = find(c, login.as_str())?;
            let (token_id, shared) = c
                .device_delete(user.id, &name)?
                .ok_or_else(|| ServiceError::not_found(format!("no device {name:?}")))?;
            if !shared {
                c.token_delete(user.id, &token_id)?;
            }
            audit.write(c)?;
            Ok(())
        })
        .await
}
