//! The `admin_sessions` table: console sessions, stored only as the SHA-256 of the cookie.

use diesel::prelude::*;

use super::admins::Admin;
use super::schema::{admin_sessions, admins};

/// Queries of the admin_sessions table.
pub trait AdminSessions {
    /// Creates a session.
    fn session_insert(&mut self, digest: &str, admin_id: i64, now: i64) -> QueryResult<()>;
    /// The session with this digest: (created at, last seen, its administrator).
    fn session_get(&mut self, digest: &str) -> QueryResult<Option<(i64, i64, Admin)>>;
    /// Refreshes a session's idle clock.
    fn session_touch(&mut self, digest: &str, now: i64) -> QueryResult<()>;
    /// Ends a session; returns whether it existed.
    fn session_end(&mut self, digest: &str) -> QueryResult<bool>;
    /// Ends every session of an administrator.
    fn sessions_end_of(&mut self, admin_id: i64) -> QueryResult<usize>;
    /// Deletes sessions idle since before `idle_before` or older than `created_before`.
    fn sessions_purge(&mut self, idle_before: i64, created_before: i64) -> QueryResult<usize>;
}

for_both_backends! {
    impl AdminSessions {
        fn session_insert(&mut self, digest: &str, admin_id: i64, now: i64) -> QueryResult<()> {
            diesel::insert_into(admin_sessions::table)
                .values((
                    admin_sessions::digest.eq(digest),
                    admin_sessions::admin_id.eq(admin_id),
                    admin_sessions::created_at.eq(now),
                    admin_sessions::last_seen.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn session_get(&mut self, digest: &str) -> QueryResult<Option<(i64, i64, Admin)>> {
            admin_sessions::table
                .inner_join(admins::table)
                .filter(admin_sessions::digest.eq(digest))
                .select((admin_sessions::created_at, admin_sessions::last_seen, Admin::as_select()))
                .first(self)
                .optional()
        }

        fn session_touch(&mut self, digest: &str, now: i64) -> QueryResult<()> {
            diesel::update(admin_sessions::table.filter(admin_sessions::digest.eq(digest)))
                .set(admin_sessions::last_seen.eq(now))
                .execute(self)
                .map(|_| ())
        }

        fn session_end(&mut self, digest: &str) -> QueryResult<bool> {
            diesel::delete(admin_sessions::table.filter(admin_sessions::digest.eq(digest)))
                .execute(self)
                .map(|n| n > 0)
        }

        fn sessions_end_of(&mut self, admin_id: i64) -> QueryResult<usize> {
            diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(admin_id))).execute(self)
        }

        fn sessions_purge(&mut self, idle_before: i64, created_before: i64) -> QueryResult<usize> {
            diesel::delete(
                admin_sessions::table.filter(
                    admin_sessions::last_seen
                        .lt(idle_before)
                        .or(admin_sessions::created_at.lt(created_before)),
                ),
            )
            .execute(self)
        }
    }
}
