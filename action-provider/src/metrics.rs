//! Prometheus metrics (text exposition format): process-local counters here; the gauges
//! that describe the database (outbox backlog, OAuth2 token state) are read at scrape time
//! by `service::metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters exposed at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP responses by status class: 1xx/2xx/3xx/4xx/5xx (index 0..=4).
    http: [AtomicU64; 5],
    /// Decisions of the authentication flows by (flow, outcome): `ok` or the reason.
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Broker and account attempts by (channel, broker, outcome).
    attempts: Mutex<BTreeMap<(String, String, &'static str), u64>>,
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
    /// Stored tokens that could not be used (malformed row, secret that does not open).
    pub stored_token_errors: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_default() += 1;
    }
}

/// Escapes a label value of the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an HTTP response by its status.
    pub fn response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        Self::inc(&self.http[class]);
    }

    /// Counts a decision of an authentication flow (`validate`, `password`, `hash`):
    /// `outcome` is `ok` or the rejection reason.
    pub fn decision(&self, flow: &'static str, outcome: &'static str) {
        bump(&self.decisions, (flow, outcome));
    }

    /// Counts one delivery attempt of a broker or mail account.
    pub fn attempt(&self, channel: &str, broker: &str, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        bump(
            &self.attempts,
            (channel.to_owned(), broker.to_owned(), outcome),
        );
    }

    /// Renders the counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let head = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
        };
        head(
            &mut out,
            "sae_http_responses_total",
            "HTTP responses by status class.",
        );
        for (i, c) in self.http.iter().enumerate() {
            let _ = writeln!(
                out,
                "sae_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                get(c)
            );
        }
        head(
            &mut out,
            "sae_decisions_total",
            "Decisions of the authentication flows by flow and outcome (ok or the reason).",
        );
        if let Ok(m) = self.decisions.lock() {
            for ((flow, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "sae_decisions_total{{flow=\"{flow}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        head(
            &mut out,
            "sae_validations_total",
            "Second-factor validations by outcome.",
        );
        for (o, c) in [
            ("accepted", &self.validate_accepted),
            ("rejected", &self.validate_rejected),
        ] {
            let _ = writeln!(out, "sae_validations_total{{outcome=\"{o}\"}} {}", get(c));
        }
        head(
            &mut out,
            "sae_password_checks_total",
            "Password checks by outcome.",
        );
        for (o, c) in [
            ("accepted", &self.password_accepted),
            ("rejected", &self.password_rejected),
        ] {
            let _ = writeln!(
                out,
                "sae_password_checks_total{{outcome=\"{o}\"}} {}",
                get(c)
            );
        }
        head(&mut out, "sae_outbox_total", "Delivery jobs by event.");
        for (event, c) in [
            ("queued", &self.outbox_queued),
            ("sent", &self.outbox_sent),
            ("failed", &self.outbox_failed),
        ] {
            let _ = writeln!(out, "sae_outbox_total{{event=\"{event}\"}} {}", get(c));
        }
        head(
            &mut out,
            "sae_delivery_attempts_total",
            "Attempts of brokers and mail accounts by channel, broker and outcome.",
        );
        if let Ok(m) = self.attempts.lock() {
            for ((channel, broker, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "sae_delivery_attempts_total{{channel=\"{}\",broker=\"{}\",outcome=\"{outcome}\"}} {n}",
                    label(channel),
                    label(broker)
                );
            }
        }
        head(
            &mut out,
            "sae_stored_token_errors_total",
            "Stored tokens skipped because they could not be used.",
        );
        let _ = writeln!(
            out,
            "sae_stored_token_errors_total {}",
            get(&self.stored_token_errors)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_counters_render_and_escape() {
        let m = Metrics::default();
        m.response(204);
        m.response(404);
        m.response(404);
        m.decision("validate", "invalid_code");
        m.attempt("sms", "pri\"mary", true);
        let text = m.render();
        assert!(
            text.contains("sae_http_responses_total{class=\"2xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("sae_http_responses_total{class=\"4xx\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("sae_decisions_total{flow=\"validate\",outcome=\"invalid_code\"} 1"),
            "{text}"
        );
        assert!(text.contains("broker=\"pri\\\"mary\""), "{text}");
    }
}
