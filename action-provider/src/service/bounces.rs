//! Bounces: what a scanned inbound message means for SAE.
//!
//! A bounce ([`BounceReport`] of kind bounced or delayed) is matched to an outbound code
//! mail by, in order: SAE's tracking in the original Message-ID or the VERP return path
//! (request and attempt), else the failed recipient and time (the newest e-mail code sent
//! to a user with that address in the last [`RECIPIENT_WINDOW_S`]). The matched e-mail
//! attempts of the request become `bounced` / `delayed` in the delivery report, with the
//! status and diagnostic. A `bounced` one also flags the user's address as bouncing and,
//! when `fallback_to_sms` is on and the user has a mobile, re-issues the request's code by
//! SMS: a new code under the same request id and expiry (the mailed one never arrived),
//! queued in the same transaction.
//!
//! Two phases, so that nothing slow runs inside the transaction: [`plan`] reads what each
//! bounce matches and prepares any SMS fallback (a drawn code, sealed); [`apply`] writes it
//! inside the caller's transaction, with compare-and-set guards (an attempt bounces once,
//! a code is re-issued only while unused and unexpired), so a plan made stale by a
//! concurrent change does no harm.

use delivery::email::inbound::bounce::{BounceKind, BounceReport, RecipientAction};
use sae_core::template::Channel;

use super::AppState;
use super::audit::Audit;
use super::delivery::email_settings;
use super::error::ServiceError;
use super::otp_request::{Prepared, prepare, template_for};
use crate::clock::UnixTime;
use crate::store::attempts::BounceMark;
use crate::store::outbox::NewOutbox;
use crate::store::prelude::*;

/// How far back a bounce that names no request is matched by its recipient.
pub const RECIPIENT_WINDOW_S: i64 = 3 * 86_400;

/// What one bounce will change.
pub struct Planned {
    request_id: String,
    attempts: Vec<i64>,
    mark: BounceMark,
    /// The user and the address to flag (bounced only).
    flag: Option<(i64, String, String)>,
    /// The SMS fallback, prepared (bounced, fallback on, a mobile, the code still live).
    fallback: Option<(i64, Prepared)>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Bounces (and delay notices) matched to a code mail.
    pub bounces: u32,
    /// Messages that were no bounce, or named no mail of SAE's.
    pub ignored: u32,
    /// Codes re-sent by SMS.
    pub fallbacks: u32,
    /// Code mails that became `bounced` now (counted toward a bounce storm).
    pub newly_bounced: u32,
}

/// The request a bounce is about: its tracking, else its failed recipient and time.
fn request_of(
    c: &mut dyn Conn,
    report: &BounceReport,
    now: UnixTime,
) -> Result<Option<String>, ServiceError> {
    if let Some(tracking) = &report.tracking {
        return Ok(Some(tracking.request_id().to_owned()));
    }
    for r in &report.failed_recipients {
        let Ok(norm) = sae_core::config::normalize_email(&r.address) else {
            continue;
        };
        if let Some(rid) = c.code_latest_email(&norm, now.secs() - RECIPIENT_WINDOW_S)? {
            return Ok(Some(rid));
        }
    }
    Ok(None)
}

/// The recipient whose status and diagnostic the report shows: the first failed one, else
/// the first.
fn main_recipient(
    report: &BounceReport,
) -> Option<&delivery::email::inbound::bounce::FailedRecipient> {
    report
        .failed_recipients
        .iter()
        .find(|r| r.action == RecipientAction::Failed)
        .or_else(|| report.failed_recipients.first())
}

/// A bounce's match, read in one transaction. `None`: nothing of SAE's.
fn match_one(
    c: &mut dyn Conn,
    report: &BounceReport,
    now: UnixTime,
) -> Result<Option<(Planned, Option<crate::store::users::User>)>, ServiceError> {
    let outcome = match report.kind {
        BounceKind::Bounced => "bounced",
        BounceKind::Delayed => "delayed",
        BounceKind::AutoReply | BounceKind::NotABounce => return Ok(None),
    };
    let Some(request_id) = request_of(c, report, now)? else {
        return Ok(None);
    };
    let rows = c.attempts_bounceable(&request_id)?;
    // The attempt whose Message-ID the bounce quotes, else every e-mail attempt of the
    // request that reached a server.
    let exact: Vec<i64> = rows
        .iter()
        .filter(|r| r.message_id.is_some() && r.message_id == report.original_message_id)
        .map(|r| r.id)
        .collect();
    let attempts = if exact.is_empty() {
        rows.iter().map(|r| r.id).collect()
    } else {
        exact
    };
    if attempts.is_empty() {
        return Ok(None);
    }
    let recipient = main_recipient(report);
    let mark = BounceMark {
        outcome,
        status: recipient.and_then(|r| r.status.clone()),
        diagnostic: recipient.and_then(|r| r.diagnostic.clone()),
        at: now.secs(),
    };
    let user = match c.code_of_request(&request_id)? {
        Some((_, user_id)) if outcome == "bounced" => c.user_by_id(user_id)?,
        _ => None,
    };
    // Flag the address only if the bounce is about the address the user has now.
    let flag = user.as_ref().and_then(|u| {
        let email = u.email.clone()?;
        let named = report.failed_recipients.is_empty()
            || report
                .failed_recipients
                .iter()
                .any(|r| r.address.eq_ignore_ascii_case(email.trim()));
        named.then(|| (u.id, email, u.login.clone()))
    });
    Ok(Some((
        Planned {
            request_id,
            attempts,
            mark,
            flag,
            fallback: None,
        },
        user,
    )))
}

/// Reads what each report matches and prepares the SMS fallbacks (outside any
/// transaction). One entry per report, `None` for those that match nothing.
pub async fn plan(
    state: &AppState,
    reports: Vec<BounceReport>,
) -> Result<Vec<Option<Planned>>, ServiceError> {
    let now = state.now();
    let (matched, settings) = state
        .store
        .read(move |c| {
            let matched = reports
                .iter()
                .map(|r| match_one(c, r, now))
                .collect::<Result<Vec<_>, ServiceError>>()?;
            Ok::<_, ServiceError>((matched, email_settings(c)?))
        })
        .await?;
    let policies = state.policies().await?;
    let mut plans = Vec::with_capacity(matched.len());
    for entry in matched {
        let Some((mut planned, user)) = entry else {
            plans.push(None);
            continue;
        };
        if settings.fallback_to_sms
            && let Some(user) = user.filter(|u| u.mobile_norm.is_some() && !u.disabled)
        {
            let rid = planned.request_id.clone();
            let code = state
                .store
                .read(move |c| Ok::<_, ServiceError>(c.code_of_request(&rid)?))
                .await?;
            if let Some((code, _)) = code.filter(|(c, _)| c.used_at.is_none()) {
                let expires_at = UnixTime::from_secs(code.expires_at);
                if expires_at > now {
                    let template = template_for(&policies.messages, Channel::Sms, None)?;
                    let digits = policies.im.code_digits().value();
                    let to = user.mobile_norm.clone().unwrap_or_default();
                    let prepared = prepare(
                        state,
                        &user,
                        to,
                        &template,
                        digits,
                        planned.request_id.clone(),
                        expires_at,
                        now,
                    )?;
                    planned.fallback = Some((user.id, prepared));
                }
            }
        }
        plans.push(Some(planned));
    }
    Ok(plans)
}

/// Writes the plans inside the caller's transaction; `actor` names the account in the
/// audit trail. Returns the counts.
pub fn apply(
    c: &mut dyn Conn,
    plans: &[Option<Planned>],
    actor: &str,
    now: UnixTime,
) -> Result<Applied, ServiceError> {
    let mut applied = Applied::default();
    for planned in plans {
        let Some(p) = planned else {
            applied.ignored += 1;
            continue;
        };
        applied.bounces += 1;
        let mut changed = false;
        for id in &p.attempts {
            changed |= c.attempt_mark_bounce(*id, &p.mark)?;
        }
        if !changed || p.mark.outcome != "bounced" {
            continue;
        }
        let mut detail = serde_json::json!({
            "request_id": p.request_id,
            "status": p.mark.status,
        });
        let mut subject = None;
        if let Some((user_id, email, login)) = &p.flag {
            c.user_flag_bounce(*user_id, email, p.mark.status.as_deref(), now.secs())?;
            subject = Some(login.clone());
        }
        if let Some((user_id, f)) = &p.fallback
            && c.code_reissue(&p.request_id, "sms", &f.mac, &f.kid, now.secs())?
        {
            c.outbox_insert(&NewOutbox {
                request_id: f.rid.clone(),
                channel: "sms".into(),
                user_id: Some(*user_id),
                payload_enc: Some(f.sealed.clone()),
                status: "queued".into(),
                attempts: 0,
                lease_until: None,
                next_attempt_at: now.secs(),
                created_at: now.secs(),
                updated_at: now.secs(),
            })?;
            detail["fallback"] = "sms".into();
            applied.fallbacks += 1;
        }
        let mut audit = Audit::new(actor, "email.bounce", now).detail(detail);
        if let Some(login) = subject {
            audit = audit.subject(login);
        }
        audit.write(c)?;
        applied.newly_bounced += 1;
    }
    if applied.newly_bounced > 0 {
        crate::outbox::notify::bounce_storm(c, now.secs())?;
    }
    Ok(applied)
}
