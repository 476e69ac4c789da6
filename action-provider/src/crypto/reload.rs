//! A serving node's keyring follows its file: re-read on SIGHUP, periodically, and when a
//! ciphertext names a key id the node does not hold yet.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::{CryptoError, Keyring, Source};

/// Makes `ring` re-read `path` when it meets a ciphertext under a key id it does not hold.
pub fn serving(mut ring: Keyring, path: &Path) -> Keyring {
    ring.source = Some(Arc::new(Source {
        path: path.to_owned(),
        last_read: Mutex::new(None),
        wake: tokio::sync::Notify::new(),
    }));
    ring
}

/// Replaces the keyring in `shared` by the file's current content; `true` when the key ids
/// or the active key changed. On error the keyring in use is kept.
pub fn reload(shared: &RwLock<Keyring>, path: &Path) -> Result<bool, CryptoError> {
    let mut fresh = Keyring::load(path)?;
    let mut ring = shared.write().map_err(|_| CryptoError::BadKeyring {
        path: path.display().to_string(),
        why: "keyring lock poisoned".into(),
    })?;
    let changed = fresh.active != ring.active || !fresh.keys.keys().eq(ring.keys.keys());
    fresh.source = ring.source.clone();
    *ring = fresh;
    Ok(changed)
}

/// Reloads the keyring of a serving node on SIGHUP, every `every` (unless zero) and when an
/// on-demand read found a new key; the future runs until the process ends. The SIGHUP
/// handler is installed before this returns (call it inside the runtime, before listening).
pub fn reload_task(
    shared: Arc<RwLock<Keyring>>,
    path: PathBuf,
    every: Duration,
) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP handler not installed");
            None
        }
    };
    #[cfg(not(unix))]
    let hup: Option<Hangup> = None;
    reload_loop(shared, path, every, hup)
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = std::convert::Infallible;

async fn reload_loop(
    shared: Arc<RwLock<Keyring>>,
    path: PathBuf,
    every: Duration,
    #[cfg_attr(not(unix), allow(unused_mut))] mut hup: Option<Hangup>,
) {
    let source = shared.read().ok().and_then(|r| r.source.clone());
    let mut tick = (!every.is_zero()).then(|| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let why = tokio::select! {
            () = async {
                #[cfg(unix)]
                if let Some(h) = hup.as_mut() {
                    h.recv().await;
                    return;
                }
                std::future::pending::<()>().await;
            } => "SIGHUP",
            _ = async {
                match tick.as_mut() {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            } => "periodic",
            () = async {
                match &source {
                    Some(s) => s.wake.notified().await,
                    None => std::future::pending().await,
                }
            } => "unknown key id",
        };
        let (shared, path) = (Arc::clone(&shared), path.clone());
        let result = tokio::task::spawn_blocking(move || {
            let changed = reload(&shared, &path)?;
            let ring = shared.read().map_err(|_| CryptoError::Tampered)?;
            Ok::<_, CryptoError>((
                changed,
                ring.active.clone(),
                ring.key_ids().collect::<Vec<_>>().join(","),
            ))
        })
        .await;
        match result {
            Ok(Ok((true, active, keys))) => {
                tracing::info!(trigger = why, %active, %keys, "keyring reloaded");
            }
            Ok(Ok((false, ..))) => tracing::debug!(trigger = why, "keyring unchanged"),
            Ok(Err(e)) => {
                tracing::error!(trigger = why, error = %e, "keyring reload failed; keeping the keys in use");
            }
            Err(e) => tracing::error!(error = %e, "keyring reload task failed"),
        }
    }
}
