//! Advisory locks that serialise writers on a key (a login, a mobile number, an
//! idempotency key) until the transaction ends.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::fixed::{Bind, Fixed};
use super::users::User;

/// Per-key write serialisation.
pub trait Locks {
    /// Serialises writers on `key` until the transaction ends (PostgreSQL advisory lock;
    /// SQLite needs nothing: `BEGIN IMMEDIATE` already serialises writers).
    fn lock_key(&mut self, key: &str) -> QueryResult<()>;
}

impl Locks for PgConnection {
    fn lock_key(&mut self, key: &str) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(self)
            .map(|_| ())
    }
}

impl Locks for SqliteConnection {
    fn lock_key(&mut self, _key: &str) -> QueryResult<()> {
        Ok(())
    }
}

/// Reads a row and locks it until the transaction ends (`SELECT … FOR NO KEY UPDATE` on
/// PostgreSQL; on SQLite the write transaction's `BEGIN IMMEDIATE` already excludes every
/// other writer), so a decision taken on what was read holds when it is written.
///
/// `NO KEY UPDATE`, not `UPDATE`: the lock excludes every other decision on the row but not
/// the `KEY SHARE` lock a foreign key takes when a row referencing it is inserted (an issued
/// code, a token, a session). With `FOR UPDATE`, two transactions that each inserted a code
/// for a user and then decided on that user (two nodes' batches, each holding a code
/// request and a validation of the same user) each waited for the other's `KEY SHARE`: a
/// deadlock, whatever the order of the batches' keys. None of these decisions changes a
/// column a foreign key or a unique index refers to, so the weaker lock is the right one.
pub trait RowLocks {
    /// The user with this id, locked.
    fn user_for_update(&mut self, id: i64) -> QueryResult<Option<super::users::User>>;
    /// The administrator with this id, locked.
    fn admin_for_update(&mut self, id: i64) -> QueryResult<Option<super::admins::Admin>>;
    /// In one statement: locks user `user_id`'s row if it still holds no lock and exactly
    /// the failure counters `seen`, and then advances its token `id` to counter `new` by
    /// compare-and-set (as `Tokens::token_advance`). Returns whether the token advanced;
    /// `false` does not say which condition failed.
    fn token_advance_as_read(
        &mut self,
        user_id: i64,
        seen: &Unlocked,
        id: &str,
        new: i64,
        now: i64,
    ) -> QueryResult<bool>;
}

/// A user's failure counters (count, time of the last failure) as read, when no lock is
/// stored: what [`RowLocks::token_advance_as_read`] checks the row against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// Password failures.
    pub pwd: (i32, Option<i64>),
    /// One-time-code failures.
    pub otp: (i32, Option<i64>),
    /// MFA hash failures.
    pub hash: (i32, Option<i64>),
}

impl Unlocked {
    /// The counters of `u`, or `None` when any of its lock columns is set.
    pub fn of(u: &User) -> Option<Self> {
        let unlocked =
            u.locked_at_ms.is_none() && u.locked_until_ms.is_none() && u.lock_factor.is_none();
        unlocked.then_some(Self {
            pwd: (u.pwd_failures, u.pwd_last_failure_ms),
            otp: (u.otp_failures, u.otp_last_failure_ms),
            hash: (u.hash_failures, u.hash_last_failure_ms),
        })
    }
}

/// The text of `token_advance_as_read`; `close` ends the user's row check (with
/// `FOR NO KEY UPDATE` on PostgreSQL, see [`RowLocks`]) and starts the update. A missing time of last failure is
/// compared as -1 (no stored time is negative), so `=` serves both backends.
fn advance_as_read_parts(close: &'static str) -> [&'static str; 13] {
    [
        "WITH u AS (SELECT id FROM users WHERE id = ",
        " AND locked_at_ms IS NULL AND locked_until_ms IS NULL AND lock_factor IS NULL \
         AND pwd_failures = ",
        " AND COALESCE(pwd_last_failure_ms, -1) = ",
        " AND otp_failures = ",
        " AND COALESCE(otp_last_failure_ms, -1) = ",
        " AND hash_failures = ",
        " AND COALESCE(hash_last_failure_ms, -1) = ",
        close,
        ", last_used_at = ",
        " WHERE id = ",
        " AND user_id = ",
        // EXISTS, not `user_id IN (SELECT id FROM u)`: SQLite would build a list for the
        // IN at every run.
        " AND EXISTS (SELECT 1 FROM u) AND (last_counter IS NULL OR last_counter < ",
        ")",
    ]
}

/// Runs `token_advance_as_read` on either backend; `close` as in [`advance_as_read_parts`].
fn advance_as_read<C>(
    c: &mut C,
    close: &'static str,
    (user_id, seen, id, new, now): (i64, &Unlocked, &str, i64, i64),
) -> QueryResult<bool>
where
    C: Connection,
    for<'a> Fixed<'a>: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    let parts = advance_as_read_parts(close);
    let binds = [
        Bind::Int(user_id),
        Bind::Int(i64::from(seen.pwd.0)),
        Bind::Int(seen.pwd.1.unwrap_or(-1)),
        Bind::Int(i64::from(seen.otp.0)),
        Bind::Int(seen.otp.1.unwrap_or(-1)),
        Bind::Int(i64::from(seen.hash.0)),
        Bind::Int(seen.hash.1.unwrap_or(-1)),
        Bind::Int(new),
        Bind::Int(now),
        Bind::Text(id),
        Bind::Int(user_id),
        Bind::Int(new),
    ];
    Fixed::<()>::new(&parts, &binds).execute(c).map(|n| n == 1)
}

impl RowLocks for PgConnection {
    fn user_for_update(&mut self, id: i64) -> QueryResult<Option<super::users::User>> {
        use super::schema::users;
        users::table
            .filter(users::id.eq(id))
            .select(super::users::User::as_select())
            .for_no_key_update()
            .first(self)
            .optional()
    }

    fn admin_for_update(&mut self, id: i64) -> QueryResult<Option<super::admins::Admin>> {
        use super::schema::admins;
        admins::table
            .filter(admins::id.eq(id))
            .select(super::admins::Admin::as_select())
            .for_no_key_update()
            .first(self)
            .optional()
    }

    fn token_advance_as_read(
        &mut self,
        user_id: i64,
        seen: &Unlocked,
        id: &str,
        new: i64,
        now: i64,
    ) -> QueryResult<bool> {
        advance_as_read(
            self,
            " FOR NO KEY UPDATE) UPDATE tokens SET last_counter = ",
            (user_id, seen, id, new, now),
        )
    }
}

impl RowLocks for SqliteConnection {
    fn user_for_update(&mut self, id: i64) -> QueryResult<Option<super::users::User>> {
        use super::schema::users;
        users::table
            .filter(users::id.eq(id))
            .select(super::users::User::as_select())
            .first(self)
            .optional()
    }

    fn admin_for_update(&mut self, id: i64) -> QueryResult<Option<super::admins::Admin>> {
        use super::schema::admins;
        admins::table
            .filter(admins::id.eq(id))
            .select(super::admins::Admin::as_select())
            .first(self)
            .optional()
    }

    fn token_advance_as_read(
        &mut self,
        user_id: i64,
        seen: &Unlocked,
        id: &str,
        new: i64,
        now: i64,
    ) -> QueryResult<bool> {
        advance_as_read(
            self,
            ") UPDATE tokens SET last_counter = ",
            (user_id, seen, id, new, now),
        )
    }
}
