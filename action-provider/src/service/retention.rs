//! Retention: every node deletes audit records and delivery reports older than the retention
//! settings allow, and ended administrator sessions, every ten minutes.

use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use super::auth::MAX_SESSION_S;
use super::error::ServiceError;

/// How often a node applies the retention settings.
const EVERY: Duration = Duration::from_secs(600);

/// Deletes what is past retention; returns (audit records, delivery attempts) deleted.
pub async fn purge(state: &AppState) -> Result<(usize, usize), ServiceError> {
    let retention = state.policies().await?.retention;
    let now = state.now().secs();
    let cutoff = |days: u32| (days > 0).then(|| now - i64::from(days) * 86_400);
    let (audit_before, deliveries_before) = (
        cutoff(retention.audit_days),
        cutoff(retention.deliveries_days),
    );
    let idle = i64::from(state.config.session_idle_s);
    state
        .store
        .write(move |c| {
            let audit = audit_before
                .map(|t| c.audit_purge(t))
                .transpose()?
                .unwrap_or(0);
            let deliveries = deliveries_before
                .map(|t| c.deliveries_purge(t))
                .transpose()?
                .unwrap_or(0);
            // Ended sessions are refused at use; this only keeps the table small.
            c.sessions_purge(now - idle, now - MAX_SESSION_S)?;
            Ok((audit, deliveries))
        })
        .await
}

/// Applies the retention settings every ten minutes until the process ends.
pub async fn run(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match purge(&state).await {
            Ok((a, d)) if a + d > 0 => {
                tracing::info!(audit = a, deliveries = d, "retention: old records deleted");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
        }
    }
}
