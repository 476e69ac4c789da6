//! Which broker to try next: a pure function over the mode, the round-robin position and the
//! outcomes of the attempts made so far for one delivery.
//!
//! - `none`: the primary, once.
//! - `backup`: the primary; when it fails (whatever the failure: refused, timeout, HTTP
//!   error, SOAP fault, missing keys), the secondary at once.
//! - `balance`: the primary on even positions, the secondary on odd ones; a failure is tried
//!   once on the other broker.
//!
//! Permanent failures fail over too: "permanent" describes the broker that answered, and the
//! other broker is configured independently (see [`crate::ErrorClass`]; SMS brokers report no
//! [`crate::ErrorClass::Recipient`], the one class that would stop failover). After a success, or
//! after both brokers were tried, the delivery stops; retrying later is the outbox's job.

use serde::{Deserialize, Serialize};

use crate::error::Outcome;

/// What the second broker is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerMode {
    /// Only the primary broker sends.
    #[default]
    None,
    /// The secondary sends when the primary fails.
    Backup,
    /// Sends alternate between both; a failure is tried once on the other.
    Balance,
}

/// Which configured broker an attempt went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerLabel {
    /// The `primary` broker.
    Primary,
    /// The `broker2.broker` broker.
    Secondary,
}

impl BrokerLabel {
    /// The other broker.
    pub fn other(self) -> Self {
        match self {
            Self::Primary => Self::Secondary,
            Self::Secondary => Self::Primary,
        }
    }

    /// `primary` or `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

/// The broker for the next attempt of one delivery, or `None` when the delivery is over.
///
/// `position` is the delivery's round-robin position (only `balance` uses it); `previous`
/// lists the attempts already made for this delivery, in order.
pub fn next_broker(
    mode: BrokerMode,
    position: u64,
    previous: &[(BrokerLabel, Outcome)],
) -> Option<BrokerLabel> {
    let over = previous.iter().any(|(_, outcome)| match outcome {
        Outcome::Delivered => true,
        Outcome::Failed(class) => !class.another_peer_may_succeed(),
    });
    if over {
        return None;
    }
    match (mode, previous) {
        (BrokerMode::None | BrokerMode::Backup, []) => Some(BrokerLabel::Primary),
        (BrokerMode::Balance, []) if position.is_multiple_of(2) => Some(BrokerLabel::Primary),
        (BrokerMode::Balance, []) => Some(BrokerLabel::Secondary),
        (BrokerMode::Backup | BrokerMode::Balance, [(first, _)]) => Some(first.other()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::BrokerLabel::{Primary, Secondary};
    use super::BrokerMode::{Backup, Balance, None as Off};
    use super::Outcome::Delivered;
    use super::*;
    use crate::ErrorClass;

    const TRANSIENT_FAILURE: Outcome = Outcome::Failed(ErrorClass::Transient);
    const TIMEOUT: Outcome = Outcome::Failed(ErrorClass::Timeout);
    const PERMANENT_FAILURE: Outcome = Outcome::Failed(ErrorClass::Permanent);
    const RECIPIENT_REFUSED: Outcome = Outcome::Failed(ErrorClass::Recipient);

    #[test]
    fn next_broker_table() {
        type Row = (
            &'static str,
            BrokerMode,
            u64,
            &'static [(BrokerLabel, Outcome)],
            Option<BrokerLabel>,
        );
        let rows: &[Row] = &[
            ("none: first", Off, 0, &[], Some(Primary)),
            (
                "none: odd position still primary",
                Off,
                1,
                &[],
                Some(Primary),
            ),
            (
                "none: no failover",
                Off,
                0,
                &[(Primary, TRANSIENT_FAILURE)],
                None,
            ),
            (
                "none: stop after success",
                Off,
                0,
                &[(Primary, Delivered)],
                None,
            ),
            ("backup: first", Backup, 7, &[], Some(Primary)),
            (
                "backup: transient -> secondary",
                Backup,
                0,
                &[(Primary, TRANSIENT_FAILURE)],
                Some(Secondary),
            ),
            (
                "backup: permanent -> secondary",
                Backup,
                0,
                &[(Primary, PERMANENT_FAILURE)],
                Some(Secondary),
            ),
            (
                "backup: timeout -> secondary",
                Backup,
                0,
                &[(Primary, TIMEOUT)],
                Some(Secondary),
            ),
            (
                "backup: a refused recipient stops",
                Backup,
                0,
                &[(Primary, RECIPIENT_REFUSED)],
                None,
            ),
            (
                "backup: success stops",
                Backup,
                0,
                &[(Primary, Delivered)],
                None,
            ),
            (
                "backup: both failed",
                Backup,
                0,
                &[(Primary, TRANSIENT_FAILURE), (Secondary, PERMANENT_FAILURE)],
                None,
            ),
            (
                "backup: secondary delivered",
                Backup,
                0,
                &[(Primary, TRANSIENT_FAILURE), (Secondary, Delivered)],
                None,
            ),
            ("balance: even -> primary", Balance, 0, &[], Some(Primary)),
            (
                "balance: odd -> secondary",
                Balance,
                1,
                &[],
                Some(Secondary),
            ),
            (
                "balance: max even",
                Balance,
                u64::MAX - 1,
                &[],
                Some(Primary),
            ),
            ("balance: max odd", Balance, u64::MAX, &[], Some(Secondary)),
            (
                "balance: secondary failed -> primary",
                Balance,
                1,
                &[(Secondary, TRANSIENT_FAILURE)],
                Some(Primary),
            ),
            (
                "balance: primary failed -> secondary",
                Balance,
                2,
                &[(Primary, PERMANENT_FAILURE)],
                Some(Secondary),
            ),
            (
                "balance: success stops",
                Balance,
                1,
                &[(Secondary, Delivered)],
                None,
            ),
            (
                "balance: tried once on the other only",
                Balance,
                1,
                &[(Secondary, TRANSIENT_FAILURE), (Primary, TRANSIENT_FAILURE)],
                None,
            ),
        ];
        for (row, mode, position, previous, expected) in rows {
            assert_eq!(
                next_broker(*mode, *position, previous),
                *expected,
                "row {row}"
            );
        }
    }

    #[test]
    fn balance_alternates_evenly() {
        let primaries = (0..100u64)
            .filter(|position| next_broker(Balance, *position, &[]) == Some(Primary))
            .count();
        assert_eq!(primaries, 50);
    }

    #[test]
    fn never_more_than_two_attempts() {
        for mode in [Off, Backup, Balance] {
            for position in 0..4 {
                let mut previous = Vec::new();
                while let Some(next) = next_broker(mode, position, &previous) {
                    previous.push((next, TRANSIENT_FAILURE));
                    assert!(previous.len() <= 2, "{mode:?} at {position}: {previous:?}");
                }
                let expected = if mode == Off { 1 } else { 2 };
                assert_eq!(previous.len(), expected, "{mode:?} at {position}");
            }
        }
    }
}
