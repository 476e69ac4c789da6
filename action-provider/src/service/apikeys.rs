//! API keys (`/v1/apikeys`, `sae apikey …`): long random keys stored as SHA-256 digests,
//! shown once, revocable, scoped (`otp` for applications, `admin` for configuration).

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::store::apikeys::{ApiKey, NewApiKey, Scope, digest};
use crate::store::prelude::*;

/// `POST /v1/apikeys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name to recognise the key by (1..=100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// `otp` (applications) or `admin` (configuration).
    #[schema(value_type = super::input::words::KeyScope)]
    pub scope: String,
    /// For an `admin` key: the administrator group whose ACL it acts with (default: System
    /// Administrator).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub group: Option<String>,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Id (for revocation).
    pub id: i64,
    /// Name.
    pub name: String,
    /// `otp` or `admin`.
    pub scope: String,
    /// First characters of the key.
    pub prefix: String,
    /// Administrator group of an `admin` key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// The key: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn view(k: ApiKey, key: Option<String>, group: Option<String>) -> KeyView {
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    KeyView {
        group,
        id: k.id,
        name: k.name,
        scope: k.scope,
        prefix: k.prefix,
        created_at: time(k.created_at),
        revoked_at: k.revoked_at.map(time),
        key,
    }
}

/// Creates a key (inside the caller's transaction); returns the row and the key, to show
/// once. Used by the API, `sae apikey create` and the first start.
pub fn issue(
    c: &mut dyn Conn,
    name: &str,
    scope: Scope,
    group_id: Option<i64>,
    now: UnixTime,
) -> Result<(ApiKey, Zeroizing<String>), ServiceError> {
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
    let row = c.apikey_insert(&NewApiKey {
        name,
        scope: scope.as_str(),
        digest: &digest,
        prefix: &prefix,
        group_id,
        created_at: now.secs(),
    })?;
    Ok((row, key))
}

/// Creates an API key; the key is in this answer only.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: CreateKey,
) -> Result<KeyView, ServiceError> {
    caller.require_admin()?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ServiceError::field(
            "name",
            "name: 1 to 100 printable characters",
        ));
    }
    let scope = Scope::parse(&body.scope)
        .ok_or_else(|| ServiceError::field("scope", "scope: otp or admin"))?;
    if body.group.is_some() && scope != Scope::Admin {
        return Err(ServiceError::field(
            "group",
            "group: only admin keys act for a group",
        ));
    }
    let now = state.now();
    let audit = caller
        .audit("apikey.create", now)
        .subject(format!("apikey:{name}"));
    state
        .store
        .write(move |c| {
            let group = match &body.group {
                Some(g) => Some(super::admins::group_id(c, g, "group")?),
                None => None,
            };
            let (row, key) = issue(c, &name, scope, group.flatten(), now)?;
            audit.write(c)?;
            let group_name = body.group.as_ref().map(|_| match group.flatten() {
                Some(_) => body.group.clone().unwrap_or_default(),
                None => sae_core::acl::SYSTEM_ADMINISTRATOR.to_owned(),
            });
            Ok(view(row, Some(key.to_string()), group_name))
        })
        .await
}

/// Lists API keys (never the keys themselves).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<KeyView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.apikeys_page(page.cursor, page.fetch())?))
        .await?;
    Ok(Page::cut(rows, page, |(k, _)| k.id).map(|(k, group)| {
        let group = k
            .group_id
            .map(|id| group.unwrap_or_else(|| format!("#{id}")));
        view(k, None, group)
    }))
}

/// Revokes an API key (every node stops accepting it within 5 seconds).
pub async fn revoke(state: &AppState, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let now = state.now();
    let audit = caller
        .audit("apikey.revoke", now)
        .subject(format!("apikey-id:{id}"));
    state
        .store
        .write(move |c| {
            if !c.apikey_revoke(id, now.secs())? {
                return Err(ServiceError::not_found(format!("no live API key {id}")));
            }
            audit.write(c)?;
            Ok(())
        })
        .await?;
    state.key_cache.clear();
    Ok(())
}
