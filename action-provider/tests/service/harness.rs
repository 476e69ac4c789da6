//! Nodes of a server in-process: an [`AppState`] on a fresh store with a manual clock, the
//! callers tests act as, and the app for in-process HTTP.

use std::sync::Arc;

use action_provider::AppState;
use action_provider::clock::{ManualClock, UnixTime};
use action_provider::config::{Config, ServeArgs, StoreArgs};
use action_provider::crypto::Keyring;
use action_provider::service::caller::{Caller, Principal};
use action_provider::store::Store;
use action_provider::store::apikeys::ApiKey;

use crate::support::{Backend, backends, fresh_pg_database};

/// A database several nodes may share.
pub struct Database {
    /// Keeps the SQLite file (and the keyring) alive.
    pub dir: tempfile::TempDir,
    /// The store URL.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    /// The keyring every node uses.
    pub keyring_path: std::path::PathBuf,
}

impl Database {
    /// A fresh, migrated database of `backend`.
    pub fn fresh(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => dir.path().join("sae.db").display().to_string(),
            Backend::Postgres => fresh_pg_database(),
        };
        let keyring_path = dir.path().join("keyring.json");
        Keyring::load_or_create(&keyring_path).unwrap();
        Store::open(&url, 4).unwrap().migrate().unwrap();
        Self {
            dir,
            url,
            backend,
            keyring_path,
        }
    }

    /// A node on this database, with its own caches, on `clock`.
    pub fn node(&self, clock: &Arc<ManualClock>) -> Node {
        let store = Store::open(&self.url, 8).unwrap();
        let args = StoreArgs {
            data_dir: Some(self.dir.path().to_owned()),
            database_url: (self.backend == Backend::Postgres).then(|| self.url.clone()),
            keyring: Some(self.keyring_path.clone()),
            config: None,
        };
        let config = Config::resolve(&args, &ServeArgs::default()).unwrap();
        let keyring = Keyring::load(&self.keyring_path).unwrap();
        let clock: Arc<dyn action_provider::clock::Clock> = Arc::clone(clock) as _;
        Node {
            state: Arc::new(AppState::with_clock(store, keyring, config, clock)),
        }
    }
}

/// One node: its state (store, caches, clock).
pub struct Node {
    /// The node's state.
    pub state: Arc<AppState>,
}

/// A clock standing at a fixed, recent time.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixTime::from_secs(1_800_000_000)))
}

/// Every backend the tests run on.
pub fn each_backend() -> Vec<Backend> {
    backends()
}

/// An application key (scope `otp`).
pub fn app_caller() -> Caller {
    caller("otp")
}

/// An unrestricted administrator key.
pub fn admin_caller() -> Caller {
    caller("admin")
}

fn caller(scope: &str) -> Caller {
    Caller {
        principal: Principal::Key(ApiKey {
            id: 1,
            name: format!("test-{scope}"),
            scope: scope.to_owned(),
            prefix: "sae_test".into(),
            group_id: None,
            created_at: 0,
            revoked_at: None,
        }),
        group: None,
        source: Some("127.0.0.1".into()),
    }
}
