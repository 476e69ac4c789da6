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
use std::path::Path;

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
}

/// The master keys: key id → 32-byte key, one of them active.
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, Zeroizing<[u8; 32]>>,
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
        Ok(Self {
            active: file.active,
            keys,
        })
    }

    /// A keyring holding one fresh random key.
    pub fn generate(id: &str) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(id.to_owned(), Self::fresh_key());
        Self {
            active: id.to_owned(),
            keys,
        }
    }

    fn fresh_key() -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        os_rng().fill_bytes(key.as_mut());
        key
    }

    /// Writes the keyring (mode 0600, replaced atomically).
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
        };
        let text = Zeroizing::new(serde_json::to_vec_pretty(&file).map_err(|e| {
            CryptoError::BadKeyring {
                path: path.display().to_string(),
                why: e.to_string(),
            }
        })?);
        let tmp = path.with_extension("tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(io)?;
            f.write_all(&text).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The id of the key that seals new secrets.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Adds a fresh key under `id` (not active yet). Fails if the id exists.
    #[allow(
        dead_code,
        reason = "two-phase key rotation primitive; the `sae keys` commands are not built yet (unit-tested)"
    )]
    pub fn add_key(&mut self, id: &str) -> Result<(), CryptoError> {
        if self.keys.contains_key(id) || id.is_empty() || id.contains('$') {
            return Err(CryptoError::BadKeyring {
                path: String::new(),
                why: format!("key id {id:?} exists or is not valid"),
            });
        }
        self.keys.insert(id.to_owned(), Self::fresh_key());
        Ok(())
    }

    /// Makes `id` the active key.
    #[allow(
        dead_code,
        reason = "two-phase key rotation primitive; the `sae keys` commands are not built yet (unit-tested)"
    )]
    pub fn activate(&mut self, id: &str) -> Result<(), CryptoError> {
        if !self.keys.contains_key(id) {
            return Err(CryptoError::UnknownKey(id.to_owned()));
        }
        id.clone_into(&mut self.active);
        Ok(())
    }

    #[expect(
        clippy::expect_used,
        reason = "parse, generate and activate only ever set `active` to a key id that is held"
    )]
    fn active_key(&self) -> &[u8; 32] {
        self.keys.get(&self.active).expect("active key is held")
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
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?;
        let blob = BASE64URL_NOPAD
            .decode(b64.as_bytes())
            .map_err(|_| CryptoError::Tampered)?;
        if blob.len() < 24 + 16 {
            return Err(CryptoError::Tampered);
        }
        let (nonce, ct) = blob.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| CryptoError::Tampered)?;
        let cipher = XChaCha20Poly1305::new((&**key).into());
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
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?;
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
    fn code_mac_depends_on_request_and_code() {
        let ring = Keyring::generate("k1");
        let a = ring.code_mac("k1", "r1", "123456").unwrap();
        assert_eq!(a, ring.code_mac("k1", "r1", "123456").unwrap());
        assert_ne!(a, ring.code_mac("k1", "r2", "123456").unwrap());
        assert_ne!(a, ring.code_mac("k1", "r1", "123457").unwrap());
    }
}
