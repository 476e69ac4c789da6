//! The service layer: every flow and every decision that needs the store — validation of
//! second factors, code requests, passwords, the MFA hash, enrolment, administrator login,
//! configuration changes, the audit trail. It knows nothing of HTTP: it takes typed input,
//! answers typed output or a [`ServiceError`], and is called by the `http` layer and the
//! CLI alike (and by in-process tests, with a [`ManualClock`](crate::clock::ManualClock)).

pub mod admin_login;
pub mod admins;
pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod bounces;
pub mod caller;
pub mod config;
pub mod credentials;
pub mod dashboard;
pub mod decision;
pub mod delivery;
pub mod devices;
pub mod enrol;
pub mod error;
pub mod gate;
pub mod hash_auth;
pub mod import;
pub mod inbound;
pub mod input;
pub mod inventory;
pub mod logins;
pub mod messages;
pub mod metrics;
pub mod notifications;
pub mod oauth2;
pub mod oauth2_callback;
pub mod oauth2_jwt;
pub mod oauth2_presets;
pub mod oauth2_refresh;
pub mod oauth2_verify;
pub mod otp_request;
pub mod otp_validate;
pub mod page;
pub mod password;
pub mod policies;
pub mod resync;
pub mod retention;
pub mod rules;
pub mod schemas;
pub mod schemas_mail;
pub mod schemas_sms;
pub mod smtp;
pub mod tokens;
pub mod user_list;
pub mod user_rows;
pub mod users;
pub mod wallets;

use std::sync::{Arc, RwLock};

pub use error::ServiceError;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::Config;
use crate::crypto::{Keyring, SharedKeyring};
use crate::metrics::Metrics;
use crate::outbox;
use crate::store::Store;

/// State shared by every request: the store, the keyring, the clock and the per-node caches.
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Master keyring (reloaded on SIGHUP and periodically).
    pub keyring: SharedKeyring,
    /// Resolved configuration.
    pub config: Config,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// Recently seen API keys, by digest.
    pub key_cache: auth::KeyCache,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// Parsed configuration documents.
    pub policies: policies::PolicyCache,
    /// Wakes the outbox worker when a job is queued on this node.
    pub outbox_notify: Arc<tokio::sync::Notify>,
    /// Code requests hand their jobs to this node's outbox worker here.
    pub outbox_handoff: outbox::handoff::Handoff,
    /// Wakes the import worker when an upload is complete on this node.
    pub jobs_notify: Arc<tokio::sync::Notify>,
    /// Bounds concurrent password hashing (argon2 uses ~19 MiB and a core per hash).
    pub hash_slots: tokio::sync::Semaphore,
    /// SMS configuration cache.
    pub sms: Arc<outbox::sms::SmsState>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for a store, keyring and configuration, on the system clock.
    pub fn new(store: Store, keyring: Keyring, config: Config) -> Self {
        Self::with_clock(store, keyring, config, Arc::new(SystemClock))
    }

    /// The same on a given clock (tests move a [`ManualClock`](crate::clock::ManualClock)).
    pub fn with_clock(
        store: Store,
        keyring: Keyring,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            store,
            keyring: Arc::new(RwLock::new(keyring)),
            config,
            clock,
            key_cache: auth::KeyCache::default(),
            metrics: Arc::default(),
            policies: policies::PolicyCache::default(),
            outbox_notify: Arc::default(),
            outbox_handoff: outbox::handoff::Handoff::default(),
            jobs_notify: Arc::default(),
            hash_slots: tokio::sync::Semaphore::new(cores * 2),
            sms: Arc::default(),
        }
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// What the outbox and its senders need.
    pub fn outbox(&self) -> outbox::Context {
        outbox::Context {
            store: self.store.clone(),
            keyring: Arc::clone(&self.keyring),
            clock: Arc::clone(&self.clock),
            metrics: Arc::clone(&self.metrics),
            sms: Arc::clone(&self.sms),
        }
    }

    /// The current policies (cached per node, see [`policies`]).
    pub async fn policies(&self) -> Result<Arc<policies::Policies>, ServiceError> {
        Ok(self.policies.get(&self.store, self.now()).await?)
    }

    /// Whether the node's database answers; the backend's name when it does.
    pub async fn health(&self) -> Option<&'static str> {
        self.store
            .ping()
            .await
            .ok()
            .map(|()| self.store.kind().as_str())
    }

    /// Read access to the keyring.
    pub fn ring(&self) -> Result<std::sync::RwLockReadGuard<'_, Keyring>, ServiceError> {
        Ok(crate::crypto::read(&self.keyring)?)
    }

    /// Runs CPU-heavy work (password hashing) on the blocking pool, at most
    /// [`AppState::hash_slots`] at a time, never on an async worker.
    pub async fn hashing<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    {
        let _permit = self
            .hash_slots
            .acquire()
            .await
            .map_err(|e| ServiceError::internal("hashing slots", e))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ServiceError::internal("hashing task", e))?
    }
}
