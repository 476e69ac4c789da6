//! `/v1/users/{login}/tokens`: enrol, list, OPIE challenge, delete.

use actix_web::web;

use super::Answer;
use super::error::Problem;
use super::extract::Json;
use super::users::login;
use crate::http::page::Paged;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::decision::Decision;
use crate::service::enrol::{Enrol, Enrolled};
use crate::service::input::Login;
use crate::service::resync::{self, Resync};
use crate::service::tokens::{self, TokenView};

/// Enrols a token. The secret (TOTP/HOTP) or the printed list (OPIE paper) is in this
/// answer only.
#[utoipa::path(post, path = "/v1/users/{login}/tokens", tag = "tokens", params(("login" = Login, Path, description = "the user's login")),
    request_body = crate::service::schemas::Enrolment,
    responses((status = 201, body = Enrolled), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the serial is taken (`duplicate`)")))]
pub async fn enrol(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(body): Json<Enrol>,
) -> Answer {
    super::created(&tokens::enrol(&state, &caller, login(path.into_inner())?, body).await?)
}

/// Lists a user's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/users/{login}/tokens", tag = "tokens", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 200, body = Paged<TokenView>), (status = 404, body = Problem)))]
pub async fn list(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    super::paged(tokens::list(&state, &caller, login(path.into_inner())?).await?)
}

/// The challenge an OPIE client answers, e.g. `otp-md5 498 ke1234`.
#[utoipa::path(get, path = "/v1/users/{login}/tokens/{id}/challenge", tag = "tokens",
    params(("login" = Login, Path, description = "the user's login"), ("id" = String, Path, description = "token id")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn challenge(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (user, id) = path.into_inner();
    let text = tokens::challenge(&state, &caller, login(user)?, id).await?;
    super::ok(&serde_json::json!({ "challenge": text }))
}

/// Deletes a token.
#[utoipa::path(delete, path = "/v1/users/{login}/tokens/{id}", tag = "tokens",
    params(("login" = Login, Path, description = "the user's login"), ("id" = String, Path, description = "token id")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (user, id) = path.into_inner();
    tokens::delete(&state, &caller, login(user)?, id).await?;
    super::no_content()
}

/// Resynchronises a HOTP token with two consecutive codes (RFC 4226 §7.4); a failure
/// counts as an OTP failure. Rejection is a normal 200 answer with a `reason`.
#[utoipa::path(post, path = "/v1/users/{login}/tokens/{id}/resync", tag = "tokens",
    params(("login" = String, Path, description = "the user's login"), ("id" = String, Path, description = "token id")),
    request_body = Resync,
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resync(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    Json(body): Json<Resync>,
) -> Answer {
    let (user, id) = path.into_inner();
    super::ok(&resync::resync(&state, &caller, login(user)?, id, body).await?)
}

/// Registers the token routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users/{login}/tokens", web::post().to(enrol))
        .route("/v1/users/{login}/tokens", web::get().to(list))
        .route(
            "/v1/users/{login}/tokens/{id}/challenge",
            web::get().to(challenge),
        )
        .route(
            "/v1/users/{login}/tokens/{id}/resync",
            web::post().to(resync),
        )
        .route("/v1/users/{login}/tokens/{id}", web::delete().to(delete));
}
