//! The console's first screen (`GET /v1/dashboard`): health, the outbox, delivery success and
//! latency per broker over the last 24 hours (hour by hour), locked users, OAuth2 profiles
//! needing attention and recent failures. Every figure is computed by the database.

use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
use crate::clock::UnixTime;
use crate::store::dashboard::BrokerHour;

/// Hours of delivery statistics.
pub const HOURS: i64 = 24;
/// How many locked users, failed deliveries and audit failures are listed.
const LISTED: i64 = 10;

/// The dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardView {
    /// When the figures were computed (RFC 3339).
    pub generated_at: String,
    /// The node and its database.
    pub health: Health,
    /// Messages waiting in the outbox.
    pub outbox: OutboxView,
    /// Start of the statistics window (RFC 3339; whole hours, the last 24 including the
    /// current one).
    pub since: String,
    /// Delivery attempts per broker, hour by hour.
    pub brokers: Vec<BrokerView>,
    /// Users locked now.
    pub locked_users: LockedUsers,
    /// OAuth2 profiles without a usable token.
    pub oauth2_attention: Vec<ProfileAttentionView>,
    /// The latest failed delivery attempts of the window (newest first).
    pub failed_deliveries: Vec<FailedDelivery>,
    /// The latest refused or failed actions of the audit log in the window (newest first).
    pub audit_failures: Vec<AuditFailureView>,
}

/// The node and its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `database_unavailable`.
    pub status: &'static str,
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
}

/// Messages in the outbox.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OutboxView {
    /// Waiting to be sent (including retries).
    pub queued: i64,
    /// Of the queued, those that failed at least once and wait for a retry.
    pub retrying: i64,
    /// Being sent now.
    pub sending: i64,
    /// Given up after every retry.
    pub failed: i64,
    /// Creation time of the oldest queued message (RFC 3339), if any.
    pub oldest_queued_at: Option<String>,
}

/// One broker's attempts over the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokerView {
    /// `sms` or `email`.
    pub channel: String,
    /// `primary`, `secondary`, or an e-mail account.
    pub broker: String,
    /// Attempts in the window.
    pub attempts: i64,
    /// Of which delivered.
    pub delivered: i64,
    /// Delivered / attempts, 0..=1.
    pub success_rate: f64,
    /// Mean latency (ms).
    pub mean_latency_ms: i64,
    /// Longest latency (ms).
    pub max_latency_ms: i64,
    /// One entry per hour of the window, oldest first (hours without attempts included).
    pub hours: Vec<HourView>,
}

/// One hour of one broker.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourView {
    /// Start of the hour (RFC 3339).
    pub start: String,
    /// Attempts.
    pub attempts: i64,
    /// Of which delivered.
    pub delivered: i64,
    /// Mean latency (ms); absent without attempts.
    pub mean_latency_ms: Option<i64>,
}

/// Users locked now.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockedUsers {
    /// How many.
    pub count: i64,
    /// The latest locked (at most 10).
    pub items: Vec<LockedUserView>,
}

/// A locked user.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockedUserView {
    /// Login.
    pub login: String,
    /// End of a temporary lock (RFC 3339); absent: until an administrator unlocks.
    pub locked_until: Option<String>,
    /// `password`, `otp` or `hash`.
    pub lock_factor: Option<String>,
}

/// An OAuth2 profile that needs an administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileAttentionView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `reauthorize` (the provider refused the refresh token), `error` (the last token
    /// request failed) or `never_authorized`.
    pub reason: &'static str,
    /// The last error.
    pub last_error: Option<String>,
}

/// A failed delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedDelivery {
    /// When (RFC 3339).
    pub at: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Broker or account.
    pub broker: String,
    /// The request.
    pub request_id: String,
    /// Masked destination.
    pub destination: String,
    /// The error.
    pub error: Option<String>,
}

/// A refused or failed action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditFailureView {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject: Option<String>,
    /// `rejected:<reason>` or `error:<code>`.
    pub outcome: String,
}

/// One broker's series from the hourly rows (sorted by channel, broker, hour).
fn series(rows: &[BrokerHour], first_hour: i64) -> Vec<BrokerView> {
    let mut out: Vec<BrokerView> = Vec::new();
    for r in rows {
        let same = out
            .last()
            .is_some_and(|b| b.channel == r.channel && b.broker == r.broker);
        if !same {
            out.push(BrokerView {
                channel: r.channel.clone(),
                broker: r.broker.clone(),
                attempts: 0,
                delivered: 0,
                success_rate: 0.0,
                mean_latency_ms: 0,
                max_latency_ms: 0,
                hours: (0..HOURS)
                    .map(|i| HourView {
                        start: UnixTime::from_secs(first_hour + i * 3600).rfc3339(),
                        attempts: 0,
                        delivered: 0,
                        mean_latency_ms: None,
                    })
                    .collect(),
            });
        }
        let Some(b) = out.last_mut() else { continue };
        let slot = usize::try_from((r.hour - first_hour) / 3600).ok();
        if let Some(h) = slot.and_then(|i| b.hours.get_mut(i)) {
            h.attempts = r.attempts;
            h.delivered = r.delivered;
            h.mean_latency_ms = (r.attempts > 0).then(|| r.latency_sum_ms / r.attempts);
        }
        b.attempts += r.attempts;
        b.delivered += r.delivered;
        b.max_latency_ms = b.max_latency_ms.max(r.latency_max_ms);
        // Kept as a sum until the end.
        b.mean_latency_ms += r.latency_sum_ms;
    }
    for b in &mut out {
        if b.attempts > 0 {
            b.mean_latency_ms /= b.attempts;
            #[expect(
                clippy::cast_precision_loss,
                reason = "attempt counts are far below 2^52"
            )]
            let rate = b.delivered as f64 / b.attempts as f64;
            b.success_rate = rate;
        }
    }
    out
}

/// Computes the dashboard (System Administrators and `admin` keys).
pub async fn dashboard(state: &AppState, caller: &Caller) -> Result<DashboardView, ServiceError> {
    caller.require_admin()?;
    let now = state.now();
    let secs = now.secs();
    let first_hour = (secs.div_euclid(3600) - (HOURS - 1)) * 3600;
    let backend = state.store.kind().as_str();
    let healthy = state.health().await.is_some();
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    let (hours, outbox, (locked_count, locked), profiles, failed, audit) = state
        .store
        .read(move |c| {
            Ok::<_, ServiceError>((
                c.broker_hours(first_hour, secs + 1)?,
                c.outbox_counts()?,
                c.locked_users(now.millis(), LISTED)?,
                c.profiles_needing_attention()?,
                c.recent_failed_attempts(first_hour, LISTED)?,
                c.recent_audit_failures(first_hour, LISTED)?,
            ))
        })
        .await?;
    let mut queue = OutboxView::default();
    for o in outbox {
        match o.status.as_str() {
            "queued" => {
                queue.queued = o.jobs;
                queue.retrying = o.retried;
                queue.oldest_queued_at = Some(time(o.oldest));
            }
            "sending" => queue.sending = o.jobs,
            "failed" => queue.failed = o.jobs,
            _ => {}
        }
    }
    Ok(DashboardView {
        generated_at: time(secs),
        health: Health {
            status: if healthy {
                "ok"
            } else {
                "database_unavailable"
            },
            backend,
        },
        outbox: queue,
        since: time(first_hour),
        brokers: series(&hours, first_hour),
        locked_users: LockedUsers {
            count: locked_count,
            items: locked
                .into_iter()
                .map(|u| LockedUserView {
                    login: u.login,
                    locked_until: u
                        .locked_until_ms
                        .map(|ms| UnixTime::from_millis(ms).rfc3339()),
                    lock_factor: u.lock_factor,
                })
                .collect(),
        },
        oauth2_attention: profiles
            .into_iter()
            .map(|p| ProfileAttentionView {
                reason: if p.needs_reauthorization {
                    "reauthorize"
                } else if !p.has_token && p.last_error.is_none() {
                    "never_authorized"
                } else {
                    "error"
                },
                id: p.id,
                name: p.name,
                last_error: p.last_error,
            })
            .collect(),
        failed_deliveries: failed
            .into_iter()
            .map(|a| FailedDelivery {
                at: time(a.at),
                channel: a.channel,
                broker: a.broker,
                request_id: a.request_id,
                destination: a.destination_masked,
                error: a.error,
            })
            .collect(),
        audit_failures: audit
            .into_iter()
            .map(|a| AuditFailureView {
                at: time(a.at),
                actor: a.actor,
                action: a.action,
                subject: a.subject,
                outcome: a.outcome,
            })
            .collect(),
    })
}
