//! The pure decisions shared by [`LockState`](super::LockState) and a database store.

use super::{BlockType, Factor, LockState, LockoutConfig, LockoutPolicy, ThrottlePolicy};

/// One factor's run of consecutive failures, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FactorCounter {
    failures: u32,
    last_failure_at: u64,
}

impl FactorCounter {
    /// A counter with `failures` consecutive failures, the last at `last_failure_at` (unix
    /// milliseconds; ignored when `failures` is 0).
    #[must_use]
    pub const fn new(failures: u32, last_failure_at: u64) -> Self {
        Self {
            failures,
            last_failure_at,
        }
    }

    /// Consecutive failures since the factor's last success (or the last unlock).
    #[must_use]
    pub const fn failures(&self) -> u32 {
        self.failures
    }

    /// When the last failure happened (meaningless when [`failures`](Self::failures) is 0).
    #[must_use]
    pub const fn last_failure_at(&self) -> u64 {
        self.last_failure_at
    }

    /// The counter after one more failure at `now` (saturating).
    #[must_use]
    pub const fn incremented(self, now: u64) -> Self {
        Self {
            failures: self.failures.saturating_add(1),
            last_failure_at: now,
        }
    }
}

/// A lock on a user: which factor caused it, since when, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    factor: Factor,
    since: u64,
    until: Option<u64>,
}

impl Lock {
    /// A lock lifted only by an administrator.
    #[must_use]
    pub const fn permanent(factor: Factor, since: u64) -> Self {
        Self {
            factor,
            since,
            until: None,
        }
    }

    /// A lock that ends by itself at `until` (unix milliseconds, exclusive: at `until` the
    /// user is unlocked).
    #[must_use]
    pub const fn temporary(factor: Factor, since: u64, until: u64) -> Self {
        Self {
            factor,
            since,
            until: Some(until),
        }
    }

    /// The factor whose counter reached `attempts`.
    #[must_use]
    pub const fn factor(&self) -> Factor {
        self.factor
    }

    /// When the lock was set.
    #[must_use]
    pub const fn since(&self) -> u64 {
        self.since
    }

    /// When a temporary lock ends (`None` for a permanent lock). This is the API's
    /// `locked_until`.
    #[must_use]
    pub const fn unlock_at(&self) -> Option<u64> {
        self.until
    }

    /// Whether only an administrator can lift it.
    #[must_use]
    pub const fn is_permanent(&self) -> bool {
        self.until.is_none()
    }

    /// Whether the lock still holds at `now`: permanent, or `now < unlock_at`.
    #[must_use]
    pub const fn is_active(&self, now: u64) -> bool {
        match self.until {
            None => true,
            Some(until) => now < until,
        }
    }
}

/// What may happen to an attempt of one factor, decided before checking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Gate {
    /// Check the credential. When `expired_lock` is true, the stored temporary lock has
    /// ended: clear the lock and every counter before counting this attempt (a store does
    /// it with a compare-and-set on the lock it read).
    Allowed {
        /// A temporary lock ended and must be cleared together with the counters.
        expired_lock: bool,
    },
    /// Refuse with `reason: "locked"`, unchecked and uncounted.
    Locked(Lock),
    /// Refuse with `reason: "throttled"` and `retry_after`, unchecked and uncounted.
    Throttled {
        /// Milliseconds to wait before the next attempt of this factor (at least 1).
        retry_after_ms: u64,
    },
}

/// Decides an attempt of `factor` at `now`: locked, then throttled, then allowed.
///
/// An expired temporary lock counts as no lock *and* as zero failures on every factor, so a
/// store that has not cleared it yet still gets the right answer.
///
/// A lock holds even if lockout was disabled after it was set: lifting it is an explicit
/// administrator action (or the end of a temporary lock).
pub fn gate(config: &LockoutConfig, state: &LockState, factor: Factor, now: u64) -> Gate {
    let mut expired_lock = false;
    if let Some(lock) = state.lock() {
        if lock.is_active(now) {
            return Gate::Locked(*lock);
        }
        expired_lock = true;
    }
    if !expired_lock
        && let Some(retry_after) = throttle_wait(config.throttle(), state.counter(factor), now)
    {
        return Gate::Throttled {
            retry_after_ms: retry_after,
        };
    }
    Gate::Allowed { expired_lock }
}

/// The throttle delay, in milliseconds, that must pass after the last of `failures`
/// consecutive failures before the next attempt:
///
/// `0` if the throttle is off or `failures < after`, else `min(2^(failures − after),
/// max_delay_s)` seconds.
///
/// With the defaults (`after` 5, `max_delay_s` 900): failures 1–4 → 0; 5 → 1 s; 6 → 2 s;
/// 7 → 4 s; … 14 → 512 s; 15 and more → 900 s.
#[must_use]
pub fn throttle_delay(throttle: &ThrottlePolicy, failures: u32) -> u64 {
    if !throttle.enabled() || failures < throttle.after() {
        return 0;
    }
    let exponent = failures - throttle.after();
    let cap = u64::from(throttle.max_delay_s());
    // 2^exponent exceeds any cap (≤ 86400 < 2^17) well before it overflows.
    let seconds = match 1u64.checked_shl(exponent) {
        Some(delay) if exponent < 63 => delay.min(cap),
        _ => cap,
    };
    seconds.saturating_mul(1000)
}

/// Milliseconds still to wait for the next attempt, or `None` when it may go ahead.
fn throttle_wait(throttle: &ThrottlePolicy, counter: FactorCounter, now: u64) -> Option<u64> {
    let delay = throttle_delay(throttle, counter.failures());
    if delay == 0 {
        return None;
    }
    let ready_at = counter.last_failure_at().saturating_add(delay);
    (now < ready_at).then(|| ready_at - now)
}

/// The lock caused by a failure of `factor` at `now`, given the factor's failure count
/// *after* counting this failure (the value a store reads back from its atomic increment).
///
/// Returns a lock when lockout is enabled and `failures_after_increment >= attempts`.
/// `>=` rather than `==` so that counts that grew while lockout was off, or concurrent
/// failures that passed the gate together, still lock; the store keeps the first lock
/// written (`… WHERE locked_at IS NULL`).
#[must_use]
pub fn after_failure(
    policy: &LockoutPolicy,
    factor: Factor,
    failures_after_increment: u32,
    now: u64,
) -> Option<Lock> {
    if !policy.enabled() || failures_after_increment < policy.attempts().get() {
        return None;
    }
    Some(match policy.block() {
        BlockType::Permanent => Lock::permanent(factor, now),
        BlockType::Temporary(minutes) => {
            Lock::temporary(factor, now, now.saturating_add(minutes.millis()))
        }
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::lockout::{Attempts, LockMinutes};
    use proptest::prelude::*;

    #[test]
    fn throttle_delays_grow_exponentially_and_cap() {
        let t = ThrottlePolicy::default();
        // (failures, expected delay)
        let rows: &[(u32, u64)] = &[
            (0, 0),
            (1, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 4),
            (8, 8),
            (14, 512),
            (15, 900),
            (16, 900),
            (100, 900),
            (u32::MAX, 900),
        ];
        for &(failures, expected) in rows {
            assert_eq!(
                throttle_delay(&t, failures),
                expected * 1000,
                "failures {failures}"
            );
        }
        let off = ThrottlePolicy::disabled();
        assert_eq!(throttle_delay(&off, 50), 0, "disabled throttle");
        let small = ThrottlePolicy::new(true, 1, 3).unwrap();
        assert_eq!(
            [1, 2, 3, 4].map(|f| throttle_delay(&small, f)),
            [1000, 2000, 3000, 3000],
            "after 1, cap 3"
        );
    }

    #[test]
    fn gate_precedence_is_locked_then_throttled() {
        let policy = LockoutPolicy::new(true, Attempts::new(3).unwrap(), BlockType::Permanent);
        let throttle = ThrottlePolicy::new(true, 1, 900).unwrap();
        let cfg = LockoutConfig::new(policy, throttle);
        let counter = FactorCounter::new(3, 100_000);
        let lock = Lock::permanent(Factor::Otp, 100_000);
        let locked =
            LockState::from_parts([FactorCounter::default(), counter, counter], Some(lock));
        assert_eq!(
            gate(&cfg, &locked, Factor::Otp, 101_000),
            Gate::Locked(lock)
        );
        let unlocked = LockState::from_parts([FactorCounter::default(), counter, counter], None);
        assert_eq!(
            gate(&cfg, &unlocked, Factor::Otp, 101_000),
            Gate::Throttled {
                retry_after_ms: 3000
            },
        );
        assert_eq!(
            gate(&cfg, &unlocked, Factor::Password, 101_000),
            Gate::Allowed {
                expired_lock: false
            },
            "other factor is not throttled",
        );
    }

    #[test]
    fn throttle_opens_exactly_when_the_delay_has_passed() {
        let cfg = LockoutConfig::default();
        let state = LockState::from_parts([FactorCounter::new(7, 1_000_000); 3], None); // 4 s
        let throttled = |ms| Gate::Throttled { retry_after_ms: ms };
        let rows: &[(u64, Gate)] = &[
            (999_000, throttled(5000)), // clock behind the last failure
            (1_000_000, throttled(4000)),
            (1_003_999, throttled(1)),
            (
                1_004_000,
                Gate::Allowed {
                    expired_lock: false,
                },
            ),
        ];
        for &(now, expected) in rows {
            assert_eq!(gate(&cfg, &state, Factor::Otp, now), expected, "now {now}");
        }
    }

    #[test]
    fn expired_lock_is_reported_and_ignores_stale_counters() {
        let throttle = ThrottlePolicy::new(true, 1, 900).unwrap();
        let cfg = LockoutConfig::new(LockoutPolicy::default(), throttle);
        let lock = Lock::temporary(Factor::Password, 100_000, 160_000);
        let state = LockState::from_parts([FactorCounter::new(9, 100_000); 3], Some(lock));
        assert_eq!(gate(&cfg, &state, Factor::Otp, 159_999), Gate::Locked(lock));
        assert_eq!(
            gate(&cfg, &state, Factor::Otp, 160_000),
            Gate::Allowed { expired_lock: true },
        );
    }

    #[test]
    fn after_failure_locks_at_attempts() {
        let perm = LockoutPolicy::new(true, Attempts::new(3).unwrap(), BlockType::Permanent);
        let temp = LockoutPolicy::new(
            true,
            Attempts::new(3).unwrap(),
            BlockType::Temporary(LockMinutes::new(2).unwrap()),
        );
        let off = LockoutPolicy::new(false, Attempts::new(1).unwrap(), BlockType::Permanent);
        let rows: &[(&str, &LockoutPolicy, u32, Option<Lock>)] = &[
            ("perm 2", &perm, 2, None),
            ("perm 3", &perm, 3, Some(Lock::permanent(Factor::Hash, 50))),
            ("perm 4", &perm, 4, Some(Lock::permanent(Factor::Hash, 50))),
            (
                "temp 3",
                &temp,
                3,
                Some(Lock::temporary(Factor::Hash, 50, 120_050)),
            ),
            ("off 100", &off, 100, None),
        ];
        for (name, policy, failures, expected) in rows {
            assert_eq!(
                after_failure(policy, Factor::Hash, *failures, 50),
                *expected,
                "{name}"
            );
        }
        let far = after_failure(&temp, Factor::Hash, 3, u64::MAX);
        assert_eq!(far.and_then(|l| l.unlock_at()), Some(u64::MAX), "saturates");
    }

    proptest! {
        #[test]
        fn delay_is_monotonic_and_capped(after in 1u32..=100, cap in 1u32..=86_400, f in any::<u32>()) {
            let t = ThrottlePolicy::new(true, after, cap).unwrap();
            let d = throttle_delay(&t, f);
            prop_assert!(d <= u64::from(cap) * 1000);
            prop_assert!(throttle_delay(&t, f.saturating_add(1)) >= d);
            prop_assert_eq!(d == 0, f < after);
        }

        /// Failures that passed the gate together on several servers: the database
        /// serialises the increments (values prior+1, prior+2, …) and keeps the first lock
        /// written. The lock is set exactly by the failure whose count equals `attempts`.
        #[test]
        fn concurrent_failures_lock_at_exactly_attempts(
            attempts in 1u32..=10, prior in 0u32..10, concurrent in 1u32..20,
        ) {
            prop_assume!(prior < attempts);
            let policy = LockoutPolicy::new(true, Attempts::new(attempts).unwrap(), BlockType::Permanent);
            let mut stored: Option<(u32, Lock)> = None;
            for value in prior + 1..=prior + concurrent {
                if let Some(lock) = after_failure(&policy, Factor::Otp, value, u64::from(value)) {
                    stored.get_or_insert((value, lock));
                }
            }
            prop_assert_eq!(stored.is_some(), prior + concurrent >= attempts);
            if let Some((value, lock)) = stored {
                prop_assert_eq!(value, attempts);
                prop_assert_eq!(lock.since(), u64::from(attempts));
            }
        }

        #[test]
        fn retry_after_never_exceeds_the_delay_when_clock_is_monotonic(
            failures in any::<u32>(), last in any::<u64>(), elapsed in 0u64..100_000_000,
        ) {
            let t = ThrottlePolicy::default();
            let state = LockState::from_parts([FactorCounter::new(failures, last); 3], None);
            let now = last.saturating_add(elapsed);
            match gate(&LockoutConfig::default(), &state, Factor::Otp, now) {
                Gate::Throttled { retry_after_ms } => {
                    prop_assert!(retry_after_ms >= 1);
                    prop_assert!(retry_after_ms <= throttle_delay(&t, failures));
                }
                Gate::Allowed { expired_lock } => prop_assert!(!expired_lock),
                Gate::Locked(_) => prop_assert!(false, "no lock was set"),
            }
        }
    }
}
