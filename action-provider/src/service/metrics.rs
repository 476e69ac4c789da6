//! `/metrics`: the process's counters, plus gauges read from the database at scrape time
//! (the outbox backlog and its oldest job's age, the OAuth2 token state of each profile).

use std::fmt::Write as _;

use super::AppState;
use super::error::ServiceError;
use crate::store::oauth2::ProfileRow;

/// The Prometheus text exposition of this node.
pub async fn render(state: &AppState) -> Result<String, ServiceError> {
    let mut out = state.metrics.render();
    let ((queued, oldest), profiles) = state
        .store
        .read(|c| Ok::<_, ServiceError>((c.outbox_backlog()?, c.profiles_page(0, i64::MAX)?)))
        .await?;
    let now = state.now().secs();
    gauge(
        &mut out,
        "sae_outbox_backlog",
        "Delivery jobs queued or being sent.",
        [(None, Some(queued))],
    );
    gauge(
        &mut out,
        "sae_outbox_oldest_age_seconds",
        "Age of the oldest job queued or being sent (0 when none).",
        [(None, Some(oldest.map_or(0, |t| (now - t).max(0))))],
    );
    let per_profile = |value: fn(&ProfileRow, i64) -> Option<i64>| {
        profiles
            .iter()
            .map(move |p| (Some(p.name.as_str()), value(p, now)))
            .collect::<Vec<_>>()
    };
    gauge(
        &mut out,
        "sae_oauth2_token_valid",
        "1 when the profile holds a token and its last token operation succeeded.",
        per_profile(|p, _| Some(i64::from(p.valid))),
    );
    gauge(
        &mut out,
        "sae_oauth2_needs_reauthorization",
        "1 when the provider refused the grant: an administrator must authorise again.",
        per_profile(|p, _| Some(i64::from(p.needs_reauthorization))),
    );
    gauge(
        &mut out,
        "sae_oauth2_token_expires_in_seconds",
        "Seconds until the profile's access token expires (negative: expired).",
        per_profile(|p, now| {
            p.access_token_enc
                .as_ref()
                .and(p.expires_at)
                .map(|at| at - now)
        }),
    );
    gauge(
        &mut out,
        "sae_oauth2_enabled",
        "1 when the profile is switched on.",
        per_profile(|p, _| Some(i64::from(p.enabled))),
    );
    gauge(
        &mut out,
        "sae_oauth2_client_secret_expires_in_seconds",
        "Seconds until the client secret expires at the provider (negative: expired).",
        per_profile(|p, now| p.client_secret_expires_at.map(|at| at - now)),
    );
    Ok(out)
}

/// One gauge family: its help and type lines, then a sample per `(profile, value)` that has a
/// value.
fn gauge<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Option<&'a str>, Option<i64>)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (profile, value) in samples {
        let Some(value) = value else { continue };
        let _ = match profile {
            Some(p) => writeln!(out, "{name}{{profile=\"{}\"}} {value}", escape(p)),
            None => writeln!(out, "{name} {value}"),
        };
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
