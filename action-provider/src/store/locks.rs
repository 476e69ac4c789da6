//! Advisory locks that serialise writers on a key (a login, a mobile number, an
//! idempotency key) until the transaction ends.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

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

/// Reads a row and locks it until the transaction ends (`SELECT … FOR UPDATE` on
/// PostgreSQL; on SQLite the write transaction's `BEGIN IMMEDIATE` already excludes every
/// other writer), so a decision taken on what was read holds when it is written.
pub trait RowLocks {
    /// The user with this id, locked.
    fn user_for_update(&mut self, id: i64) -> QueryResult<Option<super::users::User>>;
    /// The administrator with this id, locked.
    fn admin_for_update(&mut self, id: i64) -> QueryResult<Option<super::admins::Admin>>;
}

impl RowLocks for PgConnection {
    fn user_for_update(&mut self, id: i64) -> QueryResult<Option<super::users::User>> {
        use super::schema::users;
        users::table
            .filter(users::id.eq(id))
            .select(super::users::User::as_select())
            .for_update()
            .first(self)
            .optional()
    }

    fn admin_for_update(&mut self, id: i64) -> QueryResult<Option<super::admins::Admin>> {
        use super::schema::admins;
        admins::table
            .filter(admins::id.eq(id))
            .select(super::admins::Admin::as_select())
            .for_update()
            .first(self)
            .optional()
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
}
