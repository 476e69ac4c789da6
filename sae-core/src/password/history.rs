//! Password history: the last N passwords may not be reused (`differ`).
//!
//! **"The last N" includes the current password.** With `differ` = 1 the user only has to
//! pick something other than the current password; with `differ` = 3 the current one and
//! the two before it are refused, and the fourth-last is accepted again. The history is
//! kept newest first and trimmed to N entries when a new password is recorded, so the
//! store's history holds the current hash as its first entry.
//!
//! Checking a candidate verifies it against up to N stored hashes (at most 24), each at its
//! own cost: with argon2id's defaults that is roughly N × 20 ms on a password change.

use super::hash::{HashError, StoredHash};

/// Why a `differ` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// `differ` outside 0..=24.
    #[error("differ must be between 0 (off) and {max} passwords, got {value}", max = Differ::MAX)]
    DifferOutOfRange {
        /// The refused value.
        value: u32,
    },
}

/// How many of the most recent passwords (the current one included) may not be reused:
/// 0 (off, the default) to 24.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Differ(u8);

impl Differ {
    /// No history check.
    pub const OFF: Self = Self(0);
    /// Largest accepted value.
    pub const MAX: u8 = 24;

    /// Checks `value <= 24`.
    ///
    /// # Errors
    /// [`HistoryError::DifferOutOfRange`].
    pub fn new(value: u32) -> Result<Self, HistoryError> {
        match u8::try_from(value) {
            Ok(v) if v <= Self::MAX => Ok(Self(v)),
            _ => Err(HistoryError::DifferOutOfRange { value }),
        }
    }

    /// The number of passwords checked.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }

    /// Whether the check is off.
    #[must_use]
    pub const fn is_off(self) -> bool {
        self.0 == 0
    }
}

/// A candidate matched a recent password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reused {
    /// Which one: 1 is the current password, 2 the one before it, and so on.
    pub age: usize,
}

/// Previous password hashes of a user, newest (the current password) first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswordHistory {
    newest_first: Vec<StoredHash>,
}

impl PasswordHistory {
    /// An empty history.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A history from hashes ordered newest first.
    #[must_use]
    pub fn from_newest_first(newest_first: Vec<StoredHash>) -> Self {
        Self { newest_first }
    }

    /// Parses stored strings ordered newest first.
    ///
    /// # Errors
    /// The [`HashError`] of the first string that does not parse.
    pub fn parse_newest_first<'a>(
        stored: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, HashError> {
        let newest_first = stored
            .into_iter()
            .map(StoredHash::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self { newest_first })
    }

    /// The hashes, newest first (to store).
    #[must_use]
    pub fn entries(&self) -> &[StoredHash] {
        &self.newest_first
    }

    /// Whether `candidate` is one of the last `differ` passwords (current included).
    /// Entries beyond `differ` are not checked.
    ///
    /// # Errors
    /// [`HashError::Backend`] if a stored hash cannot be computed.
    pub fn find_reuse(&self, differ: Differ, candidate: &str) -> Result<Option<Reused>, HashError> {
        for (index, stored) in self.newest_first.iter().take(differ.get()).enumerate() {
            if stored.matches(candidate)? {
                return Ok(Some(Reused { age: index + 1 }));
            }
        }
        Ok(None)
    }

    /// Records the hash of the new (now current) password and keeps only the last
    /// `differ` entries; with `differ` = 0 the history is emptied.
    pub fn record(&mut self, new_hash: StoredHash, differ: Differ) {
        self.newest_first.insert(0, new_hash);
        self.newest_first.truncate(differ.get());
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
    use crate::password::hash_params::{Argon2Params, HashPolicy, Pbkdf2Rounds};
    use rand::SeedableRng;

    fn cheap() -> HashPolicy {
        HashPolicy::Pbkdf2Sha256(Pbkdf2Rounds::new(1000).unwrap())
    }

    /// Changes the password through `passwords` in order (the last one is current).
    fn history_of(passwords: &[&str], differ: Differ) -> PasswordHistory {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut h = PasswordHistory::new();
        for p in passwords {
            h.record(cheap().hash(p, &mut rng).unwrap(), differ);
        }
        h
    }

    #[test]
    fn history_of_n_rejects_nth_last_and_accepts_n_plus_first_last() {
        let passwords = ["p1", "p2", "p3", "p4", "p5", "p6"];
        let full = history_of(&passwords, Differ::new(24).unwrap());
        for n in 1..=5usize {
            let differ = Differ::new(n as u32).unwrap();
            let nth_last = passwords[passwords.len() - n];
            let next_older = passwords[passwords.len() - n - 1];
            assert_eq!(
                full.find_reuse(differ, nth_last).unwrap(),
                Some(Reused { age: n }),
                "differ {n}: the {n}th-last password is refused"
            );
            assert_eq!(
                full.find_reuse(differ, next_older).unwrap(),
                None,
                "differ {n}: the {}th-last password is accepted",
                n + 1
            );
            let trimmed = history_of(&passwords, differ);
            assert_eq!(
                trimmed.entries().len(),
                n,
                "differ {n}: trimmed to n entries"
            );
            assert_eq!(
                trimmed.find_reuse(differ, nth_last).unwrap(),
                Some(Reused { age: n })
            );
            assert_eq!(trimmed.find_reuse(differ, next_older).unwrap(), None);
        }
    }

    #[test]
    fn differ_zero_is_off_and_keeps_nothing() {
        let h = history_of(&["a", "b"], Differ::OFF);
        assert!(h.entries().is_empty());
        let full = history_of(&["a", "b"], Differ::new(2).unwrap());
        assert_eq!(
            full.find_reuse(Differ::OFF, "b").unwrap(),
            None,
            "off never refuses"
        );
        assert_eq!(
            full.find_reuse(Differ::new(1).unwrap(), "b").unwrap(),
            Some(Reused { age: 1 })
        );
    }

    #[test]
    fn mixed_algorithms_and_legacy_entries_are_checked() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let argon = HashPolicy::Argon2id(Argon2Params::new(64, 1, 1).unwrap());
        let h = PasswordHistory::from_newest_first(vec![
            argon.hash("new", &mut rng).unwrap(),
            StoredHash::parse(
                "$sha256$$2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
            )
            .unwrap(),
        ]);
        let d = Differ::new(2).unwrap();
        assert_eq!(h.find_reuse(d, "secret").unwrap(), Some(Reused { age: 2 }));
        assert_eq!(h.find_reuse(d, "new").unwrap(), Some(Reused { age: 1 }));
        assert_eq!(h.find_reuse(d, "other").unwrap(), None);
    }

    #[test]
    fn parse_round_trip_and_errors() {
        let h = history_of(&["a", "b"], Differ::new(5).unwrap());
        let strings: Vec<&str> = h.entries().iter().map(StoredHash::as_str).collect();
        assert_eq!(PasswordHistory::parse_newest_first(strings).unwrap(), h);
        assert!(PasswordHistory::parse_newest_first(["$nope$"]).is_err());
    }

    #[test]
    fn differ_bounds() {
        for (v, ok) in [(0, true), (24, true), (25, false), (256, false)] {
            assert_eq!(Differ::new(v).is_ok(), ok, "differ {v}");
        }
        assert_eq!(
            Differ::new(25).unwrap_err().to_string(),
            "differ must be between 0 (off) and 24 passwords, got 25"
        );
    }
}
