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

/// One right code to accept on the row read before the write, as
/// [`RowLocks::token_advance_as_read`] takes it: user `user_id`, whose row held no lock and
/// exactly the counters `seen`, advances its token `token` to counter `new` at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsRead {
    /// The user's id (also the write's lock key).
    pub user_id: i64,
    /// The user's failure counters as read.
    pub seen: Unlocked,
    /// The token's id.
    pub token: String,
    /// The counter the token advances to (`store::counter_to_db`).
    pub new: i64,
    /// Unix seconds: the token's `last_used_at`.
    pub now: i64,
}

/// Several [`AsRead`] successes with their audit records in one statement, on its own
/// (outside any transaction: one round trip and one commit for all of them, on PostgreSQL).
pub trait AcceptAllAsRead {
    /// Accepts each success of `rows` whose user's row still holds no lock and exactly the
    /// counters it was read with and whose token's counter is below the new one, and inserts
    /// the audit records of those (only): each as [`RowLocks::token_advance_as_read`] and
    /// [`super::audit::AuditLog::audit_insert`] would in one transaction, run in ascending
    /// user order. Two rows advancing one token: at most one is accepted. Returns the
    /// positions in `rows` of those accepted; the others wrote nothing.
    fn accept_all_as_read(
        &mut self,
        rows: &[(&AsRead, &super::audit::NewAudit)],
    ) -> QueryResult<Vec<usize>>;
}

/// The statement of [`AcceptAllAsRead`] on PostgreSQL, around its one bind (a JSON array).
/// `i`: the successes, one row each with its position (`ord`) and its audit record. `u`
/// locks their users' rows (`FOR NO KEY UPDATE`, see [`RowLocks`]) in ascending id order, as
/// a batch takes its locks, before anything else. `t` advances each token by compare-and-set
/// where its user's row still holds what was read: that check locks the row again (`EXISTS
/// … FOR NO KEY UPDATE`), so a row changed by a transaction `u` waited for is checked in its
/// new version, not in the statement's snapshot (as in the one-row statement). A row is
/// updated at most once per statement: of two successes on one token, one wins. `a`
/// inserts the records of the successes `t` returns.
///
/// `t` also names its tokens as an array (`tokens.id = ANY (ARRAY(…))`), so that the
/// generic plan probes the tokens' primary key: joined to the JSON rows alone (estimated at
/// 100), it hashed a sequential scan of `tokens` at every statement for stores of up to tens
/// of thousands of tokens.
///
/// The rows come as JSON, not as arrays: PostgreSQL estimates `jsonb_to_recordset` at the
/// same number of rows whatever its argument, so after five runs the connection keeps one
/// generic plan of the statement; with arrays each run's custom plan (sized to the arrays)
/// looked cheaper, and planning it every time cost twice its execution.
pub(super) const ACCEPT_ALL_AS_READ: [&str; 2] = [
    "\
WITH i AS (
  SELECT * FROM jsonb_to_recordset(",
    "::jsonb)
    AS i(user_id int8, pwd_f int4, pwd_t int8, otp_f int4, otp_t int8, hash_f int4, hash_t int8,
         token text, new int8, now int8, at int8, actor text, action text, subject text,
         source text, outcome text, detail text, ord int8)),
u AS (
  SELECT count(*) AS n FROM (
    SELECT id FROM users WHERE id = ANY (ARRAY(SELECT user_id FROM i))
     ORDER BY id FOR NO KEY UPDATE) l),
t AS (
  UPDATE tokens SET last_counter = i.new, last_used_at = i.now
    FROM i
   WHERE tokens.id = i.token AND tokens.user_id = i.user_id
     AND tokens.id = ANY (ARRAY(SELECT token FROM i))
     AND (tokens.last_counter IS NULL OR tokens.last_counter < i.new)
     AND (SELECT n FROM u) >= 0
     AND EXISTS (
       SELECT 1 FROM users
        WHERE users.id = i.user_id
          AND users.locked_at_ms IS NULL AND users.locked_until_ms IS NULL
          AND users.lock_factor IS NULL
          AND users.pwd_failures = i.pwd_f AND COALESCE(users.pwd_last_failure_ms, -1) = i.pwd_t
          AND users.otp_failures = i.otp_f AND COALESCE(users.otp_last_failure_ms, -1) = i.otp_t
          AND users.hash_failures = i.hash_f AND COALESCE(users.hash_last_failure_ms, -1) = i.hash_t
          FOR NO KEY UPDATE)
  RETURNING i.ord, i.at, i.actor, i.action, i.subject, i.source, i.outcome, i.detail),
a AS (
  INSERT INTO audit (at, actor, action, subject, source, outcome, detail)
  SELECT at, actor, action, subject, source, outcome, detail FROM t)
SELECT ord FROM t",
];

/// One row of [`ACCEPT_ALL_AS_READ`]'s JSON.
#[derive(serde::Serialize)]
struct AcceptRow<'a> {
    user_id: i64,
    pwd_f: i32,
    pwd_t: i64,
    otp_f: i32,
    otp_t: i64,
    hash_f: i32,
    hash_t: i64,
    token: &'a str,
    new: i64,
    now: i64,
    #[serde(flatten)]
    audit: &'a super::audit::NewAudit,
    ord: usize,
}

impl AcceptAllAsRead for PgConnection {
    fn accept_all_as_read(
        &mut self,
        rows: &[(&AsRead, &super::audit::NewAudit)],
    ) -> QueryResult<Vec<usize>> {
        let rows: Vec<AcceptRow<'_>> = rows
            .iter()
            .enumerate()
            .map(|(ord, (r, a))| AcceptRow {
                user_id: r.user_id,
                pwd_f: r.seen.pwd.0,
                pwd_t: r.seen.pwd.1.unwrap_or(-1),
                otp_f: r.seen.otp.0,
                otp_t: r.seen.otp.1.unwrap_or(-1),
                hash_f: r.seen.hash.0,
                hash_t: r.seen.hash.1.unwrap_or(-1),
                token: &r.token,
                new: r.new,
                now: r.now,
                audit: a,
                ord,
            })
            .collect();
        let json = serde_json::to_string(&rows)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let binds = [Bind::Text(&json)];
        let accepted: Vec<i64> =
            Fixed::<diesel::sql_types::BigInt>::new(&ACCEPT_ALL_AS_READ, &binds).load(self)?;
        Ok(accepted
            .into_iter()
            .filter_map(|ord| usize::try_from(ord).ok())
            .collect())
    }
}
