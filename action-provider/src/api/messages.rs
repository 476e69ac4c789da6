//! `/v1/messages`: message templates (SMS, e-mail, voice) with a default per channel.
//!
//! The set is validated as a whole on every change: tags are checked at save (unknown tags
//! are refused), e-mail templates need a subject, and each channel with templates has
//! exactly one default. Saving a template with `default: true` makes the others of its
//! channel non-default; the first template of a channel becomes its default.

use actix_web::{HttpResponse, web};
use sae_core::template::{Channel, MessageTemplate, MessageTemplates, TemplateError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use crate::app::{AppState, blocking};
use crate::policies::doc;
use crate::store::{NewAudit, Ops as _};
use crate::write_tx;

/// A template as sent and answered.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Template id (letters, digits, `-`, `_`, `.`).
    pub id: Option<String>,
    /// `sms`, `email` or `voice`.
    pub channel: String,
    /// Default template of its channel.
    #[serde(default)]
    pub default: bool,
    /// E-mail subject (e-mail only).
    pub subject: Option<String>,
    /// Text with tags `{otp}` (required), `{login}`, `{name}`, `{expires_in}`, `{app}`.
    pub text: String,
}

/// The answer for a template, with the SMS size estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// The template.
    #[serde(flatten)]
    #[schema(inline)]
    pub template: serde_json::Value,
    /// SMS encoding (`gsm7`/`ucs2`) and segment count for a 6-digit code (SMS only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<serde_json::Value>,
}

fn template_error(e: &TemplateError) -> ApiError {
    ApiError::field(e.field(), e.to_string())
}

fn channel(name: &str) -> Result<Channel, ApiError> {
    match name {
        "sms" => Ok(Channel::Sms),
        "email" => Ok(Channel::Email),
        "voice" => Ok(Channel::Voice),
        other => Err(ApiError::field(
            "channel",
            format!("channel: {other:?} is not sms, email or voice"),
        )),
    }
}

fn view(t: &MessageTemplate) -> TemplateView {
    let sms = (t.channel() == Channel::Sms).then(|| {
        let e = t.sms_estimate_for_otp(6);
        serde_json::json!({"encoding": format!("{:?}", e.encoding()).to_lowercase(), "units": e.units(), "segments": e.segments()})
    });
    TemplateView {
        template: serde_json::to_value(t).unwrap_or_default(),
        sms,
    }
}

/// Applies `change` to the stored set and saves it, validated as a whole.
async fn modify(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: &'static str,
    change: impl FnOnce(&mut Vec<MessageTemplate>) -> Result<(), ApiError> + Send + 'static,
) -> Result<MessageTemplates, ApiError> {
    let st = state.clone();
    let actor = caller.actor();
    let saved = blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let mut list = crate::policies::load(c)?.messages.templates().to_vec();
            change(&mut list)?;
            let set = MessageTemplates::new(list).map_err(|e| ApiError::Conflict {
                code: "invalid_template_set",
                field: Some(e.field().into()),
                detail: e.to_string(),
            })?;
            let json = serde_json::to_string(&set).map_err(ApiError::internal)?;
            c.setting_put(doc::MESSAGES, &json, crate::now())?;
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: action.into(),
                subject: None,
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            Ok::<_, ApiError>(set)
        })
    })
    .await?;
    state.policies.invalidate();
    Ok(saved)
}

fn build(
    id: String,
    body: TemplateBody,
    existing: &[MessageTemplate],
) -> Result<MessageTemplate, ApiError> {
    let ch = channel(&body.channel)?;
    let first_of_channel = !existing.iter().any(|t| t.channel() == ch && t.id() != id);
    MessageTemplate::new(
        id,
        ch,
        body.default || first_of_channel,
        body.subject,
        body.text,
    )
    .map_err(|e| template_error(&e))
}

fn put_into(list: &mut Vec<MessageTemplate>, t: MessageTemplate) -> Result<(), ApiError> {
    if t.is_default() {
        let demoted: Vec<MessageTemplate> = list
            .iter()
            .map(|o| {
                if o.channel() == t.channel() && o.is_default() && o.id() != t.id() {
                    MessageTemplate::new(
                        o.id(),
                        o.channel(),
                        false,
                        o.subject().map(|s| s.as_str().to_owned()),
                        o.text().as_str(),
                    )
                } else {
                    Ok(o.clone())
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| template_error(&e))?;
        *list = demoted;
    }
    match list.iter().position(|o| o.id() == t.id()) {
        Some(i) => list[i] = t,
        None => list.push(t),
    }
    Ok(())
}

/// Lists the templates.
#[utoipa::path(get, path = "/v1/messages", tag = "messages", responses((status = 200, body = serde_json::Value)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let st = state.clone();
    let p = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    let items: Vec<TemplateView> = p.messages.templates().iter().map(view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": null})))
}

/// Creates a template.
#[utoipa::path(post, path = "/v1/messages", tag = "messages", request_body = TemplateBody,
    responses((status = 201, body = TemplateView), (status = 400, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = body
        .id
        .clone()
        .ok_or_else(|| ApiError::field("id", "id: required"))?;
    let wanted = id.clone();
    let set = modify(&state, &caller, "messages.create", move |list| {
        if list.iter().any(|t| t.id() == id) {
            return Err(ApiError::Conflict {
                code: "duplicate",
                field: Some("id".into()),
                detail: format!("id: a template {id:?} exists"),
            });
        }
        let t = build(id, body, list)?;
        put_into(list, t)
    })
    .await?;
    let t = set
        .templates()
        .iter()
        .find(|t| t.id() == wanted)
        .ok_or(ApiError::Internal)?;
    Ok(HttpResponse::Created().json(view(t)))
}

/// Reads a template.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")),
    responses((status = 200, body = TemplateView), (status = 404, body = super::error::Problem)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let st = state.clone();
    let p = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    let t = p
        .messages
        .templates()
        .iter()
        .find(|t| t.id() == id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no template {:?}", id.as_str())))?;
    Ok(HttpResponse::Ok().json(view(t)))
}

/// Replaces a template.
#[utoipa::path(put, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")), request_body = TemplateBody,
    responses((status = 200, body = TemplateView), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(body): Json<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = id.into_inner();
    if body.id.as_ref().is_some_and(|b| b != &id) {
        return Err(ApiError::field("id", "id: differs from the id in the path"));
    }
    let wanted = id.clone();
    let set = modify(&state, &caller, "messages.update", move |list| {
        if !list.iter().any(|t| t.id() == id) {
            return Err(ApiError::not_found(format!("no template {id:?}")));
        }
        let t = build(id, body, list)?;
        put_into(list, t)
    })
    .await?;
    let t = set
        .templates()
        .iter()
        .find(|t| t.id() == wanted)
        .ok_or(ApiError::Internal)?;
    Ok(HttpResponse::Ok().json(view(t)))
}

/// Deletes a template (not the default of a channel that has others).
#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = id.into_inner();
    modify(&state, &caller, "messages.delete", move |list| {
        let before = list.len();
        list.retain(|t| t.id() != id);
        if list.len() == before {
            return Err(ApiError::not_found(format!("no template {id:?}")));
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the template routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/messages", web::get().to(list))
        .route("/v1/messages", web::post().to(create))
        .route("/v1/messages/{id}", web::get().to(read))
        .route("/v1/messages/{id}", web::put().to(update))
        .route("/v1/messages/{id}", web::delete().to(delete));
}
