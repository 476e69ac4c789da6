//! The `tokens` and `issued_codes` tables' rows.

use diesel::prelude::*;

use crate::store::schema::{issued_codes, tokens};

/// An OTP credential as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct Token {
    /// Random id (hex).
    pub id: String,
    /// Owner.
    pub user_id: i64,
    /// Device name, if the token belongs to a device.
    pub device: Option<String>,
    /// `totp`, `hotp` or `opie`.
    pub kind: String,
    /// `sha1`/`sha256`/`sha512`, or `md4`/`md5`/`sha1` for OPIE.
    pub algorithm: String,
    /// Code length (TOTP/HOTP).
    pub digits: i32,
    /// Time step (TOTP).
    pub period: i32,
    /// T0 (TOTP).
    pub t0: i64,
    /// Sealed secret (TOTP/HOTP).
    pub secret_enc: Option<String>,
    /// Last accepted counter or step (order-preserving encoding).
    pub last_counter: Option<i64>,
    /// OPIE seed.
    pub opie_seed: Option<String>,
    /// OPIE sequence count of the stored OTP.
    pub opie_count: Option<i32>,
    /// OPIE stored OTP (hex).
    pub opie_last: Option<String>,
    /// Active.
    pub active: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last successful use.
    pub last_used_at: Option<i64>,
}

/// An issued SMS/e-mail code as stored (only its MAC).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = issued_codes)]
pub struct IssuedCode {
    /// Row id (issue order).
    pub id: i64,
    /// Request id given to the caller.
    pub request_id: String,
    /// HMAC of the code.
    pub code_mac: String,
    /// Keyring key the MAC was made with.
    pub key_id: String,
    /// Expiry.
    pub expires_at: i64,
    /// When used (or superseded by a newer code's use).
    pub used_at: Option<i64>,
}

/// An issued code to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = issued_codes)]
pub struct NewIssuedCode {
    /// Request id.
    pub request_id: String,
    /// Owner.
    pub user_id: i64,
    /// Channel.
    pub channel: String,
    /// HMAC of the code.
    pub code_mac: String,
    /// Key id.
    pub key_id: String,
    /// Issue time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}
