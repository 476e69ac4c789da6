//! The second-factor flows applications call: `/v1/otp/validate`, `/v1/otp/request`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Answer;
use super::error::{ApiError, Problem};
use super::extract::Json;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::decision::Decision;
use crate::service::input::Login;
use crate::service::otp_request::{self, RequestInput};
use crate::service::otp_validate::{self, ValidateInput};
use delivery::SecretString;

/// `POST /v1/otp/validate`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Validate {
    /// The user's login.
    pub login: Login,
    /// The presented code (digits; OPIE: six words or 16 hex digits; 1..=128 characters).
    #[schema(value_type = String, min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub code: SecretString,
    /// Check only this token (1..=64 characters).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub token_id: Option<String>,
    /// Check only the code issued by this request (1..=64 characters).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub request_id: Option<String>,
}

impl Validate {
    fn checked(self) -> Result<ValidateInput, ApiError> {
        let n = self.code.expose().chars().count();
        if n == 0 || n > 128 {
            return Err(ApiError::field("code", "must be 1 to 128 characters"));
        }
        for (name, v) in [
            ("token_id", &self.token_id),
            ("request_id", &self.request_id),
        ] {
            if v.as_ref().is_some_and(|v| v.is_empty() || v.len() > 64) {
                return Err(ApiError::field(
                    name,
                    format!("{name}: must be 1 to 64 characters"),
                ));
            }
        }
        if self.token_id.is_some() && self.request_id.is_some() {
            return Err(ApiError::field(
                "request_id",
                "give token_id or request_id, not both",
            ));
        }
        Ok(ValidateInput {
            login: self.login.into_string(),
            code: self.code,
            token_id: self.token_id,
            request_id: self.request_id,
        })
    }
}

/// Validates a second factor. Rejection is a normal 200 answer with a `reason`.
#[utoipa::path(post, path = "/v1/otp/validate", tag = "flows", request_body = Validate,
    responses((status = 200, body = Decision), (status = 400, body = Problem)))]
pub async fn validate(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<Validate>,
) -> Answer {
    super::ok(&otp_validate::validate(&state, &caller, body.checked()?).await?)
}

/// `POST /v1/otp/request`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The user's login.
    pub login: Login,
    /// `sms`, `email` or `voice` (voice is configurable but the service is disabled).
    #[schema(value_type = crate::service::input::words::ChannelName)]
    pub channel: String,
    /// Template id (default: the channel's default template).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub template: Option<String>,
}

fn request_input(req: &HttpRequest, body: Request) -> Result<RequestInput, ApiError> {
    use sae_core::template::Channel;
    let channel = match body.channel.as_str() {
        "sms" => Channel::Sms,
        "email" => Channel::Email,
        "voice" => {
            return Err(crate::service::ServiceError::conflict(
                crate::service::error::Conflict::ChannelNotConfigured,
                Some("channel"),
                "channel: voice can be configured but the voice service is disabled",
            )
            .into());
        }
        other => {
            return Err(ApiError::field(
                "channel",
                format!("channel: {other:?} is not sms, email or voice"),
            ));
        }
    };
    let idempotency_key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::field(
                        "Idempotency-Key",
                        "Idempotency-Key: 1 to 128 visible characters",
                    )
                })?
                .to_owned(),
        ),
    };
    Ok(RequestInput {
        login: body.login.into_string(),
        channel,
        template: body.template,
        idempotency_key,
    })
}

/// Requests a second factor: a fresh code is queued for delivery. An `Idempotency-Key`
/// header makes retries return the first answer instead of sending another code.
#[utoipa::path(post, path = "/v1/otp/request", tag = "flows", request_body = Request,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7E](?:[\t\x20-\x7E]{0,126}[\x21-\x7E])?$",
        description = "retries with the same key get the same answer")),
    responses((status = 202, body = serde_json::Value, description = "{request_id, expires_at}"), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn request(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Json(body): Json<Request>,
) -> Answer {
    let answer = otp_request::request(&state, &caller, request_input(&req, body)?).await?;
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::ACCEPTED);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(answer.body))
}

/// Registers the flow routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/otp/validate", web::post().to(validate))
        .route("/v1/otp/request", web::post().to(request));
}
