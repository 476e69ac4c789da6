//! Lockout and throttling around one authentication attempt, on the stored counters.
//!
//! Before checking a credential: [`admit`] (locked, then throttled, then allowed). After a
//! wrong one: [`record_failure`] inside the flow's write transaction — the counter is
//! incremented by one conditional statement (`… WHERE locked_at IS NULL RETURNING`) and
//! sae-core's `after_failure` decides the lock from the returned count, which is written
//! only if no lock is set. On PostgreSQL the row stays locked until the transaction commits,
//! so concurrent failures on several nodes count one by one and exactly `attempts` of them
//! lock; later ones find the lock and count nothing.

use sae_core::lockout::{Factor, FactorCounter, Gate, Lock, LockState, after_failure, gate};

use crate::policies::Policies;
use crate::store::models::user::User;
use crate::store::{NewAudit, Ops};

fn secs(t: Option<i64>) -> u64 {
    t.and_then(|t| u64::try_from(t).ok()).unwrap_or(0)
}

fn as_i64(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Parses a stored factor name.
pub fn factor_from(name: Option<&str>) -> Factor {
    match name {
        Some("password") => Factor::Password,
        Some("hash") => Factor::Hash,
        _ => Factor::Otp,
    }
}

/// The user's lockout state as sae-core sees it.
pub fn lock_state(user: &User) -> LockState {
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    let counters = [
        FactorCounter::new(count(user.pwd_failures), secs(user.pwd_last_failure)),
        FactorCounter::new(count(user.otp_failures), secs(user.otp_last_failure)),
        FactorCounter::new(count(user.hash_failures), secs(user.hash_last_failure)),
    ];
    let lock = user.locked_at.map(|since| {
        let factor = factor_from(user.lock_factor.as_deref());
        match user.locked_until {
            None => Lock::permanent(factor, secs(Some(since))),
            Some(until) => Lock::temporary(factor, secs(Some(since)), secs(Some(until))),
        }
    });
    LockState::from_parts(counters, lock)
}

/// Why an attempt is refused before its credential is checked.
#[derive(Debug, Clone, Copy)]
pub enum Refused {
    /// Locked; `until` is the end of a temporary lock.
    Locked {
        /// End of a temporary lock (unix seconds).
        until: Option<i64>,
    },
    /// Throttled: wait this many seconds.
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// Whether an attempt of `factor` may be checked now. `Ok(true)` means a temporary lock has
/// expired and must be cleared by the attempt's transaction ([`clear_expired`]).
pub fn admit(policies: &Policies, user: &User, factor: Factor, now: i64) -> Result<bool, Refused> {
    match gate(
        &policies.lockout,
        &lock_state(user),
        factor,
        secs(Some(now)),
    ) {
        Gate::Allowed { expired_lock } => Ok(expired_lock),
        Gate::Locked(lock) => Err(Refused::Locked {
            until: lock.unlock_at().map(as_i64),
        }),
        Gate::Throttled { retry_after } => Err(Refused::Throttled { retry_after }),
    }
}

/// Clears an expired lock (compare-and-set on the lock that was read).
pub fn clear_expired<C: Ops>(c: &mut C, user: &User) -> diesel::QueryResult<()> {
    if let Some(locked_at) = user.locked_at {
        c.user_clear_lock(user.id, locked_at)?;
    }
    Ok(())
}

/// What counting a failure did.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// Counted; `locked_until` set when this failure locked the user temporarily.
    Counted {
        /// End of the temporary lock it set.
        locked_until: Option<i64>,
    },
    /// The user was locked meanwhile (by a concurrent failure): nothing counted.
    AlreadyLocked,
}

/// Counts a failure of `factor` and locks when sae-core says so (inside a write transaction).
pub fn record_failure<C: Ops>(
    c: &mut C,
    policies: &Policies,
    user: &User,
    factor: Factor,
    now: i64,
) -> diesel::QueryResult<Failure> {
    let Some(count) = c.user_fail(user.id, factor, now)? else {
        return Ok(Failure::AlreadyLocked);
    };
    let count = u32::try_from(count).unwrap_or(0);
    match after_failure(policies.lockout.lockout(), factor, count, secs(Some(now))) {
        Some(lock) => {
            let until = lock.unlock_at().map(as_i64);
            let set = c.user_set_lock(user.id, factor, now, until)?;
            if set {
                c.audit_insert(&NewAudit {
                    at: now,
                    actor: "system".into(),
                    action: "user.lock".into(),
                    subject: Some(user.login.clone()),
                    source: None,
                    outcome: format!("locked:{}", factor.as_str()),
                    detail: None,
                })?;
            }
            Ok(Failure::Counted {
                locked_until: until,
            })
        }
        None => Ok(Failure::Counted { locked_until: None }),
    }
}
