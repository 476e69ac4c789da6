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

mod reload;

pub use reload::{reload, reload_task, serving};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use rand::Rng as _;
use sae_core::otp::issued::{self, CodeMac};
use serde::{Deserialize, Serialize};
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
    /// A thread panicked while holding the keyring lock.
    #[error("the keyring lock is poisoned (a thread panicked while reloading it)")]
    Poisoned,
}

/// The keyring of a serving node, shared by every request and reloaded in place.
pub type SharedKeyring = Arc<RwLock<Keyring>>;

/// Read access to a shared keyring.
pub fn read(ring: &SharedKeyring) -> Result<std::sync::RwLockReadGuard<'_, Keyring>, CryptoError> {
    ring.read().map_err(|_| CryptoError::Poisoned)
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
pub(crate) struct Source {
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
        created.insert(
            id.to_owned(),
            crate::clock::Clock::now(&crate::clock::SystemClock).secs(),
        );
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
        self.created.insert(
            id.to_owned(),
            crate::clock::Clock::now(&crate::clock::SystemClock).secs(),
        );
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

    /// A stored secret's change, sealed: `None` keeps what is stored, `Some(None)` clears
    /// it, `Some(Some(secret))` replaces it with `secret` sealed for `context` (the one rule
    /// for every account password: SMTP and inbound alike).
    pub fn seal_change(
        &self,
        context: &str,
        change: Option<Option<&[u8]>>,
    ) -> Option<Option<String>> {
        change.map(|secret| secret.map(|s| self.seal(context, s)))
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

    /// A keyed MAC (HMAC-SHA256, hex) of an issued code, under a subkey of key `kid`: the
    /// text stored for it ([`sae_core::otp::issued`] computes it).
    ///
    /// Issued SMS/e-mail codes are stored only as this MAC: a database dump does not reveal
    /// them, and without the keyring they cannot be brute-forced offline.
    pub fn code_mac(&self, kid: &str, request_id: &str, code: &str) -> Result<String, CryptoError> {
        self.issued_code_mac(kid, request_id, code)
            .map(|mac| mac.to_hex())
    }

    /// The MAC of an issued code under key `kid`, to check against the stored text with
    /// [`CodeMac::matches`] (constant time).
    pub fn issued_code_mac(
        &self,
        kid: &str,
        request_id: &str,
        code: &str,
    ) -> Result<CodeMac, CryptoError> {
        let key = self.key(kid)?;
        Ok(issued::code_mac(key.as_ref(), request_id, code))
    }
}

#[cfg(test)]
mod tests;
