//! Time, injected: the server reads the time from the [`Clock`] in its state, so tests move
//! time instead of sleeping, and no decision depends on how fast the machine is.
//!
//! [`UnixTime`] is milliseconds since the Unix epoch. The store keeps whole seconds in most
//! columns (and milliseconds where a delay is measured, e.g. throttling); sae-core takes
//! unsigned seconds. The conversions live here, once, and saturate instead of wrapping:
//! a time before 1970 is 0 for the core, never a panic or a silent skip elsewhere.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a node checks whether another node changed a configuration document it caches
/// (the policies, the SMS brokers); its own changes take effect at once.
pub const SETTINGS_REFRESH: Duration = Duration::from_secs(1);

/// A point in time: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// From whole seconds since the epoch (as stored in most columns).
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down), as stored in most columns.
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Whole seconds for sae-core, which counts from the epoch in `u64`; times before the
    /// epoch are 0.
    pub fn core_secs(self) -> u64 {
        u64::try_from(self.secs()).unwrap_or(0)
    }

    /// Milliseconds for sae-core; times before the epoch are 0.
    pub fn core_millis(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }

    /// This time plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// RFC 3339 text (whole seconds, UTC).
    pub fn rfc3339(self) -> String {
        crate::timefmt::rfc3339(self.secs())
    }
}

/// Converts sae-core seconds back to a stored `i64` (saturating at `i64::MAX`).
pub fn secs_from_core(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Where the server reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        UnixTime(ms)
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: UnixTime) -> Self {
        Self(AtomicI64::new(start.millis()))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// The current reading in whole seconds, for sae-core.
    pub fn now_secs(&self) -> u64 {
        self.now().core_secs()
    }

    /// Sets the clock.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate_instead_of_wrapping() {
        let before_epoch = UnixTime::from_millis(-1500);
        assert_eq!(before_epoch.secs(), -2);
        assert_eq!(before_epoch.core_secs(), 0);
        assert_eq!(UnixTime::from_secs(i64::MAX).millis(), i64::MAX);
        assert_eq!(
            UnixTime::from_millis(i64::MAX - 1)
                .plus(Duration::from_secs(5))
                .millis(),
            i64::MAX
        );
        assert_eq!(secs_from_core(u64::MAX), i64::MAX);
        assert_eq!(UnixTime::from_millis(1999).secs(), 1);
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(UnixTime::from_secs(100));
        assert_eq!(clock.now(), UnixTime::from_secs(100));
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now().millis(), 101_500);
        clock.set(UnixTime::from_secs(7));
        assert_eq!(clock.now().secs(), 7);
    }
}
