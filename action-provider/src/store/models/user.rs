//! The `users` table's rows.

use diesel::prelude::*;

use crate::store::schema::users;

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
    pub pwd_last_failure: Option<i64>,
    /// OTP failures in a row.
    pub otp_failures: i32,
    /// Last OTP failure.
    pub otp_last_failure: Option<i64>,
    /// Hash failures in a row.
    pub hash_failures: i32,
    /// Last hash failure.
    pub hash_last_failure: Option<i64>,
    /// When the current lock was set.
    pub locked_at: Option<i64>,
    /// When a temporary lock ends (NULL with `locked_at` set: permanent).
    pub locked_until: Option<i64>,
    /// Which factor's counter caused the lock.
    pub lock_factor: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
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
    /// Last change.
    pub updated_at: Option<i64>,
}
