//! `/v1/delivery/sms` (brokers), `/v1/delivery/sms/test`, `/v1/delivery/voice` (configurable,
//! disabled) and `/v1/reports/deliveries`.

use actix_web::{HttpResponse, web};
use delivery::{SmsConfig, SmsConfigInput, SmsMessage, SmsSender};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json, Query};
use crate::app::{AppState, blocking};
use crate::sms::{DOC, VOICE_DOC, load_config};
use crate::store::{AttemptFilter, NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

fn config_error(e: &delivery::ConfigError) -> ApiError {
    ApiError::field(e.path(), e.to_string())
}

async fn read_config(
    state: &web::Data<AppState>,
    doc: &'static str,
) -> Result<Option<SmsConfig>, ApiError> {
    let st = state.clone();
    Ok(blocking(move || load_config(&st, doc))
        .await?
        .map(|(_, c)| c))
}

async fn put_config(
    state: &web::Data<AppState>,
    caller: &Caller,
    doc: &'static str,
    body: &[u8],
) -> Result<SmsConfig, ApiError> {
    let mut input = SmsConfigInput::from_json_slice(body).map_err(|e| config_error(&e))?;
    if let Some(stored) = read_config(state, doc).await? {
        input.merge_secrets_from(&stored);
    }
    let config = input.validate().map_err(|e| config_error(&e))?;
    let st = state.clone();
    let actor = caller.actor();
    let plain = config.to_stored_json();
    let redacted = config.redacted_json();
    blocking(move || {
        let sealed = st
            .keyring
            .read()
            .map_err(ApiError::internal)?
            .seal(doc, plain.as_bytes());
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.setting_put(doc, &sealed, crate::now())?;
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: format!("config.{doc}.update"),
                subject: None,
                source: None,
                outcome: "ok".into(),
                detail: Some(redacted.clone()),
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(config)
}

fn read_body(
    body: &web::Bytes,
    state: &AppState,
    req: &actix_web::HttpRequest,
) -> Result<(), ApiError> {
    if body.len() > state.config.body_limit {
        return Err(ApiError::PayloadTooLarge {
            limit: state.config.body_limit,
        });
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
        return Err(ApiError::BadRequest {
            code: "unsupported_media_type",
            field: None,
            detail: "the body must be JSON (Content-Type: application/json)".into(),
        });
    }
    Ok(())
}

fn answer(config: &SmsConfig, extra: Option<(&str, serde_json::Value)>) -> HttpResponse {
    let mut v: serde_json::Value =
        serde_json::from_str(&config.redacted_json()).unwrap_or_default();
    if let (Some((k, x)), Some(obj)) = (extra, v.as_object_mut()) {
        obj.insert(k.to_owned(), x);
    }
    HttpResponse::Ok().json(v)
}

/// Reads the SMS broker configuration (secrets redacted as `null`).
#[utoipa::path(get, path = "/v1/delivery/sms", tag = "delivery",
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem)))]
pub async fn get_sms(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let config = read_config(&state, DOC)
        .await?
        .ok_or_else(|| ApiError::not_found("SMS delivery is not configured"))?;
    Ok(answer(&config, None))
}

/// Replaces the SMS broker configuration. A secret omitted (or null) keeps the stored one
/// while the broker's address is unchanged.
#[utoipa::path(put, path = "/v1/delivery/sms", tag = "delivery", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_sms(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    read_body(&body, &state, &req)?;
    let config = put_config(&state, &caller, DOC, &body).await?;
    Ok(answer(&config, None))
}

/// Reads the voice configuration; the voice service itself is disabled.
#[utoipa::path(get, path = "/v1/delivery/voice", tag = "delivery",
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem)))]
pub async fn get_voice(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let config = read_config(&state, VOICE_DOC).await?.ok_or_else(|| {
        ApiError::not_found("voice is not configured (and the voice service is disabled)")
    })?;
    Ok(answer(
        &config,
        Some((
            "service",
            serde_json::json!("disabled: voice calls are not offered by this version"),
        )),
    ))
}

/// Stores a voice configuration (same shape as SMS). The service stays disabled.
#[utoipa::path(put, path = "/v1/delivery/voice", tag = "delivery", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_voice(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    read_body(&body, &state, &req)?;
    let config = put_config(&state, &caller, VOICE_DOC, &body).await?;
    Ok(answer(
        &config,
        Some((
            "service",
            serde_json::json!("disabled: voice calls are not offered by this version"),
        )),
    ))
}

/// `POST /v1/delivery/sms/test`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsTest {
    /// Destination phone (E.164, `+` optional).
    pub phone: String,
    /// Text to send.
    pub message: String,
}

/// One attempt of a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// `primary` / `secondary` (SMS) or an account name (e-mail).
    pub broker: String,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// Error or SOAP fault.
    pub error: Option<String>,
    /// Milliseconds.
    pub latency_ms: u64,
    /// Redacted start of the answer.
    pub excerpt: Option<String>,
}

/// Sends one test message through the configured brokers and answers every attempt.
#[utoipa::path(post, path = "/v1/delivery/sms/test", tag = "delivery", request_body = SmsTest,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn test_sms(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<SmsTest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    if body.message.is_empty() || body.message.chars().count() > 1600 {
        return Err(ApiError::field("message", "message: 1 to 1600 characters"));
    }
    let message = SmsMessage::test(&body.phone, body.message.as_str())
        .map_err(|e| ApiError::field("phone", e.to_string()))?;
    let config = read_config(&state, DOC)
        .await?
        .ok_or_else(|| ApiError::not_found("SMS delivery is not configured"))?;
    let sender = SmsSender::new(&config).map_err(|e| ApiError::field("primary", e.to_string()))?;
    let delivery = sender.deliver(&message).await;
    let attempts: Vec<AttemptView> = crate::sms::reports(&delivery)
        .into_iter()
        .map(|a| AttemptView {
            broker: a.broker,
            outcome: if a.delivered {
                "delivered".into()
            } else {
                "failed".into()
            },
            http_status: a.http_status,
            error: a.error,
            latency_ms: a.latency_ms,
            excerpt: a.excerpt,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"delivered": delivery.delivered(), "attempts": attempts})))
}

/// Filters of `GET /v1/reports/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// One request.
    pub request_id: Option<String>,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// Until (RFC 3339).
    pub until: Option<String>,
    /// Items per page, 1..=500.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Delivery attempts (destinations masked), oldest first.
#[utoipa::path(get, path = "/v1/reports/deliveries", tag = "delivery", params(ReportQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let page = super::types::Page {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let filter = AttemptFilter {
        request_id: q.request_id.clone(),
        since: super::types::time_param("since", q.since.as_deref())?,
        until: super::types::time_param("until", q.until.as_deref())?,
    };
    let st = state.clone();
    let rows = blocking(move || {
        let mut conn = st.pool.get()?;
        Ok(with_conn!(&mut conn, |c| c.attempts_page(
            &filter,
            cursor,
            limit + 1
        ))?)
    })
    .await?;
    let (rows, next) = super::types::cut_page(rows, limit, |r| r.id);
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "request_id": r.request_id, "channel": r.channel, "broker": r.broker,
                "destination": r.destination_masked, "outcome": r.outcome, "http_status": r.http_status,
                "error": r.error, "latency_ms": r.latency_ms, "excerpt": r.excerpt, "at": rfc3339(r.at),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// Registers the delivery routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/delivery/sms", web::get().to(get_sms))
        .route("/v1/delivery/sms", web::put().to(put_sms))
        .route("/v1/delivery/sms/test", web::post().to(test_sms))
        .route("/v1/delivery/voice", web::get().to(get_voice))
        .route("/v1/delivery/voice", web::put().to(put_voice))
        .route("/v1/reports/deliveries", web::get().to(report));
}
