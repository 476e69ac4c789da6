//! The one gate in front of every credential check — users' passwords, one-time codes of
//! any kind and MFA hashes, administrators' console passwords and TOTP codes (SPEC §4.3).
//!
//! sae-core decides (locked, then throttled, then allowed; which failure locks); this module
//! makes the decision hold under concurrency. [`attempt`] runs inside the caller's write
//! transaction: it locks the subject's row (`SELECT … FOR UPDATE` on PostgreSQL, the write
//! transaction itself on SQLite), decides on what it read, runs the check only when the gate
//! is open, and records the outcome before the row is released. Concurrent attempts on any
//! number of nodes therefore queue on the row and each sees the failures of the ones before
//! it: no more checks are made than the policy allows, exactly `attempts` failures lock, and
//! a success is committed only if the subject is not locked by then.
//!
//! A password check (argon2) is too slow to run while holding the row: [`reserve`] takes its
//! slot first — in one short write, on the locked row, only while the gate is open and no
//! other password check of the subject is in flight — then the hash is checked outside any
//! transaction, and [`attempt`] (with `reserved`) records the outcome and frees the slot.
//! A crashed node's slot expires after [`PASSWORD_LEASE`].
//!
//! [`precheck`] answers from a row read outside any transaction, so a locked or throttled
//! subject is refused without taking the write lock or running a costly check; it never
//! admits on its own. Delays are measured in milliseconds.
//!
//! The common success — a user with no lock and no failure of the factor, a matching
//! one-time code — takes one statement instead of two ([`admits_as_read`]): the row is
//! locked only if it still holds exactly what was read before the transaction, and the
//! success is written in the same statement. Same state, same clock, so the same decision
//! as [`attempt`]'s; when the row changed in between, nothing is written and [`attempt`]
//! decides on the row as it is.

use std::time::Duration;

use sae_core::lockout::{
    Factor, FactorCounter, Gate, Lock, LockState, LockoutConfig, after_failure, gate,
};

use super::audit::Audit;
use super::error::ServiceError;
use crate::clock::UnixTime;
use crate::outbox::notify::{self, Event};
use crate::store::admins::Admin;
use crate::store::locks::Unlocked;
use crate::store::prelude::*;
use crate::store::users::User;

/// Whose counters an attempt is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A user (login for the audit log).
    User {
        /// Row id.
        id: i64,
        /// Login.
        login: &'a str,
    },
    /// A console administrator.
    Admin {
        /// Row id.
        id: i64,
        /// Login.
        login: &'a str,
    },
}

/// Why an attempt was refused before its credential was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Locked; `until` is the end of a temporary lock.
    Locked {
        /// End of a temporary lock.
        until: Option<UnixTime>,
    },
    /// Throttled: wait this long.
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
}

impl From<Refused> for ServiceError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Locked { until } => Self::Locked { until },
            Refused::Throttled { retry_after } => Self::Throttled { retry_after },
        }
    }
}

/// What counting a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted. `lock` is set when this failure locked the subject: `Some(None)` for a
    /// permanent lock, `Some(Some(t))` for a temporary one ending at `t`.
    Counted {
        /// The lock this failure set.
        lock: Option<Option<UnixTime>>,
    },
    /// The subject was locked meanwhile: nothing counted.
    AlreadyLocked,
}

/// The outcome of one gated attempt.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Refused unchecked and uncounted.
    Refused(Refused),
    /// The check succeeded; the factor's counter is reset.
    Accepted(T),
    /// The check failed; the failure is counted (and may have locked).
    Rejected(T, Failure),
}

/// How long a password check in flight holds its slot when its node never settles it.
pub const PASSWORD_LEASE: Duration = Duration::from_secs(30);

fn core_ms(t: Option<i64>) -> u64 {
    t.map_or(0, |t| UnixTime::from_millis(t).core_millis())
}

fn stored_ms(t: u64) -> UnixTime {
    UnixTime::from_millis(i64::try_from(t).unwrap_or(i64::MAX))
}

fn counter(failures: i32, last: Option<i64>) -> FactorCounter {
    FactorCounter::new(failures.max(0).unsigned_abs(), core_ms(last))
}

/// Parses a stored factor name; an unknown name is read as the OTP factor (the lock still
/// holds, only its cause is shown differently).
pub fn factor_from(name: Option<&str>) -> Factor {
    match name {
        Some("password") => Factor::Password,
        Some("hash") => Factor::Hash,
        _ => Factor::Otp,
    }
}

fn lock_of(locked_at: Option<i64>, until: Option<i64>, factor: Option<&str>) -> Option<Lock> {
    locked_at.map(|since| {
        let factor = factor_from(factor);
        match until {
            None => Lock::permanent(factor, core_ms(Some(since))),
            Some(until) => Lock::temporary(factor, core_ms(Some(since)), core_ms(Some(until))),
        }
    })
}

/// A user's lockout state as sae-core sees it.
pub fn user_state(u: &User) -> LockState {
    LockState::from_parts(
        [
            counter(u.pwd_failures, u.pwd_last_failure_ms),
            counter(u.otp_failures, u.otp_last_failure_ms),
            counter(u.hash_failures, u.hash_last_failure_ms),
        ],
        lock_of(u.locked_at_ms, u.locked_until_ms, u.lock_factor.as_deref()),
    )
}

/// An administrator's lockout state as sae-core sees it (no hash factor).
pub fn admin_state(a: &Admin) -> LockState {
    LockState::from_parts(
        [
            counter(a.pwd_failures, a.pwd_last_failure_ms),
            counter(a.otp_failures, a.otp_last_failure_ms),
            FactorCounter::new(0, 0),
        ],
        lock_of(a.locked_at_ms, a.locked_until_ms, a.lock_factor.as_deref()),
    )
}

/// Whether the stored lock holds at `now`.
pub fn is_locked(state: &LockState, now: UnixTime) -> bool {
    state.lock().is_some_and(|l| l.is_active(now.core_millis()))
}

fn decide(
    config: &LockoutConfig,
    state: &LockState,
    factor: Factor,
    now: UnixTime,
) -> Result<bool, Refused> {
    match gate(config, state, factor, now.core_millis()) {
        Gate::Allowed { expired_lock } => Ok(expired_lock),
        Gate::Locked(lock) => Err(Refused::Locked {
            until: lock.unlock_at().map(stored_ms),
        }),
        Gate::Throttled { retry_after_ms } => Err(Refused::Throttled {
            retry_after: Duration::from_millis(retry_after_ms),
        }),
    }
}

/// A cheap refusal from a row read outside any transaction: `Err` when the subject is
/// locked or `factor` is throttled. `Ok` admits nothing by itself; [`attempt`] decides.
pub fn precheck(
    config: &LockoutConfig,
    state: &LockState,
    factor: Factor,
    now: UnixTime,
) -> Result<(), Refused> {
    decide(config, state, factor, now).map(|_| ())
}

/// The subject's row, locked until the transaction ends: its lockout state, the time its
/// current lock was set, and until when a password check of it is in flight.
fn locked_row(
    c: &mut dyn Conn,
    subject: Subject<'_>,
) -> Result<(LockState, Option<i64>, Option<i64>), ServiceError> {
    Ok(match subject {
        Subject::User { id, login } => {
            let u = c
                .user_for_update(id)?
                .ok_or_else(|| ServiceError::not_found(format!("no user {login:?}")))?;
            (user_state(&u), u.locked_at_ms, u.pwd_inflight_until_ms)
        }
        Subject::Admin { id, login } => {
            let a = c
                .admin_for_update(id)?
                .ok_or_else(|| ServiceError::not_found(format!("no administrator {login:?}")))?;
            (admin_state(&a), a.locked_at_ms, a.pwd_inflight_until_ms)
        }
    })
}

/// Takes the slot of a password check (see the module documentation), inside the caller's
/// write transaction: `Err` when the subject is locked, the password factor throttled, or
/// another password check of the subject is in flight (answered as throttled).
pub fn reserve(
    c: &mut dyn Conn,
    subject: Subject<'_>,
    config: &LockoutConfig,
    now: UnixTime,
) -> Result<Result<(), Refused>, ServiceError> {
    let (state, _, inflight) = locked_row(c, subject)?;
    if let Err(refused) = decide(config, &state, Factor::Password, now) {
        return Ok(Err(refused));
    }
    if let Some(until) = inflight.map(UnixTime::from_millis).filter(|u| *u > now) {
        let left = u64::try_from(until.millis() - now.millis()).unwrap_or(0);
        return Ok(Err(Refused::Throttled {
            retry_after: Duration::from_millis(left.min(1000)),
        }));
    }
    let until = Some(now.plus(PASSWORD_LEASE).millis());
    match subject {
        Subject::User { id, .. } => c.user_password_inflight(id, until)?,
        Subject::Admin { id, .. } => c.admin_password_inflight(id, until)?,
    }
    Ok(Ok(()))
}

/// Whether a success of `factor` can be accepted on the row read before the write, without
/// reading it again inside: when `user` (read outside the transaction) holds no lock and no
/// failure of `factor`, and the gate admits on that state at `now`, its counters as read
/// (`seen`). The caller's write must then, in one statement, lock the row, check that it
/// still holds exactly those counters and no lock, and write the success (a
/// compare-and-set); the outcome is the one [`attempt`] would give: the gate sees the same
/// state at the same `now`, and there is no counter to reset. When that statement writes
/// nothing (or this answers `None`), run [`attempt`].
pub fn admits_as_read(
    user: &User,
    factor: Factor,
    config: &LockoutConfig,
    now: UnixTime,
) -> Option<Unlocked> {
    let seen = Unlocked::of(user)?;
    let state = user_state(user);
    (state.counter(factor).failures() == 0 && decide(config, &state, factor, now) == Ok(false))
        .then_some(seen)
}

/// Runs one attempt of `factor` for `subject` through the gate, inside the caller's write
/// transaction. `check` runs only when the gate is open; it answers `Ok` for a success and
/// `Err` for a failure (each with the caller's value), and may write (e.g. advance a token's
/// counter) in the same transaction. `reserved`: the attempt's slot was taken with
/// [`reserve`] (a password checked outside the transaction); the slot is freed here.
pub fn attempt<T>(
    c: &mut dyn Conn,
    subject: Subject<'_>,
    factor: Factor,
    config: &LockoutConfig,
    now: UnixTime,
    reserved: bool,
    check: impl FnOnce(&mut dyn Conn) -> Result<Result<T, T>, ServiceError>,
) -> Result<Attempt<T>, ServiceError> {
    let (state, locked_at, _) = locked_row(c, subject)?;
    if reserved {
        match subject {
            Subject::User { id, .. } => c.user_password_inflight(id, None)?,
            Subject::Admin { id, .. } => c.admin_password_inflight(id, None)?,
        }
    }
    let expired_lock = match decide(config, &state, factor, now) {
        Ok(expired) => expired,
        Err(refused) => return Ok(Attempt::Refused(refused)),
    };
    if let (true, Some(locked_at)) = (expired_lock, locked_at) {
        match subject {
            Subject::User { id, .. } => c.user_clear_lock(id, locked_at)?,
            Subject::Admin { id, .. } => c.admin_clear_lock(id, locked_at)?,
        };
    }
    match check(c)? {
        Ok(value) => {
            // The row is locked: when it counts no failure of `factor` (or a cleared lock
            // just reset every counter), there is nothing to reset.
            let counted = state.counter(factor).failures() > 0 && !expired_lock;
            if let (Subject::User { id, .. }, true) = (subject, counted) {
                c.user_succeed(id, factor)?;
            }
            Ok(Attempt::Accepted(value))
        }
        Err(value) => {
            let failure = record_failure(c, subject, factor, config, now)?;
            Ok(Attempt::Rejected(value, failure))
        }
    }
}

/// Counts a failure of `factor` and locks when sae-core says so (inside the transaction
/// that holds the row).
fn record_failure(
    c: &mut dyn Conn,
    subject: Subject<'_>,
    factor: Factor,
    config: &LockoutConfig,
    now: UnixTime,
) -> Result<Failure, ServiceError> {
    let counted = match subject {
        Subject::User { id, .. } => c.user_fail(id, factor, now.millis())?,
        Subject::Admin { id, .. } => c.admin_fail(id, factor, now.millis())?,
    };
    let Some(count) = counted else {
        return Ok(Failure::AlreadyLocked);
    };
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let Some(lock) = after_failure(config.lockout(), factor, count, now.core_millis()) else {
        return Ok(Failure::Counted { lock: None });
    };
    let until = lock.unlock_at().map(stored_ms);
    let until_ms = until.map(UnixTime::millis);
    let (set, action, login) = match subject {
        Subject::User { id, login } => (
            c.user_set_lock(id, factor, now.millis(), until_ms)?,
            "user.lock",
            login,
        ),
        Subject::Admin { id, login } => (
            c.admin_set_lock(id, factor, now.millis(), until_ms)?,
            "admin.lock",
            login,
        ),
    };
    if set {
        tracing::warn!(subject = %login, factor = factor.as_str(), ?until, "{action}");
        let (event, who) = match subject {
            Subject::User { .. } => (Event::UserLocked, "The user"),
            Subject::Admin { .. } => (Event::AdminLocked, "The administrator"),
        };
        let until_text = until.map_or_else(
            || "until unlocked".to_owned(),
            |t| format!("until {}", t.rfc3339()),
        );
        let detail = format!(
            "{who} {login} was locked after repeated {} failures, {until_text}.",
            factor.as_str()
        );
        notify::event(c, event, login, &detail, now.secs())?;
        Audit::new("system", action, now)
            .subject(login)
            .outcome(format!("locked:{}", factor.as_str()))
            .write(c)?;
    }
    Ok(Failure::Counted { lock: Some(until) })
}
