//! The configuration the flows obey, cached per node.
//!
//! Documents live in the `settings` table as JSON. A node keeps the parsed [`Policies`] and
//! re-reads them when the documents' versions change; it checks the versions at most once
//! per [`REFRESH`], and at once after its own writes. So a change made on one node reaches
//! every other node within a second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sae_core::config::ImConfig;
use sae_core::lockout::{AdminLockout, LockoutConfig};
use sae_core::password::policy::PasswordPolicy;
use sae_core::rules::authsys::AuthsysRules;
use sae_core::rules::mfa::MfaRules;
use sae_core::template::MessageTemplates;
use serde::de::DeserializeOwned;

use crate::clock::UnixTime;
use crate::store::prelude::*;
use crate::store::{Store, StoreError};

/// How often a node checks whether another node changed the configuration.
pub const REFRESH: Duration = crate::clock::SETTINGS_REFRESH;

/// Names of the configuration documents.
pub mod doc {
    /// IM configuration.
    pub const IM: &str = "im";
    /// Lockout and throttle.
    pub const LOCKOUT: &str = "lockout";
    /// Administrators' lockout and throttle.
    pub const ADMIN_LOCKOUT: &str = "admin_lockout";
    /// Global password rule.
    pub const GLOBAL: &str = "policy.global";
    /// AuthSys password rules.
    pub const AUTHSYS: &str = "policy.authsys";
    /// MFA "hash always present" rules.
    pub const MFA: &str = "policy.mfa";
    /// Message templates.
    pub const MESSAGES: &str = "messages";
    /// Retention of audit records and delivery reports.
    pub const RETENTION: &str = "retention";
}

/// Every policy a flow needs, parsed and validated.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// IM configuration.
    pub im: ImConfig,
    /// Lockout and throttling of users.
    pub lockout: LockoutConfig,
    /// Lockout and throttling of administrators (temporary only).
    pub admin_lockout: AdminLockout,
    /// Global password rule.
    pub global: PasswordPolicy,
    /// AuthSys password rules.
    pub authsys: AuthsysRules<PasswordPolicy>,
    /// MFA rules.
    pub mfa: MfaRules,
    /// Message templates.
    pub messages: MessageTemplates,
    /// Retention of audit records and delivery reports.
    pub retention: Retention,
}

/// How long audit records and delivery reports are kept (days; 0 keeps them forever).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days of audit records to keep (default 365; 0 = forever; at most 3650).
    #[serde(default = "default_audit_days")]
    #[schema(maximum = 3650)]
    pub audit_days: u32,
    /// Days of delivery reports to keep (default 90; 0 = forever; at most 3650).
    #[serde(default = "default_delivery_days")]
    #[schema(maximum = 3650)]
    pub deliveries_days: u32,
}

fn default_audit_days() -> u32 {
    365
}

fn default_delivery_days() -> u32 {
    90
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            audit_days: default_audit_days(),
            deliveries_days: default_delivery_days(),
        }
    }
}

impl Policies {
    /// The password rule for a user with these AuthSys names: the first enabled AuthSys
    /// rule that matches, else the global rule.
    pub fn password_policy<S: AsRef<str>>(&self, authsys: &[S]) -> &PasswordPolicy {
        self.authsys.effective(&self.global, authsys).0
    }
}

struct Cached {
    checked: UnixTime,
    versions: Vec<(String, i64)>,
    policies: Arc<Policies>,
}

/// The per-node cache of [`Policies`].
///
/// A read that started before this node's own write may finish after it: `generation`
/// counts [`PolicyCache::invalidate`] calls, and a read stores what it loaded only if no
/// invalidation happened since it began, so a change made here holds from the answer to
/// the change on (a stale read could otherwise be cached for up to [`REFRESH`]).
#[derive(Default)]
pub struct PolicyCache {
    inner: RwLock<Option<Cached>>,
    generation: AtomicU64,
}

fn parse<T: DeserializeOwned + Default>(
    name: &str,
    stored: Option<(String, i64)>,
) -> Result<T, StoreError> {
    match stored {
        None => Ok(T::default()),
        Some((json, _)) => serde_json::from_str(&json)
            .map_err(|e| StoreError::corrupt(format!("settings.{name}"), e)),
    }
}

impl PolicyCache {
    /// The current policies: the cached ones if checked less than [`REFRESH`] ago or if the
    /// stored versions are unchanged, else freshly read.
    pub async fn get(&self, store: &Store, now: UnixTime) -> Result<Arc<Policies>, StoreError> {
        if let Some(p) = self.fresh(now) {
            return Ok(p);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let versions = store
            .read(|c| Ok::<_, StoreError>(c.settings_versions()?))
            .await?;
        if let Some(p) = self.confirm(generation, &versions, now) {
            return Ok(p);
        }
        let policies = Arc::new(store.read(|c| load(c)).await?);
        self.store(generation, versions, policies.clone(), now);
        Ok(policies)
    }

    /// The cached policies when their versions are still `versions` (marked checked at
    /// `now`), unless the cache was invalidated since `generation` was read.
    fn confirm(
        &self,
        generation: u64,
        versions: &[(String, i64)],
        now: UnixTime,
    ) -> Option<Arc<Policies>> {
        let mut guard = self.inner.write().ok()?;
        if self.generation.load(Ordering::Acquire) != generation {
            return None;
        }
        let c = guard.as_mut().filter(|c| c.versions == versions)?;
        c.checked = now;
        Some(c.policies.clone())
    }

    /// Caches `policies`, read at `versions`, unless the cache was invalidated since
    /// `generation` was read (the read may predate this node's last write).
    fn store(
        &self,
        generation: u64,
        versions: Vec<(String, i64)>,
        policies: Arc<Policies>,
        now: UnixTime,
    ) {
        if let Ok(mut guard) = self.inner.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            *guard = Some(Cached {
                checked: now,
                versions,
                policies,
            });
        }
    }

    fn fresh(&self, now: UnixTime) -> Option<Arc<Policies>> {
        let guard = self.inner.read().ok()?;
        let c = guard
            .as_ref()
            .filter(|c| c.checked <= now && now < c.checked.plus(REFRESH))?;
        Some(c.policies.clone())
    }

    /// Forgets the cached policies (after this node changed one).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.inner.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            *guard = None;
        }
    }
}

/// Reads and parses every document inside the caller's connection or transaction.
pub fn load(c: &mut dyn Conn) -> Result<Policies, StoreError> {
    Ok(Policies {
        im: parse(doc::IM, c.setting_get(doc::IM)?)?,
        lockout: parse(doc::LOCKOUT, c.setting_get(doc::LOCKOUT)?)?,
        admin_lockout: parse(doc::ADMIN_LOCKOUT, c.setting_get(doc::ADMIN_LOCKOUT)?)?,
        global: parse(doc::GLOBAL, c.setting_get(doc::GLOBAL)?)?,
        authsys: parse(doc::AUTHSYS, c.setting_get(doc::AUTHSYS)?)?,
        mfa: parse(doc::MFA, c.setting_get(doc::MFA)?)?,
        messages: parse(doc::MESSAGES, c.setting_get(doc::MESSAGES)?)?,
        retention: parse(doc::RETENTION, c.setting_get(doc::RETENTION)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeping_audit_days(days: u32) -> Arc<Policies> {
        let mut p = Policies::default();
        p.retention.audit_days = days;
        Arc::new(p)
    }

    #[test]
    fn a_read_that_began_before_an_invalidation_is_not_cached() {
        let cache = PolicyCache::default();
        let now = UnixTime::from_millis(1_000_000);
        // A background read starts, the node then writes a document and invalidates...
        let before = cache.generation.load(Ordering::Acquire);
        cache.invalidate();
        // ...and the old read finishes last: what it read must not be served.
        cache.store(before, vec![], keeping_audit_days(99), now);
        assert!(cache.fresh(now).is_none());
        assert!(cache.confirm(before, &[], now).is_none());
        // A read that began after the invalidation is cached as usual.
        let after = cache.generation.load(Ordering::Acquire);
        cache.store(after, vec![], keeping_audit_days(3), now);
        assert_eq!(cache.fresh(now).map(|p| p.retention.audit_days), Some(3));
        assert_eq!(
            cache
                .confirm(after, &[], now)
                .map(|p| p.retention.audit_days),
            Some(3)
        );
    }
}
