//! `/v1/users/{login}/devices`: a user's authenticators.

use actix_web::web;

use super::Answer;
use super::error::Problem;
use super::extract::Json;
use super::users::login;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::devices::{self, DeviceAdded, NewDevice};
use crate::service::input::Login;

/// Adds a device: with its own token (answered once, like an enrolment), or sharing the
/// principal token when `device_secret_same_as_principal` is on.
#[utoipa::path(post, path = "/v1/users/{login}/devices", tag = "devices", params(("login" = Login, Path, description = "the user's login")),
    request_body = NewDevice,
    responses((status = 201, body = DeviceAdded), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(body): Json<NewDevice>,
) -> Answer {
    super::created(&devices::create(&state, &caller, login(path.into_inner())?, body).await?)
}

/// Lists a user's devices.
#[utoipa::path(get, path = "/v1/users/{login}/devices", tag = "devices", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn list(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    super::paged(devices::list(&state, &caller, login(path.into_inner())?).await?)
}

/// Removes a device (and its own token; a shared principal token stays).
#[utoipa::path(delete, path = "/v1/users/{login}/devices/{name}", tag = "devices",
    params(("login" = Login, Path, description = "the user's login"), ("name" = String, Path, description = "device name")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (user, name) = path.into_inner();
    devices::delete(&state, &caller, login(user)?, name).await?;
    super::no_content()
}

/// Registers the device routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users/{login}/devices", web::post().to(create))
        .route("/v1/users/{login}/devices", web::get().to(list))
        .route("/v1/users/{login}/devices/{name}", web::delete().to(delete));
}
