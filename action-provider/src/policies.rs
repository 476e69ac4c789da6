//! The configuration the flows obey, cached per node.
//!
//! Documents live in the `settings` table as JSON. A node keeps the parsed [`Policies`] and
//! re-reads them when the documents' versions change; it checks the versions at most once
//! per [`REFRESH`], and at once after its own writes. So a change made on one node reaches
//! every other node within a second.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sae_core::config::ImConfig;
use sae_core::lockout::LockoutConfig;
use sae_core::password::policy::PasswordPolicy;
use sae_core::rules::authsys::AuthsysRules;
use sae_core::rules::mfa::MfaRules;
use sae_core::template::MessageTemplates;
use serde::de::DeserializeOwned;

use crate::store::{DbPool, Ops, StoreError};
use crate::with_conn;

/// How often a node checks whether another node changed the configuration.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Names of the configuration documents.
pub mod doc {
    /// IM configuration.
    pub const IM: &str = "im";
    /// Lockout and throttle.
    pub const LOCKOUT: &str = "lockout";
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
    /// Lockout and throttling.
    pub lockout: LockoutConfig,
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
    pub audit_days: u32,
    /// Days of delivery reports to keep (default 90; 0 = forever; at most 3650).
    #[serde(default = "default_delivery_days")]
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
    checked: Instant,
    versions: Vec<(String, i64)>,
    policies: Arc<Policies>,
}

/// The per-node cache of [`Policies`].
#[derive(Default)]
pub struct PolicyCache {
    inner: RwLock<Option<Cached>>,
}

fn parse<T: DeserializeOwned + Default>(
    name: &str,
    stored: Option<(String, i64)>,
) -> Result<T, StoreError> {
    match stored {
        None => Ok(T::default()),
        Some((json, _)) => serde_json::from_str(&json).map_err(|e| {
            StoreError::Pool(format!(
                "stored configuration {name:?} is not valid any more: {e}"
            ))
        }),
    }
}

impl PolicyCache {
    /// The current policies (blocking: call from a blocking thread).
    pub fn get(&self, pool: &DbPool) -> Result<Arc<Policies>, StoreError> {
        if let Ok(guard) = self.inner.read()
            && let Some(c) = guard.as_ref().filter(|c| c.checked.elapsed() < REFRESH)
        {
            return Ok(c.policies.clone());
        }
        let mut conn = pool.get()?;
        let versions = with_conn!(&mut conn, |c| c.settings_versions())?;
        if let Ok(mut guard) = self.inner.write()
            && let Some(c) = guard.as_mut().filter(|c| c.versions == versions)
        {
            c.checked = Instant::now();
            return Ok(c.policies.clone());
        }
        let policies = Arc::new(with_conn!(&mut conn, |c| load(c))?);
        if let Ok(mut guard) = self.inner.write() {
            *guard = Some(Cached {
                checked: Instant::now(),
                versions,
                policies: policies.clone(),
            });
        }
        Ok(policies)
    }

    /// Forgets the cached policies (after this node changed one).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.inner.write() {
            *guard = None;
        }
    }
}

/// Reads and parses every document inside the caller's connection or transaction.
pub fn load<C: Ops>(c: &mut C) -> Result<Policies, StoreError> {
    Ok(Policies {
        im: parse(doc::IM, c.setting_get(doc::IM)?)?,
        lockout: parse(doc::LOCKOUT, c.setting_get(doc::LOCKOUT)?)?,
        global: parse(doc::GLOBAL, c.setting_get(doc::GLOBAL)?)?,
        authsys: parse(doc::AUTHSYS, c.setting_get(doc::AUTHSYS)?)?,
        mfa: parse(doc::MFA, c.setting_get(doc::MFA)?)?,
        messages: parse(doc::MESSAGES, c.setting_get(doc::MESSAGES)?)?,
        retention: parse(doc::RETENTION, c.setting_get(doc::RETENTION)?)?,
    })
}
