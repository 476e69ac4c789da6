//! Message templates (`/v1/messages`: SMS, e-mail, voice) with a default per channel.
//!
//! The set is validated as a whole on every change: tags are checked at save (unknown tags
//! are refused), e-mail templates need a subject, and a channel has at most one default.
//! Saving a template with `default: true` makes the others of its channel non-default; a
//! template saved with `default: false` is never made the default behind the
//! administrator's back: a channel without a default sends the built-in message unless the
//! request names a template.

use sae_core::config::ImConfig;
use sae_core::template::{Channel, MessageTemplate, MessageTemplates, TagValues, TemplateError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::config::to_json;
use super::error::{Conflict, Problems, ServiceError};
use super::page::Page;
use super::policies::{doc, load};

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

fn template_error(e: &TemplateError) -> ServiceError {
    ServiceError::field(e.field(), e.to_string())
}

fn channel(name: &str) -> Result<Channel, ServiceError> {
    match name {
        "sms" => Ok(Channel::Sms),
        "email" => Ok(Channel::Email),
        "voice" => Ok(Channel::Voice),
        other => Err(ServiceError::field(
            "channel",
            format!("channel: {other:?} is not sms, email or voice"),
        )),
    }
}

/// The SMS size of a template as it is sent: a code of the configured number of digits,
/// `{expires_in}` as the configured lifetime in words ("5 minutes"), `{app}` as "SAE";
/// `{login}` and `{name}` are counted empty (add their expected length).
fn view(t: &MessageTemplate, im: &ImConfig) -> Result<TemplateView, ServiceError> {
    let sms = (t.channel() == Channel::Sms).then(|| {
        const SAMPLE: &str = "0123456789";
        let digits = usize::from(im.code_digits().value()).min(SAMPLE.len());
        let expires = super::otp_request::expires_text(im.code_ttl().secs());
        let values = TagValues {
            otp: SAMPLE.get(..digits).unwrap_or(SAMPLE),
            expires_in: &expires,
            app: super::otp_request::APP_NAME,
            ..TagValues::default()
        };
        let e = t.text().sms_estimate(&values);
        serde_json::json!({"encoding": format!("{:?}", e.encoding()).to_lowercase(), "units": e.units(), "segments": e.segments(), "code_digits": digits, "expires_in": expires})
    });
    Ok(TemplateView {
        template: serde_json::to_value(t).map_err(|e| ServiceError::internal("a template", e))?,
        sms,
    })
}

/// Applies `change` to the stored set and saves it, validated as a whole.
async fn modify(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    change: impl FnOnce(&mut Vec<MessageTemplate>) -> Result<(), ServiceError> + Send + 'static,
) -> Result<MessageTemplates, ServiceError> {
    let now = state.now();
    let audit = caller.audit(action, now);
    let saved = state
        .store
        .write(move |c| {
            let mut list = load(c)?.messages.templates().to_vec();
            change(&mut list)?;
            let set = MessageTemplates::new(list).map_err(|e| {
                ServiceError::conflict(Conflict::InvalidTemplateSet, Some(e.field()), e.to_string())
            })?;
            c.setting_put(doc::MESSAGES, &to_json(&set)?, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(set)
        })
        .await?;
    state.policies.invalidate();
    Ok(saved)
}

/// Builds a template, answering every invalid field at once (sae-core stops at the first, so
/// each offending field is replaced by a valid stand-in and the check runs again).
fn build(id: String, body: TemplateBody) -> Result<MessageTemplate, ServiceError> {
    let mut problems = Problems::new();
    let ch = problems
        .take(channel(&body.channel))?
        .unwrap_or(Channel::Sms);
    let (mut id_try, mut subject_try, mut text_try) =
        (id.clone(), body.subject.clone(), body.text.clone());
    for _ in 0..4 {
        match MessageTemplate::new(
            id_try.clone(),
            ch,
            body.default,
            subject_try.clone(),
            text_try.clone(),
        ) {
            Ok(_) => break,
            Err(e) => {
                let field = e.field();
                problems.take::<()>(Err(template_error(&e)))?;
                match field {
                    "id" => id_try = "stand-in".into(),
                    "subject" => subject_try = (ch == Channel::Email).then(|| "Code".into()),
                    "text" => text_try = "{otp}".into(),
                    _ => break,
                }
            }
        }
    }
    problems.finish()?;
    MessageTemplate::new(id, ch, body.default, body.subject, body.text)
        .map_err(|e| template_error(&e))
}

fn put_into(list: &mut Vec<MessageTemplate>, t: MessageTemplate) -> Result<(), ServiceError> {
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

fn find(set: &MessageTemplates, id: &str, im: &ImConfig) -> Result<TemplateView, ServiceError> {
    set.templates()
        .iter()
        .find(|t| t.id() == id)
        .ok_or_else(|| ServiceError::not_found(format!("no template {id:?}")))
        .and_then(|t| view(t, im))
}

/// Lists the templates (one page: there are few).
pub async fn list(state: &AppState, caller: &Caller) -> Result<Page<TemplateView>, ServiceError> {
    caller.require_admin()?;
    let p = state.policies().await?;
    let items = p
        .messages
        .templates()
        .iter()
        .map(|t| view(t, &p.im))
        .collect::<Result<_, _>>()?;
    Ok(Page::all(items))
}

/// Creates a template.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: TemplateBody,
) -> Result<TemplateView, ServiceError> {
    caller.require_admin()?;
    let id = body
        .id
        .clone()
        .ok_or_else(|| ServiceError::field("id", "id: required"))?;
    let wanted = id.clone();
    let set = modify(state, caller, "messages.create", move |list| {
        if list.iter().any(|t| t.id() == id) {
            return Err(ServiceError::conflict(
                Conflict::Duplicate,
                Some("id"),
                format!("id: a template {id:?} exists"),
            ));
        }
        let t = build(id, body)?;
        put_into(list, t)
    })
    .await?;
    find(&set, &wanted, &state.policies().await?.im)
}

/// Reads a template.
pub async fn read(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<TemplateView, ServiceError> {
    caller.require_admin()?;
    let p = state.policies().await?;
    find(&p.messages, &id, &p.im)
}

/// Replaces a template.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: String,
    body: TemplateBody,
) -> Result<TemplateView, ServiceError> {
    caller.require_admin()?;
    if body.id.as_ref().is_some_and(|b| b != &id) {
        return Err(ServiceError::conflict(
            Conflict::IdMismatch,
            Some("id"),
            "id: differs from the id in the path (a template cannot be renamed)",
        ));
    }
    let wanted = id.clone();
    let set = modify(state, caller, "messages.update", move |list| {
        if !list.iter().any(|t| t.id() == id) {
            return Err(ServiceError::not_found(format!("no template {id:?}")));
        }
        let t = build(id, body)?;
        put_into(list, t)
    })
    .await?;
    find(&set, &wanted, &state.policies().await?.im)
}

/// Deletes a template.
pub async fn delete(state: &AppState, caller: &Caller, id: String) -> Result<(), ServiceError> {
    caller.require_admin()?;
    modify(state, caller, "messages.delete", move |list| {
        let before = list.len();
        list.retain(|t| t.id() != id);
        if list.len() == before {
            return Err(ServiceError::not_found(format!("no template {id:?}")));
        }
        Ok(())
    })
    .await?;
    Ok(())
}
