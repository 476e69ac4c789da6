//! Primitive queries, written once and implemented for both backends.
//!
//! [`Ops`] is implemented for `PgConnection` and `SqliteConnection` by expanding the same
//! method bodies twice, so a flow can compose several of them inside one transaction
//! opened with [`write_tx!`](crate::write_tx) and stay backend-agnostic.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel::upsert::excluded;
use sae_core::lockout::Factor;

use super::models::token::{IssuedCode, NewIssuedCode, Token};
use super::models::user::{NewUser, User, UserChanges};
use super::schema::{
    audit, delivery_attempts, devices, idempotency, issued_codes, outbox, settings, tokens, users,
    wallets,
};

/// One audit record: who did what to whom, from where, with what outcome. Never secrets.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit)]
pub struct NewAudit {
    /// Time, unix seconds.
    pub at: i64,
    /// Who acted (`apikey:<name>`, `admin:<login>`, `system`).
    pub actor: String,
    /// What was done (`user.create`, `otp.validate`, `config.im.update`, …).
    pub action: String,
    /// Whom or what it concerned (a login, a setting name).
    pub subject: Option<String>,
    /// Client address, as believed under `trusted_proxies`.
    pub source: Option<String>,
    /// `ok`, `rejected:<reason>`, `error:<code>`.
    pub outcome: String,
    /// Extra JSON (never secrets).
    pub detail: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = settings)]
struct NewSetting<'a> {
    name: &'a str,
    value: &'a str,
    version: i64,
    updated_at: i64,
}

/// Primitive queries available on either backend's connection.
pub trait Ops {
    /// Appends an audit record.
    fn audit_insert(&mut self, entry: &NewAudit) -> QueryResult<()>;
    /// Reads a configuration document's JSON text and version.
    fn setting_get(&mut self, name: &str) -> QueryResult<Option<(String, i64)>>;
    /// Writes a configuration document (version + 1); returns the new version.
    fn setting_put(&mut self, name: &str, value: &str, now: i64) -> QueryResult<i64>;
    /// Deletes audit records older than `before`; returns how many.
    fn audit_purge(&mut self, before: i64) -> QueryResult<usize>;
    /// Deletes delivery attempts older than `before`, and finished outbox jobs with them.
    fn deliveries_purge(&mut self, before: i64) -> QueryResult<usize>;
    /// A page of audit records, oldest first, filtered.
    fn audit_page(
        &mut self,
        filter: &AuditFilter,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<AuditRow>>;
    /// Every document's name and version: changes whenever any document changes.
    fn settings_versions(&mut self) -> QueryResult<Vec<(String, i64)>>;

    /// The user with this login.
    fn user_by_login(&mut self, login: &str) -> QueryResult<Option<User>>;
    /// Inserts a user; returns its id.
    fn user_insert(&mut self, user: &NewUser) -> QueryResult<i64>;
    /// Applies profile changes; returns whether the user existed.
    fn user_update(&mut self, id: i64, changes: &UserChanges) -> QueryResult<bool>;
    /// Deletes a user (tokens and codes cascade); returns whether it existed.
    fn user_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// Another user (not `except`) holding this normalised value in `column`
    /// (`email_norm`, `document_norm` or `mobile_norm`).
    fn user_holding(
        &mut self,
        column: &str,
        value: &str,
        except: Option<i64>,
    ) -> QueryResult<Option<String>>;
    /// A page of users ordered by id, after `cursor`, with optional filters.
    fn users_page(
        &mut self,
        filter: &UserFilter,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<User>>;
    /// Every user's (login, document, mobile), for switch conflict checks.
    fn users_identity(&mut self) -> QueryResult<Vec<IdentityRow>>;
    /// The id of the wallet with this name.
    fn wallet_id(&mut self, name: &str) -> QueryResult<Option<i64>>;
    /// The name of a wallet.
    fn wallet_name(&mut self, id: i64) -> QueryResult<Option<String>>;
    /// A page of wallets (id, name, description, created_at), by id.
    fn wallets_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<WalletRow>>;
    /// Creates a wallet; returns its id.
    fn wallet_insert(&mut self, name: &str, description: &str, now: i64) -> QueryResult<i64>;
    /// Renames / re-describes a wallet; returns whether it existed.
    fn wallet_update(&mut self, id: i64, name: &str, description: &str) -> QueryResult<bool>;
    /// Deletes a wallet; returns whether it existed.
    fn wallet_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// How many users are in a wallet.
    fn wallet_members(&mut self, id: i64) -> QueryResult<i64>;

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

    /// A user's devices: (name, token id, shares principal, created at), by name.
    fn devices_of(&mut self, user_id: i64) -> QueryResult<Vec<DeviceRow>>;
    /// Records a device; fails on a duplicate name (unique per user).
    fn device_insert(
        &mut self,
        user_id: i64,
        name: &str,
        token_id: &str,
        shares: bool,
        now: i64,
    ) -> QueryResult<()>;
    /// Deletes a device; returns its (token id, shares principal) if it existed.
    fn device_delete(&mut self, user_id: i64, name: &str) -> QueryResult<Option<(String, bool)>>;

    /// Inserts a token.
    fn token_insert(&mut self, token: &Token) -> QueryResult<()>;
    /// A user's tokens (active and not), oldest first.
    fn tokens_of(&mut self, user_id: i64) -> QueryResult<Vec<Token>>;
    /// One token of a user.
    fn token_of(&mut self, user_id: i64, id: &str) -> QueryResult<Option<Token>>;
    /// Advances a token's last accepted counter to `new` if it is still below it
    /// (compare-and-set); returns whether this call advanced it.
    fn token_advance(&mut self, id: &str, new: i64, now: i64) -> QueryResult<bool>;
    /// Moves an OPIE token from `count` to `count - 1` with the presented OTP, if it is still
    /// at `count` (compare-and-set).
    fn token_opie_advance(
        &mut self,
        id: &str,
        count: i32,
        presented_hex: &str,
        now: i64,
    ) -> QueryResult<bool>;
    /// Deletes a token; returns whether it existed.
    fn token_delete(&mut self, user_id: i64, id: &str) -> QueryResult<bool>;
    /// Records an issued code.
    fn code_insert(&mut self, code: &NewIssuedCode) -> QueryResult<i64>;
    /// A user's most recent issued codes (used, expired or live), newest first, at most `limit`.
    fn codes_recent(&mut self, user_id: i64, limit: i64) -> QueryResult<Vec<IssuedCode>>;
    /// Marks code `id` used if it is unused (compare-and-set), and every older unused code
    /// of the user with it; returns whether this call used code `id`.
    fn code_consume(&mut self, user_id: i64, id: i64, now: i64) -> QueryResult<bool>;

    /// A stored answer for (API key, Idempotency-Key): request digest, status, body.
    fn idem_get(
        &mut self,
        api_key_id: i64,
        key: &str,
    ) -> QueryResult<Option<(String, i32, String)>>;
    /// Stores the answer for (API key, Idempotency-Key).
    fn idem_put(
        &mut self,
        api_key_id: i64,
        key: &str,
        digest: &str,
        status: i32,
        response: &str,
        now: i64,
    ) -> QueryResult<()>;

    /// Queues a delivery job.
    fn outbox_insert(&mut self, job: &NewOutbox) -> QueryResult<i64>;
    /// Marks a job delivered and scrubs its payload.
    fn outbox_sent(&mut self, id: i64, now: i64) -> QueryResult<()>;
    /// Puts a job back in the queue for `next_attempt_at`.
    fn outbox_retry(
        &mut self,
        id: i64,
        next_attempt_at: i64,
        error: &str,
        now: i64,
    ) -> QueryResult<()>;
    /// Gives up on a job and scrubs its payload.
    fn outbox_failed(&mut self, id: i64, error: &str, now: i64) -> QueryResult<()>;
    /// Records one delivery attempt.
    fn attempt_insert(&mut self, attempt: &NewAttempt) -> QueryResult<()>;
    /// A page of delivery attempts (newest last), filtered.
    fn attempts_page(
        &mut self,
        filter: &AttemptFilter,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<AttemptRow>>;
    /// Codes issued on `channel` since `since` to this user.
    fn codes_since_for_user(
        &mut self,
        user_id: i64,
        channel: &str,
        since: i64,
    ) -> QueryResult<Vec<i64>>;
    /// Codes issued on `channel` since `since` to any user with this normalised mobile.
    fn codes_since_for_mobile(
        &mut self,
        mobile_norm: &str,
        channel: &str,
        since: i64,
    ) -> QueryResult<Vec<i64>>;
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact subject.
    pub subject: Option<String>,
    /// Action, or an action prefix ending in `.` (e.g. `config.`).
    pub action: Option<String>,
    /// Outcome, or an outcome prefix ending in `:` (e.g. `rejected:`).
    pub outcome: Option<String>,
    /// From this time.
    pub since: Option<i64>,
    /// Until this time.
    pub until: Option<i64>,
}

/// An audit record as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct AuditRow {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject: Option<String>,
    /// From where.
    pub source: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Extra JSON.
    pub detail: Option<String>,
}

/// Filters of the delivery report.
#[derive(Debug, Clone, Default)]
pub struct AttemptFilter {
    /// One request.
    pub request_id: Option<String>,
    /// From this time.
    pub since: Option<i64>,
    /// Until this time.
    pub until: Option<i64>,
}

/// A delivery attempt as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delivery_attempts)]
pub struct AttemptRow {
    /// Row id.
    pub id: i64,
    /// The request.
    pub request_id: String,
    /// `sms` / `email`.
    pub channel: String,
    /// Broker or account.
    pub broker: String,
    /// Masked destination.
    pub destination_masked: String,
    /// `delivered` / `failed`.
    pub outcome: String,
    /// HTTP status.
    pub http_status: Option<i32>,
    /// Error or fault.
    pub error: Option<String>,
    /// Latency.
    pub latency_ms: i64,
    /// Redacted answer excerpt.
    pub excerpt: Option<String>,
    /// When.
    pub at: i64,
}

/// A delivery job to queue.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutbox {
    /// The request it delivers.
    pub request_id: String,
    /// `sms` or `email`.
    pub channel: String,
    /// The user, if any.
    pub user_id: Option<i64>,
    /// Sealed JSON payload.
    pub payload_enc: Option<String>,
    /// `queued`.
    pub status: String,
    /// When the first attempt is due.
    pub next_attempt_at: i64,
    /// Creation time.
    pub created_at: i64,
    /// Same.
    pub updated_at: i64,
}

/// One delivery attempt, for reports.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = delivery_attempts)]
pub struct NewAttempt {
    /// The job.
    pub outbox_id: i64,
    /// The request.
    pub request_id: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Which broker or account (`primary`, `secondary`, an account name).
    pub broker: String,
    /// Destination with most digits masked.
    pub destination_masked: String,
    /// `delivered`, `failed`, …
    pub outcome: String,
    /// HTTP status, when there was one.
    pub http_status: Option<i32>,
    /// Error or fault text (redacted).
    pub error: Option<String>,
    /// Milliseconds the attempt took.
    pub latency_ms: i64,
    /// Redacted excerpt of the answer.
    pub excerpt: Option<String>,
    /// When.
    pub at: i64,
}

/// A user's (login, document, mobile) as stored.
pub type IdentityRow = (String, Option<String>, Option<String>);

/// A wallet as stored: (id, name, description, created_at).
pub type WalletRow = (i64, String, String, i64);

/// A device as stored: (name, token id, shares the principal token, created at).
pub type DeviceRow = (String, String, bool, i64);

/// Filters of the user listing.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Logins starting with this.
    pub login_prefix: Option<String>,
    /// Normalised e-mail equal to this.
    pub email_norm: Option<String>,
    /// Normalised mobile equal to this.
    pub mobile_norm: Option<String>,
    /// Normalised document equal to this.
    pub document_norm: Option<String>,
    /// In this wallet.
    pub wallet_id: Option<i64>,
    /// Only locked (`Some(true)`) or only unlocked users.
    pub locked: Option<bool>,
    /// Only disabled / only enabled users.
    pub disabled: Option<bool>,
}

macro_rules! impl_ops {
    ($($conn:ty),*) => {$(
        impl Ops for $conn {
            fn audit_insert(&mut self, entry: &NewAudit) -> QueryResult<()> {
                diesel::insert_into(audit::table).values(entry).execute(self).map(|_| ())
            }

            fn setting_get(&mut self, name: &str) -> QueryResult<Option<(String, i64)>> {
                settings::table
                    .filter(settings::name.eq(name))
                    .select((settings::value, settings::version))
                    .first(self)
                    .optional()
            }

            fn setting_put(&mut self, name: &str, value: &str, now: i64) -> QueryResult<i64> {
                diesel::insert_into(settings::table)
                    .values(NewSetting { name, value, version: 1, updated_at: now })
                    .on_conflict(settings::name)
                    .do_update()
                    .set((
                        settings::value.eq(excluded(settings::value)),
                        settings::version.eq(settings::version + 1),
                        settings::updated_at.eq(excluded(settings::updated_at)),
                    ))
                    .returning(settings::version)
                    .get_result(self)
            }

            fn user_by_login(&mut self, login: &str) -> QueryResult<Option<User>> {
                users::table.filter(users::login.eq(login)).select(User::as_select()).first(self).optional()
            }

            fn user_insert(&mut self, user: &NewUser) -> QueryResult<i64> {
                diesel::insert_into(users::table).values(user).returning(users::id).get_result(self)
            }

            fn user_update(&mut self, id: i64, changes: &UserChanges) -> QueryResult<bool> {
                diesel::update(users::table.filter(users::id.eq(id))).set(changes).execute(self).map(|n| n == 1)
            }

            fn user_delete(&mut self, id: i64) -> QueryResult<bool> {
                diesel::delete(users::table.filter(users::id.eq(id))).execute(self).map(|n| n == 1)
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

            fn users_page(&mut self, filter: &UserFilter, cursor: i64, limit: i64) -> QueryResult<Vec<User>> {
                let mut q = users::table.select(User::as_select()).filter(users::id.gt(cursor)).into_boxed();
                if let Some(p) = &filter.login_prefix {
                    let escaped = p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    q = q.filter(users::login.like(format!("{escaped}%")).escape('\\'));
                }
                if let Some(v) = &filter.email_norm {
                    q = q.filter(users::email_norm.eq(v.clone()));
                }
                if let Some(v) = &filter.mobile_norm {
                    q = q.filter(users::mobile_norm.eq(v.clone()));
                }
                if let Some(v) = &filter.document_norm {
                    q = q.filter(users::document_norm.eq(v.clone()));
                }
                if let Some(w) = filter.wallet_id {
                    q = q.filter(users::wallet_id.eq(w));
                }
                match filter.locked {
                    Some(true) => q = q.filter(users::locked_at.is_not_null()),
                    Some(false) => q = q.filter(users::locked_at.is_null()),
                    None => {}
                }
                if let Some(d) = filter.disabled {
                    q = q.filter(users::disabled.eq(d));
                }
                q.order(users::id).limit(limit).load(self)
            }

            fn users_identity(&mut self) -> QueryResult<Vec<IdentityRow>> {
                users::table.select((users::login, users::document, users::mobile)).order(users::id).load(self)
            }

            fn wallet_id(&mut self, name: &str) -> QueryResult<Option<i64>> {
                wallets::table.filter(wallets::name.eq(name)).select(wallets::id).first(self).optional()
            }

            fn wallets_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<WalletRow>> {
                wallets::table
                    .filter(wallets::id.gt(cursor))
                    .order(wallets::id)
                    .limit(limit)
                    .select((wallets::id, wallets::name, wallets::description, wallets::created_at))
                    .load(self)
            }

            fn wallet_insert(&mut self, name: &str, description: &str, now: i64) -> QueryResult<i64> {
                diesel::insert_into(wallets::table)
                    .values((wallets::name.eq(name), wallets::description.eq(description), wallets::created_at.eq(now)))
                    .returning(wallets::id)
                    .get_result(self)
            }

            fn wallet_update(&mut self, id: i64, name: &str, description: &str) -> QueryResult<bool> {
                diesel::update(wallets::table.filter(wallets::id.eq(id)))
                    .set((wallets::name.eq(name), wallets::description.eq(description)))
                    .execute(self)
                    .map(|n| n == 1)
            }

            fn wallet_delete(&mut self, id: i64) -> QueryResult<bool> {
                diesel::delete(wallets::table.filter(wallets::id.eq(id))).execute(self).map(|n| n == 1)
            }

            fn wallet_members(&mut self, id: i64) -> QueryResult<i64> {
                users::table.filter(users::wallet_id.eq(id)).count().get_result(self)
            }

            fn wallet_name(&mut self, id: i64) -> QueryResult<Option<String>> {
                wallets::table.filter(wallets::id.eq(id)).select(wallets::name).first(self).optional()
            }

            fn user_fail(&mut self, id: i64, factor: Factor, now: i64) -> QueryResult<Option<i32>> {
                let target = users::table.filter(users::id.eq(id)).filter(users::locked_at.is_null());
                match factor {
                    Factor::Password => diesel::update(target)
                        .set((users::pwd_failures.eq(users::pwd_failures + 1), users::pwd_last_failure.eq(now)))
                        .returning(users::pwd_failures)
                        .get_result(self)
                        .optional(),
                    Factor::Otp => diesel::update(target)
                        .set((users::otp_failures.eq(users::otp_failures + 1), users::otp_last_failure.eq(now)))
                        .returning(users::otp_failures)
                        .get_result(self)
                        .optional(),
                    _ => diesel::update(target)
                        .set((users::hash_failures.eq(users::hash_failures + 1), users::hash_last_failure.eq(now)))
                        .returning(users::hash_failures)
                        .get_result(self)
                        .optional(),
                }
            }

            fn user_set_lock(&mut self, id: i64, factor: Factor, since: i64, until: Option<i64>) -> QueryResult<bool> {
                diesel::update(users::table.filter(users::id.eq(id)).filter(users::locked_at.is_null()))
                    .set((users::locked_at.eq(since), users::locked_until.eq(until), users::lock_factor.eq(factor.as_str())))
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
                diesel::update(users::table.filter(users::id.eq(id)).filter(users::locked_at.eq(locked_at)))
                    .set((
                        users::locked_at.eq(None::<i64>),
                        users::locked_until.eq(None::<i64>),
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
                        users::locked_at.eq(None::<i64>),
                        users::locked_until.eq(None::<i64>),
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

            fn devices_of(&mut self, user_id: i64) -> QueryResult<Vec<DeviceRow>> {
                devices::table
                    .filter(devices::user_id.eq(user_id))
                    .order(devices::name)
                    .select((devices::name, devices::token_id, devices::shares_principal, devices::created_at))
                    .load(self)
            }

            fn device_insert(&mut self, user_id: i64, name: &str, token_id: &str, shares: bool, now: i64) -> QueryResult<()> {
                diesel::insert_into(devices::table)
                    .values((
                        devices::user_id.eq(user_id),
                        devices::name.eq(name),
                        devices::token_id.eq(token_id),
                        devices::shares_principal.eq(shares),
                        devices::created_at.eq(now),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn device_delete(&mut self, user_id: i64, name: &str) -> QueryResult<Option<(String, bool)>> {
                diesel::delete(devices::table.filter(devices::user_id.eq(user_id)).filter(devices::name.eq(name)))
                    .returning((devices::token_id, devices::shares_principal))
                    .get_result(self)
                    .optional()
            }

            fn token_insert(&mut self, token: &Token) -> QueryResult<()> {
                diesel::insert_into(tokens::table).values(token).execute(self).map(|_| ())
            }

            fn tokens_of(&mut self, user_id: i64) -> QueryResult<Vec<Token>> {
                tokens::table
                    .filter(tokens::user_id.eq(user_id))
                    .order((tokens::created_at, tokens::id))
                    .select(Token::as_select())
                    .load(self)
            }

            fn token_of(&mut self, user_id: i64, id: &str) -> QueryResult<Option<Token>> {
                tokens::table
                    .filter(tokens::user_id.eq(user_id))
                    .filter(tokens::id.eq(id))
                    .select(Token::as_select())
                    .first(self)
                    .optional()
            }

            fn token_advance(&mut self, id: &str, new: i64, now: i64) -> QueryResult<bool> {
                diesel::update(
                    tokens::table
                        .filter(tokens::id.eq(id))
                        .filter(tokens::last_counter.is_null().or(tokens::last_counter.lt(new))),
                )
                .set((tokens::last_counter.eq(new), tokens::last_used_at.eq(now)))
                .execute(self)
                .map(|n| n == 1)
            }

            fn token_opie_advance(&mut self, id: &str, count: i32, presented_hex: &str, now: i64) -> QueryResult<bool> {
                diesel::update(tokens::table.filter(tokens::id.eq(id)).filter(tokens::opie_count.eq(count)))
                    .set((
                        tokens::opie_count.eq(count - 1),
                        tokens::opie_last.eq(presented_hex),
                        tokens::last_used_at.eq(now),
                    ))
                    .execute(self)
                    .map(|n| n == 1)
            }

            fn token_delete(&mut self, user_id: i64, id: &str) -> QueryResult<bool> {
                diesel::delete(tokens::table.filter(tokens::user_id.eq(user_id)).filter(tokens::id.eq(id)))
                    .execute(self)
                    .map(|n| n == 1)
            }

            fn code_insert(&mut self, code: &NewIssuedCode) -> QueryResult<i64> {
                diesel::insert_into(issued_codes::table).values(code).returning(issued_codes::id).get_result(self)
            }

            fn codes_recent(&mut self, user_id: i64, limit: i64) -> QueryResult<Vec<IssuedCode>> {
                issued_codes::table
                    .filter(issued_codes::user_id.eq(user_id))
                    .order(issued_codes::id.desc())
                    .limit(limit)
                    .select(IssuedCode::as_select())
                    .load(self)
            }

            fn code_consume(&mut self, user_id: i64, id: i64, now: i64) -> QueryResult<bool> {
                let used = diesel::update(
                    issued_codes::table.filter(issued_codes::id.eq(id)).filter(issued_codes::used_at.is_null()),
                )
                .set(issued_codes::used_at.eq(now))
                .execute(self)?;
                if used != 1 {
                    return Ok(false);
                }
                diesel::update(
                    issued_codes::table
                        .filter(issued_codes::user_id.eq(user_id))
                        .filter(issued_codes::id.lt(id))
                        .filter(issued_codes::used_at.is_null()),
                )
                .set(issued_codes::used_at.eq(now))
                .execute(self)?;
                Ok(true)
            }

            fn idem_get(&mut self, api_key_id: i64, key: &str) -> QueryResult<Option<(String, i32, String)>> {
                idempotency::table
                    .filter(idempotency::api_key_id.eq(api_key_id))
                    .filter(idempotency::idem_key.eq(key))
                    .select((idempotency::request_digest, idempotency::status, idempotency::response))
                    .first(self)
                    .optional()
            }

            fn idem_put(&mut self, api_key_id: i64, key: &str, digest: &str, status: i32, response: &str, now: i64) -> QueryResult<()> {
                diesel::insert_into(idempotency::table)
                    .values((
                        idempotency::api_key_id.eq(api_key_id),
                        idempotency::idem_key.eq(key),
                        idempotency::request_digest.eq(digest),
                        idempotency::status.eq(status),
                        idempotency::response.eq(response),
                        idempotency::created_at.eq(now),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn outbox_insert(&mut self, job: &NewOutbox) -> QueryResult<i64> {
                diesel::insert_into(outbox::table).values(job).returning(outbox::id).get_result(self)
            }

            fn outbox_sent(&mut self, id: i64, now: i64) -> QueryResult<()> {
                diesel::update(outbox::table.filter(outbox::id.eq(id)))
                    .set((
                        outbox::status.eq("sent"),
                        outbox::payload_enc.eq(None::<String>),
                        outbox::lease_until.eq(None::<i64>),
                        outbox::last_error.eq(None::<String>),
                        outbox::updated_at.eq(now),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn outbox_retry(&mut self, id: i64, next_attempt_at: i64, error: &str, now: i64) -> QueryResult<()> {
                diesel::update(outbox::table.filter(outbox::id.eq(id)))
                    .set((
                        outbox::status.eq("queued"),
                        outbox::next_attempt_at.eq(next_attempt_at),
                        outbox::lease_until.eq(None::<i64>),
                        outbox::last_error.eq(error),
                        outbox::updated_at.eq(now),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn outbox_failed(&mut self, id: i64, error: &str, now: i64) -> QueryResult<()> {
                diesel::update(outbox::table.filter(outbox::id.eq(id)))
                    .set((
                        outbox::status.eq("failed"),
                        outbox::payload_enc.eq(None::<String>),
                        outbox::lease_until.eq(None::<i64>),
                        outbox::last_error.eq(error),
                        outbox::updated_at.eq(now),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn attempt_insert(&mut self, attempt: &NewAttempt) -> QueryResult<()> {
                diesel::insert_into(delivery_attempts::table).values(attempt).execute(self).map(|_| ())
            }

            fn attempts_page(&mut self, filter: &AttemptFilter, cursor: i64, limit: i64) -> QueryResult<Vec<AttemptRow>> {
                let mut q = delivery_attempts::table.select(AttemptRow::as_select()).filter(delivery_attempts::id.gt(cursor)).into_boxed();
                if let Some(r) = &filter.request_id {
                    q = q.filter(delivery_attempts::request_id.eq(r.clone()));
                }
                if let Some(t) = filter.since {
                    q = q.filter(delivery_attempts::at.ge(t));
                }
                if let Some(t) = filter.until {
                    q = q.filter(delivery_attempts::at.le(t));
                }
                q.order(delivery_attempts::id).limit(limit).load(self)
            }

            fn codes_since_for_user(&mut self, user_id: i64, channel: &str, since: i64) -> QueryResult<Vec<i64>> {
                issued_codes::table
                    .filter(issued_codes::user_id.eq(user_id))
                    .filter(issued_codes::channel.eq(channel))
                    .filter(issued_codes::created_at.gt(since))
                    .select(issued_codes::created_at)
                    .order(issued_codes::created_at)
                    .load(self)
            }

            fn codes_since_for_mobile(&mut self, mobile_norm: &str, channel: &str, since: i64) -> QueryResult<Vec<i64>> {
                issued_codes::table
                    .inner_join(users::table)
                    .filter(users::mobile_norm.eq(mobile_norm))
                    .filter(issued_codes::channel.eq(channel))
                    .filter(issued_codes::created_at.gt(since))
                    .select(issued_codes::created_at)
                    .order(issued_codes::created_at)
                    .load(self)
            }

            fn audit_purge(&mut self, before: i64) -> QueryResult<usize> {
                diesel::delete(audit::table.filter(audit::at.lt(before))).execute(self)
            }

            fn deliveries_purge(&mut self, before: i64) -> QueryResult<usize> {
                let n = diesel::delete(delivery_attempts::table.filter(delivery_attempts::at.lt(before))).execute(self)?;
                diesel::delete(
                    outbox::table.filter(outbox::status.eq_any(["sent", "failed"])).filter(outbox::updated_at.lt(before)),
                )
                .execute(self)?;
                Ok(n)
            }

            fn audit_page(&mut self, filter: &AuditFilter, cursor: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
                let like = |p: &str| format!("{}%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
                let mut q = audit::table.select(AuditRow::as_select()).filter(audit::id.gt(cursor)).into_boxed();
                if let Some(v) = &filter.actor {
                    q = q.filter(audit::actor.eq(v.clone()));
                }
                if let Some(v) = &filter.subject {
                    q = q.filter(audit::subject.eq(v.clone()));
                }
                match &filter.action {
                    Some(v) if v.ends_with('.') => q = q.filter(audit::action.like(like(v)).escape('\\')),
                    Some(v) => q = q.filter(audit::action.eq(v.clone())),
                    None => {}
                }
                match &filter.outcome {
                    Some(v) if v.ends_with(':') => q = q.filter(audit::outcome.like(like(v)).escape('\\')),
                    Some(v) => q = q.filter(audit::outcome.eq(v.clone())),
                    None => {}
                }
                if let Some(t) = filter.since {
                    q = q.filter(audit::at.ge(t));
                }
                if let Some(t) = filter.until {
                    q = q.filter(audit::at.le(t));
                }
                q.order(audit::id).limit(limit).load(self)
            }

            fn settings_versions(&mut self) -> QueryResult<Vec<(String, i64)>> {
                settings::table
                    .select((settings::name, settings::version))
                    .order(settings::name)
                    .load(self)
            }
        }
    )*};
}

impl_ops!(PgConnection, SqliteConnection);

/// An outbox job claimed by a worker.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedJob {
    /// Row id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The request it delivers.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub request_id: String,
    /// `sms` or `email`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub channel: String,
    /// Sealed payload (None if already scrubbed).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub payload_enc: Option<String>,
    /// Attempts so far, this one included.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
}

/// Queries whose text differs between backends.
pub trait BackendOps {
    /// Serialises writers on `key` until the transaction ends (PostgreSQL advisory lock;
    /// SQLite needs nothing: `BEGIN IMMEDIATE` already serialises writers).
    fn lock_key(&mut self, key: &str) -> QueryResult<()>;
    /// Claims up to `limit` due jobs (queued and due, or sending with an expired lease),
    /// marking them `sending` with a lease until `lease_until`.
    fn outbox_claim(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> QueryResult<Vec<ClaimedJob>>;
}

const CLAIM_SQL: &str = "UPDATE outbox SET status = 'sending', lease_until = $2, attempts = attempts + 1, updated_at = $1 \
     WHERE id IN (SELECT id FROM outbox \
                  WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1) \
                  ORDER BY id LIMIT $3 @LOCK@) \
     RETURNING id, request_id, channel, payload_enc, attempts";

impl BackendOps for PgConnection {
    fn lock_key(&mut self, key: &str) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(self)
            .map(|_| ())
    }

    fn outbox_claim(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> QueryResult<Vec<ClaimedJob>> {
        diesel::sql_query(CLAIM_SQL.replace("@LOCK@", "FOR UPDATE SKIP LOCKED"))
            .bind::<diesel::sql_types::BigInt, _>(now)
            .bind::<diesel::sql_types::BigInt, _>(lease_until)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .load(self)
    }
}

impl BackendOps for SqliteConnection {
    fn lock_key(&mut self, _key: &str) -> QueryResult<()> {
        Ok(())
    }

    fn outbox_claim(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> QueryResult<Vec<ClaimedJob>> {
        // SQLite numbers `$n` by first appearance; `?n` keeps the explicit positions.
        // The claim runs inside BEGIN IMMEDIATE, which serialises claimers.
        diesel::sql_query(CLAIM_SQL.replace("@LOCK@", "").replace('$', "?"))
            .bind::<diesel::sql_types::BigInt, _>(now)
            .bind::<diesel::sql_types::BigInt, _>(lease_until)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .load(self)
    }
}
