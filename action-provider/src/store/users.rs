//! The `users` table: identities, their password state and their failure counters.

use diesel::prelude::*;
use sae_core::lockout::Factor;

use super::fixed::{Bind, Fixed};
use super::schema::{tokens, users, wallets};
use super::tokens::Token;

use super::login_rule::user_id_of_login;

/// A user as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login (unique).
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address as given.
    pub email: Option<String>,
    /// National id as given.
    pub document: Option<String>,
    /// Mobile number as given.
    pub mobile: Option<String>,
    /// E.164 digits of the mobile.
    pub mobile_norm: Option<String>,
    /// Wallet.
    pub wallet_id: Option<i64>,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// PHC string of the current password.
    pub password_hash: Option<String>,
    /// When the password was set.
    pub password_changed_at: Option<i64>,
    /// JSON array of earlier PHC strings, newest first.
    pub password_history: String,
    /// JSON array of AuthSys names.
    pub authsys_names: String,
    /// Sealed JSON of the AuthSys tree.
    pub authsys_enc: Option<String>,
    /// Password failures in a row.
    pub pwd_failures: i32,
    /// Last password failure.
    pub pwd_last_failure_ms: Option<i64>,
    /// OTP failures in a row.
    pub otp_failures: i32,
    /// Last OTP failure.
    pub otp_last_failure_ms: Option<i64>,
    /// Hash failures in a row.
    pub hash_failures: i32,
    /// Last hash failure.
    pub hash_last_failure_ms: Option<i64>,
    /// When the current lock was set.
    pub locked_at_ms: Option<i64>,
    /// When a temporary lock ends (NULL with `locked_at` set: permanent).
    pub locked_until_ms: Option<i64>,
    /// Until when a password check is in flight (the gate's slot), unix ms.
    pub pwd_inflight_until_ms: Option<i64>,
    /// Which factor's counter caused the lock.
    pub lock_factor: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When a bounce said the e-mail address does not work (cleared when it changes).
    pub email_bounced_at: Option<i64>,
    /// The bounce's status code.
    pub email_bounce_status: Option<String>,
}

/// A user to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail as given.
    pub email: Option<String>,
    /// Normalised e-mail.
    pub email_norm: Option<String>,
    /// Document as given.
    pub document: Option<String>,
    /// Document digits.
    pub document_norm: Option<String>,
    /// Mobile as given.
    pub mobile: Option<String>,
    /// Mobile digits.
    pub mobile_norm: Option<String>,
    /// Wallet.
    pub wallet_id: Option<i64>,
    /// PHC string.
    pub password_hash: Option<String>,
    /// When the password was set.
    pub password_changed_at: Option<i64>,
    /// JSON array of PHC strings, newest (the current one) first.
    pub password_history: String,
    /// Creation time.
    pub created_at: i64,
    /// Same as `created_at`.
    pub updated_at: i64,
    /// The import job writing the row (invisible until the job commits), or `None`.
    pub import_job: Option<String>,
}

/// Profile fields an update may change (`None` = leave as is; `Some(None)` = clear).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// Display name.
    pub name: Option<Option<String>>,
    /// E-mail.
    pub email: Option<Option<String>>,
    /// Normalised e-mail.
    pub email_norm: Option<Option<String>>,
    /// Document.
    pub document: Option<Option<String>>,
    /// Document digits.
    pub document_norm: Option<Option<String>>,
    /// Mobile.
    pub mobile: Option<Option<String>>,
    /// Mobile digits.
    pub mobile_norm: Option<Option<String>>,
    /// Wallet.
    pub wallet_id: Option<Option<i64>>,
    /// Disabled flag.
    pub disabled: Option<bool>,
    /// Bounce flag of the e-mail address (cleared with `Some(None)` when it changes).
    pub email_bounced_at: Option<Option<i64>>,
    /// Its status code.
    pub email_bounce_status: Option<Option<String>>,
    /// Last change.
    pub updated_at: Option<i64>,
}

/// A user's (login, document, mobile) as stored.
pub type IdentityRow = (String, Option<String>, Option<String>);

/// Queries of the users table.
pub trait Users {
    /// Marks a password check of user `id` in flight until `until` (unix ms), or frees the
    /// slot (`None`).
    fn user_password_inflight(&mut self, id: i64, until: Option<i64>) -> QueryResult<()>;
    /// The user with this login: the one whose canonical key is the login's (SPEC §4.8), or
    /// — for a row left without a key because it collides — the one stored exactly so.
    fn user_by_login(&mut self, login: &str) -> QueryResult<Option<User>>;
    /// The user with this login and its tokens (oldest first), in one query: what a
    /// validation reads (one round trip less on PostgreSQL than the two queries).
    fn user_with_tokens(&mut self, login: &str) -> QueryResult<Option<(User, Vec<Token>)>>;
    /// Whether a user (committed, or pending in an import) holds this login.
    fn login_taken(&mut self, login: &str) -> QueryResult<bool>;
    /// Which of `logins` are held (committed or pending).
    fn logins_taken(&mut self, logins: &[String]) -> QueryResult<Vec<String>>;
    /// Ids of the (committed) users with these logins.
    fn user_ids(&mut self, logins: &[String]) -> QueryResult<Vec<(String, i64)>>;
    /// Makes the users of an import job visible; returns how many.
    fn users_commit_job(&mut self, job: &str) -> QueryResult<usize>;
    /// Deletes the users of an import job; returns how many.
    fn users_rollback_job(&mut self, job: &str) -> QueryResult<usize>;
    /// Logins of an import job's users by id after `cursor` (for its audit record).
    fn job_logins(&mut self, job: &str, cursor: i64, limit: i64)
    -> QueryResult<Vec<(i64, String)>>;
    /// Inserts a user; returns its id.
    fn user_insert(&mut self, user: &NewUser) -> QueryResult<i64>;
    /// Applies profile changes; returns whether the user existed.
    fn user_update(&mut self, id: i64, changes: &UserChanges) -> QueryResult<bool>;
    /// Deletes a user (tokens and codes cascade); returns whether it existed.
    fn user_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// The user with this id.
    fn user_by_id(&mut self, id: i64) -> QueryResult<Option<User>>;
    /// Flags the user's e-mail address as bouncing, if it is still `email`.
    fn user_flag_bounce(
        &mut self,
        id: i64,
        email: &str,
        status: Option<&str>,
        now: i64,
    ) -> QueryResult<bool>;
    /// Another user (not `except`) holding this normalised value in `column`
    /// (`email_norm`, `document_norm` or `mobile_norm`).
    fn user_holding(
        &mut self,
        column: &str,
        value: &str,
        except: Option<i64>,
    ) -> QueryResult<Option<String>>;
    /// The user with this login, with its wallet's name.
    fn user_with_wallet(&mut self, login: &str) -> QueryResult<Option<(User, Option<String>)>>;
    /// Every user's (login, document, mobile), for switch conflict checks.
    fn users_identity(&mut self) -> QueryResult<Vec<IdentityRow>>;
    /// Counts one failure of `factor` — only while the user is not locked — and returns the
    /// factor's new count, or `None` when the user is locked (nothing counted).
    fn user_fail(&mut self, id: i64, factor: Factor, now: i64) -> QueryResult<Option<i32>>;
    /// Sets a lock unless one is set; returns whether this call set it.
    fn user_set_lock(
        &mut self,
        id: i64,
        factor: Factor,
        since: i64,
        until: Option<i64>,
    ) -> QueryResult<bool>;
    /// Resets `factor`'s failure counter (its own success).
    fn user_succeed(&mut self, id: i64, factor: Factor) -> QueryResult<()>;
    /// Clears an expired lock and every counter, if the lock is still the one read.
    fn user_clear_lock(&mut self, id: i64, locked_at: i64) -> QueryResult<bool>;
    /// Administrator unlock: clears any lock and every counter; returns whether the user exists.
    fn user_unlock(&mut self, id: i64, now: i64) -> QueryResult<bool>;
    /// Stores a new password hash, its history and change time.
    fn user_set_password(
        &mut self,
        id: i64,
        hash: &str,
        history: &str,
        now: i64,
    ) -> QueryResult<()>;
    /// Replaces a password hash after a rehash (same password, new algorithm/parameters).
    fn user_rehash(&mut self, id: i64, old: &str, new: &str) -> QueryResult<()>;
    /// Replaces a user's AuthSys names and sealed tree.
    fn user_set_authsys(
        &mut self,
        id: i64,
        names: &str,
        sealed: Option<&str>,
        now: i64,
    ) -> QueryResult<()>;
}

for_both_backends! {
    impl Users {
        fn user_password_inflight(&mut self, id: i64, until: Option<i64>) -> QueryResult<()> {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set(users::pwd_inflight_until_ms.eq(until))
                .execute(self)
                .map(|_| ())
        }

        fn user_by_login(&mut self, login: &str) -> QueryResult<Option<User>> {
            let key = sae_core::config::login_key(login);
            users::table
                .filter(users::id.nullable().eq(user_id_of_login(&key, login)))
                .select(User::as_select())
                .get_result(self)
                .optional()
        }

        fn user_with_tokens(&mut self, login: &str) -> QueryResult<Option<(User, Vec<Token>)>> {
            let key = sae_core::config::login_key(login);
            let rows: Vec<(User, Option<Token>)> = users::table
                .left_join(
                    tokens::table.on(tokens::user_id
                        .eq(users::id.nullable())
                        .and(tokens::import_job.is_null())),
                )
                .filter(users::id.nullable().eq(user_id_of_login(&key, login)))
                // As `tokens_of` orders them.
                .order((tokens::created_at, tokens::id))
                .select((User::as_select(), Option::<Token>::as_select()))
                .load(self)?;
            let mut rows = rows.into_iter();
            let Some((user, first)) = rows.next() else {
                return Ok(None);
            };
            let tokens = first.into_iter().chain(rows.filter_map(|(_, t)| t)).collect();
            Ok(Some((user, tokens)))
        }

        fn login_taken(&mut self, login: &str) -> QueryResult<bool> {
            Ok(!self.logins_taken(&[login.to_owned()])?.is_empty())
        }

        fn logins_taken(&mut self, logins: &[String]) -> QueryResult<Vec<String>> {
            if logins.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = logins.iter().map(|l| sae_core::config::login_key(l)).collect();
            let held: Vec<(String, Option<String>)> = users::table
                .filter(users::login_key.eq_any(&keys).or(users::login.eq_any(logins)))
                .select((users::login, users::login_key))
                .load(self)?;
            Ok(logins
                .iter()
                .zip(&keys)
                .filter(|(l, k)| held.iter().any(|(hl, hk)| hl == *l || hk.as_ref() == Some(*k)))
                .map(|(l, _)| l.clone())
                .collect())
        }

        fn user_ids(&mut self, logins: &[String]) -> QueryResult<Vec<(String, i64)>> {
            if logins.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = logins.iter().map(|l| sae_core::config::login_key(l)).collect();
            let rows: Vec<(String, Option<String>, i64)> = users::table
                .filter(users::login_key.eq_any(&keys).or(users::login.eq_any(logins)))
                .filter(users::import_job.is_null())
                .select((users::login, users::login_key, users::id))
                .load(self)?;
            // As `user_id_of`: the keyless row stored exactly so, else the row holding the
            // login's canonical key.
            Ok(logins
                .iter()
                .zip(&keys)
                .filter_map(|(l, k)| {
                    rows.iter()
                        .find(|(rl, rk, _)| rk.is_none() && rl == l)
                        .or_else(|| rows.iter().find(|(_, rk, _)| rk.as_ref() == Some(k)))
                        .map(|(_, _, id)| (l.clone(), *id))
                })
                .collect())
        }

        fn users_commit_job(&mut self, job: &str) -> QueryResult<usize> {
            diesel::update(users::table.filter(users::import_job.eq(job)))
                .set(users::import_job.eq(None::<String>))
                .execute(self)
        }

        fn users_rollback_job(&mut self, job: &str) -> QueryResult<usize> {
            diesel::delete(users::table.filter(users::import_job.eq(job))).execute(self)
        }

        fn job_logins(&mut self, job: &str, cursor: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
            users::table
                .filter(users::import_job.eq(job))
                .filter(users::id.gt(cursor))
                .order(users::id)
                .limit(limit)
                .select((users::id, users::login))
                .load(self)
        }

        fn user_with_wallet(&mut self, login: &str) -> QueryResult<Option<(User, Option<String>)>> {
            let key = sae_core::config::login_key(login);
            users::table
                .left_join(wallets::table)
                .filter(users::id.nullable().eq(user_id_of_login(&key, login)))
                .select((User::as_select(), wallets::name.nullable()))
                .get_result(self)
                .optional()
        }

        fn user_insert(&mut self, user: &NewUser) -> QueryResult<i64> {
            let keys = sae_core::config::LoginKeys::of(&user.login);
            diesel::insert_into(users::table)
                .values((user, users::login_key.eq(keys.key), users::login_skeleton.eq(keys.skeleton)))
                .returning(users::id)
                .get_result(self)
        }

        fn user_update(&mut self, id: i64, changes: &UserChanges) -> QueryResult<bool> {
            diesel::update(users::table.filter(users::id.eq(id))).set(changes).execute(self).map(|n| n == 1)
        }

        fn user_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(users::table.filter(users::id.eq(id))).execute(self).map(|n| n == 1)
        }

        fn user_by_id(&mut self, id: i64) -> QueryResult<Option<User>> {
            users::table.filter(users::id.eq(id)).select(User::as_select()).first(self).optional()
        }

        fn user_flag_bounce(&mut self, id: i64, email: &str, status: Option<&str>, now: i64) -> QueryResult<bool> {
            diesel::update(users::table.filter(users::id.eq(id)).filter(users::email.eq(email)))
                .set((users::email_bounced_at.eq(now), users::email_bounce_status.eq(status)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn user_holding(&mut self, column: &str, value: &str, except: Option<i64>) -> QueryResult<Option<String>> {
            let mut q = users::table.select(users::login).into_boxed();
            q = match column {
                "email_norm" => q.filter(users::email_norm.eq(value)),
                "document_norm" => q.filter(users::document_norm.eq(value)),
                _ => q.filter(users::mobile_norm.eq(value)),
            };
            if let Some(id) = except {
                q = q.filter(users::id.ne(id));
            }
            q.first(self).optional()
        }

        fn users_identity(&mut self) -> QueryResult<Vec<IdentityRow>> {
            users::table.select((users::login, users::document, users::mobile)).order(users::id).load(self)
        }

        fn user_fail(&mut self, id: i64, factor: Factor, now: i64) -> QueryResult<Option<i32>> {
            // Fixed text per factor, so the connection keeps it prepared (see `store::fixed`).
            let (set, returning) = match factor {
                Factor::Password => (
                    "UPDATE users SET pwd_failures = pwd_failures + 1, pwd_last_failure_ms = ",
                    " AND locked_at_ms IS NULL RETURNING pwd_failures",
                ),
                Factor::Otp => (
                    "UPDATE users SET otp_failures = otp_failures + 1, otp_last_failure_ms = ",
                    " AND locked_at_ms IS NULL RETURNING otp_failures",
                ),
                _ => (
                    "UPDATE users SET hash_failures = hash_failures + 1, hash_last_failure_ms = ",
                    " AND locked_at_ms IS NULL RETURNING hash_failures",
                ),
            };
            let parts = [set, " WHERE id = ", returning];
            let binds = [Bind::Int(now), Bind::Int(id)];
            Fixed::<diesel::sql_types::Integer>::new(&parts, &binds).get_result(self).optional()
        }

        fn user_set_lock(&mut self, id: i64, factor: Factor, since: i64, until: Option<i64>) -> QueryResult<bool> {
            diesel::update(users::table.filter(users::id.eq(id)).filter(users::locked_at_ms.is_null()))
                .set((users::locked_at_ms.eq(since), users::locked_until_ms.eq(until), users::lock_factor.eq(factor.as_str())))
                .execute(self)
                .map(|n| n == 1)
        }

        fn user_succeed(&mut self, id: i64, factor: Factor) -> QueryResult<()> {
            let target = users::table.filter(users::id.eq(id));
            match factor {
                Factor::Password => diesel::update(target).set(users::pwd_failures.eq(0)).execute(self),
                Factor::Otp => diesel::update(target).set(users::otp_failures.eq(0)).execute(self),
                _ => diesel::update(target).set(users::hash_failures.eq(0)).execute(self),
            }
            .map(|_| ())
        }

        fn user_clear_lock(&mut self, id: i64, locked_at: i64) -> QueryResult<bool> {
            diesel::update(users::table.filter(users::id.eq(id)).filter(users::locked_at_ms.eq(locked_at)))
                .set((
                    users::locked_at_ms.eq(None::<i64>),
                    users::locked_until_ms.eq(None::<i64>),
                    users::lock_factor.eq(None::<String>),
                    users::pwd_failures.eq(0),
                    users::otp_failures.eq(0),
                    users::hash_failures.eq(0),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn user_unlock(&mut self, id: i64, now: i64) -> QueryResult<bool> {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set((
                    users::locked_at_ms.eq(None::<i64>),
                    users::locked_until_ms.eq(None::<i64>),
                    users::lock_factor.eq(None::<String>),
                    users::pwd_failures.eq(0),
                    users::otp_failures.eq(0),
                    users::hash_failures.eq(0),
                    users::updated_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn user_set_password(&mut self, id: i64, hash: &str, history: &str, now: i64) -> QueryResult<()> {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set((
                    users::password_hash.eq(hash),
                    users::password_history.eq(history),
                    users::password_changed_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn user_rehash(&mut self, id: i64, old: &str, new: &str) -> QueryResult<()> {
            diesel::update(users::table.filter(users::id.eq(id)).filter(users::password_hash.eq(old)))
                .set(users::password_hash.eq(new))
                .execute(self)
                .map(|_| ())
        }

        fn user_set_authsys(&mut self, id: i64, names: &str, sealed: Option<&str>, now: i64) -> QueryResult<()> {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set((users::authsys_names.eq(names), users::authsys_enc.eq(sealed), users::updated_at.eq(now)))
                .execute(self)
                .map(|_| ())
        }

    }
}
