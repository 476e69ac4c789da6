//! First-factor checks applications call: `/v1/auth/password` and `/v1/auth/hash`.

use actix_web::web;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Answer;
use super::error::{ApiError, Problem};
use super::extract::Json;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::decision::Decision;
use crate::service::hash_auth::{self, HashInput};
use crate::service::input::Login;
use crate::service::password;
use delivery::SecretString;

/// `POST /v1/auth/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAuth {
    /// The user's login.
    pub login: Login,
    /// The presented password (at most 1024 characters).
    #[schema(value_type = String, max_length = 1024)]
    pub password: SecretString,
}

/// Checks a first-factor password under the effective policy (expiry, lockout, throttling).
/// A correct but expired password answers `valid: false, reason: password_expired`.
#[utoipa::path(post, operation_id = "auth_password", path = "/v1/auth/password", tag = "flows", request_body = PasswordAuth,
    responses((status = 200, body = Decision), (status = 400, body = Problem)))]
pub async fn password(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<PasswordAuth>,
) -> Answer {
    if body.password.expose().chars().count() > 1024 {
        return Err(ApiError::field(
            "password",
            "must be at most 1024 characters",
        ));
    }
    super::ok(&password::check(&state, &caller, body.login.as_str(), &body.password).await?)
}

/// "Hash always present": compares the presented hash with the AuthValue content the MFA
/// rule selects. Failures count toward lockout.
#[utoipa::path(post, path = "/v1/auth/hash", tag = "flows", request_body = HashInput,
    responses((status = 200, body = Decision), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "the MFA rule named by `mfa` does not exist")))]
pub async fn hash(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<HashInput>,
) -> Answer {
    super::ok(&hash_auth::check(&state, &caller, body).await?)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/password", web::post().to(password))
        .route("/v1/auth/hash", web::post().to(hash));
}
