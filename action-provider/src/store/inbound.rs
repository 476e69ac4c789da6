//! The `inbound_accounts` table: IMAP/POP3 mailboxes read for bounces (the password
//! sealed), how far each was processed, and the check slot that lets one node at a time
//! check an account.

use diesel::prelude::*;

use super::schema::inbound_accounts;

/// A stored inbound account. The password is sealed; `Debug` is not derived.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_accounts)]
pub struct InboundRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Checked automatically and by "check now".
    pub active: bool,
    /// `imap` or `pop3`.
    pub protocol: String,
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: i32,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    /// `password` or `oauth2`.
    pub auth: String,
    /// Login / mailbox.
    pub username: String,
    /// Sealed password (bound to the endpoint by its seal context).
    pub password_enc: Option<String>,
    /// The OAuth2 profile.
    pub oauth2_profile_id: Option<i64>,
    /// `xoauth2` or `oauthbearer`.
    pub mechanism: String,
    /// IMAP folder.
    pub folder: String,
    /// Leave processed messages on the server.
    pub keep_copy: bool,
    /// Automatic check interval (0: manual only).
    pub check_every_s: i64,
    /// Limit of each network operation.
    pub timeout_s: i32,
    /// Accept any certificate.
    pub ignore_cert_errors: bool,
    /// JSON position (UIDVALIDITY + UID, or UIDLs).
    pub position: Option<String>,
    /// When the next automatic check is due.
    pub next_check_at: i64,
    /// The slot holder's token.
    pub lease_token: Option<String>,
    /// Until when the slot is held.
    pub lease_until: Option<i64>,
    /// When the last check ended.
    pub last_check_at: Option<i64>,
    /// The last check's error.
    pub last_error: Option<String>,
    /// Messages processed so far.
    pub fetched_total: i64,
    /// Bounces matched so far.
    pub bounces_total: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The settings of an account, as inserted or replaced (the password is set apart).
#[derive(Clone, Insertable, AsChangeset)]
#[diesel(table_name = inbound_accounts, treat_none_as_null = true)]
pub struct InboundSettingsRow {
    /// Unique name.
    pub name: String,
    /// Checked.
    pub active: bool,
    /// `imap` / `pop3`.
    pub protocol: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Security name.
    pub security: String,
    /// `password` / `oauth2`.
    pub auth: String,
    /// Login.
    pub username: String,
    /// The OAuth2 profile.
    pub oauth2_profile_id: Option<i64>,
    /// SASL mechanism for OAuth2.
    pub mechanism: String,
    /// Folder.
    pub folder: String,
    /// Keep copy on server.
    pub keep_copy: bool,
    /// Check interval (0: manual).
    pub check_every_s: i64,
    /// Timeout.
    pub timeout_s: i32,
    /// Accept any certificate.
    pub ignore_cert_errors: bool,
    /// Last change.
    pub updated_at: i64,
}

/// What a finished check writes.
#[derive(Debug, Clone)]
pub struct CheckDone {
    /// The new position (`None`: unchanged, the check failed).
    pub position: Option<String>,
    /// The error, when the check failed.
    pub error: Option<String>,
    /// Messages processed.
    pub fetched: i64,
    /// Bounces matched.
    pub bounces: i64,
    /// When the next automatic check is due.
    pub next_check_at: i64,
    /// Now.
    pub now: i64,
}

/// Queries of the inbound_accounts table.
pub trait InboundAccounts {
    /// Inserts an account; returns its id.
    fn inbound_insert(
        &mut self,
        settings: &InboundSettingsRow,
        password_enc: Option<&str>,
        now: i64,
    ) -> QueryResult<i64>;
    /// One account.
    fn inbound_get(&mut self, id: i64) -> QueryResult<Option<InboundRow>>;
    /// Whether another account (not `except`) has this name.
    fn inbound_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool>;
    /// A page of accounts by id after `cursor`.
    fn inbound_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<InboundRow>>;
    /// Replaces an account's settings; the sealed password is replaced when `password` is
    /// `Some` (`Some(None)` clears it); the position is forgotten when `reset_position`.
    /// Returns whether it existed.
    fn inbound_update(
        &mut self,
        id: i64,
        settings: &InboundSettingsRow,
        password: Option<Option<&str>>,
        reset_position: bool,
    ) -> QueryResult<bool>;
    /// Deletes an account; returns whether it existed.
    fn inbound_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// Active accounts with automatic checks that are due at `now` and whose slot is free.
    fn inbound_due(&mut self, now: i64) -> QueryResult<Vec<i64>>;
    /// Takes account `id`'s check slot for `token` until `lease_until`, when its slot is free
    /// (and, with `due_only`, it is active and an automatic check is due). One statement,
    /// so two nodes never both take it. Returns whether it was taken.
    fn inbound_take(
        &mut self,
        id: i64,
        token: &str,
        now: i64,
        lease_until: i64,
        due_only: bool,
    ) -> QueryResult<bool>;
    /// Records a check's outcome and frees the slot, if `token` still holds it. Returns
    /// whether it did (false: the slot expired and another node took it).
    fn inbound_finish(&mut self, id: i64, token: &str, done: &CheckDone) -> QueryResult<bool>;
}

for_both_backends! {
    impl InboundAccounts {
        fn inbound_insert(&mut self, settings: &InboundSettingsRow, password_enc: Option<&str>, now: i64) -> QueryResult<i64> {
            diesel::insert_into(inbound_accounts::table)
                .values((settings, inbound_accounts::password_enc.eq(password_enc), inbound_accounts::created_at.eq(now)))
                .returning(inbound_accounts::id)
                .get_result(self)
        }

        fn inbound_get(&mut self, id: i64) -> QueryResult<Option<InboundRow>> {
            inbound_accounts::table.filter(inbound_accounts::id.eq(id)).select(InboundRow::as_select()).first(self).optional()
        }

        fn inbound_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool> {
            let found: Option<i64> = inbound_accounts::table
                .filter(inbound_accounts::name.eq(name))
                .filter(inbound_accounts::id.ne(except.unwrap_or(-1)))
                .select(inbound_accounts::id)
                .first(self)
                .optional()?;
            Ok(found.is_some())
        }

        fn inbound_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<InboundRow>> {
            inbound_accounts::table
                .filter(inbound_accounts::id.gt(cursor))
                .order(inbound_accounts::id)
                .limit(limit)
                .select(InboundRow::as_select())
                .load(self)
        }

        fn inbound_update(&mut self, id: i64, settings: &InboundSettingsRow, password: Option<Option<&str>>, reset_position: bool) -> QueryResult<bool> {
            let target = inbound_accounts::table.filter(inbound_accounts::id.eq(id));
            let n = diesel::update(target).set(settings).execute(self)?;
            if let Some(password) = password {
                diesel::update(target).set(inbound_accounts::password_enc.eq(password)).execute(self)?;
            }
            if reset_position {
                diesel::update(target).set(inbound_accounts::position.eq(None::<String>)).execute(self)?;
            }
            Ok(n == 1)
        }

        fn inbound_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(inbound_accounts::table.filter(inbound_accounts::id.eq(id))).execute(self).map(|n| n == 1)
        }

        fn inbound_due(&mut self, now: i64) -> QueryResult<Vec<i64>> {
            inbound_accounts::table
                .filter(inbound_accounts::active.eq(true))
                .filter(inbound_accounts::check_every_s.gt(0))
                .filter(inbound_accounts::next_check_at.le(now))
                .filter(inbound_accounts::lease_until.is_null().or(inbound_accounts::lease_until.lt(now)))
                .order(inbound_accounts::next_check_at)
                .select(inbound_accounts::id)
                .load(self)
        }

        fn inbound_take(&mut self, id: i64, token: &str, now: i64, lease_until: i64, due_only: bool) -> QueryResult<bool> {
            let free = inbound_accounts::table
                .filter(inbound_accounts::id.eq(id))
                .filter(inbound_accounts::lease_until.is_null().or(inbound_accounts::lease_until.lt(now)));
            let set = (inbound_accounts::lease_token.eq(token), inbound_accounts::lease_until.eq(lease_until));
            let n = if due_only {
                diesel::update(
                    free.filter(inbound_accounts::active.eq(true))
                        .filter(inbound_accounts::check_every_s.gt(0))
                        .filter(inbound_accounts::next_check_at.le(now)),
                )
                .set(set)
                .execute(self)?
            } else {
                diesel::update(free).set(set).execute(self)?
            };
            Ok(n == 1)
        }

        fn inbound_finish(&mut self, id: i64, token: &str, done: &CheckDone) -> QueryResult<bool> {
            let target = inbound_accounts::table
                .filter(inbound_accounts::id.eq(id))
                .filter(inbound_accounts::lease_token.eq(token));
            let n = diesel::update(target)
                .set((
                    inbound_accounts::lease_token.eq(None::<String>),
                    inbound_accounts::lease_until.eq(None::<i64>),
                    inbound_accounts::last_check_at.eq(done.now),
                    inbound_accounts::last_error.eq(done.error.as_deref()),
                    inbound_accounts::next_check_at.eq(done.next_check_at),
                    inbound_accounts::fetched_total.eq(inbound_accounts::fetched_total + done.fetched),
                    inbound_accounts::bounces_total.eq(inbound_accounts::bounces_total + done.bounces),
                ))
                .execute(self)?;
            if n == 1 && let Some(position) = &done.position {
                diesel::update(inbound_accounts::table.filter(inbound_accounts::id.eq(id)))
                    .set(inbound_accounts::position.eq(position))
                    .execute(self)?;
            }
            Ok(n == 1)
        }
    }
}
