//! Authenticating a request: an `Api-Key` (cached per node for a few seconds) or an
//! administrator session cookie (with its CSRF token for changes).
//!
//! - The session cookie holds 32 random bytes (base32); the database keeps only their
//!   SHA-256. A session ends after `session_idle_s` idle seconds, after 12 hours in all, on
//!   logout, when the administrator's password, group or TOTP changes, and when the
//!   administrator gets locked.
//! - CSRF: a request authenticated by the cookie with a method other than GET/HEAD must send
//!   `X-CSRF-Token`, a value derived from the cookie (SHA-256 under a separate label) that the
//!   page learns from the login answer or `GET /v1/session`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sae_core::acl::AdminGroup;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::AppState;
use super::caller::{Caller, Principal};
use super::error::{Denial, ServiceError};
use crate::clock::UnixTime;
use crate::store::apikeys::{ApiKey, digest};
use crate::store::prelude::*;

/// How long a node trusts a cached API key lookup; a revocation reaches every node within it.
const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// A session ends this long after login, however active.
pub const MAX_SESSION_S: i64 = 12 * 3600;
/// The idle clock is written at most this often per session.
const TOUCH_EVERY_S: i64 = 15;

/// A cached API key with the administrator group it is bound to.
pub type CachedKey = (ApiKey, Option<Arc<AdminGroup>>);

/// A small TTL cache of API key lookups (on the server's clock).
///
/// `generation` counts [`KeyCache::clear`] calls: a lookup that began before a revocation
/// on this node and finishes after it is not cached, so a revoked key stops working here
/// at once (other nodes within [`KEY_CACHE_TTL`]).
#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<HashMap<String, (UnixTime, CachedKey)>>,
    generation: AtomicU64,
}

fn fresh(at: UnixTime, now: UnixTime) -> bool {
    now < at.plus(KEY_CACHE_TTL) && at <= now
}

impl KeyCache {
    /// A cached key, if it was looked up less than the TTL ago.
    fn get(&self, digest: &str, now: UnixTime) -> Option<CachedKey> {
        let map = self.inner.lock().ok()?;
        map.get(digest)
            .filter(|(at, _)| fresh(*at, now))
            .map(|(_, k)| k.clone())
    }

    /// Forgets every cached key (after a revocation on this node).
    pub fn clear(&self) {
        if let Ok(mut map) = self.inner.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }

    /// The generation a lookup starts in (pass it to [`KeyCache::put`]).
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a lookup that began in `generation`, unless the cache was cleared since.
    fn put(&self, generation: u64, digest: String, key: CachedKey, now: UnixTime) {
        if let Ok(mut map) = self.inner.lock() {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            if map.len() > 10_000 {
                map.retain(|_, (at, _)| fresh(*at, now));
            }
            map.insert(digest, (now, key));
        }
    }
}

/// Parses a stored group's ACL.
pub fn parse_group(id: i64, acl: &str) -> Result<Arc<AdminGroup>, ServiceError> {
    serde_json::from_str::<AdminGroup>(acl)
        .map(Arc::new)
        .map_err(|e| ServiceError::corrupt(format!("admin_groups.acl of group {id}"), e))
}

/// Loads an administrator group by id.
pub fn load_group(c: &mut dyn Conn, id: i64) -> Result<Arc<AdminGroup>, ServiceError> {
    let row = c
        .group_by_id(id)?
        .ok_or_else(|| ServiceError::corrupt("admin group", format!("group {id} is missing")))?;
    parse_group(id, &row.acl)
}

/// Authenticates an `Api-Key` header.
pub async fn api_key(
    state: &AppState,
    presented: &str,
    source: Option<String>,
) -> Result<Caller, ServiceError> {
    let digest = digest(presented);
    let now = state.now();
    if let Some((key, group)) = state.key_cache.get(&digest, now) {
        return Ok(Caller {
            principal: Principal::Key(key),
            group,
            source,
        });
    }
    let generation = state.key_cache.generation();
    let lookup = digest.clone();
    let found = state
        .store
        .read(move |c| {
            let Some(key) = c.apikey_live(&lookup)? else {
                return Ok(None);
            };
            let group = match key.group_id {
                Some(id) => Some(load_group(c, id)?),
                None => None,
            };
            Ok::<_, ServiceError>(Some((key, group)))
        })
        .await?;
    let (key, group) = found.ok_or(ServiceError::Unauthenticated)?;
    state
        .key_cache
        .put(generation, digest, (key.clone(), group.clone()), now);
    Ok(Caller {
        principal: Principal::Key(key),
        group,
        source,
    })
}

/// A session cookie as presented with a request.
#[derive(Debug)]
pub struct PresentedSession {
    /// The cookie's value.
    pub token: Zeroizing<String>,
    /// Whether the method changes something (not GET/HEAD).
    pub unsafe_method: bool,
    /// The `X-CSRF-Token` header.
    pub csrf: Option<String>,
}

/// The CSRF token that goes with a session token.
pub fn csrf_for(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sae-csrf\0");
    h.update(token.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// Authenticates a request by its session cookie.
pub async fn session(
    state: &AppState,
    p: PresentedSession,
    source: Option<String>,
) -> Result<Caller, ServiceError> {
    if p.unsafe_method {
        let expected = csrf_for(&p.token);
        let ok = p
            .csrf
            .as_deref()
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
        if !ok {
            return Err(ServiceError::Denied {
                kind: Denial::Csrf,
                field: None,
                detail: "requests with a session cookie must send the X-CSRF-Token header \
                         given at login"
                    .into(),
            });
        }
    }
    let digest = digest(&p.token);
    let idle = i64::from(state.config.session_idle_s);
    let now = state.now().secs();
    let lookup = digest.clone();
    let found = state
        .store
        .read(move |c| {
            let Some((created_at, last_seen, admin)) = c.session_get(&lookup)? else {
                return Ok(None);
            };
            let group = match admin.group_id {
                Some(id) => Some(load_group(c, id)?),
                None => None,
            };
            Ok::<_, ServiceError>(Some((created_at, last_seen, admin, group)))
        })
        .await?;
    let Some((created_at, last_seen, admin, group)) = found else {
        return Err(ServiceError::Unauthenticated);
    };
    if now - last_seen > idle || now - created_at > MAX_SESSION_S {
        state
            .store
            .write(move |c| Ok::<_, ServiceError>(c.session_end(&digest)?))
            .await?;
        return Err(ServiceError::Unauthenticated);
    }
    if now - last_seen >= TOUCH_EVERY_S.min(idle / 2) {
        state
            .store
            .write(move |c| Ok::<_, ServiceError>(c.session_touch(&digest, now)?))
            .await?;
    }
    Ok(Caller {
        principal: Principal::Admin {
            id: admin.id,
            login: admin.login,
        },
        group,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CachedKey {
        let key = ApiKey {
            id: 1,
            name: "app".into(),
            scope: "otp".into(),
            prefix: "sae_abc".into(),
            group_id: None,
            created_at: 0,
            revoked_at: None,
        };
        (key, None)
    }

    #[test]
    fn a_lookup_that_began_before_a_revocation_is_not_cached() {
        let cache = KeyCache::default();
        let now = UnixTime::from_millis(1_000_000);
        // A request looks the key up; meanwhile the key is revoked on this node...
        let before = cache.generation();
        cache.clear();
        // ...and the lookup, read before the revocation, finishes last.
        cache.put(before, "d".into(), key(), now);
        assert!(
            cache.get("d", now).is_none(),
            "the revoked key is not served"
        );
        let after = cache.generation();
        cache.put(after, "d".into(), key(), now);
        assert!(cache.get("d", now).is_some());
    }
}
