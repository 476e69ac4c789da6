//! The `admins` table: administrators of the console, their TOTP state and their failure
//! counters. `group_id` is `NULL` for the built-in System Administrator group, which is not
//! stored.

use diesel::prelude::*;
use sae_core::lockout::Factor;

use super::schema::{admin_groups, admin_sessions, admins};

/// A stored administrator.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admins)]
pub struct Admin {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// PHC string of the password.
    pub password_hash: String,
    /// Group; `None` = System Administrator.
    pub group_id: Option<i64>,
    /// Sealed TOTP secret, once enrolled.
    pub totp_secret: Option<String>,
    /// Sealed TOTP secret offered at first login, until confirmed.
    pub totp_pending: Option<String>,
    /// Last accepted TOTP counter (replay protection), as `counter_to_db`.
    pub totp_last_counter: Option<i64>,
    /// Consecutive password failures.
    pub pwd_failures: i32,
    /// Time of the last password failure.
    pub pwd_last_failure_ms: Option<i64>,
    /// Consecutive TOTP failures.
    pub otp_failures: i32,
    /// Time of the last TOTP failure.
    pub otp_last_failure_ms: Option<i64>,
    /// When the lock was set.
    pub locked_at_ms: Option<i64>,
    /// End of a temporary lock (`None` with `locked_at` set: until unlocked).
    pub locked_until_ms: Option<i64>,
    /// Until when a password check is in flight (the gate's slot), unix ms.
    pub pwd_inflight_until_ms: Option<i64>,
    /// Factor that caused the lock.
    pub lock_factor: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last successful login.
    pub last_login_at: Option<i64>,
}

/// An administrator to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = admins)]
pub struct NewAdmin<'a> {
    /// Login name.
    pub login: &'a str,
    /// PHC string of the password.
    pub password_hash: &'a str,
    /// Group; `None` = System Administrator.
    pub group_id: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Same as `created_at`.
    pub updated_at: i64,
}

/// Queries of the admins table.
pub trait Admins {
    /// Marks a password check of admin `id` in flight until `until` (unix ms), or frees the
    /// slot (`None`).
    fn admin_password_inflight(&mut self, id: i64, until: Option<i64>) -> QueryResult<()>;
    /// Number of administrators.
    fn admins_count(&mut self) -> QueryResult<i64>;
    /// Inserts an administrator.
    fn admin_insert(&mut self, new: &NewAdmin<'_>) -> QueryResult<Admin>;
    /// The administrator with this login (by canonical key, as [`user_by_login`]).
    ///
    /// [`user_by_login`]: super::users::Users::user_by_login
    fn admin_by_login(&mut self, login: &str) -> QueryResult<Option<Admin>>;
    /// The administrator with this id.
    fn admin_by_id(&mut self, id: i64) -> QueryResult<Option<Admin>>;
    /// Administrators after id `cursor`, by id, with their group's name (`None`: System
    /// Administrator), in one query.
    fn admins_page(&mut self, cursor: i64, limit: i64)
    -> QueryResult<Vec<(Admin, Option<String>)>>;
    /// How many System Administrators there are besides `id`.
    fn sysadmins_except(&mut self, id: i64) -> QueryResult<i64>;
    /// How many administrators are in group `group_id`.
    fn admins_in_group(&mut self, group_id: i64) -> QueryResult<i64>;
    /// Replaces the password hash.
    fn admin_set_password(&mut self, id: i64, hash: &str, now: i64) -> QueryResult<bool>;
    /// Moves the administrator to a group (`None`: System Administrator).
    fn admin_set_group(&mut self, id: i64, group_id: Option<i64>, now: i64) -> QueryResult<bool>;
    /// Forgets the TOTP secret (enrolled and pending) and its replay state.
    fn admin_reset_totp(&mut self, id: i64, now: i64) -> QueryResult<bool>;
    /// Deletes an administrator and its sessions; returns whether it existed.
    fn admin_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// Counts one failure of `factor` — only while not locked — and returns the factor's new
    /// count, or `None` when locked (nothing counted).
    fn admin_fail(&mut self, id: i64, factor: Factor, now: i64) -> QueryResult<Option<i32>>;
    /// Sets a lock unless one is set, ending the administrator's sessions; returns whether
    /// this call set it.
    fn admin_set_lock(
        &mut self,
        id: i64,
        factor: Factor,
        since: i64,
        until: Option<i64>,
    ) -> QueryResult<bool>;
    /// Clears an expired lock and the counters, if the lock is still the one read.
    fn admin_clear_lock(&mut self, id: i64, locked_at: i64) -> QueryResult<bool>;
    /// Lifts any lock and resets the counters; returns whether the administrator exists.
    fn admin_unlock(&mut self, id: i64, now: i64) -> QueryResult<bool>;
    /// Stores the TOTP secret offered at first login unless one is pending already.
    fn admin_offer_totp(&mut self, id: i64, sealed: &str) -> QueryResult<()>;
    /// Accepts TOTP counter `counter` unless it (or a later one) was already used
    /// (compare-and-set), resetting the counters and recording the login time; returns
    /// whether this call accepted it.
    fn admin_accept_totp(&mut self, id: i64, counter: i64, now: i64) -> QueryResult<bool>;
    /// Makes the pending TOTP secret the enrolled one.
    fn admin_enrol_totp(&mut self, id: i64, sealed: &str) -> QueryResult<()>;
}

/// The columns an unlock or an expired lock resets.
#[allow(clippy::type_complexity, reason = "diesel's assignment tuple types")]
fn cleared() -> (
    diesel::dsl::Eq<admins::pwd_failures, i32>,
    diesel::dsl::Eq<admins::otp_failures, i32>,
    diesel::dsl::Eq<admins::locked_at_ms, Option<i64>>,
    diesel::dsl::Eq<admins::locked_until_ms, Option<i64>>,
    diesel::dsl::Eq<admins::lock_factor, Option<String>>,
) {
    (
        admins::pwd_failures.eq(0),
        admins::otp_failures.eq(0),
        admins::locked_at_ms.eq(None::<i64>),
        admins::locked_until_ms.eq(None::<i64>),
        admins::lock_factor.eq(None::<String>),
    )
}

for_both_backends! {
    impl Admins {
        fn admin_password_inflight(&mut self, id: i64, until: Option<i64>) -> QueryResult<()> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set(admins::pwd_inflight_until_ms.eq(until))
                .execute(self)
                .map(|_| ())
        }

        fn admins_count(&mut self) -> QueryResult<i64> {
            admins::table.count().get_result(self)
        }

        fn admin_insert(&mut self, new: &NewAdmin<'_>) -> QueryResult<Admin> {
            let keys = sae_core::config::LoginKeys::of(new.login);
            diesel::insert_into(admins::table)
                .values((new, admins::login_key.eq(keys.key), admins::login_skeleton.eq(keys.skeleton)))
                .returning(Admin::as_returning())
                .get_result(self)
        }

        fn admin_by_login(&mut self, login: &str) -> QueryResult<Option<Admin>> {
            let key = sae_core::config::login_key(login);
            admins::table
                .filter(admins::login_key.eq(&key).or(admins::login_key.is_null().and(admins::login.eq(login))))
                // A row left without its key (a collision) answers to its exact login.
                .order(admins::login_key.is_null().desc())
                .select(Admin::as_select())
                .first(self)
                .optional()
        }

        fn admin_by_id(&mut self, id: i64) -> QueryResult<Option<Admin>> {
            admins::table
                .filter(admins::id.eq(id))
                .select(Admin::as_select())
                .first(self)
                .optional()
        }

        fn admins_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<(Admin, Option<String>)>> {
            admins::table
                .left_join(admin_groups::table)
                .filter(admins::id.gt(cursor))
                .order(admins::id)
                .limit(limit)
                .select((Admin::as_select(), admin_groups::name.nullable()))
                .load(self)
        }

        fn sysadmins_except(&mut self, id: i64) -> QueryResult<i64> {
            admins::table
                .filter(admins::group_id.is_null())
                .filter(admins::id.ne(id))
                .count()
                .get_result(self)
        }

        fn admins_in_group(&mut self, group_id: i64) -> QueryResult<i64> {
            admins::table
                .filter(admins::group_id.eq(group_id))
                .count()
                .get_result(self)
        }

        fn admin_set_password(&mut self, id: i64, hash: &str, now: i64) -> QueryResult<bool> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((admins::password_hash.eq(hash), admins::updated_at.eq(now)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_set_group(&mut self, id: i64, group_id: Option<i64>, now: i64) -> QueryResult<bool> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((admins::group_id.eq(group_id), admins::updated_at.eq(now)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_reset_totp(&mut self, id: i64, now: i64) -> QueryResult<bool> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((
                    admins::totp_secret.eq(None::<String>),
                    admins::totp_pending.eq(None::<String>),
                    admins::totp_last_counter.eq(None::<i64>),
                    admins::updated_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(id))).execute(self)?;
            diesel::delete(admins::table.filter(admins::id.eq(id)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_fail(&mut self, id: i64, factor: Factor, now: i64) -> QueryResult<Option<i32>> {
            let target = admins::table.filter(admins::id.eq(id)).filter(admins::locked_at_ms.is_null());
            if factor == Factor::Password {
                diesel::update(target)
                    .set((admins::pwd_failures.eq(admins::pwd_failures + 1), admins::pwd_last_failure_ms.eq(now)))
                    .returning(admins::pwd_failures)
                    .get_result(self)
                    .optional()
            } else {
                diesel::update(target)
                    .set((admins::otp_failures.eq(admins::otp_failures + 1), admins::otp_last_failure_ms.eq(now)))
                    .returning(admins::otp_failures)
                    .get_result(self)
                    .optional()
            }
        }

        fn admin_set_lock(&mut self, id: i64, factor: Factor, since: i64, until: Option<i64>) -> QueryResult<bool> {
            let set = diesel::update(admins::table.filter(admins::id.eq(id)).filter(admins::locked_at_ms.is_null()))
                .set((
                    admins::locked_at_ms.eq(since),
                    admins::locked_until_ms.eq(until),
                    admins::lock_factor.eq(factor.as_str()),
                ))
                .execute(self)?;
            if set == 1 {
                diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(id))).execute(self)?;
            }
            Ok(set == 1)
        }

        fn admin_clear_lock(&mut self, id: i64, locked_at: i64) -> QueryResult<bool> {
            diesel::update(admins::table.filter(admins::id.eq(id)).filter(admins::locked_at_ms.eq(locked_at)))
                .set(cleared())
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_unlock(&mut self, id: i64, now: i64) -> QueryResult<bool> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((cleared(), admins::updated_at.eq(now)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn admin_offer_totp(&mut self, id: i64, sealed: &str) -> QueryResult<()> {
            diesel::update(admins::table.filter(admins::id.eq(id)).filter(admins::totp_pending.is_null()))
                .set(admins::totp_pending.eq(sealed))
                .execute(self)
                .map(|_| ())
        }

        fn admin_accept_totp(&mut self, id: i64, counter: i64, now: i64) -> QueryResult<bool> {
            diesel::update(
                admins::table.filter(admins::id.eq(id)).filter(
                    admins::totp_last_counter.is_null().or(admins::totp_last_counter.lt(counter)),
                ),
            )
            .set((
                admins::totp_last_counter.eq(counter),
                admins::last_login_at.eq(now),
                admins::pwd_failures.eq(0),
                admins::otp_failures.eq(0),
            ))
            .execute(self)
            .map(|n| n == 1)
        }

        fn admin_enrol_totp(&mut self, id: i64, sealed: &str) -> QueryResult<()> {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((admins::totp_secret.eq(sealed), admins::totp_pending.eq(None::<String>)))
                .execute(self)
                .map(|_| ())
        }
    }
}
