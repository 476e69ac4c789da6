//! `/v1/config/im`, `/v1/config/lockout`, `/v1/config/retention`.

use actix_web::web;
use sae_core::config::ImConfigInput;
use sae_core::lockout::{AdminLockoutInput, LockoutConfigInput};

use crate::http::error::Problem;
use crate::http::extract::Json;
use crate::http::{Answer, ok};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::config;
use crate::service::policies::Retention;

/// Reads the IM configuration.
#[utoipa::path(get, path = "/v1/config/im", tag = "configuration",
    responses((status = 200, body = serde_json::Value, description = "the IM configuration")))]
pub async fn get_im(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&config::im(&state, &caller).await?)
}

/// Replaces the IM configuration. Turning a switch on while existing users violate it is
/// refused (409), listing the first conflicts; a token window of 3 or more needs
/// `accept_risk: true`.
#[utoipa::path(put, path = "/v1/config/im", tag = "configuration", request_body = crate::service::schemas::ImConfig,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn put_im(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<ImConfigInput>,
) -> Answer {
    ok(&config::put_im(&state, &caller, input).await?)
}

/// Reads the lockout and throttle configuration.
#[utoipa::path(get, path = "/v1/config/lockout", tag = "configuration",
    responses((status = 200, body = serde_json::Value)))]
pub async fn get_lockout(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&config::lockout(&state, &caller).await?)
}

/// Replaces the lockout and throttle configuration.
#[utoipa::path(put, path = "/v1/config/lockout", tag = "configuration", request_body = crate::service::schemas::LockoutConfig,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_lockout(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<LockoutConfigInput>,
) -> Answer {
    ok(&config::put_lockout(&state, &caller, input).await?)
}

/// Reads the administrators' lockout and throttle configuration.
#[utoipa::path(get, path = "/v1/config/admin-lockout", tag = "configuration",
    responses((status = 200, body = serde_json::Value, description = "{attempts, minutes, throttle}")))]
pub async fn get_admin_lockout(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&config::admin_lockout(&state, &caller).await?)
}

/// Replaces the administrators' lockout and throttle: `{attempts (1..=10, default 10),
/// minutes (default 15), throttle?}`. Administrators are only ever locked temporarily.
#[utoipa::path(put, path = "/v1/config/admin-lockout", tag = "configuration", request_body = crate::service::schemas::AdminLockoutConfig,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_admin_lockout(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<AdminLockoutInput>,
) -> Answer {
    ok(&config::put_admin_lockout(&state, &caller, input).await?)
}

/// Reads the retention settings.
#[utoipa::path(get, path = "/v1/config/retention", tag = "configuration",
    responses((status = 200, body = Retention)))]
pub async fn get_retention(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&config::retention(&state, &caller).await?)
}

/// Sets how long audit records and delivery reports are kept (days; 0 keeps forever).
/// Records past retention are deleted by every node within ten minutes.
#[utoipa::path(put, path = "/v1/config/retention", tag = "configuration", request_body = Retention,
    responses((status = 200, body = Retention), (status = 400, body = Problem)))]
pub async fn put_retention(
    state: web::Data<AppState>,
    caller: Caller,
    Json(r): Json<Retention>,
) -> Answer {
    ok(&config::put_retention(&state, &caller, r).await?)
}

/// Registers the configuration routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/config/retention", web::get().to(get_retention))
        .route("/v1/config/retention", web::put().to(put_retention))
        .route("/v1/config/im", web::get().to(get_im))
        .route("/v1/config/im", web::put().to(put_im))
        .route("/v1/config/lockout", web::get().to(get_lockout))
        .route("/v1/config/lockout", web::put().to(put_lockout))
        .route("/v1/config/admin-lockout", web::get().to(get_admin_lockout))
        .route("/v1/config/admin-lockout", web::put().to(put_admin_lockout));
}
