//! Failover across accounts: the order, the pure decision, and the attempt records.

use std::time::{Duration, Instant};

use super::dispatch::{TokenProvider, send};
use super::smtp::{OutgoingMail, SmtpAccount};
use crate::{Classified as _, ErrorClass, Outcome};

/// What the server knows about an account besides its SMTP settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountRole {
    /// The account may send.
    pub active: bool,
    /// The account is the default (sends first).
    pub default: bool,
    /// "Force use": while any active account is forced, only the active forced accounts
    /// send; the others are not fallbacks (e.g. every mail must leave through the
    /// company's relay).
    pub forced: bool,
}

/// The accounts to try, in order: the first active default account, then every other
/// active account in the given order. Inactive accounts are left out. When an active
/// account is forced, the same rule applies to the active forced accounts alone.
pub fn failover_order<T>(accounts: &[T], role: impl Fn(&T) -> AccountRole) -> Vec<&T> {
    let any_forced = accounts.iter().any(|a| {
        let r = role(a);
        r.active && r.forced
    });
    let usable = |a: &T| {
        let r = role(a);
        r.active && (r.forced || !any_forced)
    };
    let default = accounts.iter().position(|a| usable(a) && role(a).default);
    let mut order: Vec<&T> = default.map(|i| &accounts[i]).into_iter().collect();
    order.extend(
        accounts
            .iter()
            .enumerate()
            .filter(|(i, a)| Some(*i) != default && usable(a))
            .map(|(_, a)| a),
    );
    order
}

/// After a failure of this class, is the next account worth trying? Yes, except when the
/// recipient itself was refused: every account would hit the same refusal (the rule of
/// [`ErrorClass::another_peer_may_succeed`], which SMS failover follows too).
pub fn should_try_next(class: ErrorClass) -> bool {
    class.another_peer_may_succeed()
}

/// One attempt through one account, for delivery reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    account: String,
    outcome: Outcome,
    detail: String,
    latency: Duration,
    refreshed_token: bool,
    message_id: Option<String>,
}

impl Attempt {
    /// The account's name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The error text of a failed attempt.
    pub fn error(&self) -> Option<&str> {
        match self.outcome {
            Outcome::Delivered => None,
            Outcome::Failed(_) => Some(&self.detail),
        }
    }

    /// The server's reply of a delivered attempt.
    pub fn reply(&self) -> Option<&str> {
        match self.outcome {
            Outcome::Delivered => Some(&self.detail),
            Outcome::Failed(_) => None,
        }
    }

    /// Wall time of the attempt, including a token refresh and retry.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// True when the OAuth2 token was refreshed during the attempt and the send retried.
    pub fn refreshed_token(&self) -> bool {
        self.refreshed_token
    }

    /// The Message-ID of a delivered tracked mail (each account's differs).
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
}

/// Every attempt of one failover run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailoverReport {
    attempts: Vec<Attempt>,
}

impl FailoverReport {
    /// The attempts, in order.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The account that delivered, if one did.
    pub fn delivered_by(&self) -> Option<&str> {
        self.attempts
            .iter()
            .find(|a| a.outcome == Outcome::Delivered)
            .map(Attempt::account)
    }

    /// The class of the last failure when nothing was delivered (the outbox uses it to
    /// decide between retry with backoff and giving up); `None` when delivered or when no
    /// account was tried.
    pub fn final_failure(&self) -> Option<ErrorClass> {
        if self.delivered_by().is_some() {
            return None;
        }
        self.attempts.last().and_then(|a| a.outcome.failure())
    }
}

/// Sends `mail` through `accounts` in order (see [`failover_order`]) until one delivers or
/// [`should_try_next`] says stop. Each account gets [`send`] (with its one token refresh
/// and retry). Returns every attempt.
pub async fn send_with_failover<'a, P: TokenProvider>(
    accounts: impl IntoIterator<Item = &'a SmtpAccount>,
    mail: &OutgoingMail,
    tokens: &P,
) -> FailoverReport {
    let mut report = FailoverReport::default();
    for account in accounts {
        let started = Instant::now();
        let result = send(account, mail, tokens).await;
        let latency = started.elapsed();
        let (attempt, stop) = match result {
            Ok(sent) => (
                Attempt {
                    account: account.name().to_owned(),
                    outcome: Outcome::Delivered,
                    detail: sent.reply().to_owned(),
                    latency,
                    refreshed_token: sent.refreshed_token(),
                    message_id: sent.message_id().map(str::to_owned),
                },
                true,
            ),
            Err(e) => (
                Attempt {
                    account: account.name().to_owned(),
                    outcome: Outcome::Failed(e.class()),
                    detail: e.to_string(),
                    latency,
                    refreshed_token: false,
                    message_id: None,
                },
                !should_try_next(e.class()),
            ),
        };
        report.attempts.push(attempt);
        if stop {
            break;
        }
    }
    report
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    #[test]
    fn order_puts_the_active_default_first_and_drops_inactive() {
        // (name, active, default, forced)
        type Row = (&'static str, bool, bool, bool);
        let rows: &[(&str, &[Row], &[&str])] = &[
            (
                "default in the middle",
                &[
                    ("a", true, false, false),
                    ("b", true, true, false),
                    ("c", true, false, false),
                ],
                &["b", "a", "c"],
            ),
            (
                "inactive default is skipped",
                &[
                    ("a", true, false, false),
                    ("b", false, true, false),
                    ("c", true, false, false),
                ],
                &["a", "c"],
            ),
            (
                "no default keeps the order",
                &[("a", true, false, false), ("c", true, false, false)],
                &["a", "c"],
            ),
            (
                "inactive others are dropped",
                &[("a", false, false, false), ("b", true, true, false)],
                &["b"],
            ),
            (
                "two defaults: the first wins",
                &[("a", true, true, false), ("b", true, true, false)],
                &["a", "b"],
            ),
            ("nothing active", &[("a", false, true, false)], &[]),
            (
                "a forced account is the only one, even over the default",
                &[
                    ("a", true, true, false),
                    ("b", true, false, true),
                    ("c", true, false, false),
                ],
                &["b"],
            ),
            (
                "two forced: default first among them",
                &[
                    ("a", true, false, true),
                    ("b", true, false, false),
                    ("c", true, true, true),
                ],
                &["c", "a"],
            ),
            (
                "an inactive forced account forces nothing",
                &[
                    ("a", false, false, true),
                    ("b", true, false, false),
                    ("c", true, true, false),
                ],
                &["c", "b"],
            ),
        ];
        for (name, accounts, expected) in rows {
            let order = failover_order(accounts, |(_, active, default, forced)| AccountRole {
                active: *active,
                default: *default,
                forced: *forced,
            });
            let names: Vec<&str> = order.iter().map(|(n, _, _, _)| *n).collect();
            assert_eq!(names, *expected, "row {name}");
        }
    }

    #[test]
    fn only_a_recipient_refusal_stops_failover() {
        let rows = [
            (ErrorClass::Transient, true),
            (ErrorClass::Timeout, true),
            (ErrorClass::Permanent, true),
            (ErrorClass::Recipient, false),
        ];
        for (class, expected) in rows {
            assert_eq!(should_try_next(class), expected, "row {class}");
        }
    }
}
