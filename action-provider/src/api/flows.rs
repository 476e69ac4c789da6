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

/// The client address for the audit log: the peer, or what a trusted proxy forwarded.
pub fn source(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let header = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(crate::proxies::client_address(trusted, peer, header).to_string())
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

/// `POST /v1/otp/request`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The user's login.
    pub login: String,
    /// `sms`, `email` or `voice` (voice is configurable but the service is disabled).
    pub channel: String,
    /// Template id (default: the channel's default template).
    pub template: Option<String>,
}

/// Requests a second factor: a fresh code is queued for delivery. An `Idempotency-Key`
/// header makes retries return the first answer instead of sending another code.
#[utoipa::path(post, path = "/v1/otp/request", tag = "flows", request_body = Request,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key get the same answer")),
    responses((status = 202, body = serde_json::Value, description = "{request_id, expires_at}"), (status = 400, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem),
              (status = 429, body = super::error::Problem), (status = 503, body = super::error::Problem)))]
pub async fn request(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Json(parsed): Json<Request>,
) -> Result<HttpResponse, ApiError> {
    // The idempotency digest covers the parsed request, so formatting differences do not matter.
    let canonical = serde_json::json!({"login": parsed.login, "channel": parsed.channel, "template": parsed.template}).to_string();
    check_login(&parsed.login)?;
    let channel = match parsed.channel.as_str() {
        "sms" => sae_core::template::Channel::Sms,
        "email" => sae_core::template::Channel::Email,
        "voice" => {
            return Err(ApiError::Unavailable {
                code: "channel_unavailable",
                detail: "channel: voice can be configured but the voice service is disabled".into(),
            });
        }
        other => {
            return Err(ApiError::field(
                "channel",
                format!("channel: {other:?} is not sms, email or voice"),
            ));
        }
    };
    let idempotency = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::field(
                        "Idempotency-Key",
                        "Idempotency-Key: 1 to 128 visible characters",
                    )
                })?;
            Some((caller.owner_id(), k.to_owned()))
        }
    };
    let input = crate::flows::request::RequestInput {
        login: parsed.login,
        channel,
        template: parsed.template,
        idempotency,
        digest: crate::flows::request::body_digest(canonical.as_bytes()),
        actor: caller.actor(),
        source: source(&req),
    };
    let st = state.clone();
    let answer = blocking(move || crate::flows::request::request(&st, &input)).await?;
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::ACCEPTED);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(answer.body))
}

/// `POST /v1/auth/hash`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HashAuth {
    /// The user's login.
    pub login: String,
    /// MFA rule id.
    pub mfa: String,
    /// The presented hash.
    pub hash: SecretString,
    /// Dynamic AuthValue key (e.g. a device id) for rules without a fixed key.
    pub authvalue: Option<String>,
}

/// "Hash always present": compares the presented hash with the AuthValue content the MFA
/// rule selects. Failures count toward lockout.
#[utoipa::path(post, path = "/v1/auth/hash", tag = "flows", request_body = HashAuth,
    responses((status = 200, body = Decision), (status = 400, body = super::error::Problem)))]
pub async fn hash(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Json(body): Json<HashAuth>,
) -> Result<HttpResponse, ApiError> {
    check_login(&body.login)?;
    if body.mfa.is_empty() || body.mfa.len() > 64 {
        return Err(ApiError::field("mfa", "mfa: 1 to 64 characters"));
    }
    if body.hash.expose().len() > 4096 {
        return Err(ApiError::field("hash", "hash: at most 4096 bytes"));
    }
    let input = crate::flows::hash::HashInput {
        login: body.login,
        mfa: body.mfa,
        hash: body.hash.expose().to_owned(),
        authvalue: body.authvalue,
        actor: caller.actor(),
        source: source(&req),
    };
    let st = state.clone();
    let d = blocking(move || crate::flows::hash::check(&st, &input)).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Registers the flow routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/otp/validate", web::post().to(validate))
        .route("/v1/otp/request", web::post().to(request))
        .route("/v1/auth/hash", web::post().to(hash));
}
