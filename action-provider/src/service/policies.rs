//! The configuration the flows obey, cached per node.
//!
//! Documents live in the `settings` table as JSON. A node keeps the parsed [`Policies`] and
//! re-reads them when the documents' versions change; it checks the versions at most once
//! per [`REFRESH`], and at once after its own writes ([`crate::cache`]). So a change made on one node reaches
//! every other node within a second.

use std::sync::Arc;
use std::time::Duration;

use sae_core::config::ImConfig;
use sae_core::lockout::{AdminLockout, LockoutConfig};
use sae_core::password::policy::PasswordPolicy;
use sae_core::rules::authsys::AuthsysRules;
use sae_core::rules::mfa::MfaRules;
use sae_core::template::MessageTemplates;
use serde::de::DeserializeOwned;

use crate::cache::VersionedCache;
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

/// The per-node cache of [`Policies`], keyed by the stored documents' versions (the rule of
/// [`VersionedCache`]: checked once per [`REFRESH`], dropped at once after this node's own
/// change).
#[derive(Default)]
pub struct PolicyCache(VersionedCache<Vec<(String, i64)>, Arc<Policies>>);

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
        let versions = async {
            let v = store
                .read(|c| Ok::<_, StoreError>(c.settings_versions()?))
                .await?;
            Ok::<_, StoreError>(Some(v))
        };
        let load = |versions| async move {
            let policies = Arc::new(store.read(|c| load(c)).await?);
            Ok::<_, StoreError>(Some((versions, policies)))
        };
        // Every set of versions (even none stored) has its policies: `get` never says None.
        Ok(self.0.get(now, versions, load).await?.unwrap_or_default())
    }

    /// Forgets the cached policies (after this node changed one).
    pub fn invalidate(&self) {
        self.0.invalidate();
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
