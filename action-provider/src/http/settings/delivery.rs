//! `/v1/delivery/sms` (brokers), `/v1/delivery/sms/test`, `/v1/delivery/voice` (configurable,
//! disabled), `/v1/delivery/email` (the SMS fallback) and `/v1/reports/deliveries`.

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::clock::UnixTime;
use crate::http::error::{ApiError, ErrorCode, Problem};
use crate::http::extract::{Json, Query};
use crate::http::page::PageQuery;
use crate::http::{Answer, ok, paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::delivery::{self, Channel, EmailSettings, ReportFilter, SmsTest, TestResult};
use crate::service::page::TimeOrder;

/// Checks a raw JSON body (the broker configuration is parsed by the delivery crate, which
/// names the offending field itself).
fn json_body<'a>(
    body: &'a web::Bytes,
    state: &AppState,
    req: &HttpRequest,
) -> Result<&'a [u8], ApiError> {
    if body.len() > state.config.body_limit {
        return Err(ApiError::payload_too_large(state.config.body_limit));
    }
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    crate::http::extract::refuse_nul(body)?;
    Ok(body)
}

/// Reads the SMS broker configuration (secrets redacted as `null`).
#[utoipa::path(get, path = "/v1/delivery/sms", tag = "delivery",
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn get_sms(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&delivery::get(&state, &caller, Channel::Sms).await?)
}

/// Replaces the SMS broker configuration. A secret omitted (or null) keeps the stored one
/// while the broker's address is unchanged.
#[utoipa::path(put, path = "/v1/delivery/sms", tag = "delivery", request_body = crate::service::schemas::SmsConfig,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_sms(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Answer {
    let body = json_body(&body, &state, &req)?;
    ok(&delivery::put(&state, &caller, Channel::Sms, body).await?)
}

/// Reads the voice configuration; the voice service itself is disabled.
#[utoipa::path(get, path = "/v1/delivery/voice", tag = "delivery",
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn get_voice(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&delivery::get(&state, &caller, Channel::Voice).await?)
}

/// Stores a voice configuration (same shape as SMS). The service stays disabled.
#[utoipa::path(put, path = "/v1/delivery/voice", tag = "delivery", request_body = crate::service::schemas::SmsConfig,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn put_voice(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Answer {
    let body = json_body(&body, &state, &req)?;
    ok(&delivery::put(&state, &caller, Channel::Voice, body).await?)
}

/// Sends one test message through the configured brokers and answers every attempt.
#[utoipa::path(post, path = "/v1/delivery/sms/test", tag = "delivery", request_body = SmsTest,
    responses((status = 200, body = TestResult), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn test_sms(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<SmsTest>,
) -> Answer {
    ok(&delivery::test_sms(&state, &caller, body).await?)
}

/// Reads the e-mail delivery settings.
#[utoipa::path(get, path = "/v1/delivery/email", tag = "delivery",
    responses((status = 200, body = EmailSettings)))]
pub async fn get_email(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&delivery::email_get(&state, &caller).await?)
}

/// Replaces the e-mail delivery settings (`fallback_to_sms`).
#[utoipa::path(put, path = "/v1/delivery/email", tag = "delivery", request_body = EmailSettings,
    responses((status = 200, body = EmailSettings), (status = 400, body = Problem)))]
pub async fn put_email(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<EmailSettings>,
) -> Answer {
    ok(&delivery::email_put(&state, &caller, body).await?)
}

/// Filters of `GET /v1/reports/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// One request.
    pub request_id: Option<String>,
    /// From (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Until (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// One channel (`sms`, `email`).
    pub channel: Option<String>,
    /// One broker (`primary`, `secondary`) or e-mail account.
    pub broker: Option<String>,
    /// One outcome (`delivered`, `failed`).
    pub outcome: Option<String>,
    /// `at` oldest first (default), `-at` newest first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// An optional RFC 3339 query parameter, or a 400 naming it.
pub fn time_param(name: &str, value: Option<&str>) -> Result<Option<UnixTime>, ApiError> {
    value
        .map(|t| {
            crate::timefmt::parse_rfc3339(t)
                .map(UnixTime::from_secs)
                .ok_or_else(|| ApiError::field(name, format!("{name}: not an RFC 3339 time")))
        })
        .transpose()
}

/// Delivery attempts (destinations masked), oldest first unless `sort=-at`.
#[utoipa::path(get, path = "/v1/reports/deliveries", tag = "delivery", params(ReportQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Answer {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = ReportFilter {
        request_id: q.request_id,
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
        channel: q.channel,
        broker: q.broker,
        outcome: q.outcome,
        order: q.sort,
    };
    paged(delivery::report(&state, &caller, filter, page).await?)
}

/// Registers the delivery routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/delivery/sms", web::get().to(get_sms))
        .route("/v1/delivery/sms", web::put().to(put_sms))
        .route("/v1/delivery/sms/test", web::post().to(test_sms))
        .route("/v1/delivery/voice", web::get().to(get_voice))
        .route("/v1/delivery/voice", web::put().to(put_voice))
        .route("/v1/delivery/email", web::get().to(get_email))
        .route("/v1/delivery/email", web::put().to(put_email))
        .route("/v1/reports/deliveries", web::get().to(report));
}
