//! API keys: long random tokens stored as SHA-256 digests, shown once.

use diesel::prelude::*;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::schema::api_keys;
use super::{DbConn, StoreError};
use crate::{with_conn, write_tx};

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

#[derive(Insertable)]
#[diesel(table_name = api_keys)]
struct NewApiKey<'a> {
    name: &'a str,
    scope: &'a str,
    digest: &'a str,
    prefix: &'a str,
    group_id: Option<i64>,
    created_at: i64,
}

/// The SHA-256 digest (hex) under which a presented key is looked up.
pub fn digest(key: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(key.as_bytes()))
}

/// Creates a key; returns the stored row and the key (to show once).
pub fn create(
    conn: &mut DbConn,
    name: &str,
    scope: Scope,
    group_id: Option<i64>,
    now: i64,
) -> Result<(ApiKey, Zeroizing<String>), StoreError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    crate::crypto::os_rng().fill_bytes(raw.as_mut());
    let key = Zeroizing::new(format!(
        "sae_{}",
        data_encoding::BASE32_NOPAD
            .encode(raw.as_ref())
            .to_lowercase()
    ));
    let digest = digest(&key);
    let prefix: String = key.chars().take(10).collect();
    let row = NewApiKey {
        name,
        scope: scope.as_str(),
        digest: &digest,
        prefix: &prefix,
        group_id,
        created_at: now,
    };
    let stored = write_tx!(conn, |c| {
        diesel::insert_into(api_keys::table)
            .values(&row)
            .returning(ApiKey::as_returning())
            .get_result(c)
    })?;
    Ok((stored, key))
}

/// Finds the live (unrevoked) key with this digest.
pub fn find_live(conn: &mut DbConn, digest: &str) -> Result<Option<ApiKey>, StoreError> {
    let found = with_conn!(conn, |c| {
        api_keys::table
            .filter(api_keys::digest.eq(digest))
            .filter(api_keys::revoked_at.is_null())
            .select(ApiKey::as_select())
            .first(c)
            .optional()
    })?;
    Ok(found)
}

/// Every key (revoked ones too), oldest first, after `cursor`.
pub fn list(conn: &mut DbConn, cursor: i64, limit: i64) -> Result<Vec<ApiKey>, StoreError> {
    let rows = with_conn!(conn, |c| {
        api_keys::table
            .filter(api_keys::id.gt(cursor))
            .order(api_keys::id)
            .limit(limit)
            .select(ApiKey::as_select())
            .load(c)
    })?;
    Ok(rows)
}

/// Revokes key `id`; returns whether a live key was revoked.
pub fn revoke(conn: &mut DbConn, id: i64, now: i64) -> Result<bool, StoreError> {
    let n = write_tx!(conn, |c| {
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(c)
    })?;
    Ok(n == 1)
}
