//! The keys of a container: the value-encryption key (pre-shared, or derived from a password
//! with PBKDF2), the MAC key, and the check-then-decrypt of each encrypted secret.
//!
//! Telling a wrong key from an altered value: the MAC key is itself encrypted, and its
//! decryption is evidence about the key (a key wrap's integrity check; CBC padding of two or
//! more consistent bytes). A key that fails there is wrong. A key that passes there, or that
//! verified an earlier `ValueMAC`, is "confirmed": a later MAC mismatch then means the value
//! was altered ([`SkipReason::BadMac`]). A mismatch before any confirmation cannot be told
//! apart from a wrong key and is reported as one.

use super::crypto::{self, DecryptError};
use super::header::{Derivation, Header, Protection};
use super::reason::{KeyKind, PskcError, SkipReason, echo};
use super::uris::{self, Hash};
use super::{KeyMaterial, decode_base64};
use crate::secret::Secret;

/// Largest PBKDF2 iteration count accepted (a hostile file must not cost minutes).
pub(super) const MAX_ITERATIONS: u32 = 10_000_000;

/// A value's decrypted bytes, or why the package is skipped.
pub(super) type Opened = Result<Secret, SkipReason>;

/// The MAC configuration.
enum MacKey {
    /// The file has no `MACMethod`.
    Absent,
    /// HMAC with this hash and key.
    Ready { hash: Hash, key: Secret },
}

/// Everything needed to open the encrypted values of one file.
pub(super) struct Keys {
    /// The value-encryption key; `None` when the caller gave none.
    encryption: Option<Secret>,
    /// What the caller gave (for messages).
    kind: Option<KeyKind>,
    mac: MacKey,
    /// A fatal error for the first encrypted value (the key is missing).
    deferred: Option<PskcError>,
    /// The MAC key did not decrypt: the key is wrong.
    wrong: bool,
    /// Something in the file proved the key right.
    confirmed: bool,
}

impl Keys {
    /// Derives or takes the encryption key and opens the MAC key.
    ///
    /// # Errors
    /// Fatal problems: a key of the wrong kind or length, an unusable `MACMethod` or key
    /// derivation, and — unless `skip_bad` — a MAC key that does not decrypt.
    pub(super) fn establish(
        header: &Header,
        material: &KeyMaterial,
        skip_bad: bool,
    ) -> Result<Self, PskcError> {
        let needed = match header.protection {
            Protection::Derived(_) => KeyKind::Password,
            _ => KeyKind::PreSharedKey,
        };
        let (encryption, kind) = match (&header.protection, material) {
            (_, KeyMaterial::None) => (None, None),
            (Protection::Derived(derivation), KeyMaterial::Password(password)) => {
                (Some(derive(derivation, password)?), Some(KeyKind::Password))
            }
            (Protection::Derived(_), KeyMaterial::PreSharedKey(_)) => {
                return Err(PskcError::WrongKeyKind {
                    needed,
                    given: KeyKind::PreSharedKey,
                });
            }
            (_, KeyMaterial::Password(_)) => {
                return Err(PskcError::WrongKeyKind {
                    needed,
                    given: KeyKind::Password,
                });
            }
            (_, KeyMaterial::PreSharedKey(key)) => (Some(key.clone()), Some(KeyKind::PreSharedKey)),
        };
        let mut keys = Self {
            deferred: encryption
                .is_none()
                .then_some(PskcError::KeyRequired { needed }),
            encryption,
            kind,
            mac: MacKey::Absent,
            wrong: false,
            confirmed: false,
        };
        if let (Some(method), Some(encryption)) = (&header.mac, &keys.encryption) {
            let hash = uris::hmac_hash(&method.algorithm).ok_or_else(|| PskcError::MacMethod {
                problem: format!(
                    "MAC algorithm {:?} is not supported",
                    echo(&method.algorithm)
                ),
            })?;
            let key = match &method.key_value {
                // Without a MACKey, the encryption key is the MAC key (as in early drafts).
                None => encryption.clone(),
                Some(value) => {
                    let uri = method.key_cipher.as_deref().unwrap_or_default();
                    let cipher = uris::cipher(uri).ok_or_else(|| PskcError::MacMethod {
                        problem: format!("MACKey encryption {:?} is not supported", echo(uri)),
                    })?;
                    keys.check_key_length(cipher)?;
                    let data = decode_base64(value).ok_or_else(|| PskcError::MacMethod {
                        problem: "the MACKey CipherValue is not valid base64".into(),
                    })?;
                    match crypto::decrypt(cipher, encryption.expose_bytes(), &data) {
                        Ok(plain) if !plain.bytes.is_empty() => {
                            keys.confirmed = plain.key_evidence;
                            Secret::from_bytes(&plain.bytes).map_err(|_| PskcError::MacMethod {
                                problem: "the MAC key is empty".into(),
                            })?
                        }
                        Ok(_) | Err(DecryptError::Integrity) => {
                            if !skip_bad {
                                return Err(PskcError::WrongKeyOrPassword { position: None });
                            }
                            keys.wrong = true;
                            encryption.clone()
                        }
                        Err(DecryptError::CiphertextLength | DecryptError::KeyLength) => {
                            return Err(PskcError::MacMethod {
                                problem: format!(
                                    "the MACKey ciphertext does not fit {}",
                                    cipher.name()
                                ),
                            });
                        }
                    }
                }
            };
            keys.mac = MacKey::Ready { hash, key };
        }
        Ok(keys)
    }

    /// Checks the MAC of an encrypted secret (before anything else) and decrypts it.
    ///
    /// # Errors
    /// Fatal problems: no key was given, the key does not fit the cipher, and — unless
    /// `skip_bad` — a wrong key or password.
    pub(super) fn open(
        &mut self,
        cipher_uri: &str,
        data: &[u8],
        value_mac: Option<&[u8]>,
        position: u64,
        skip_bad: bool,
    ) -> Result<Opened, PskcError> {
        if cipher_uri.trim().is_empty() {
            return Ok(Err(SkipReason::InvalidParameter {
                field: "EncryptionMethod",
                problem: "the EncryptedValue names no encryption method",
            }));
        }
        let Some(cipher) = uris::cipher(cipher_uri) else {
            return Ok(Err(SkipReason::UnsupportedEncryption {
                uri: echo(cipher_uri),
            }));
        };
        if let Some(error) = &self.deferred {
            return Err(error.clone());
        }
        self.check_key_length(cipher)?;
        let wrong_key = || {
            if skip_bad {
                Ok(Err(SkipReason::WrongKeyOrPassword))
            } else {
                Err(PskcError::WrongKeyOrPassword {
                    position: Some(position),
                })
            }
        };
        if self.wrong {
            return wrong_key();
        }
        let mac_checked = match (&self.mac, value_mac) {
            (MacKey::Ready { .. }, None) => return Ok(Err(SkipReason::MissingMac)),
            (MacKey::Ready { hash, key }, Some(expected)) => {
                if !crypto::verify_mac(*hash, key.expose_bytes(), data, expected) {
                    return if self.confirmed {
                        Ok(Err(SkipReason::BadMac))
                    } else {
                        wrong_key()
                    };
                }
                self.confirmed = true;
                true
            }
            (MacKey::Absent, _) if !cipher.is_authenticated() => {
                return Ok(Err(SkipReason::MissingMac));
            }
            (MacKey::Absent, _) => false,
        };
        let key = self
            .encryption
            .as_ref()
            .map_or(&[][..], Secret::expose_bytes);
        match crypto::decrypt(cipher, key, data) {
            Ok(plain) => {
                if cipher.is_authenticated() {
                    self.confirmed = true;
                }
                Ok(
                    Secret::from_bytes(&plain.bytes).map_err(|_| SkipReason::InvalidParameter {
                        field: "Secret",
                        problem: "the decrypted secret is empty",
                    }),
                )
            }
            Err(DecryptError::CiphertextLength) => Ok(Err(SkipReason::InvalidParameter {
                field: "Secret",
                problem: "the ciphertext length does not fit the encryption method",
            })),
            Err(DecryptError::Integrity) if mac_checked || self.confirmed => {
                Ok(Err(SkipReason::DecryptionFailed))
            }
            Err(DecryptError::Integrity | DecryptError::KeyLength) => wrong_key(),
        }
    }

    /// Refuses a key whose length does not fit `cipher`.
    fn check_key_length(&self, cipher: uris::Cipher) -> Result<(), PskcError> {
        let given = self.encryption.as_ref().map_or(0, Secret::byte_len);
        if given == cipher.key_len() {
            return Ok(());
        }
        Err(match self.kind {
            Some(KeyKind::Password) => PskcError::KeyDerivation {
                field: "KeyLength",
                problem: "the derived key length does not fit the encryption method",
            },
            _ => PskcError::KeyLength {
                cipher: cipher.name(),
                expected: cipher.key_len(),
                given,
            },
        })
    }
}

/// PBKDF2 from the `DerivedKey` parameters.
fn derive(derivation: &Derivation, password: &Secret) -> Result<Secret, PskcError> {
    let bad = |field, problem| PskcError::KeyDerivation { field, problem };
    match derivation.method.as_deref() {
        None => return Err(bad("KeyDerivationMethod", "the Algorithm is missing")),
        Some(uri) if !uris::is_pbkdf2(uri) => {
            return Err(bad("KeyDerivationMethod", "only PBKDF2 is supported"));
        }
        Some(_) => {}
    }
    let salt = derivation
        .salt
        .as_deref()
        .ok_or_else(|| bad("Salt", "is missing"))
        .and_then(|salt| decode_base64(salt).ok_or_else(|| bad("Salt", "is not valid base64")))?;
    if salt.is_empty() {
        return Err(bad("Salt", "is empty"));
    }
    let iterations = derivation
        .iterations
        .as_deref()
        .ok_or_else(|| bad("IterationCount", "is missing"))?
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_ITERATIONS).contains(n))
        .ok_or_else(|| {
            bad(
                "IterationCount",
                "must be a whole number from 1 to 10000000",
            )
        })?;
    let key_length = derivation
        .key_length
        .as_deref()
        .ok_or_else(|| bad("KeyLength", "is missing"))?
        .parse::<usize>()
        .ok()
        .filter(|n| matches!(n, 16 | 24 | 32))
        .ok_or_else(|| bad("KeyLength", "must be 16, 24 or 32 (an AES key)"))?;
    let prf = match derivation.prf.as_deref() {
        None => Hash::Sha1,
        Some(uri) => uris::hmac_hash(uri)
            .ok_or_else(|| bad("PRF", "only HMAC with SHA-1 or SHA-2 is supported"))?,
    };
    let key = crypto::pbkdf2(prf, password.expose_bytes(), &salt, iterations, key_length);
    Secret::from_bytes(&key).map_err(|_| bad("KeyLength", "is zero"))
}
