//! `/v1/notifications`: who is told about which events, at most how often (the events
//! are queued and mailed by [`crate::outbox::notify`]).

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
pub use crate::outbox::notify::NotificationSettings;
use crate::outbox::notify::{DEFAULT_STORM_COUNT, DEFAULT_STORM_WINDOW_S, DOC, settings};

/// Accepted interval between two mails of one event kind and subject.
const INTERVAL_S: std::ops::RangeInclusive<u32> = 60..=604_800;
/// Accepted bounce storm threshold.
const STORM_COUNT: std::ops::RangeInclusive<u32> = 2..=100_000;
/// Accepted bounce storm window.
const STORM_WINDOW_S: std::ops::RangeInclusive<u32> = 60..=86_400;
/// Most recipients.
const MAX_RECIPIENTS: usize = 20;

/// Reads the notification settings (none configured: no recipients, no events, an hour).
pub async fn get(state: &AppState, caller: &Caller) -> Result<NotificationSettings, ServiceError> {
    caller.require_admin()?;
    let stored = state
        .store
        .read(|c| Ok::<_, ServiceError>(settings(c)?))
        .await?;
    Ok(stored.unwrap_or(NotificationSettings {
        recipients: Vec::new(),
        events: Vec::new(),
        min_interval_s: 3600,
        bounce_storm_count: DEFAULT_STORM_COUNT,
        bounce_storm_window_s: DEFAULT_STORM_WINDOW_S,
    }))
}

/// Replaces the notification settings.
pub async fn put(
    state: &AppState,
    caller: &Caller,
    mut body: NotificationSettings,
) -> Result<NotificationSettings, ServiceError> {
    caller.require_admin()?;
    if body.recipients.len() > MAX_RECIPIENTS {
        return Err(ServiceError::field(
            "recipients",
            format!("recipients: at most {MAX_RECIPIENTS} addresses"),
        ));
    }
    for (i, r) in body.recipients.iter_mut().enumerate() {
        *r = r.trim().to_owned();
        if delivery::email::OutgoingMail::test(r, "notifications").is_err() {
            return Err(ServiceError::field(
                format!("recipients[{i}]"),
                format!("recipients[{i}]: {r:?} is not an e-mail address"),
            ));
        }
    }
    if !INTERVAL_S.contains(&body.min_interval_s) {
        return Err(ServiceError::field(
            "min_interval_s",
            "min_interval_s: 60 to 604800 seconds",
        ));
    }
    if !STORM_COUNT.contains(&body.bounce_storm_count) {
        return Err(ServiceError::field(
            "bounce_storm_count",
            "bounce_storm_count: 2 to 100000 bounces",
        ));
    }
    if !STORM_WINDOW_S.contains(&body.bounce_storm_window_s) {
        return Err(ServiceError::field(
            "bounce_storm_window_s",
            "bounce_storm_window_s: 60 to 86400 seconds",
        ));
    }
    body.events.sort_by_key(|e| e.as_str());
    body.events.dedup();
    let json = serde_json::to_string(&body)
        .map_err(|e| ServiceError::internal("the notification settings", e))?;
    let now = state.now();
    let audit = caller
        .audit("config.notifications.update", now)
        .detail(serde_json::json!({"recipients": body.recipients.len(), "min_interval_s": body.min_interval_s}));
    state
        .store
        .write(move |c| {
            c.setting_put(DOC, &json, now.secs())?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok(body)
}
