//! Requesting a second factor (`/v1/otp/request`): draw a code from the OS CSPRNG, store only
//! its MAC, and queue its delivery in the outbox — all in one transaction, so an accepted
//! request is never lost. An `Idempotency-Key` makes retries return the first answer.

use std::sync::Arc;

use rand::RngExt as _;
use sae_core::template::{Channel, MessageTemplate, TagValues};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::AppState;
use super::caller::Caller;
use super::error::{Conflict, ServiceError};
use super::gate;
use crate::clock::UnixTime;
use crate::outbox::worker::LEASE_S;
use crate::outbox::{Payload, payload_context};
use crate::store::Fast;
use crate::store::codes::NewIssuedCode;
use crate::store::outbox::{ClaimedJob, NewOutbox};
use crate::store::prelude::*;
use crate::store::users::User;

/// Text used when no template of the channel is configured. The code must be the only run
/// of digits in a message (clients extract it), so the default names no number of minutes.
const DEFAULT_SMS: &str = "Your SAE verification code is {otp}";
/// Subject used when no e-mail template is configured.
const DEFAULT_SUBJECT: &str = "Your verification code";

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct RequestInput {
    /// Login.
    pub login: String,
    /// `sms` or `email` (voice is refused before this).
    pub channel: Channel,
    /// Template id.
    pub template: Option<String>,
    /// The caller's Idempotency-Key, if any.
    pub idempotency_key: Option<String>,
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

/// A new request id: 32 lowercase hex digits, the first 12 the issue time in milliseconds,
/// the other 20 (80 bits) from the OS CSPRNG. Ids issued one after the other sort together,
/// so the request-id indexes (issued codes, outbox, delivery attempts) grow at their last
/// page instead of dirtying a random page of each index per request.
fn request_id(now: UnixTime) -> String {
    use rand::Rng as _;
    let mut raw = [0u8; 16];
    let ms = u64::try_from(now.millis()).unwrap_or(0).to_be_bytes();
    raw[..6].copy_from_slice(&ms[2..]);
    crate::crypto::os_rng().fill_bytes(&mut raw[6..]);
    data_encoding::HEXLOWER.encode(&raw)
}

/// What `{app}` expands to.
pub const APP_NAME: &str = "SAE";

/// The text `{expires_in}` expands to ("5 minutes", "1 minute", "90 seconds").
pub fn expires_text(secs: u32) -> String {
    match secs {
        60 => "1 minute".to_owned(),
        s if s.is_multiple_of(60) => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

fn reused_key() -> ServiceError {
    ServiceError::conflict(
        Conflict::IdempotencyKeyReused,
        None,
        "this Idempotency-Key was used with a different request body",
    )
}

/// A stored answer for this key, if the same request was answered before.
fn replay(
    stored: Option<(String, i32, String)>,
    digest: &str,
) -> Result<Option<Answer>, ServiceError> {
    match stored {
        None => Ok(None),
        Some((d, _, _)) if d != digest => Err(reused_key()),
        Some((_, status, body)) => Ok(Some(Answer {
            status: u16::try_from(status).unwrap_or(202),
            body,
        })),
    }
}

/// The user a code may be sent to, and the destination on `channel`.
fn destination(user: &User, channel: Channel, now: UnixTime) -> Result<String, ServiceError> {
    if user.disabled {
        return Err(ServiceError::conflict(
            Conflict::UserDisabled,
            Some("login"),
            "the user is disabled",
        ));
    }
    if gate::is_locked(&gate::user_state(user), now) {
        return Err(ServiceError::conflict(
            Conflict::UserLocked,
            Some("login"),
            "the user is locked: no code is sent",
        ));
    }
    let (to, field, what) = match channel {
        Channel::Sms => (user.mobile_norm.clone(), "mobile", "a mobile number"),
        _ => (user.email.clone(), "email", "an e-mail address"),
    };
    to.ok_or_else(|| {
        ServiceError::conflict(
            Conflict::NoDestination,
            Some(field),
            format!("the user has no {what}"),
        )
    })
}

/// What one request writes, prepared outside the transaction.
pub(crate) struct Prepared {
    /// The request id.
    pub rid: String,
    /// The code's MAC.
    pub mac: String,
    /// The key the MAC was made with.
    pub kid: String,
    /// The sealed outbox payload.
    pub sealed: String,
    body: String,
    expires_at: UnixTime,
}

/// The template of `channel` named `name` (the default when `None`), or the built-in one
/// when none is configured and none was named.
pub(crate) fn template_for(
    messages: &sae_core::template::MessageTemplates,
    channel: Channel,
    name: Option<&str>,
) -> Result<MessageTemplate, ServiceError> {
    match messages.select(channel, name) {
        Ok(t) => Ok(t.clone()),
        Err(sae_core::template::TemplateError::NoTemplate { .. }) if name.is_none() => {
            let subject = (channel == Channel::Email).then(|| DEFAULT_SUBJECT.to_owned());
            MessageTemplate::new("builtin", channel, true, subject, DEFAULT_SMS)
                .map_err(|e| ServiceError::internal("the built-in template", e))
        }
        Err(e @ sae_core::template::TemplateError::UnknownTemplate { .. }) => {
            Err(ServiceError::missing("template", e.to_string()))
        }
        Err(e) => Err(ServiceError::field("template", e.to_string())),
    }
}

/// Draws a code for request `rid`, renders the message and seals what the outbox will
/// send; the code expires at `expires_at`.
#[expect(clippy::too_many_arguments, reason = "the parts of one code message")]
pub(crate) fn prepare(
    state: &AppState,
    user: &User,
    to: String,
    template: &MessageTemplate,
    digits: u8,
    rid: String,
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<Prepared, ServiceError> {
    let code = draw_code(digits);
    let ttl = u32::try_from((expires_at.secs() - now.secs()).max(0)).unwrap_or(u32::MAX);
    let expires = expires_text(ttl);
    let name = user.name.clone().unwrap_or_default();
    let values = TagValues {
        otp: &code,
        login: &user.login,
        name: &name,
        expires_in: &expires,
        app: APP_NAME,
        phone: &to,
        message: "",
        secrets: &[],
    };
    let payload = Payload {
        text: template.render_text(&values).to_string(),
        subject: template.render_subject(&values).map(|s| s.to_string()),
        to,
        otp: code.to_string(),
        login: user.login.clone(),
        name,
    };
    let ring = state.ring()?;
    let json = Zeroizing::new(
        serde_json::to_vec(&payload).map_err(|e| ServiceError::internal("sealing a code", e))?,
    );
    let kid = ring.active_id().to_owned();
    Ok(Prepared {
        sealed: ring.seal(&payload_context(&rid), &json),
        mac: ring.code_mac(&kid, &rid, &code)?,
        kid,
        body: serde_json::json!({"request_id": rid, "expires_at": expires_at.rfc3339()})
            .to_string(),
        rid,
        expires_at,
    })
}

/// The seconds to wait when `issued` (creation times, oldest first) already holds `budget`'s
/// count inside its window.
fn over_budget(issued: &[i64], budget: delivery::Budget, now: i64) -> Option<i64> {
    let window = i64::try_from(budget.window().as_secs()).unwrap_or(i64::MAX);
    let count = usize::try_from(budget.count()).unwrap_or(usize::MAX);
    (issued.len() >= count).then(|| issued[issued.len() - count] + window - now)
}

/// Whether a budget limits the SMS sent (without one a request locks no budget key).
fn limited(budgets: &delivery::Budgets) -> bool {
    budgets.per_destination().is_some() || budgets.per_user().is_some()
}

/// Refuses the request when an SMS budget is exhausted (inside the request's transaction,
/// serialised per mobile number).
fn check_budgets(
    c: &mut dyn Conn,
    budgets: &delivery::Budgets,
    user: &User,
    now: i64,
) -> Result<(), ServiceError> {
    let Some(mobile) = user.mobile_norm.as_deref().filter(|_| limited(budgets)) else {
        return Ok(());
    };
    c.lock_key(&format!("budget:{mobile}"))?;
    let since =
        |b: delivery::Budget| now - i64::try_from(b.window().as_secs()).unwrap_or(i64::MAX / 2);
    let mut wait = None;
    if let Some(b) = budgets.per_destination() {
        wait = wait.max(over_budget(
            &c.codes_since_for_mobile(mobile, "sms", since(b))?,
            b,
            now,
        ));
    }
    if let Some(b) = budgets.per_user() {
        wait = wait.max(over_budget(
            &c.codes_since_for_user(user.id, "sms", since(b))?,
            b,
            now,
        ));
    }
    match wait {
        None => Ok(()),
        Some(wait) => Err(ServiceError::OverBudget {
            retry_after: std::time::Duration::from_secs(u64::try_from(wait.max(1)).unwrap_or(1)),
            detail: "SMS budget exhausted for this destination or user; try again later".into(),
        }),
    }
}

fn not_configured(what: &str) -> ServiceError {
    ServiceError::conflict(
        Conflict::ChannelNotConfigured,
        Some("channel"),
        format!("channel: {what}; the code would wait in the queue until one is configured"),
    )
}

/// Refuses a channel nothing can deliver on (never queue a code silently); the SMS budgets.
async fn configured(
    state: &AppState,
    channel: Channel,
) -> Result<Option<delivery::Budgets>, ServiceError> {
    match channel {
        Channel::Sms => state
            .sms
            .current(&state.store, &state.keyring, state.now())
            .await
            .map_err(|e| ServiceError::internal("reading the SMS configuration", e))?
            .map(|c| Some(*c.config.budgets()))
            .ok_or_else(|| not_configured("no SMS broker is configured (PUT /v1/delivery/sms)")),
        _ => {
            let active = state
                .store
                .read(|c| Ok::<_, ServiceError>(!c.accounts_active()?.is_empty()))
                .await?;
            if active {
                Ok(None)
            } else {
                Err(not_configured(
                    "no active SMTP account is configured (POST /v1/smtp/accounts)",
                ))
            }
        }
    }
}

/// Digest of a request, for idempotency.
pub fn request_digest(input: &RequestInput) -> String {
    let canonical = serde_json::json!({
        "login": input.login,
        "channel": input.channel.as_str(),
        "template": input.template,
    })
    .to_string();
    data_encoding::HEXLOWER.encode(&Sha256::digest(canonical.as_bytes()))
}

/// Requests a second factor: a fresh code is queued for delivery.
pub async fn request(
    state: &AppState,
    caller: &Caller,
    input: RequestInput,
) -> Result<Answer, ServiceError> {
    caller.require_flow()?;
    let now = state.now();
    let digest = request_digest(&input);
    let idem = input
        .idempotency_key
        .clone()
        .map(|k| (caller.owner_id(), k));
    if let Some((owner, key)) = idem.clone() {
        let stored = state
            .store
            .read(move |c| Ok::<_, ServiceError>(c.idem_get(owner, &key)?))
            .await?;
        if let Some(answer) = replay(stored, &digest)? {
            return Ok(answer);
        }
    }
    let policies = state.policies().await?;
    let budgets = configured(state, input.channel).await?;
    let user = state
        .store
        .user_for_code(input.login.as_str().to_owned())
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no user {:?}", input.login)))?;
    let to = destination(&user, input.channel, now)?;
    let template = template_for(&policies.messages, input.channel, input.template.as_deref())?;
    let digits = policies.im.code_digits().value();
    let ttl = policies.im.code_ttl().secs();
    let expires_at = now.plus(std::time::Duration::from_secs(u64::from(ttl)));
    let p = prepare(
        state,
        &user,
        to,
        &template,
        digits,
        request_id(now),
        expires_at,
        now,
    )?;
    let channel = input.channel.as_str();
    let audit = caller
        .audit("otp.request", now)
        .subject(user.login.clone())
        .detail(serde_json::json!({"channel": channel, "request_id": p.rid}));
    // Without an idempotency key or a budget the write locks only the user's row (by the
    // issued code's foreign key), so it may share a PostgreSQL batch.
    let shared = (idem.is_none() && !budgets.as_ref().is_some_and(limited)).then_some(user.id);
    // With room at this node's worker, the job is inserted already claimed by it and handed
    // over after the commit: no claim transaction (see `outbox::handoff`).
    let handoff = state.outbox_handoff.reserve().map(|slot| {
        let job = ClaimedJob {
            id: 0,
            request_id: p.rid.clone(),
            channel: input.channel.as_str().to_owned(),
            payload_enc: Some(p.sealed.clone()),
            attempts: 1,
        };
        (slot, job, now.secs() + LEASE_S)
    });
    let lease_until = handoff.as_ref().map(|(_, _, lease)| *lease);
    let rows = Arc::new((
        NewIssuedCode {
            request_id: p.rid.clone(),
            user_id: user.id,
            channel: channel.to_owned(),
            code_mac: p.mac.clone(),
            key_id: p.kid.clone(),
            created_at: now.secs(),
            expires_at: p.expires_at.secs(),
        },
        NewOutbox {
            request_id: p.rid.clone(),
            channel: channel.to_owned(),
            user_id: Some(user.id),
            payload_enc: Some(p.sealed.clone()),
            status: if lease_until.is_some() {
                "sending"
            } else {
                "queued"
            }
            .into(),
            attempts: i32::from(lease_until.is_some()),
            next_attempt_at: now.secs(),
            lease_until,
            created_at: now.secs(),
            updated_at: now.secs(),
        },
    ));
    let answer = Answer {
        status: 202,
        body: p.body.clone(),
    };
    // The same rows for the batch to try first with those of other requests (on
    // PostgreSQL one statement for all), with the same record and answer as the job's own.
    let fast = shared.map(|_| {
        let record = audit.clone().into_record();
        let set_id: fn(&mut (Answer, Option<i64>), i64) = |value, id| value.1 = Some(id);
        Fast::code(rows.clone(), record, (answer.clone(), None), set_id)
    });
    // The write may run again (a repeatable write, see `Store::write_repeatable`): what it
    // writes is shared, not cloned, between runs.
    let job = Arc::new((rows, answer, user, audit, idem, digest, budgets, p.body));
    let write = move |c: &mut dyn Conn| {
        let (rows, answer, user, audit, idem, digest, budgets, body) = &*job;
        if let Some((owner, key)) = idem {
            // A concurrent request with the same key may have committed meanwhile.
            c.lock_key(&format!("idem:{owner}:{key}"))?;
            if let Some(answer) = replay(c.idem_get(*owner, key)?, digest)? {
                return Ok(((answer, None), None));
            }
        }
        if let Some(budgets) = budgets {
            check_budgets(c, budgets, user, now.secs())?;
        }
        let job_id = c.outbox_insert_with_code(&rows.0, &rows.1)?;
        if let Some((owner, key)) = idem {
            c.idem_put(*owner, key, digest, 202, body, now.secs())?;
        }
        Ok::<_, ServiceError>((
            (answer.clone(), Some(job_id)),
            Some(audit.clone().into_record()),
        ))
    };
    let (answer, job_id) = match shared {
        Some(key) => state.store.write_repeatable(key, fast, write).await?,
        None => state.store.write_shared(None, write).await?,
    };
    if let Some(id) = job_id {
        match handoff {
            Some((slot, job, lease_until)) => slot.hand(ClaimedJob { id, ..job }, lease_until),
            None => state.outbox_notify.notify_one(),
        }
        crate::metrics::Metrics::inc(&state.metrics.outbox_queued);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_sort_by_issue_time_and_keep_80_random_bits() {
        let early = UnixTime::from_millis(1_796_000_000_000);
        let late = UnixTime::from_millis(1_796_000_000_001);
        let (a, b, c) = (request_id(early), request_id(early), request_id(late));
        for id in [&a, &b, &c] {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|x| x.is_ascii_digit() || (b'a'..=b'f').contains(&x))
            );
        }
        // The first 12 digits are the milliseconds; the rest differs between two ids of
        // the same millisecond.
        assert_eq!(&a[..12], &format!("{:012x}", 1_796_000_000_000_u64));
        assert_eq!(a[..12], b[..12]);
        assert_ne!(a[12..], b[12..]);
        assert!(a < c && b < c, "a later id sorts after: {a} {b} {c}");
    }
}
