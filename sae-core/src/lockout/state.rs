//! The in-memory lockout state machine of one user, built on the pure decisions.

use super::{Factor, FactorCounter, Gate, Lock, LockoutConfig, after_failure, gate};

/// Whether a user is locked at a given time, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Attempts may proceed (subject to throttling).
    Unlocked,
    /// Every factor is refused with `reason: "locked"`; [`Lock::factor`] says which counter
    /// reached `attempts`, [`Lock::unlock_at`] when a temporary lock ends.
    Locked(Lock),
}

/// What counting one failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureOutcome {
    /// The factor's consecutive failures, this one included.
    pub failures: u32,
    /// The lock in force after this failure, if any: for the failure that reaches
    /// `attempts`, answer it as an ordinary failure with `locked_until` =
    /// [`Lock::unlock_at`].
    pub lock: Option<Lock>,
}

/// One user's lockout state: a failure counter per factor and the current lock.
///
/// The usual sequence for an attempt is [`admit`](Self::admit), check the credential, then
/// [`on_failure`](Self::on_failure) or [`on_success`](Self::on_success).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockState {
    counters: [FactorCounter; 3],
    lock: Option<Lock>,
}

impl LockState {
    /// No failures, no lock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a state read from storage; `counters` are in [`Factor::ALL`] order
    /// (password, OTP, hash).
    #[must_use]
    pub const fn from_parts(counters: [FactorCounter; 3], lock: Option<Lock>) -> Self {
        Self { counters, lock }
    }

    /// The failure counter of `factor`.
    #[must_use]
    pub const fn counter(&self, factor: Factor) -> FactorCounter {
        self.counters[factor.index()]
    }

    /// The stored lock, active or expired.
    #[must_use]
    pub const fn lock(&self) -> Option<&Lock> {
        self.lock.as_ref()
    }

    /// Whether the user is locked at `now`. A temporary lock stops counting at exactly
    /// [`Lock::unlock_at`].
    #[must_use]
    pub fn status(&self, now: u64) -> Status {
        match self.lock {
            Some(lock) if lock.is_active(now) => Status::Locked(lock),
            _ => Status::Unlocked,
        }
    }

    /// The decision for an attempt of `factor` at `now` (see [`gate`]), without changing
    /// anything.
    pub fn gate(&self, config: &LockoutConfig, factor: Factor, now: u64) -> Gate {
        gate(config, self, factor, now)
    }

    /// Decides an attempt of `factor` at `now` and, when a temporary lock has ended, clears
    /// it together with all counters.
    pub fn admit(&mut self, config: &LockoutConfig, factor: Factor, now: u64) -> Gate {
        let decision = gate(config, self, factor, now);
        if let Gate::Allowed { expired_lock: true } = decision {
            self.unlock();
        }
        decision
    }

    /// Counts a failed check of `factor` at `now` and locks the user when the counter
    /// reaches `attempts`. An existing lock is kept (the first lock wins).
    ///
    /// Call it only for attempts that [`admit`](Self::admit) allowed: refused attempts are
    /// not counted.
    pub fn on_failure(
        &mut self,
        config: &LockoutConfig,
        factor: Factor,
        now: u64,
    ) -> FailureOutcome {
        self.clear_if_expired(now);
        let counter = self.counter(factor).incremented(now);
        self.counters[factor.index()] = counter;
        if self.lock.is_none() {
            self.lock = after_failure(config.lockout(), factor, counter.failures(), now);
        }
        FailureOutcome {
            failures: counter.failures(),
            lock: self.lock,
        }
    }

    /// Resets the counter of `factor` only; other factors' runs of failures stay.
    pub fn on_success(&mut self, factor: Factor) {
        self.counters[factor.index()] = FactorCounter::default();
    }

    /// Administrator unlock: clears the lock and every counter.
    pub fn unlock(&mut self) {
        *self = Self::default();
    }

    fn clear_if_expired(&mut self, now: u64) {
        if self.lock.is_some_and(|l| !l.is_active(now)) {
            self.unlock();
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::lockout::{Attempts, BlockType, LockMinutes, LockoutPolicy, ThrottlePolicy};
    use proptest::prelude::*;

    fn config(attempts: u32, block: BlockType, throttle: ThrottlePolicy) -> LockoutConfig {
        LockoutConfig::new(
            LockoutPolicy::new(true, Attempts::new(attempts).unwrap(), block),
            throttle,
        )
    }

    fn temporary(minutes: u32) -> BlockType {
        BlockType::Temporary(LockMinutes::new(minutes).unwrap())
    }

    /// Runs one attempt the way the API does: gate, then count the failure.
    fn fail(state: &mut LockState, cfg: &LockoutConfig, factor: Factor, now: u64) -> Gate {
        let g = state.admit(cfg, factor, now);
        if let Gate::Allowed { .. } = g {
            state.on_failure(cfg, factor, now);
        }
        g
    }

    #[test]
    fn exactly_n_failures_lock() {
        for n in 1..=10 {
            let cfg = config(n, BlockType::Permanent, ThrottlePolicy::disabled());
            let mut s = LockState::new();
            for i in 1..n {
                let out = s.on_failure(&cfg, Factor::Otp, u64::from(i));
                assert_eq!(out.lock, None, "attempts {n}: failure {i} must not lock");
                assert_eq!(
                    s.status(u64::from(i)),
                    Status::Unlocked,
                    "attempts {n}: failure {i}"
                );
            }
            let out = s.on_failure(&cfg, Factor::Otp, 100);
            assert_eq!(out.failures, n, "attempts {n}");
            assert_eq!(
                out.lock,
                Some(Lock::permanent(Factor::Otp, 100)),
                "attempts {n}: lock"
            );
            assert_eq!(
                s.status(u64::MAX),
                Status::Locked(Lock::permanent(Factor::Otp, 100))
            );
            assert!(
                matches!(s.admit(&cfg, Factor::Password, 101), Gate::Locked(_)),
                "attempts {n}"
            );
        }
    }

    #[test]
    fn temporary_lock_expires_at_unlock_at_and_not_a_second_earlier() {
        let cfg = config(2, temporary(5), ThrottlePolicy::disabled());
        let mut s = LockState::new();
        s.on_failure(&cfg, Factor::Password, 1_000);
        let out = s.on_failure(&cfg, Factor::Password, 1_010);
        let lock = out.lock.expect("second failure locks");
        assert_eq!(
            lock.unlock_at(),
            Some(301_010),
            "5 minutes after the locking failure"
        );
        assert!(!lock.is_permanent());
        assert_eq!(
            s.status(301_009),
            Status::Locked(lock),
            "one millisecond before unlock_at"
        );
        assert_eq!(s.admit(&cfg, Factor::Password, 301_009), Gate::Locked(lock));
        assert_eq!(s.status(301_010), Status::Unlocked, "at unlock_at");
        assert_eq!(
            s.admit(&cfg, Factor::Password, 301_010),
            Gate::Allowed { expired_lock: true }
        );
        assert_eq!(
            s.counter(Factor::Password).failures(),
            0,
            "expiry clears the counters"
        );
        assert_eq!(s.lock(), None);
        let again = s.on_failure(&cfg, Factor::Password, 1_311);
        assert_eq!(
            (again.failures, again.lock),
            (1, None),
            "counting starts afresh"
        );
    }

    #[test]
    fn counters_are_independent_per_factor() {
        let cfg = config(3, BlockType::Permanent, ThrottlePolicy::disabled());
        let mut s = LockState::new();
        s.on_failure(&cfg, Factor::Otp, 1);
        s.on_failure(&cfg, Factor::Otp, 2);
        s.on_failure(&cfg, Factor::Hash, 3);
        s.on_success(Factor::Password); // a correct password
        assert_eq!(
            s.counter(Factor::Otp).failures(),
            2,
            "password success keeps OTP run"
        );
        assert_eq!(
            s.counter(Factor::Hash).failures(),
            1,
            "password success keeps hash run"
        );
        s.on_failure(&cfg, Factor::Password, 4);
        s.on_failure(&cfg, Factor::Password, 5);
        assert_eq!(s.status(5), Status::Unlocked, "no single factor reached 3");
        let out = s.on_failure(&cfg, Factor::Otp, 6);
        assert_eq!(
            out.lock.map(|l| l.factor()),
            Some(Factor::Otp),
            "the OTP run locks"
        );
        s.unlock();
        assert_eq!(
            s,
            LockState::new(),
            "administrator unlock clears everything"
        );
        s.on_failure(&cfg, Factor::Otp, 7);
        s.on_success(Factor::Otp);
        assert_eq!(s.counter(Factor::Otp).failures(), 0, "own success resets");
    }

    #[test]
    fn throttled_attempts_are_neither_checked_nor_counted() {
        let cfg = config(
            10,
            BlockType::Permanent,
            ThrottlePolicy::new(true, 2, 900).unwrap(),
        );
        let mut s = LockState::new();
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 100_000),
            Gate::Allowed {
                expired_lock: false
            }
        );
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 100_000),
            Gate::Allowed {
                expired_lock: false
            }
        );
        // 2 failures: the next attempt waits 2^0 = 1 s.
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 100_000),
            Gate::Throttled {
                retry_after_ms: 1000
            }
        );
        assert_eq!(
            s.counter(Factor::Otp).failures(),
            2,
            "throttled attempt not counted"
        );
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 101_000),
            Gate::Allowed {
                expired_lock: false
            }
        );
        // 3 failures: wait 2 s from t=101.
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 102_000),
            Gate::Throttled {
                retry_after_ms: 1000
            }
        );
        assert_eq!(
            fail(&mut s, &cfg, Factor::Otp, 103_000),
            Gate::Allowed {
                expired_lock: false
            }
        );
        assert_eq!(
            fail(&mut s, &cfg, Factor::Password, 103),
            Gate::Allowed {
                expired_lock: false
            },
            "other factors are not throttled",
        );
    }

    #[test]
    fn the_locking_failure_reports_locked_until() {
        let cfg = config(1, temporary(1), ThrottlePolicy::default());
        let mut s = LockState::new();
        let out = s.on_failure(&cfg, Factor::Hash, 60_000);
        assert_eq!(out.lock.and_then(|l| l.unlock_at()), Some(120_000));
    }

    #[test]
    fn lock_survives_disabling_lockout() {
        let cfg = config(1, BlockType::Permanent, ThrottlePolicy::disabled());
        let mut s = LockState::new();
        s.on_failure(&cfg, Factor::Otp, 1);
        let off = LockoutConfig::new(LockoutPolicy::default(), ThrottlePolicy::disabled());
        assert!(matches!(s.admit(&off, Factor::Otp, 2), Gate::Locked(_)));
        s.on_failure(&off, Factor::Otp, 3);
        assert_eq!(s.lock().map(Lock::since), Some(1), "first lock wins");
    }

    #[derive(Clone, Copy, Debug)]
    enum Event {
        Fail(Factor),
        Succeed(Factor),
    }

    fn factor() -> impl Strategy<Value = Factor> {
        prop_oneof![
            Just(Factor::Password),
            Just(Factor::Otp),
            Just(Factor::Hash)
        ]
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            factor().prop_map(Event::Fail),
            factor().prop_map(Event::Succeed)
        ]
    }

    proptest! {
        /// Against a reference model: the user is locked exactly when some factor's run of
        /// failures since its own last success reaches `attempts`, and at that failure.
        #[test]
        fn permanent_lock_matches_reference_model(
            attempts in 1u32..=10,
            events in prop::collection::vec(event(), 0..60),
        ) {
            let cfg = config(attempts, BlockType::Permanent, ThrottlePolicy::disabled());
            let mut s = LockState::new();
            let mut runs = [0u32; 3];
            let mut locked_at: Option<usize> = None;
            for (i, ev) in events.iter().enumerate() {
                let now = i as u64;
                let g = s.admit(&cfg, Factor::Otp, now);
                prop_assert_eq!(matches!(g, Gate::Locked(_)), locked_at.is_some(), "event {}", i);
                if locked_at.is_some() {
                    continue; // refused: nothing is checked or counted
                }
                match *ev {
                    Event::Fail(f) => {
                        runs[f.index()] += 1;
                        let out = s.on_failure(&cfg, f, now);
                        prop_assert_eq!(out.failures, runs[f.index()]);
                        if runs[f.index()] == attempts {
                            locked_at = Some(i);
                            prop_assert_eq!(out.lock, Some(Lock::permanent(f, now)));
                        } else {
                            prop_assert_eq!(out.lock, None);
                        }
                    }
                    Event::Succeed(f) => {
                        runs[f.index()] = 0;
                        s.on_success(f);
                    }
                }
                for g in Factor::ALL {
                    prop_assert_eq!(s.counter(g).failures(), runs[g.index()], "factor {}", g);
                }
            }
        }

        /// A temporary lock is active on [since, since + minutes·60) and nowhere else.
        #[test]
        fn temporary_lock_window(minutes in 1u32..=525_600, start in 0u64..1u64 << 40, probe in any::<u64>()) {
            let cfg = config(1, temporary(minutes), ThrottlePolicy::disabled());
            let mut s = LockState::new();
            let lock = s.on_failure(&cfg, Factor::Otp, start).lock;
            let until = start + u64::from(minutes) * 60_000;
            prop_assert_eq!(lock, Some(Lock::temporary(Factor::Otp, start, until)));
            let expected = probe < until;
            prop_assert_eq!(matches!(s.status(probe), Status::Locked(_)), expected);
        }

        /// Throttling never lets more than one attempt through per delay window and never
        /// counts refused attempts.
        #[test]
        fn throttle_only_counts_admitted_attempts(
            gaps in prop::collection::vec(0u64..2_000, 1..80),
        ) {
            // Lockout off so only the throttle acts.
            let cfg = LockoutConfig::new(LockoutPolicy::default(), ThrottlePolicy::default());
            let mut s = LockState::new();
            let mut now = 0u64;
            let mut admitted = 0u32;
            for gap in gaps {
                now += gap;
                let before = s.counter(Factor::Otp);
                match fail(&mut s, &cfg, Factor::Otp, now) {
                    Gate::Allowed { .. } => {
                        admitted += 1;
                        let delay = crate::lockout::throttle_delay(cfg.throttle(), before.failures());
                        prop_assert!(before.failures() == 0 || now >= before.last_failure_at() + delay);
                    }
                    Gate::Throttled { retry_after_ms } => {
                        prop_assert_eq!(s.counter(Factor::Otp), before);
                        prop_assert!((1..=900_000).contains(&retry_after_ms));
                    }
                    Gate::Locked(_) => prop_assert!(false, "lockout is disabled"),
                }
                prop_assert_eq!(s.counter(Factor::Otp).failures(), admitted);
            }
        }
    }
}
