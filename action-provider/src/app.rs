//! The server: shared state, routes and start-up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};

use crate::api;
use crate::config::Config;
use crate::crypto::Keyring;
use crate::store::DbPool;
use crate::store::apikeys::ApiKey;

/// How long a node trusts a cached API key lookup; a revocation reaches every node within it.
const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// State shared by every request handler.
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Master keyring (reloaded on SIGHUP and periodically).
    pub keyring: Arc<RwLock<Keyring>>,
    /// Resolved configuration.
    pub config: Config,
    /// Recently seen API keys, by digest.
    pub key_cache: KeyCache,
    /// Prometheus counters.
    pub metrics: crate::metrics::Metrics,
    /// Parsed configuration documents.
    pub policies: crate::policies::PolicyCache,
    /// Wakes the outbox worker when a job is queued on this node.
    pub outbox_notify: tokio::sync::Notify,
    /// Bounds concurrent password hashing (argon2 uses ~19 MiB and a core per hash).
    pub hash_slots: tokio::sync::Semaphore,
    /// SMS configuration and sender.
    pub sms: crate::sms::SmsState,
}

impl AppState {
    /// Builds the state for a pool, keyring and configuration.
    pub fn new(pool: DbPool, keyring: Keyring, config: Config) -> Self {
        let cores = std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(2);
        Self {
            pool,
            keyring: Arc::new(RwLock::new(keyring)),
            config,
            key_cache: KeyCache::default(),
            metrics: crate::metrics::Metrics::default(),
            policies: crate::policies::PolicyCache::default(),
            outbox_notify: tokio::sync::Notify::new(),
            hash_slots: tokio::sync::Semaphore::new(cores * 2),
            sms: crate::sms::SmsState::default(),
        }
    }
}

/// Runs `f` on the blocking thread pool (database work, hashing) and flattens the result.
pub async fn blocking<T, F>(f: F) -> Result<T, api::error::ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, api::error::ApiError> + Send + 'static,
{
    web::block(f)
        .await
        .map_err(api::error::ApiError::internal)?
}

/// A cached API key with the administrator group it is bound to.
pub type CachedKey = (ApiKey, Option<Arc<sae_core::acl::AdminGroup>>);

/// A small TTL cache of API key lookups.
#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<HashMap<String, (Instant, CachedKey)>>,
}

impl KeyCache {
    /// A cached key, if it was looked up less than the TTL ago.
    pub fn get(&self, digest: &str) -> Option<CachedKey> {
        let map = self.inner.lock().ok()?;
        map.get(digest)
            .filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(_, k)| k.clone())
    }

    /// Forgets every cached key (after a revocation on this node).
    pub fn clear(&self) {
        if let Ok(mut map) = self.inner.lock() {
            map.clear();
        }
    }

    /// Remembers a key.
    pub fn put(&self, digest: String, key: CachedKey) {
        if let Ok(mut map) = self.inner.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
            }
            map.insert(digest, (Instant::now(), key));
        }
    }
}

/// Registers every route on an actix `App`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    api::docs::routes(cfg);
    api::routes(cfg);
    admin_gui::configure(cfg);
}

/// Runs the HTTP server until it is stopped.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listen = state.config.listen;
    let workers = state.config.workers;
    let public_url = state.config.public_url.clone();
    let state = web::Data::new(state);
    let mut router = crate::senders::Router::default().with(
        "sms",
        Arc::new(crate::sms::SmsOutbox {
            state: state.clone(),
        }),
    );
    match crate::mail_sender::MailSender::new(state.clone()) {
        Ok(mail) => router = router.with("email", Arc::new(mail)),
        Err(e) => tracing::error!(error = %e, "the e-mail sender could not start"),
    }
    actix_web::rt::spawn(crate::outbox::run(state.clone(), Arc::new(router)));
    actix_web::rt::spawn(crate::crypto::reload_task(
        Arc::clone(&state.keyring),
        state.config.keyring.clone(),
        state.config.keyring_reload,
    ));
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                api::error::ApiError::BadRequest {
                    code: "invalid_path",
                    field: None,
                    detail: err.to_string(),
                }
                .into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                let detail = err.to_string();
                let field = detail.split('`').nth(1).map(str::to_owned);
                api::error::ApiError::BadRequest {
                    code: "invalid_query",
                    field,
                    detail,
                }
                .into()
            }))
            .configure(routes)
            .wrap(actix_web::middleware::from_fn(
                api::extract::refuse_nul_in_uri,
            ))
            .default_service(web::to(|req: actix_web::HttpRequest| async move {
                Err::<HttpResponse, _>(match api::docs::allowed_methods(req.path()) {
                    Some(allow) => api::error::ApiError::MethodNotAllowed { allow },
                    None => api::error::ApiError::not_found("no such route"),
                })
            }))
    })
    .bind(listen)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    tracing::info!(%listen, %public_url, "SAE listening");
    server.run().await
}
