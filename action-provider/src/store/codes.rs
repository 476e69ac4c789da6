//! The `issued_codes` table: SMS/e-mail codes, stored only as keyed MACs.

use diesel::prelude::*;

use super::fixed::{Bind, Fixed};
use super::schema::{issued_codes, users};

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

/// Queries of the issued_codes table.
pub trait Codes {
    /// Records an issued code.
    fn code_insert(&mut self, code: &NewIssuedCode) -> QueryResult<i64>;
    /// A user's most recent issued codes (used, expired or live), newest first, at most `limit`.
    fn codes_recent(&mut self, user_id: i64, limit: i64) -> QueryResult<Vec<IssuedCode>>;
    /// Marks code `id` used if it is unused (compare-and-set), and every older unused code
    /// of the user with it; returns whether this call used code `id`.
    fn code_consume(&mut self, user_id: i64, id: i64, now: i64) -> QueryResult<bool>;
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
    /// The request of the newest e-mail code issued since `since` to a user whose
    /// normalised address is `email_norm` (a bounce that names no request).
    fn code_latest_email(&mut self, email_norm: &str, since: i64) -> QueryResult<Option<String>>;
    /// The code issued for a request, with its owner.
    fn code_of_request(&mut self, request_id: &str) -> QueryResult<Option<(IssuedCode, i64)>>;
    /// Replaces the code of a request that is still unused and unexpired at `now` (same
    /// request, same expiry; a new MAC and channel). Returns whether it did.
    fn code_reissue(
        &mut self,
        request_id: &str,
        channel: &str,
        code_mac: &str,
        key_id: &str,
        now: i64,
    ) -> QueryResult<bool>;
}

/// The insert of an issued code, up to its first value (seven values follow, as
/// [`code_binds`] binds them).
pub(super) const CODE_INSERT: &str = "INSERT INTO issued_codes (request_id, user_id, channel, \
     code_mac, key_id, created_at, expires_at) VALUES (";

/// The values of an issued code's insert, in [`CODE_INSERT`]'s order.
pub(super) fn code_binds(code: &NewIssuedCode) -> [Bind<'_>; 7] {
    [
        Bind::Text(&code.request_id),
        Bind::Int(code.user_id),
        Bind::Text(&code.channel),
        Bind::Text(&code.code_mac),
        Bind::Text(&code.key_id),
        Bind::Int(code.created_at),
        Bind::Int(code.expires_at),
    ]
}

for_both_backends! {
    impl Codes {
        fn code_insert(&mut self, code: &NewIssuedCode) -> QueryResult<i64> {
            // Fixed text, so the connection keeps it prepared (see `store::fixed`).
            let mut parts = [", "; 8];
            parts[0] = CODE_INSERT;
            parts[7] = ") RETURNING id";
            let binds = code_binds(code);
            Fixed::<diesel::sql_types::BigInt>::new(&parts, &binds).get_result(self)
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
            // Fixed text, so the connection keeps both prepared (see `store::fixed`).
            let claim = [
                "UPDATE issued_codes SET used_at = ",
                " WHERE id = ",
                " AND used_at IS NULL",
            ];
            let used = Fixed::<()>::new(&claim, &[Bind::Int(now), Bind::Int(id)]).execute(self)?;
            if used != 1 {
                return Ok(false);
            }
            // The user's older codes are spent with it.
            let older = [
                "UPDATE issued_codes SET used_at = ",
                " WHERE user_id = ",
                " AND id < ",
                " AND used_at IS NULL",
            ];
            Fixed::<()>::new(&older, &[Bind::Int(now), Bind::Int(user_id), Bind::Int(id)]).execute(self)?;
            Ok(true)
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

        fn code_latest_email(&mut self, email_norm: &str, since: i64) -> QueryResult<Option<String>> {
            issued_codes::table
                .inner_join(users::table)
                .filter(users::email_norm.eq(email_norm))
                .filter(issued_codes::channel.eq("email"))
                .filter(issued_codes::created_at.ge(since))
                .order(issued_codes::id.desc())
                .select(issued_codes::request_id)
                .first(self)
                .optional()
        }

        fn code_of_request(&mut self, request_id: &str) -> QueryResult<Option<(IssuedCode, i64)>> {
            issued_codes::table
                .filter(issued_codes::request_id.eq(request_id))
                .order(issued_codes::id.desc())
                .select((IssuedCode::as_select(), issued_codes::user_id))
                .first(self)
                .optional()
        }

        fn code_reissue(&mut self, request_id: &str, channel: &str, code_mac: &str, key_id: &str, now: i64) -> QueryResult<bool> {
            diesel::update(
                issued_codes::table
                    .filter(issued_codes::request_id.eq(request_id))
                    .filter(issued_codes::used_at.is_null())
                    .filter(issued_codes::expires_at.gt(now)),
            )
            .set((
                issued_codes::channel.eq(channel),
                issued_codes::code_mac.eq(code_mac),
                issued_codes::key_id.eq(key_id),
            ))
            .execute(self)
            .map(|n| n == 1)
        }
    }
}
