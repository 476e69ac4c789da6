//! Prometheus metrics (text exposition format), kept as process-local atomic counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters exposed at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP responses by status class: 2xx, 4xx, 5xx.
    pub http_2xx: AtomicU64,
    /// 4xx answers.
    pub http_4xx: AtomicU64,
    /// 5xx answers.
    pub http_5xx: AtomicU64,
    /// Second-factor validations that were accepted.
    pub validate_accepted: AtomicU64,
    /// Second-factor validations that were rejected (any reason).
    pub validate_rejected: AtomicU64,
    /// Password checks accepted.
    pub password_accepted: AtomicU64,
    /// Password checks rejected.
    pub password_rejected: AtomicU64,
    /// Codes queued for delivery.
    pub outbox_queued: AtomicU64,
    /// Deliveries that succeeded.
    pub outbox_sent: AtomicU64,
    /// Deliveries given up on.
    pub outbox_failed: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders the counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(1024);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP sae_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE sae_http_responses_total counter");
        for (class, c) in [
            ("2xx", &self.http_2xx),
            ("4xx", &self.http_4xx),
            ("5xx", &self.http_5xx),
        ] {
            let _ = writeln!(
                out,
                "sae_http_responses_total{{class=\"{class}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sae_validations_total Second-factor validations by outcome."
        );
        let _ = writeln!(out, "# TYPE sae_validations_total counter");
        let _ = writeln!(
            out,
            "sae_validations_total{{outcome=\"accepted\"}} {}",
            get(&self.validate_accepted)
        );
        let _ = writeln!(
            out,
            "sae_validations_total{{outcome=\"rejected\"}} {}",
            get(&self.validate_rejected)
        );
        let _ = writeln!(
            out,
            "# HELP sae_password_checks_total Password checks by outcome."
        );
        let _ = writeln!(out, "# TYPE sae_password_checks_total counter");
        let _ = writeln!(
            out,
            "sae_password_checks_total{{outcome=\"accepted\"}} {}",
            get(&self.password_accepted)
        );
        let _ = writeln!(
            out,
            "sae_password_checks_total{{outcome=\"rejected\"}} {}",
            get(&self.password_rejected)
        );
        let _ = writeln!(out, "# HELP sae_outbox_total Delivery jobs by event.");
        let _ = writeln!(out, "# TYPE sae_outbox_total counter");
        for (event, c) in [
            ("queued", &self.outbox_queued),
            ("sent", &self.outbox_sent),
            ("failed", &self.outbox_failed),
        ] {
            let _ = writeln!(out, "sae_outbox_total{{event=\"{event}\"}} {}", get(c));
        }
        out
    }
}
