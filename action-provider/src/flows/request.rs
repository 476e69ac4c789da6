//! `/v1/otp/request`: draw a code from the OS CSPRNG, store only its MAC, and queue its
//! delivery in the outbox — all in one transaction, so an accepted request is never lost.

use rand::RngExt as _;
use sae_core::template::{Channel, MessageTemplate, TagValues};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::api::error::ApiError;
use crate::app::AppState;
use crate::outbox::Payload;
use crate::store::models::token::NewIssuedCode;
use crate::store::{BackendOps as _, NewAudit, NewOutbox, Ops as _};
use crate::{with_conn, write_tx};

/// Text used when no template of the channel is configured. The code must be the only run
/// of digits in a message (clients extract it), so the default names no number of minutes.
const DEFAULT_SMS: &str = "Your SAE verification code is {otp}";
/// Subject used when no e-mail template is configured.
const DEFAULT_SUBJECT: &str = "Your verification code";

/// What the caller asked for.
#[derive(Debug, Clone)]
pub struct RequestInput {
    /// Login.
    pub login: String,
    /// `sms` or `email` (voice is refused before this).
    pub channel: Channel,
    /// Template id.
    pub template: Option<String>,
    /// (API key id, Idempotency-Key).
    pub idempotency: Option<(i64, String)>,
    /// Digest of the request body (idempotency check).
    pub digest: String,
    /// Audit actor.
    pub actor: String,
    /// Client address.
    pub source: Option<String>,
}

/// The answer: status and JSON body (stored for idempotent replays).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// A uniformly random code of `digits` digits from the OS CSPRNG.
pub fn draw_code(digits: u8) -> Zeroizing<String> {
    let upper = 10u64.pow(u32::from(digits));
    let n = crate::crypto::os_rng().random_range(0..upper);
    Zeroizing::new(format!("{n:0width$}", width = usize::from(digits)))
}

fn request_id() -> String {
    use rand::Rng as _;
    let mut raw = [0u8; 16];
    crate::crypto::os_rng().fill_bytes(&mut raw);
    data_encoding::HEXLOWER.encode(&raw)
}

/// Digest of a request body, for idempotency.
pub fn body_digest(body: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(body))
}

fn expires_text(secs: u32) -> String {
    if secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// Runs one request (blocking).
pub fn request(state: &AppState, input: &RequestInput) -> Result<Answer, ApiError> {
    let now = crate::now();
    let policies = state.policies.get(&state.pool)?;
    // Read before taking this request's connection: a second checkout while holding one
    // deadlocks once every pooled connection is held by a request waiting for another.
    let budgets = match input.channel {
        Channel::Sms => state.sms.current(state)?.map(|c| *c.config.budgets()),
        _ => None,
    };
    let mut conn = state.pool.get()?;
    if let Some((key_id, key)) = &input.idempotency {
        let stored = with_conn!(&mut conn, |c| c.idem_get(*key_id, key))?;
        if let Some((digest, status, body)) = stored {
            if digest != input.digest {
                return Err(ApiError::Conflict {
                    code: "idempotency_key_reused",
                    field: None,
                    detail: "this Idempotency-Key was used with a different request body".into(),
                });
            }
            return Ok(Answer {
                status: u16::try_from(status).unwrap_or(202),
                body,
            });
        }
    }
    let user = with_conn!(&mut conn, |c| c.user_by_login(&input.login))?
        .ok_or_else(|| ApiError::not_found(format!("no user {:?}", input.login)))?;
    if user.disabled {
        return Err(ApiError::Conflict {
            code: "user_disabled",
            field: Some("login".into()),
            detail: "the user is disabled".into(),
        });
    }
    if crate::api::users::is_locked(&user, now) {
        return Err(ApiError::Conflict {
            code: "user_locked",
            field: Some("login".into()),
            detail: "the user is locked: no code is sent".into(),
        });
    }
    let to = match input.channel {
        Channel::Sms => user.mobile_norm.clone().ok_or_else(|| ApiError::Conflict {
            code: "no_destination",
            field: Some("mobile".into()),
            detail: "the user has no mobile number".into(),
        })?,
        _ => user.email.clone().ok_or_else(|| ApiError::Conflict {
            code: "no_destination",
            field: Some("email".into()),
            detail: "the user has no e-mail address".into(),
        })?,
    };
    let fallback;
    let template = match policies
        .messages
        .select(input.channel, input.template.as_deref())
    {
        Ok(t) => t,
        Err(sae_core::template::TemplateError::NoTemplate { .. }) if input.template.is_none() => {
            let subject = (input.channel == Channel::Email).then(|| DEFAULT_SUBJECT.to_owned());
            fallback = MessageTemplate::new("builtin", input.channel, true, subject, DEFAULT_SMS)
                .map_err(ApiError::internal)?;
            &fallback
        }
        Err(e) => return Err(ApiError::field("template", e.to_string())),
    };
    let digits = policies.im.code_digits().value();
    let ttl = policies.im.code_ttl().secs();
    let code = draw_code(digits);
    let expires = expires_text(ttl);
    let name = user.name.clone().unwrap_or_default();
    let values = TagValues {
        otp: &code,
        login: &user.login,
        name: &name,
        expires_in: &expires,
        app: "SAE",
        phone: &to,
        message: "",
    };
    let text = template.render_text(&values);
    let subject = template.render_subject(&values).map(|s| s.to_string());
    let rid = request_id();
    let expires_at = now + i64::from(ttl);
    let (sealed, mac, kid) = {
        let ring = state.keyring.read().map_err(ApiError::internal)?;
        let payload = Payload {
            to,
            text: text.to_string(),
            subject,
            otp: code.to_string(),
            login: user.login.clone(),
            name,
        };
        let json = Zeroizing::new(serde_json::to_vec(&payload).map_err(ApiError::internal)?);
        let kid = ring.active_id().to_owned();
        (
            ring.seal(&format!("outbox:{rid}"), &json),
            ring.code_mac(&kid, &rid, &code)
                .map_err(ApiError::internal)?,
            kid,
        )
    };
    let body =
        serde_json::json!({"request_id": rid, "expires_at": crate::timefmt::rfc3339(expires_at)})
            .to_string();
    let channel = input.channel.as_str().to_owned();
    let replay = write_tx!(&mut conn, |c| {
        if let Some((key_id, key)) = &input.idempotency {
            // A concurrent request with the same key may have committed meanwhile.
            c.lock_key(&format!("idem:{key_id}:{key}"))?;
            if let Some((digest, status, body)) = c.idem_get(*key_id, key)? {
                return Ok::<_, ApiError>(Some((digest, status, body)));
            }
        }
        if let (Some(budgets), Some(mobile)) = (&budgets, user.mobile_norm.as_deref()) {
            c.lock_key(&format!("budget:{mobile}"))?;
            let over = |issued: &[i64], budget: delivery::Budget| -> Option<i64> {
                let window = i64::try_from(budget.window().as_secs()).unwrap_or(i64::MAX);
                let count = usize::try_from(budget.count()).unwrap_or(usize::MAX);
                (issued.len() >= count).then(|| issued[issued.len() - count] + window - now)
            };
            let mut wait = None;
            if let Some(b) = budgets.per_destination() {
                let since = now - i64::try_from(b.window().as_secs()).unwrap_or(i64::MAX / 2);
                wait = wait.max(over(&c.codes_since_for_mobile(mobile, "sms", since)?, b));
            }
            if let Some(b) = budgets.per_user() {
                let since = now - i64::try_from(b.window().as_secs()).unwrap_or(i64::MAX / 2);
                wait = wait.max(over(&c.codes_since_for_user(user.id, "sms", since)?, b));
            }
            if let Some(wait) = wait {
                return Err(ApiError::TooManyRequests {
                    retry_after: u64::try_from(wait.max(1)).unwrap_or(1),
                    detail: "SMS budget exhausted for this destination or user; try again later"
                        .into(),
                });
            }
        }
        c.code_insert(&NewIssuedCode {
            request_id: rid.clone(),
            user_id: user.id,
            channel: channel.clone(),
            code_mac: mac.clone(),
            key_id: kid.clone(),
            created_at: now,
            expires_at,
        })?;
        c.outbox_insert(&NewOutbox {
            request_id: rid.clone(),
            channel: channel.clone(),
            user_id: Some(user.id),
            payload_enc: Some(sealed.clone()),
            status: "queued".into(),
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        })?;
        if let Some((key_id, key)) = &input.idempotency {
            c.idem_put(*key_id, key, &input.digest, 202, &body, now)?;
        }
        c.audit_insert(&NewAudit {
            at: now,
            actor: input.actor.clone(),
            action: "otp.request".into(),
            subject: Some(user.login.clone()),
            source: input.source.clone(),
            outcome: "ok".into(),
            detail: Some(format!(
                "{{\"channel\":\"{channel}\",\"request_id\":\"{rid}\"}}"
            )),
        })?;
        Ok::<_, ApiError>(None)
    })?;
    if let Some((digest, status, body)) = replay {
        if digest != input.digest {
            return Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                field: None,
                detail: "this Idempotency-Key was used with a different request body".into(),
            });
        }
        return Ok(Answer {
            status: u16::try_from(status).unwrap_or(202),
            body,
        });
    }
    state.outbox_notify.notify_one();
    crate::metrics::Metrics::inc(&state.metrics.outbox_queued);
    Ok(Answer { status: 202, body })
}
