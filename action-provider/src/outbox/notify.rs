//! Notifications to administrators: events (a user or administrator locked, an SMS broker
//! failover, every SMS broker down, an OAuth2 profile needing a new authorisation, a
//! bounce storm) are
//! queued in the transaction where they happen — at most one per kind and subject per
//! `min_interval_s` — and mailed by [`run`] to the configured recipients through the
//! default SMTP account as [`MailKind::Notification`]: with that account's confirmation
//! address as `Disposition-Notification-To` when it asks for read confirmation (code mails
//! never do).

use std::sync::Arc;
use std::time::Duration;

use delivery::email::{MailKind, OutgoingMail};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Context;
use super::email::MailSender;
use crate::store::{Conn, StoreError};

/// The settings document.
pub const DOC: &str = "notifications";
/// Attempts before a notification is given up.
const MAX_ATTEMPTS: i32 = 5;
/// How long a sender holds a notification.
const LEASE_S: i64 = 60;
/// How often the sender looks for notifications.
const POLL: Duration = Duration::from_secs(2);

/// What an administrator can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A user was locked by failed attempts.
    UserLocked,
    /// An administrator was locked by failed logins.
    AdminLocked,
    /// An SMS went out through the backup broker after the primary failed.
    BrokerFailover,
    /// Every SMS broker failed a delivery.
    BrokersDown,
    /// An OAuth2 profile must be authorised again.
    Oauth2Reauthorization,
    /// At least `bounce_storm_count` e-mail codes bounced within `bounce_storm_window_s`.
    BounceStorm,
}

impl Event {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserLocked => "user_locked",
            Self::AdminLocked => "admin_locked",
            Self::BrokerFailover => "broker_failover",
            Self::BrokersDown => "brokers_down",
            Self::Oauth2Reauthorization => "oauth2_reauthorization",
            Self::BounceStorm => "bounce_storm",
        }
    }
}

/// `PUT /v1/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// Where notifications go (e-mail addresses).
    pub recipients: Vec<String>,
    /// Which events are notified.
    pub events: Vec<Event>,
    /// At most one mail per event kind and subject in this many seconds (60 to 604800).
    pub min_interval_s: u32,
    /// `bounce_storm`: this many bounced e-mail codes (2 to 100000, default 10) …
    #[serde(default = "default_storm_count")]
    pub bounce_storm_count: u32,
    /// … within this many seconds (60 to 86400, default 600) make a storm.
    #[serde(default = "default_storm_window")]
    pub bounce_storm_window_s: u32,
}

/// Bounces within the window that make a storm, unless configured.
pub const DEFAULT_STORM_COUNT: u32 = 10;
/// The storm window, unless configured.
pub const DEFAULT_STORM_WINDOW_S: u32 = 600;

fn default_storm_count() -> u32 {
    DEFAULT_STORM_COUNT
}

fn default_storm_window() -> u32 {
    DEFAULT_STORM_WINDOW_S
}

/// After e-mail codes were marked bounced (in the same transaction): queues a
/// `bounce_storm` notification when the settings ask for it and at least
/// `bounce_storm_count` codes bounced within the last `bounce_storm_window_s` (the
/// notification's subject is `email`, so the interval limits it like any other).
pub fn bounce_storm(c: &mut dyn Conn, now: i64) -> Result<bool, StoreError> {
    let Some(settings) = settings(c)? else {
        return Ok(false);
    };
    if settings.recipients.is_empty() || !settings.events.contains(&Event::BounceStorm) {
        return Ok(false);
    }
    let window = i64::from(settings.bounce_storm_window_s);
    let bounced = c.attempts_bounced_since(now - window)?;
    if bounced < i64::from(settings.bounce_storm_count) {
        return Ok(false);
    }
    let detail = format!(
        "{bounced} e-mail codes bounced in the last {window} seconds (the threshold is {}): \
         check the delivery reports for the addresses and the mail servers' diagnostics",
        settings.bounce_storm_count
    );
    event(c, Event::BounceStorm, "email", &detail, now)
}

/// Queues `event` about `subject` if the settings ask for it and none of the same kind and
/// subject was queued within the interval. Runs inside the caller's transaction.
pub fn event(
    c: &mut dyn Conn,
    event: Event,
    subject: &str,
    detail: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(settings) = settings(c)? else {
        return Ok(false);
    };
    if settings.recipients.is_empty() || !settings.events.contains(&event) {
        return Ok(false);
    }
    let since = now - i64::from(settings.min_interval_s);
    Ok(c.notification_queue(event.as_str(), subject, detail, now, since)?)
}

/// The stored settings, if any.
pub fn settings(c: &mut dyn Conn) -> Result<Option<NotificationSettings>, StoreError> {
    c.setting_get(DOC)?
        .map(|(json, _)| serde_json::from_str(&json).map_err(|e| StoreError::corrupt(DOC, e)))
        .transpose()
}

/// Mails every due notification (one sender at a time per notification). Returns how many
/// it handled.
pub async fn send_due(ctx: &Context, sender: &MailSender) -> Result<usize, StoreError> {
    let now = ctx.clock.now().secs();
    let (due, settings) = ctx
        .store
        .read(move |c| Ok::<_, StoreError>((c.notifications_due(now, 20)?, settings(c)?)))
        .await?;
    let recipients = settings.map(|s| s.recipients).unwrap_or_default();
    let mut handled = 0;
    for n in due {
        let id = n.id;
        let taken = ctx
            .store
            .write(move |c| Ok::<_, StoreError>(c.notification_take(id, now, now + LEASE_S)?))
            .await?;
        if !taken {
            continue;
        }
        handled += 1;
        let subject = format!("SAE: {} {}", n.kind.replace('_', " "), n.subject);
        let mut error = None;
        for to in &recipients {
            let report = match OutgoingMail::new(to, &subject, &n.detail, MailKind::Notification) {
                Ok(mail) => sender.send_mail(&mail).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match report {
                Ok(r) if r.delivered => {}
                Ok(r) => error = r.error.or(Some("not delivered".into())),
                Err(e) => error = Some(e),
            }
        }
        let finished = error.is_none() || n.attempts + 1 >= MAX_ATTEMPTS;
        ctx.store
            .write(move |c| {
                Ok::<_, StoreError>(c.notification_done(id, finished, error.as_deref(), now)?)
            })
            .await?;
    }
    Ok(handled)
}

/// Sends notifications until the process ends.
pub async fn run(ctx: Context, sender: Arc<MailSender>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = send_due(&ctx, &sender).await {
            tracing::warn!(error = %e, "sending notifications failed");
        }
    }
}
