//! Lockout and throttling of failed authentication attempts (SPEC §4.3, seed 001 §2.4.1).
//!
//! Two independent mechanisms guard each user:
//!
//! * **Lockout** ([`LockoutPolicy`], off by default): each factor ([`Factor::Password`],
//!   [`Factor::Otp`], [`Factor::Hash`]) has its own counter of consecutive failures, reset
//!   only by a success *of that factor* (a correct password never clears a run of wrong
//!   codes). When any counter reaches `attempts` the user is locked, for every factor:
//!   permanently (until an administrator unlocks) or for `minutes`. A temporary lock ends
//!   exactly at [`Lock::unlock_at`] (not a second earlier) and its end clears all counters.
//! * **Throttling** ([`ThrottlePolicy`], on by default, RFC 4226 §7.3): once a factor has
//!   `after` consecutive failures, the next attempt of that factor must wait
//!   `min(2^(failures − after), max_delay_s)` seconds after the last failure, counted in
//!   milliseconds (see
//!   [`throttle_delay`]): with the defaults (5, 900) the waits are 1, 2, 4, … 512, 900, 900 s.
//!   Attempts inside the delay are refused without being checked or counted.
//!
//! # Answering an attempt (API contract)
//! 1. [`gate`] — precedence: *locked*, then *throttled*, then the attempt may be checked.
//! 2. Check the credential.
//! 3. On failure, count it and call [`after_failure`]: the failure that reaches `attempts`
//!    is still answered as an ordinary failure (`invalid_code`) but with `locked_until`.
//!    On success, reset that factor's counter only.
//!
//! The in-memory [`LockState`] does exactly this. A database store does the same with the
//! pure functions, so both share one source of truth: it reads the row, calls [`gate`],
//! and on a failure increments the counter atomically
//! (`UPDATE … SET otp_failures = otp_failures + 1, otp_last_failure_at = $now … RETURNING
//! otp_failures`) and passes the value read back to [`after_failure`]; when that returns a
//! lock it stores it only if no lock is set (`… WHERE locked_at IS NULL`). Concurrent
//! failures on several servers therefore lock at exactly `attempts`, never later.
//!
//! Time is unix milliseconds, passed in by the caller.

mod decision;
mod policy;
mod state;

pub use decision::{FactorCounter, Gate, Lock, after_failure, gate, throttle_delay};
pub use policy::{
    AdminLockout, AdminLockoutInput, Attempts, BlockType, BlockTypeName, LockMinutes,
    LockoutConfig, LockoutConfigInput, LockoutError, LockoutPolicy, ThrottleInput, ThrottlePolicy,
};
pub use state::{FailureOutcome, LockState, Status};

use serde::{Deserialize, Serialize};

/// An authentication factor with its own failure counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// The user's password (`POST /v1/auth/password`).
    Password,
    /// A one-time code (`POST /v1/otp/validate`).
    Otp,
    /// The MFA "hash always present" check (`POST /v1/auth/hash`).
    Hash,
}

impl Factor {
    /// Every factor, in a fixed order.
    pub const ALL: [Factor; 3] = [Factor::Password, Factor::Otp, Factor::Hash];

    /// The stable lower-case name (`"password"`, `"otp"`, `"hash"`), as in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Otp => "otp",
            Factor::Hash => "hash",
        }
    }

    /// Index into a per-factor array ordered like [`Factor::ALL`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Factor::Password => 0,
            Factor::Otp => 1,
            Factor::Hash => 2,
        }
    }
}

impl core::fmt::Display for Factor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
