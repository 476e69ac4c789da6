//! `/v1/policies/*`: the global and AuthSys password rules, the MFA rules, the password test.

use actix_web::web;
use sae_core::password::PasswordPolicyInput;
use sae_core::rules::mfa::MfaRules;

use crate::http::error::Problem;
use crate::http::extract::Json;
use crate::http::{Answer, ok};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::rules::{self, AuthsysBody, PasswordTest, PasswordTestResult};

/// Reads the global password rule.
#[utoipa::path(get, path = "/v1/policies/global", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_global(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&rules::global(&state, &caller).await?)
}

/// Replaces the global password rule.
#[utoipa::path(put, path = "/v1/policies/global", tag = "policies", request_body = crate::service::schemas::PasswordPolicy,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_global(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<PasswordPolicyInput>,
) -> Answer {
    ok(&rules::put_global(&state, &caller, input).await?)
}

/// Reads the AuthSys rules.
#[utoipa::path(get, path = "/v1/policies/authsys", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_authsys(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&rules::authsys(&state, &caller).await?)
}

/// Replaces the AuthSys rules (order matters: first match wins).
#[utoipa::path(put, path = "/v1/policies/authsys", tag = "policies", request_body = crate::service::schemas::AuthsysRules,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<AuthsysBody>,
) -> Answer {
    ok(&rules::put_authsys(&state, &caller, body).await?)
}

/// Reads the MFA rules.
#[utoipa::path(get, path = "/v1/policies/mfa", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_mfa(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&rules::mfa(&state, &caller).await?)
}

/// Replaces the MFA "hash always present" rules.
#[utoipa::path(put, path = "/v1/policies/mfa", tag = "policies", request_body = crate::service::schemas::MfaRules,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_mfa(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<MfaRules>,
) -> Answer {
    ok(&rules::put_mfa(&state, &caller, body).await?)
}

/// Tests a sample password against the effective rule; lists every unmet requirement.
#[utoipa::path(post, path = "/v1/policies/password-test", tag = "policies", request_body = PasswordTest,
    responses((status = 200, body = PasswordTestResult), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn password_test(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<PasswordTest>,
) -> Answer {
    ok(&rules::password_test(&state, &caller, body).await?)
}

/// Registers the policy routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/policies/global", web::get().to(get_global))
        .route("/v1/policies/global", web::put().to(put_global))
        .route("/v1/policies/authsys", web::get().to(get_authsys))
        .route("/v1/policies/authsys", web::put().to(put_authsys))
        .route("/v1/policies/mfa", web::get().to(get_mfa))
        .route("/v1/policies/mfa", web::put().to(put_mfa))
        .route("/v1/policies/password-test", web::post().to(password_test));
}
