//! Password expiry (`reset_every`): a password older than N days must be changed.

/// Why a `reset_every` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpiryError {
    /// `reset_every` outside 0..=3650.
    #[error("reset_every must be between 0 (off) and {max} days, got {value}", max = ResetEvery::MAX_DAYS)]
    ResetEveryOutOfRange {
        /// The refused value.
        value: u32,
    },
}

/// Days after which a password expires: 0 (off, the default) to 3650 (ten years).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetEvery(u16);

impl ResetEvery {
    /// Passwords never expire.
    pub const OFF: Self = Self(0);
    /// Largest accepted value.
    pub const MAX_DAYS: u16 = 3650;

    /// Checks `days <= 3650`.
    ///
    /// # Errors
    /// [`ExpiryError::ResetEveryOutOfRange`].
    pub fn new(days: u32) -> Result<Self, ExpiryError> {
        match u16::try_from(days) {
            Ok(d) if d <= Self::MAX_DAYS => Ok(Self(d)),
            _ => Err(ExpiryError::ResetEveryOutOfRange { value: days }),
        }
    }

    /// The number of days (0 = off).
    #[must_use]
    pub const fn days(self) -> u32 {
        self.0 as u32
    }

    /// When a password changed at `changed_at` (unix seconds) expires, or `None` when off
    /// (or when that instant is beyond `u64` seconds).
    #[must_use]
    pub const fn expires_at(self, changed_at: u64) -> Option<u64> {
        if self.0 == 0 {
            None
        } else {
            changed_at.checked_add(self.0 as u64 * 86_400)
        }
    }

    /// Whether a password changed at `changed_at` has expired at `now`: exactly
    /// `days × 86400` seconds later and after. Never when off.
    #[must_use]
    pub const fn is_expired(self, changed_at: u64, now: u64) -> bool {
        match self.expires_at(changed_at) {
            Some(at) => now >= at,
            None => false,
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
    use proptest::prelude::*;

    #[test]
    fn expiry_boundaries() {
        let day = 86_400;
        // (days, changed_at, now, expired)
        let rows: &[(u32, u64, u64, bool)] = &[
            (0, 0, u64::MAX, false),
            (1, 1000, 1000 + day - 1, false),
            (1, 1000, 1000 + day, true),
            (90, 0, 90 * day - 1, false),
            (90, 0, 90 * day, true),
            (3650, u64::MAX - 5, u64::MAX, false),
            (1, 5000, 10, false),
        ];
        for &(days, changed_at, now, expired) in rows {
            let r = ResetEvery::new(days).unwrap();
            assert_eq!(
                r.is_expired(changed_at, now),
                expired,
                "row ({days}, {changed_at}, {now})"
            );
        }
    }

    #[test]
    fn bounds() {
        for (v, ok) in [(0, true), (3650, true), (3651, false), (70_000, false)] {
            assert_eq!(ResetEvery::new(v).is_ok(), ok, "reset_every {v}");
        }
    }

    proptest! {
        #[test]
        fn expired_is_monotonic_in_time(days in 0u32..=3650, changed in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
            let r = ResetEvery::new(days).unwrap();
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(!r.is_expired(changed, early) || r.is_expired(changed, late));
        }
    }
}
