//! The `api_keys` table: long random keys stored as SHA-256 digests, shown once.

use diesel::prelude::*;
use sha2::{Digest as _, Sha256};

use super::schema::{admin_groups, api_keys};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Applications: request and validate second factors, check passwords.
    Otp,
    /// Configuration and administration (includes everything `otp` may do).
    Admin,
}

impl Scope {
    /// The stored / displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Admin => "admin",
        }
    }

    /// Parses `otp` or `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "otp" => Some(Self::Otp),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A stored API key (without the key itself).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// Name given at creation.
    pub name: String,
    /// `otp` or `admin`.
    pub scope: String,
    /// First characters of the key, to recognise it in listings.
    pub prefix: String,
    /// Administrator group the key acts as (`None`: System Administrator for admin keys).
    pub group_id: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// An API key to insert (its digest only).
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    /// Name.
    pub name: &'a str,
    /// `otp` or `admin`.
    pub scope: &'a str,
    /// SHA-256 of the key (hex), see [`digest`].
    pub digest: &'a str,
    /// First characters of the key.
    pub prefix: &'a str,
    /// Administrator group.
    pub group_id: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// The SHA-256 digest (hex) under which a presented key (or session cookie) is looked up.
pub fn digest(key: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(key.as_bytes()))
}

/// Queries of the api_keys table.
pub trait ApiKeys {
    /// Inserts a key.
    fn apikey_insert(&mut self, new: &NewApiKey<'_>) -> QueryResult<ApiKey>;
    /// The live (unrevoked) key with this digest.
    fn apikey_live(&mut self, digest: &str) -> QueryResult<Option<ApiKey>>;
    /// Keys (revoked ones too) after `cursor`, oldest first, with their group's name.
    fn apikeys_page(
        &mut self,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<(ApiKey, Option<String>)>>;
    /// Number of keys ever created.
    fn apikeys_count(&mut self) -> QueryResult<i64>;
    /// Revokes key `id`; returns whether a live key was revoked.
    fn apikey_revoke(&mut self, id: i64, now: i64) -> QueryResult<bool>;
}

for_both_backends! {
    impl ApiKeys {
        fn apikey_insert(&mut self, new: &NewApiKey<'_>) -> QueryResult<ApiKey> {
            diesel::insert_into(api_keys::table)
                .values(new)
                .returning(ApiKey::as_returning())
                .get_result(self)
        }

        fn apikey_live(&mut self, digest: &str) -> QueryResult<Option<ApiKey>> {
            api_keys::table
                .filter(api_keys::digest.eq(digest))
                .filter(api_keys::revoked_at.is_null())
                .select(ApiKey::as_select())
                .first(self)
                .optional()
        }

        fn apikeys_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<(ApiKey, Option<String>)>> {
            api_keys::table
                .left_join(admin_groups::table)
                .filter(api_keys::id.gt(cursor))
                .order(api_keys::id)
                .limit(limit)
                .select((ApiKey::as_select(), admin_groups::name.nullable()))
                .load(self)
        }

        fn apikeys_count(&mut self) -> QueryResult<i64> {
            api_keys::table.count().get_result(self)
        }

        fn apikey_revoke(&mut self, id: i64, now: i64) -> QueryResult<bool> {
            diesel::update(api_keys::table.filter(api_keys::id.eq(id)).filter(api_keys::revoked_at.is_null()))
                .set(api_keys::revoked_at.eq(now))
                .execute(self)
                .map(|n| n == 1)
        }
    }
}
