//! Administrators of the console, their groups (ACL) and their sessions.
//!
//! An administrator's `group_id` is `NULL` for the built-in System Administrator group,
//! which is not stored. Lockout counters work as on users: a failure is counted by one
//! conditional `UPDATE … RETURNING` inside the attempt's write transaction.

use diesel::prelude::*;
use sae_core::lockout::Factor;

use super::schema::{admin_groups, admin_sessions, admins, api_keys};
use super::{DbConn, StoreError};
use crate::{with_conn, write_tx};

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
    pub pwd_last_failure: Option<i64>,
    /// Consecutive TOTP failures.
    pub otp_failures: i32,
    /// Time of the last TOTP failure.
    pub otp_last_failure: Option<i64>,
    /// When the lock was set.
    pub locked_at: Option<i64>,
    /// End of a temporary lock (`None` with `locked_at` set: until unlocked).
    pub locked_until: Option<i64>,
    /// Factor that caused the lock.
    pub lock_factor: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last successful login.
    pub last_login_at: Option<i64>,
}

/// A stored administrator group.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_groups)]
pub struct GroupRow {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// sae-core `AdminGroup` as JSON.
    pub acl: String,
}

/// Why a write about administrators was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminStoreError {
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The name is taken.
    #[error("already exists")]
    Duplicate,
    /// The change would leave no System Administrator.
    #[error("the last System Administrator cannot be removed or moved to another group")]
    LastSystemAdministrator,
    /// The group is still used by administrators or API keys.
    #[error("the group is still used by {0}")]
    GroupInUse(String),
}

impl From<diesel::result::Error> for AdminStoreError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Self::Duplicate,
            other => Self::Store(StoreError::Query(other)),
        }
    }
}

/// Number of administrators.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(with_conn!(conn, |c| admins::table.count().get_result(c))?)
}

/// Creates an administrator.
pub fn create(
    conn: &mut DbConn,
    login: &str,
    password_hash: &str,
    group_id: Option<i64>,
    now: i64,
) -> Result<Admin, AdminStoreError> {
    let row = (
        admins::login.eq(login),
        admins::password_hash.eq(password_hash),
        admins::group_id.eq(group_id),
        admins::created_at.eq(now),
        admins::updated_at.eq(now),
    );
    Ok(write_tx!(conn, |c| {
        diesel::insert_into(admins::table)
            .values(row)
            .returning(Admin::as_returning())
            .get_result(c)
    })?)
}

/// The administrator with this login.
pub fn find(conn: &mut DbConn, login: &str) -> Result<Option<Admin>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admins::table
            .filter(admins::login.eq(login))
            .select(Admin::as_select())
            .first(c)
            .optional()
    })?)
}

/// Administrators after id `cursor`, by id.
pub fn list(conn: &mut DbConn, cursor: i64, limit: i64) -> Result<Vec<Admin>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admins::table
            .filter(admins::id.gt(cursor))
            .order(admins::id)
            .limit(limit)
            .select(Admin::as_select())
            .load(c)
    })?)
}

/// Changes to an administrator.
#[derive(Debug, Default)]
pub struct AdminChanges {
    /// New password hash (ends every session of the administrator).
    pub password_hash: Option<String>,
    /// New group (`Some(None)` = System Administrator).
    pub group_id: Option<Option<i64>>,
    /// Forget the TOTP secret: the next login enrols a new one (ends every session).
    pub reset_totp: bool,
}

/// Applies `changes` to administrator `id`. Refuses to move the last System Administrator
/// to another group.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    changes: &AdminChanges,
    now: i64,
) -> Result<Admin, AdminStoreError> {
    write_tx!(conn, |c| {
        if let Some(Some(_)) = changes.group_id {
            let others: i64 = admins::table
                .filter(admins::group_id.is_null())
                .filter(admins::id.ne(id))
                .count()
                .get_result(c)?;
            let is_sysadmin: i64 = admins::table
                .filter(admins::id.eq(id))
                .filter(admins::group_id.is_null())
                .count()
                .get_result(c)?;
            if is_sysadmin > 0 && others == 0 {
                return Err(AdminStoreError::LastSystemAdministrator);
            }
        }
        if let Some(hash) = &changes.password_hash {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set(admins::password_hash.eq(hash))
                .execute(c)?;
        }
        if let Some(group) = changes.group_id {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set(admins::group_id.eq(group))
                .execute(c)?;
        }
        if changes.reset_totp {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((
                    admins::totp_secret.eq(None::<String>),
                    admins::totp_pending.eq(None::<String>),
                    admins::totp_last_counter.eq(None::<i64>),
                ))
                .execute(c)?;
        }
        if changes.password_hash.is_some() || changes.reset_totp || changes.group_id.is_some() {
            diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(id)))
                .execute(c)?;
        }
        let admin = diesel::update(admins::table.filter(admins::id.eq(id)))
            .set(admins::updated_at.eq(now))
            .returning(Admin::as_returning())
            .get_result(c)?;
        Ok(admin)
    })
}

/// Deletes administrator `id` (and its sessions); refuses to delete the last System
/// Administrator. Returns whether it existed.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<bool, AdminStoreError> {
    write_tx!(conn, |c| {
        let is_sysadmin: i64 = admins::table
            .filter(admins::id.eq(id))
            .filter(admins::group_id.is_null())
            .count()
            .get_result(c)?;
        if is_sysadmin > 0 {
            let others: i64 = admins::table
                .filter(admins::group_id.is_null())
                .filter(admins::id.ne(id))
                .count()
                .get_result(c)?;
            if others == 0 {
                return Err(AdminStoreError::LastSystemAdministrator);
            }
        }
        diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(id))).execute(c)?;
        let n = diesel::delete(admins::table.filter(admins::id.eq(id))).execute(c)?;
        Ok(n > 0)
    })
}

/// What counting a failed login did.
#[derive(Debug, Clone, Copy)]
pub enum LoginFailure {
    /// Counted; `locked_until` set when this failure locked the administrator temporarily,
    /// `locked` when it locked at all.
    Counted {
        /// Whether this failure set a lock.
        locked: bool,
        /// End of the temporary lock it set.
        locked_until: Option<i64>,
    },
    /// Already locked (by a concurrent failure): nothing counted.
    AlreadyLocked,
}

/// Counts a failed login of `factor` and locks as the lockout policy says, with its audit
/// row, in one write transaction.
pub fn record_failure(
    conn: &mut DbConn,
    admin: &Admin,
    factor: Factor,
    policy: &sae_core::lockout::LockoutPolicy,
    mut audit: super::NewAudit,
) -> Result<LoginFailure, StoreError> {
    use super::Ops as _;
    let now = audit.at;
    let id = admin.id;
    let result = write_tx!(conn, |c| {
        let target = admins::table
            .filter(admins::id.eq(id))
            .filter(admins::locked_at.is_null());
        let count: Option<i32> = if factor == Factor::Password {
            diesel::update(target)
                .set((
                    admins::pwd_failures.eq(admins::pwd_failures + 1),
                    admins::pwd_last_failure.eq(now),
                ))
                .returning(admins::pwd_failures)
                .get_result(c)
                .optional()?
        } else {
            diesel::update(target)
                .set((
                    admins::otp_failures.eq(admins::otp_failures + 1),
                    admins::otp_last_failure.eq(now),
                ))
                .returning(admins::otp_failures)
                .get_result(c)
                .optional()?
        };
        let Some(count) = count else {
            c.audit_insert(&audit)?;
            return Ok::<_, diesel::result::Error>(LoginFailure::AlreadyLocked);
        };
        let count = u32::try_from(count).unwrap_or(0);
        let now_u = u64::try_from(now).unwrap_or(0);
        let mut outcome = LoginFailure::Counted {
            locked: false,
            locked_until: None,
        };
        if let Some(lock) = sae_core::lockout::after_failure(policy, factor, count, now_u) {
            let until = lock
                .unlock_at()
                .map(|t| i64::try_from(t).unwrap_or(i64::MAX));
            let set = diesel::update(
                admins::table
                    .filter(admins::id.eq(id))
                    .filter(admins::locked_at.is_null()),
            )
            .set((
                admins::locked_at.eq(now),
                admins::locked_until.eq(until),
                admins::lock_factor.eq(factor.as_str()),
            ))
            .execute(c)?;
            if set > 0 {
                audit.outcome = format!("{}; locked:{}", audit.outcome, factor.as_str());
                diesel::delete(admin_sessions::table.filter(admin_sessions::admin_id.eq(id)))
                    .execute(c)?;
            }
            outcome = LoginFailure::Counted {
                locked: true,
                locked_until: until,
            };
        }
        c.audit_insert(&audit)?;
        Ok(outcome)
    })?;
    Ok(result)
}

/// Clears an expired temporary lock and the counters (compare-and-set on the lock read).
pub fn clear_expired_lock(conn: &mut DbConn, admin: &Admin) -> Result<(), StoreError> {
    let Some(locked_at) = admin.locked_at else {
        return Ok(());
    };
    let id = admin.id;
    write_tx!(conn, |c| {
        diesel::update(
            admins::table
                .filter(admins::id.eq(id))
                .filter(admins::locked_at.eq(locked_at)),
        )
        .set(cleared())
        .execute(c)
    })?;
    Ok(())
}

#[allow(clippy::type_complexity)]
fn cleared() -> (
    diesel::dsl::Eq<admins::pwd_failures, i32>,
    diesel::dsl::Eq<admins::otp_failures, i32>,
    diesel::dsl::Eq<admins::locked_at, Option<i64>>,
    diesel::dsl::Eq<admins::locked_until, Option<i64>>,
    diesel::dsl::Eq<admins::lock_factor, Option<String>>,
) {
    (
        admins::pwd_failures.eq(0),
        admins::otp_failures.eq(0),
        admins::locked_at.eq(None::<i64>),
        admins::locked_until.eq(None::<i64>),
        admins::lock_factor.eq(None::<String>),
    )
}

/// Lifts any lock and resets the counters; returns whether the administrator exists.
pub fn unlock(conn: &mut DbConn, id: i64, now: i64) -> Result<bool, StoreError> {
    let n = write_tx!(conn, |c| {
        diesel::update(admins::table.filter(admins::id.eq(id)))
            .set((cleared(), admins::updated_at.eq(now)))
            .execute(c)
    })?;
    Ok(n > 0)
}

/// Stores the TOTP secret offered at first login (kept until confirmed).
pub fn set_pending_totp(conn: &mut DbConn, id: i64, sealed: &str) -> Result<(), StoreError> {
    write_tx!(conn, |c| {
        diesel::update(
            admins::table
                .filter(admins::id.eq(id))
                .filter(admins::totp_pending.is_null()),
        )
        .set(admins::totp_pending.eq(sealed))
        .execute(c)
    })?;
    Ok(())
}

/// A successful login: accepts TOTP counter `counter` unless it (or a later one) was already
/// used (replay), enrols the pending secret when `enrol` holds, resets the counters, records
/// the login time, creates the session and writes the audit row — all in one transaction.
/// Returns `false` (nothing written but the audit row) when the code was a replay.
pub fn complete_login(
    conn: &mut DbConn,
    admin: &Admin,
    counter: i64,
    enrol: Option<&str>,
    session_digest: &str,
    audit: &super::NewAudit,
) -> Result<bool, StoreError> {
    use super::Ops as _;
    let id = admin.id;
    let now = audit.at;
    let ok = write_tx!(conn, |c| {
        let accepted = diesel::update(
            admins::table.filter(admins::id.eq(id)).filter(
                admins::totp_last_counter
                    .is_null()
                    .or(admins::totp_last_counter.lt(counter)),
            ),
        )
        .set((
            admins::totp_last_counter.eq(counter),
            admins::last_login_at.eq(now),
            admins::pwd_failures.eq(0),
            admins::otp_failures.eq(0),
        ))
        .execute(c)?;
        if accepted == 0 {
            return Ok::<_, diesel::result::Error>(false);
        }
        if let Some(sealed) = enrol {
            diesel::update(admins::table.filter(admins::id.eq(id)))
                .set((
                    admins::totp_secret.eq(sealed),
                    admins::totp_pending.eq(None::<String>),
                ))
                .execute(c)?;
        }
        diesel::insert_into(admin_sessions::table)
            .values((
                admin_sessions::digest.eq(session_digest),
                admin_sessions::admin_id.eq(id),
                admin_sessions::created_at.eq(now),
                admin_sessions::last_seen.eq(now),
            ))
            .execute(c)?;
        c.audit_insert(audit)?;
        Ok(true)
    })?;
    Ok(ok)
}

/// The live session with this digest and its administrator.
pub fn session(conn: &mut DbConn, digest: &str) -> Result<Option<(i64, i64, Admin)>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admin_sessions::table
            .inner_join(admins::table)
            .filter(admin_sessions::digest.eq(digest))
            .select((
                admin_sessions::created_at,
                admin_sessions::last_seen,
                Admin::as_select(),
            ))
            .first(c)
            .optional()
    })?)
}

/// Refreshes a session's idle clock.
pub fn touch_session(conn: &mut DbConn, digest: &str, now: i64) -> Result<(), StoreError> {
    write_tx!(conn, |c| {
        diesel::update(admin_sessions::table.filter(admin_sessions::digest.eq(digest)))
            .set(admin_sessions::last_seen.eq(now))
            .execute(c)
    })?;
    Ok(())
}

/// Ends a session; returns whether it existed.
pub fn end_session(conn: &mut DbConn, digest: &str) -> Result<bool, StoreError> {
    let n = write_tx!(conn, |c| {
        diesel::delete(admin_sessions::table.filter(admin_sessions::digest.eq(digest))).execute(c)
    })?;
    Ok(n > 0)
}

/// Deletes sessions idle since before `idle_before` or older than `created_before`.
pub fn purge_sessions(
    conn: &mut DbConn,
    idle_before: i64,
    created_before: i64,
) -> Result<usize, StoreError> {
    Ok(write_tx!(conn, |c| {
        diesel::delete(
            admin_sessions::table.filter(
                admin_sessions::last_seen
                    .lt(idle_before)
                    .or(admin_sessions::created_at.lt(created_before)),
            ),
        )
        .execute(c)
    })?)
}

/// Creates a group.
pub fn group_create(
    conn: &mut DbConn,
    name: &str,
    acl: &str,
    now: i64,
) -> Result<GroupRow, AdminStoreError> {
    Ok(write_tx!(conn, |c| {
        diesel::insert_into(admin_groups::table)
            .values((
                admin_groups::name.eq(name),
                admin_groups::acl.eq(acl),
                admin_groups::created_at.eq(now),
                admin_groups::updated_at.eq(now),
            ))
            .returning(GroupRow::as_returning())
            .get_result(c)
    })?)
}

/// The group with this name.
pub fn group_by_name(conn: &mut DbConn, name: &str) -> Result<Option<GroupRow>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admin_groups::table
            .filter(admin_groups::name.eq(name))
            .select(GroupRow::as_select())
            .first(c)
            .optional()
    })?)
}

/// The group with this id.
pub fn group_by_id(conn: &mut DbConn, id: i64) -> Result<Option<GroupRow>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admin_groups::table
            .filter(admin_groups::id.eq(id))
            .select(GroupRow::as_select())
            .first(c)
            .optional()
    })?)
}

/// Groups after id `cursor`, by id.
pub fn groups(conn: &mut DbConn, cursor: i64, limit: i64) -> Result<Vec<GroupRow>, StoreError> {
    Ok(with_conn!(conn, |c| {
        admin_groups::table
            .filter(admin_groups::id.gt(cursor))
            .order(admin_groups::id)
            .limit(limit)
            .select(GroupRow::as_select())
            .load(c)
    })?)
}

/// Replaces a group's name and ACL.
pub fn group_update(
    conn: &mut DbConn,
    id: i64,
    name: &str,
    acl: &str,
    now: i64,
) -> Result<GroupRow, AdminStoreError> {
    Ok(write_tx!(conn, |c| {
        diesel::update(admin_groups::table.filter(admin_groups::id.eq(id)))
            .set((
                admin_groups::name.eq(name),
                admin_groups::acl.eq(acl),
                admin_groups::updated_at.eq(now),
            ))
            .returning(GroupRow::as_returning())
            .get_result(c)
    })?)
}

/// Deletes a group no administrator or live API key uses.
pub fn group_delete(conn: &mut DbConn, id: i64) -> Result<bool, AdminStoreError> {
    write_tx!(conn, |c| {
        let members: i64 = admins::table
            .filter(admins::group_id.eq(id))
            .count()
            .get_result(c)?;
        if members > 0 {
            return Err(AdminStoreError::GroupInUse(format!(
                "{members} administrator(s)"
            )));
        }
        let keys: i64 = api_keys::table
            .filter(api_keys::group_id.eq(id))
            .filter(api_keys::revoked_at.is_null())
            .count()
            .get_result(c)?;
        if keys > 0 {
            return Err(AdminStoreError::GroupInUse(format!("{keys} API key(s)")));
        }
        let n = diesel::delete(admin_groups::table.filter(admin_groups::id.eq(id))).execute(c)?;
        Ok(n > 0)
    })
}
