//! The `smtp_accounts` table: outbound mail accounts (the password sealed).

use diesel::prelude::*;

use super::schema::smtp_accounts;

/// A stored SMTP account. The password is sealed; `Debug` is not derived.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = smtp_accounts)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// May send.
    pub active: bool,
    /// Sends first.
    pub is_default: bool,
    /// `From`.
    pub sender: String,
    /// `Reply-To`.
    pub reply_to: Option<String>,
    /// Envelope sender.
    pub return_path: Option<String>,
    /// Read-receipt address (notifications only).
    pub confirmation_address: Option<String>,
    /// Ask for read receipts on notifications.
    pub read_confirmation: bool,
    /// Force use: while an active account is forced, only forced accounts send.
    pub force_use: bool,
    /// Footer on/off.
    pub footer: bool,
    /// The footer's text (kept while the footer is off).
    pub footer_text: Option<String>,
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: i32,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    /// `none`, `password` or `oauth2`.
    pub auth: String,
    /// Login / XOAUTH2 mailbox.
    pub username: Option<String>,
    /// Sealed password.
    pub password_enc: Option<String>,
    /// The OAuth2 profile.
    pub oauth2_profile_id: Option<i64>,
    /// Accept any certificate.
    pub ignore_cert_errors: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// The settings of an account, as inserted or replaced (the password is set apart).
#[derive(Clone, Insertable, AsChangeset)]
#[diesel(table_name = smtp_accounts, treat_none_as_null = true)]
pub struct AccountSettingsRow {
    /// Unique name.
    pub name: String,
    /// May send.
    pub active: bool,
    /// Sends first.
    pub is_default: bool,
    /// `From`.
    pub sender: String,
    /// `Reply-To`.
    pub reply_to: Option<String>,
    /// Envelope sender.
    pub return_path: Option<String>,
    /// Read-receipt address.
    pub confirmation_address: Option<String>,
    /// Ask for read receipts on notifications.
    pub read_confirmation: bool,
    /// Force use.
    pub force_use: bool,
    /// Footer on/off.
    pub footer: bool,
    /// The footer's text.
    pub footer_text: Option<String>,
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: i32,
    /// Security name.
    pub security: String,
    /// Authentication name.
    pub auth: String,
    /// Login / mailbox.
    pub username: Option<String>,
    /// The OAuth2 profile.
    pub oauth2_profile_id: Option<i64>,
    /// Accept any certificate.
    pub ignore_cert_errors: bool,
    /// Last change.
    pub updated_at: i64,
}

/// Queries of the smtp_accounts table.
pub trait SmtpAccounts {
    /// Inserts an account; returns its id.
    fn account_insert(
        &mut self,
        settings: &AccountSettingsRow,
        password_enc: Option<&str>,
        now: i64,
    ) -> QueryResult<i64>;
    /// One account.
    fn account_get(&mut self, id: i64) -> QueryResult<Option<AccountRow>>;
    /// Whether another account (not `except`) has this name.
    fn account_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool>;
    /// A page of accounts by id after `cursor`.
    fn accounts_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<AccountRow>>;
    /// Every active account, by id.
    fn accounts_active(&mut self) -> QueryResult<Vec<AccountRow>>;
    /// Replaces an account's settings; the sealed password is replaced when `password` is
    /// `Some` (`Some(None)` clears it). Returns whether it existed.
    fn account_update(
        &mut self,
        id: i64,
        settings: &AccountSettingsRow,
        password: Option<Option<&str>>,
    ) -> QueryResult<bool>;
    /// Makes every account but `except` non-default.
    fn accounts_demote_defaults(&mut self, except: i64) -> QueryResult<()>;
    /// Deletes an account; returns whether it existed.
    fn account_delete(&mut self, id: i64) -> QueryResult<bool>;
}

for_both_backends! {
    impl SmtpAccounts {
        fn account_insert(&mut self, settings: &AccountSettingsRow, password_enc: Option<&str>, now: i64) -> QueryResult<i64> {
            diesel::insert_into(smtp_accounts::table)
                .values((settings, smtp_accounts::password_enc.eq(password_enc), smtp_accounts::created_at.eq(now)))
                .returning(smtp_accounts::id)
                .get_result(self)
        }

        fn account_get(&mut self, id: i64) -> QueryResult<Option<AccountRow>> {
            smtp_accounts::table.filter(smtp_accounts::id.eq(id)).select(AccountRow::as_select()).first(self).optional()
        }

        fn account_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool> {
            let found: Option<i64> = smtp_accounts::table
                .filter(smtp_accounts::name.eq(name))
                .filter(smtp_accounts::id.ne(except.unwrap_or(-1)))
                .select(smtp_accounts::id)
                .first(self)
                .optional()?;
            Ok(found.is_some())
        }

        fn accounts_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<AccountRow>> {
            smtp_accounts::table
                .filter(smtp_accounts::id.gt(cursor))
                .order(smtp_accounts::id)
                .limit(limit)
                .select(AccountRow::as_select())
                .load(self)
        }

        fn accounts_active(&mut self) -> QueryResult<Vec<AccountRow>> {
            smtp_accounts::table
                .filter(smtp_accounts::active.eq(true))
                .order(smtp_accounts::id)
                .select(AccountRow::as_select())
                .load(self)
        }

        fn account_update(&mut self, id: i64, settings: &AccountSettingsRow, password: Option<Option<&str>>) -> QueryResult<bool> {
            let target = smtp_accounts::table.filter(smtp_accounts::id.eq(id));
            let n = diesel::update(target).set(settings).execute(self)?;
            if let Some(password) = password {
                diesel::update(target).set(smtp_accounts::password_enc.eq(password)).execute(self)?;
            }
            Ok(n == 1)
        }

        fn accounts_demote_defaults(&mut self, except: i64) -> QueryResult<()> {
            diesel::update(smtp_accounts::table.filter(smtp_accounts::id.ne(except)).filter(smtp_accounts::is_default.eq(true)))
                .set(smtp_accounts::is_default.eq(false))
                .execute(self)
                .map(|_| ())
        }

        fn account_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(smtp_accounts::table.filter(smtp_accounts::id.eq(id))).execute(self).map(|n| n == 1)
        }

    }
}
