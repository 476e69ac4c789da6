//! The authentication flows applications call: `/v1/otp/validate`, …

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::types::{SecretString, check_login};
use crate::app::{AppState, blocking};
use crate::flows::otp::{Decision, ValidateInput};
use crate::metrics::Metrics;

/// `POST /v1/otp/validate`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Validate {
    /// The user's login.
    pub login: String,
    /// The presented code (digits; OPIE: six words or 16 hex digits).
    pub code: SecretString,
    /// Check only this token.
    pub token_id: Option<String>,
    /// Check only the code issued by this request.
    pub request_id: Option<String>,
}

/// The client address for the audit log (the peer; `X-Forwarded-For` is not believed until
/// `trusted_proxies` is configured).
pub fn source(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Validates a second factor. Rejection is a normal 200 answer with a `reason`.
#[utoipa::path(post, path = "/v1/otp/validate", tag = "flows", request_body = Validate,
    responses((status = 200, body = Decision), (status = 400, body = super::error::Problem)))]
pub async fn validate(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Json(body): Json<Validate>,
) -> Result<HttpResponse, ApiError> {
    check_login(&body.login)?;
    let code = body.code.expose();
    if code.is_empty() || code.chars().count() > 128 {
        return Err(ApiError::field("code", "must be 1 to 128 characters"));
    }
    for (name, v) in [
        ("token_id", &body.token_id),
        ("request_id", &body.request_id),
    ] {
        if v.as_ref().is_some_and(|v| v.is_empty() || v.len() > 64) {
            return Err(ApiError::field(
                name,
                format!("{name}: must be 1 to 64 characters"),
            ));
        }
    }
    if body.token_id.is_some() && body.request_id.is_some() {
        return Err(ApiError::field(
            "request_id",
            "give token_id or request_id, not both",
        ));
    }
    let input = ValidateInput {
        login: body.login,
        code: code.to_owned(),
        token_id: body.token_id,
        request_id: body.request_id,
        actor: caller.actor(),
        source: source(&req),
    };
    let st = state.clone();
    let decision = blocking(move || crate::flows::otp::validate(&st, &input)).await?;
    Metrics::inc(if decision.valid {
        &state.metrics.validate_accepted
    } else {
        &state.metrics.validate_rejected
    });
    Ok(HttpResponse::Ok().json(decision))
}

/// Registers the flow routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/otp/validate", web::post().to(validate));
}
