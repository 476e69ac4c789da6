//! `/v1/config/im` and `/v1/config/lockout`: the configuration the flows obey.

use actix_web::{HttpResponse, web};
use sae_core::config::{ExistingUser, ImConfig, ImConfigInput, check_switches};
use sae_core::lockout::{LockoutConfig, LockoutConfigInput};

use super::error::ApiError;
use super::extract::{Caller, Json};
use crate::app::{AppState, blocking};
use crate::policies::doc;
use crate::store::{NewAudit, Ops as _};
use crate::write_tx;

fn audit(actor: String, action: &str, detail: Option<String>) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor,
        action: action.into(),
        subject: None,
        source: None,
        outcome: "ok".into(),
        detail,
    }
}

/// Reads the IM configuration.
#[utoipa::path(get, path = "/v1/config/im", tag = "configuration",
    responses((status = 200, body = serde_json::Value, description = "the IM configuration")))]
pub async fn get_im(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let st = state.clone();
    let p = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    Ok(HttpResponse::Ok().json(ImConfigInput::from(p.im)))
}

/// Replaces the IM configuration. Turning a switch on while existing users violate it is
/// refused (409), listing the first conflicts; a token window of 3 or more needs
/// `accept_risk: true`.
#[utoipa::path(put, path = "/v1/config/im", tag = "configuration", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem),
              (status = 409, body = super::error::Problem)))]
pub async fn put_im(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<ImConfigInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let next = ImConfig::try_from(input).map_err(|e| super::users::config_error(&e))?;
    let actor = caller.actor();
    let st = state.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let previous = crate::policies::load(c)?.im;
            let users = c.users_identity()?;
            let existing = users.iter().map(|(login, document, mobile)| ExistingUser {
                login,
                document: document.as_deref(),
                mobile: mobile.as_deref(),
            });
            check_switches(&previous, &next, existing).map_err(|e| ApiError::Conflict {
                code: "conflicts_with_existing_users",
                field: Some(e.field().into()),
                detail: e.to_string(),
            })?;
            let json =
                serde_json::to_string(&ImConfigInput::from(next)).map_err(ApiError::internal)?;
            c.setting_put(doc::IM, &json, crate::now())?;
            c.audit_insert(&audit(actor.clone(), "config.im.update", Some(json)))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    state.policies.invalidate();
    Ok(HttpResponse::Ok().json(ImConfigInput::from(next)))
}

/// Reads the lockout and throttle configuration.
#[utoipa::path(get, path = "/v1/config/lockout", tag = "configuration",
    responses((status = 200, body = serde_json::Value)))]
pub async fn get_lockout(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let st = state.clone();
    let p = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    Ok(HttpResponse::Ok().json(LockoutConfigInput::from(p.lockout)))
}

/// Replaces the lockout and throttle configuration.
#[utoipa::path(put, path = "/v1/config/lockout", tag = "configuration", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_lockout(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<LockoutConfigInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let next =
        LockoutConfig::try_from(input).map_err(|e| ApiError::field(e.field(), e.to_string()))?;
    let actor = caller.actor();
    let st = state.clone();
    let json =
        serde_json::to_string(&LockoutConfigInput::from(next)).map_err(ApiError::internal)?;
    let stored = json.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.setting_put(doc::LOCKOUT, &stored, crate::now())?;
            c.audit_insert(&audit(
                actor.clone(),
                "config.lockout.update",
                Some(stored.clone()),
            ))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    state.policies.invalidate();
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json))
}

/// Reads the retention settings.
#[utoipa::path(get, path = "/v1/config/retention", tag = "configuration",
    responses((status = 200, body = crate::policies::Retention)))]
pub async fn get_retention(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let st = state.clone();
    let p = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    Ok(HttpResponse::Ok().json(p.retention))
}

/// Sets how long audit records and delivery reports are kept (days; 0 keeps forever).
/// Records past retention are deleted by every node within ten minutes.
#[utoipa::path(put, path = "/v1/config/retention", tag = "configuration", request_body = crate::policies::Retention,
    responses((status = 200, body = crate::policies::Retention), (status = 400, body = super::error::Problem)))]
pub async fn put_retention(
    state: web::Data<AppState>,
    caller: Caller,
    Json(r): Json<crate::policies::Retention>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    for (name, v) in [
        ("audit_days", r.audit_days),
        ("deliveries_days", r.deliveries_days),
    ] {
        if v > 3650 {
            return Err(ApiError::field(
                name,
                format!("{name}: at most 3650 days (0 keeps records forever)"),
            ));
        }
    }
    let json = serde_json::to_string(&r).map_err(ApiError::internal)?;
    let actor = caller.actor();
    let st = state.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.setting_put(crate::policies::doc::RETENTION, &json, crate::now())?;
            c.audit_insert(&audit(
                actor.clone(),
                "config.retention.update",
                Some(json.clone()),
            ))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    state.policies.invalidate();
    Ok(HttpResponse::Ok().json(r))
}

/// Registers the configuration routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/config/retention", web::get().to(get_retention))
        .route("/v1/config/retention", web::put().to(put_retention));
    cfg.route("/v1/config/im", web::get().to(get_im))
        .route("/v1/config/im", web::put().to(put_im))
        .route("/v1/config/lockout", web::get().to(get_lockout))
        .route("/v1/config/lockout", web::put().to(put_lockout));
}
