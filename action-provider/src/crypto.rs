//! Secrets at rest: the master keyring and AEAD encryption of stored secrets.
//!
//! The keyring is a JSON file (`{"active": "k1", "keys": {"k1": "<base64 32 bytes>"}}`, mode
//! 0600) created on first start. Every ciphertext records the id of the key that sealed it
//! (`<key id>$<base64url(nonce ‖ ciphertext)>`), so keys can be rotated in two phases: add a
//! key to every node, make it active, then re-encrypt. Encryption is XChaCha20-Poly1305 with a
//! random 192-bit nonce (no nonce bookkeeping across nodes) and associated data naming what
//! the secret belongs to, so a ciphertext copied into another row does not decrypt.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Why the keyring or a ciphertext could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The keyring file could not be read or written.
    #[error("keyring {path}: {source}")]
    Io {
        /// The keyring's path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The keyring file is not valid.
    #[error("keyring {path}: {why}")]
    BadKeyring {
        /// The keyring's path.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A ciphertext names a key that the keyring does not hold.
    #[error("no key {0:?} in the keyring (was the keyring replaced without the old keys?)")]
    UnknownKey(String),
    /// A ciphertext is malformed, was tampered with, or belongs to another record.
    #[error("a stored secret failed authentication")]
    Tampered,
}

/// The operating system's CSPRNG as an infallible `rand` generator.
///
/// If the OS cannot produce randomness the process cannot safely go on: this panics then,
/// which actix turns into a 500 for the one request (nothing is written).
pub fn os_rng() -> rand::rand_core::UnwrapErr<rand::rngs::SysRng> {
    rand::rand_core::UnwrapErr(rand::rngs::SysRng)
}

#[derive(Serialize, Deserialize)]
struct KeyringFile {
    active: String,
    keys: BTreeMap<String, String>,
    /// When each key was added (unix seconds); absent in keyrings written before rotation
    /// existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    created: BTreeMap<String, i64>,
}

/// A key, by id.
type Keys = BTreeMap<String, Zeroizing<[u8; 32]>>;

/// Least time between two on-demand reads of the keyring file (a ciphertext under a key id
/// this node does not hold).
const ON_DEMAND_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Where a serving node's keyring comes from, for on-demand reloads.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    /// When the file was last read on demand.
    last_read: Mutex<Option<Instant>>,
    /// Asks the reload task for a full reload (which also picks up a new active key).
    wake: tokio::sync::Notify,
}

/// The master keys: key id → 32-byte key, one of them active.
pub struct Keyring {
    active: String,
    keys: Keys,
    created: BTreeMap<String, i64>,
    /// Set on serving nodes: the file to re-read when a ciphertext names an unknown key.
    source: Option<Arc<Source>>,
    /// Keys found by an on-demand read since this keyring was loaded.
    late: Mutex<Keys>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Reads the keyring at `path`, creating it with one fresh key if the file is absent.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Self::generate("k1");
                ring.save(path)?;
                Ok(ring)
            }
            Err(source) => Err(CryptoError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Reads the keyring at `path`; a missing file is an error.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = std::fs::read(path).map_err(|source| CryptoError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(path, &bytes)
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Self, CryptoError> {
        let bad = |why: String| CryptoError::BadKeyring {
            path: path.display().to_string(),
            why,
        };
        let file: KeyringFile =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a keyring: {e}")))?;
        let mut keys = BTreeMap::new();
        for (id, b64) in file.keys {
            let raw = Zeroizing::new(
                BASE64
                    .decode(b64.as_bytes())
                    .map_err(|_| bad(format!("key {id:?} is not base64")))?,
            );
            let key: [u8; 32] = raw
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("key {id:?} is not 32 bytes")))?;
            keys.insert(id, Zeroizing::new(key));
        }
        if !keys.contains_key(&file.active) {
            return Err(bad(format!(
                "active key {:?} is not in the keyring",
                file.active
            )));
        }
        let created = file
            .created
            .into_iter()
            .filter(|(id, _)| keys.contains_key(id))
            .collect();
        Ok(Self {
            active: file.active,
            keys,
            created,
            source: None,
            late: Mutex::default(),
        })
    }

    /// A keyring holding one fresh random key.
    pub fn generate(id: &str) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(id.to_owned(), Self::fresh_key());
        let mut created = BTreeMap::new();
        created.insert(id.to_owned(), crate::now());
        Self {
            active: id.to_owned(),
            keys,
            created,
            source: None,
            late: Mutex::default(),
        }
    }

    fn fresh_key() -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        os_rng().fill_bytes(key.as_mut());
        key
    }

    /// Writes the keyring: a private (0600) temporary file in the same directory, flushed to
    /// disk, renamed over `path` (readers see the old or the new file, never a mix), then the
    /// directory is flushed so the rename survives a crash.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        let io = |source| CryptoError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = KeyringFile {
            active: self.active.clone(),
            keys: self
                .keys
                .iter()
                .map(|(id, k)| (id.clone(), BASE64.encode(k.as_ref())))
                .collect(),
            created: self.created.clone(),
        };
        let text = Zeroizing::new(serde_json::to_vec_pretty(&file).map_err(|e| {
            CryptoError::BadKeyring {
                path: path.display().to_string(),
                why: e.to_string(),
            }
        })?);
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(io)?;
            // A leftover temporary file of an earlier crashed run keeps its old mode.
            #[cfg(unix)]
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(io)?;
            f.write_all(&text).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        #[cfg(unix)]
        {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// The ids of the keys held, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// When key `id` was added (unix seconds), if the keyring recorded it.
    pub fn created_at(&self, id: &str) -> Option<i64> {
        self.created.get(id).copied()
    }

    /// Whether `id` may name a key: 1–32 of `A-Z a-z 0-9 _ . -`.
    pub fn valid_key_id(id: &str) -> bool {
        (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    }

    /// A key id not in use yet: `k<n>` with `n` one more than the largest `k<n>` held.
    pub fn next_key_id(&self) -> String {
        let n = self
            .keys
            .keys()
            .filter_map(|id| id.strip_prefix('k')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("k{}", n.saturating_add(1))
    }

    /// The id of the key that seals new secrets.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Adds a fresh key under `id` (not active yet). Fails if the id exists or is not valid.
    pub fn add_key(&mut self, id: &str) -> Result<(), CryptoError> {
        if self.keys.contains_key(id) || !Self::valid_key_id(id) {
            return Err(CryptoError::BadKeyring {
                path: String::new(),
                why: format!("key id {id:?} exists or is not valid"),
            });
        }
        self.keys.insert(id.to_owned(), Self::fresh_key());
        self.created.insert(id.to_owned(), crate::now());
        Ok(())
    }

    /// Makes `id` the active key.
    pub fn activate(&mut self, id: &str) -> Result<(), CryptoError> {
        if !self.keys.contains_key(id) {
            return Err(CryptoError::UnknownKey(id.to_owned()));
        }
        id.clone_into(&mut self.active);
        Ok(())
    }

    /// Removes the inactive key `id` (the caller checks nothing is sealed under it).
    pub fn remove_key(&mut self, id: &str) -> Result<(), CryptoError> {
        if id == self.active {
            return Err(CryptoError::BadKeyring {
                path: String::new(),
                why: format!("key {id:?} is the active key"),
            });
        }
        if self.keys.remove(id).is_none() {
            return Err(CryptoError::UnknownKey(id.to_owned()));
        }
        self.created.remove(id);
        Ok(())
    }

    #[expect(
        clippy::expect_used,
        reason = "parse, generate and activate only ever set `active` to a key id that is held"
    )]
    fn active_key(&self) -> &[u8; 32] {
        self.keys.get(&self.active).expect("active key is held")
    }

    /// The key `kid`: held, found by an earlier on-demand read, or (on a serving node, at most
    /// once a second) found by reading the keyring file again now.
    fn key(&self, kid: &str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        if let Some(k) = self.keys.get(kid) {
            return Ok(k.clone());
        }
        let unknown = || CryptoError::UnknownKey(kid.to_owned());
        let Some(source) = &self.source else {
            return Err(unknown());
        };
        let mut late = self.late.lock().map_err(|_| unknown())?;
        if let Some(k) = late.get(kid) {
            return Ok(k.clone());
        }
        {
            let mut last = source.last_read.lock().map_err(|_| unknown())?;
            if last.is_some_and(|t| t.elapsed() < ON_DEMAND_MIN_INTERVAL) {
                return Err(unknown());
            }
            *last = Some(Instant::now());
        }
        let fresh = Self::load(&source.path).map_err(|e| {
            tracing::error!(error = %e, "the keyring could not be re-read");
            unknown()
        })?;
        let Some(k) = fresh.keys.get(kid).cloned() else {
            return Err(unknown());
        };
        tracing::info!(
            key = kid,
            "a stored secret is under a key this node had not loaded: re-read the keyring"
        );
        for (id, key) in fresh.keys {
            if !self.keys.contains_key(&id) {
                late.insert(id, key);
            }
        }
        // A full reload also picks up a newly activated key.
        source.wake.notify_one();
        Ok(k)
    }

    /// Seals `plaintext` under the active key; `context` names the record it belongs to.
    #[expect(
        clippy::expect_used,
        reason = "XChaCha20-Poly1305 encryption fails only for messages over 256 GiB"
    )]
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new(self.active_key().into());
        let mut nonce = [0u8; 24];
        os_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("message within AEAD limits");
        let mut blob = Vec::with_capacity(24 + ct.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        format!("{}${}", self.active, BASE64URL_NOPAD.encode(&blob))
    }

    /// Opens a sealed value; `context` must be the one it was sealed with.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (kid, b64) = sealed.split_once('$').ok_or(CryptoError::Tampered)?;
        let key = self.key(kid)?;
        let blob = BASE64URL_NOPAD
            .decode(b64.as_bytes())
            .map_err(|_| CryptoError::Tampered)?;
        if blob.len() < 24 + 16 {
            return Err(CryptoError::Tampered);
        }
        let (nonce, ct) = blob.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| CryptoError::Tampered)?;
        let cipher = XChaCha20Poly1305::new((&*key).into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Tampered)
    }

    /// Opens a sealed UTF-8 string.
    pub fn open_string(
        &self,
        context: &str,
        sealed: &str,
    ) -> Result<Zeroizing<String>, CryptoError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Tampered)
    }

    /// A keyed MAC (HMAC-SHA256, hex) of an issued code, under a subkey of key `kid`.
    ///
    /// Issued SMS/e-mail codes are stored only as this MAC: a database dump does not reveal
    /// them, and without the keyring they cannot be brute-forced offline.
    pub fn code_mac(&self, kid: &str, request_id: &str, code: &str) -> Result<String, CryptoError> {
        let key = self.key(kid)?;
        let mut sub = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
            .map_err(|_| CryptoError::Tampered)?;
        sub.update(b"sae issued-code mac v1");
        let mut subkey = Zeroizing::new([0u8; 32]);
        subkey.copy_from_slice(&sub.finalize().into_bytes());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(subkey.as_ref())
            .map_err(|_| CryptoError::Tampered)?;
        mac.update(request_id.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        Ok(data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let ring = Keyring::generate("k1");
        let sealed = ring.seal("token:abc", b"secret bytes");
        assert!(sealed.starts_with("k1$"));
        assert!(!sealed.contains("secret"));
        assert_eq!(&**ring.open("token:abc", &sealed).unwrap(), b"secret bytes");
        assert!(matches!(
            ring.open("token:other", &sealed),
            Err(CryptoError::Tampered)
        ));
        let mut flipped = sealed.clone();
        flipped.pop();
        flipped.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open("token:abc", &flipped).is_err());
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let mut ring = Keyring::generate("k1");
        let old = ring.seal("c", b"x");
        ring.add_key("k2").unwrap();
        ring.activate("k2").unwrap();
        let new = ring.seal("c", b"y");
        assert!(new.starts_with("k2$"));
        assert_eq!(&**ring.open("c", &old).unwrap(), b"x");
        let other = Keyring::generate("k1");
        assert!(matches!(other.open("c", &new), Err(CryptoError::UnknownKey(k)) if k == "k2"));
    }

    #[test]
    fn keyring_file_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let ring = Keyring::load_or_create(&path).unwrap();
        let sealed = ring.seal("c", b"z");
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(&**again.open("c", &sealed).unwrap(), b"z");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_serving_keyring_reads_the_file_for_an_unknown_key_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let node = serving(Keyring::load_or_create(&path).unwrap(), &path);
        // The operator adds and activates k2; another process seals under it.
        let mut file = Keyring::load(&path).unwrap();
        file.add_key("k2").unwrap();
        file.activate("k2").unwrap();
        file.save(&path).unwrap();
        let sealed = file.seal("c", b"new");
        let mac = file.code_mac("k2", "r", "123456").unwrap();
        assert_eq!(&**node.open("c", &sealed).unwrap(), b"new");
        assert_eq!(node.code_mac("k2", "r", "123456").unwrap(), mac);
        // The node's active key only changes with a full reload.
        assert_eq!(node.active_id(), "k1");
        // A keyring not bound to a file does not look.
        let plain = Keyring::load(&dir.path().join("keyring.json")).unwrap();
        let mut other = Keyring::generate("k1");
        other.add_key("k9").unwrap();
        other.activate("k9").unwrap();
        assert!(matches!(
            plain.open("c", &other.seal("c", b"x")),
            Err(CryptoError::UnknownKey(k)) if k == "k9"
        ));
    }

    #[test]
    fn reload_swaps_the_keyring_and_keeps_it_on_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let shared = RwLock::new(serving(Keyring::load_or_create(&path).unwrap(), &path));
        assert!(!reload(&shared, &path).unwrap());
        let mut file = Keyring::load(&path).unwrap();
        file.add_key("k2").unwrap();
        file.save(&path).unwrap();
        assert!(reload(&shared, &path).unwrap());
        file.activate("k2").unwrap();
        file.save(&path).unwrap();
        assert!(reload(&shared, &path).unwrap());
        assert_eq!(shared.read().unwrap().active_id(), "k2");
        assert!(shared.read().unwrap().source.is_some(), "still serving");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(reload(&shared, &path).is_err());
        assert_eq!(shared.read().unwrap().active_id(), "k2");
        assert!(shared.read().unwrap().seal("c", b"x").starts_with("k2$"));
    }

    #[test]
    fn keyrings_without_creation_times_load_and_ids_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let key = BASE64.encode(&[7u8; 32]);
        std::fs::write(
            &path,
            format!("{{\"active\": \"k1\", \"keys\": {{\"k1\": \"{key}\"}}}}"),
        )
        .unwrap();
        let mut ring = Keyring::load(&path).unwrap();
        assert_eq!(ring.created_at("k1"), None);
        assert_eq!(ring.next_key_id(), "k2");
        for bad in ["", "a$b", "a b", "é", &"x".repeat(33)] {
            assert!(ring.add_key(bad).is_err(), "{bad:?}");
        }
        ring.add_key("2026-q4_main.v1").unwrap();
        assert!(ring.created_at("2026-q4_main.v1").is_some());
        assert!(!format!("{ring:?}").contains(&key), "Debug hides keys");
    }

    #[test]
    fn code_mac_depends_on_request_and_code() {
        let ring = Keyring::generate("k1");
        let a = ring.code_mac("k1", "r1", "123456").unwrap();
        assert_eq!(a, ring.code_mac("k1", "r1", "123456").unwrap());
        assert_ne!(a, ring.code_mac("k1", "r2", "123456").unwrap());
        assert_ne!(a, ring.code_mac("k1", "r1", "123457").unwrap());
    }
}
