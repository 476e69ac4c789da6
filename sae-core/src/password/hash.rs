//! Password hashing into self-describing PHC strings, verification and rehash decisions.
//!
//! New passwords are hashed with the policy's algorithm ([`HashPolicy`]): argon2id (default,
//! `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), pbkdf2-sha256
//! (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`) or pbkdf2-sha512. Salts are 16 bytes from the
//! caller's RNG, outputs 32 bytes, both in the PHC "B64" encoding (standard alphabet, no
//! padding).
//!
//! [`StoredHash::parse`] accepts whatever may be stored, whatever the current policy:
//! those PHC strings (also argon2i/argon2d and other lengths, as written by other
//! PHC-compliant software such as Python's `argon2-cffi`), and the imported legacy salted
//! `$sha256$…` / `$sha512$…` format documented in [`crate::password::legacy`]. A
//! successful verification says whether the hash should be replaced
//! ([`Verification::Valid`]`{ needs_rehash }`).

use argon2::password_hash::{self, phc::PasswordHash};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use pbkdf2::Pbkdf2;
use serde::{Deserialize, Serialize};

use super::hash_params::{Argon2Params, HashPolicy, Pbkdf2Rounds};
use super::legacy::LegacyHash;

/// Salt length of new hashes, in bytes.
const SALT_LEN: usize = 16;
/// Output length of new hashes, in bytes.
const OUTPUT_LEN: usize = 32;

/// Why a password could not be hashed or a stored hash could not be used.
///
/// Messages never contain the password nor the stored hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The stored string names an algorithm this crate does not verify.
    #[error(
        "stored password hash uses an unsupported scheme (supported: argon2id, argon2i, \
         argon2d, pbkdf2-sha256, pbkdf2-sha512, and imported sha256/sha512)"
    )]
    UnsupportedScheme,
    /// The stored string is not a well-formed hash of its scheme.
    #[error("stored password hash is malformed: {reason}")]
    Malformed {
        /// What is wrong, without quoting the string.
        reason: &'static str,
    },
    /// A cost parameter (of a policy or of a stored hash) is outside its bounds.
    #[error("hash parameter {name} must be between {min} and {max}, got {value}")]
    ParamOutOfRange {
        /// `m_kib`, `t`, `p` or `rounds`.
        name: &'static str,
        /// The refused value.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A cost parameter of another algorithm family was given.
    #[error("hash parameter {name} does not apply to {algorithm}")]
    ParamNotApplicable {
        /// The parameter given.
        name: &'static str,
        /// The algorithm chosen.
        algorithm: HashAlgorithm,
    },
    /// The random number generator failed to produce a salt.
    #[error("the random number generator failed to produce a salt")]
    Rng,
    /// The hashing backend refused its input (should not happen with validated parameters).
    #[error("password hashing failed")]
    Backend,
}

/// An algorithm that new passwords may be hashed with (the policy's `hash` field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashAlgorithm {
    /// `"argon2id"` (recommended, default).
    #[default]
    #[serde(rename = "argon2id")]
    Argon2id,
    /// `"pbkdf2-sha256"`.
    #[serde(rename = "pbkdf2-sha256")]
    Pbkdf2Sha256,
    /// `"pbkdf2-sha512"`.
    #[serde(rename = "pbkdf2-sha512")]
    Pbkdf2Sha512,
}

impl HashAlgorithm {
    /// The name used in JSON and as PHC identifier.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
            Self::Pbkdf2Sha512 => "pbkdf2-sha512",
        }
    }
}

impl core::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Verification {
    /// The password does not match.
    Invalid,
    /// The password matches. When `needs_rehash` is true, hash it again with the current
    /// policy and store the new string (the password is at hand only now).
    Valid {
        /// The stored hash uses another algorithm or other parameters than the policy, or
        /// is an imported legacy hash.
        needs_rehash: bool,
    },
}

/// A stored password hash, parsed and checked for bounded cost.
///
/// `Debug` shows only the scheme; the string itself comes out through
/// [`as_str`](Self::as_str) for storage.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash {
    encoded: String,
    scheme: Scheme,
}

#[derive(Clone, PartialEq, Eq)]
enum Scheme {
    Argon2 {
        phc: PasswordHash,
        current: Option<Argon2Params>,
    },
    Pbkdf2 {
        phc: PasswordHash,
        current: Option<HashPolicy>,
    },
    Legacy(LegacyHash),
}

impl StoredHash {
    /// Parses a stored or imported hash string.
    ///
    /// # Errors
    /// [`HashError::UnsupportedScheme`], [`HashError::Malformed`], or
    /// [`HashError::ParamOutOfRange`] when its cost exceeds what a policy may set.
    pub fn parse(s: &str) -> Result<Self, HashError> {
        let scheme = match LegacyHash::parse(s) {
            Some(legacy) => Scheme::Legacy(legacy?),
            None => parse_phc(s)?,
        };
        Ok(Self {
            encoded: s.to_owned(),
            scheme,
        })
    }

    /// The string to store.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The string to store, by value.
    #[must_use]
    pub fn into_string(self) -> String {
        self.encoded
    }

    /// The scheme's name: `argon2id`, `argon2i`, `argon2d`, `pbkdf2-sha256`,
    /// `pbkdf2-sha512`, `sha256` or `sha512`.
    #[must_use]
    pub fn scheme(&self) -> &str {
        match &self.scheme {
            Scheme::Argon2 { phc, .. } | Scheme::Pbkdf2 { phc, .. } => phc.algorithm.as_str(),
            Scheme::Legacy(l) => l.algorithm().name(),
        }
    }

    /// Whether this is an imported salted sha256/sha512 hash.
    #[must_use]
    pub fn is_legacy(&self) -> bool {
        matches!(self.scheme, Scheme::Legacy(_))
    }

    /// Whether the hash differs from what `policy` would produce now (algorithm, version,
    /// parameters or output length). Imported legacy hashes always need a rehash.
    #[must_use]
    pub fn needs_rehash(&self, policy: &HashPolicy) -> bool {
        match (&self.scheme, policy) {
            (Scheme::Argon2 { current, .. }, HashPolicy::Argon2id(wanted)) => {
                *current != Some(*wanted)
            }
            (Scheme::Pbkdf2 { current, .. }, _) => *current != Some(*policy),
            _ => true,
        }
    }

    /// Checks `password` and says whether the hash should be replaced under `policy`.
    ///
    /// # Errors
    /// [`HashError::Backend`] if the hashing library refuses the stored parameters (they
    /// were bounded at parse time, so this is not expected).
    pub fn verify(&self, password: &str, policy: &HashPolicy) -> Result<Verification, HashError> {
        Ok(if self.matches(password)? {
            Verification::Valid {
                needs_rehash: self.needs_rehash(policy),
            }
        } else {
            Verification::Invalid
        })
    }

    /// Whether `password` matches, compared in constant time.
    pub(crate) fn matches(&self, password: &str) -> Result<bool, HashError> {
        let password = password.as_bytes();
        let outcome = match &self.scheme {
            Scheme::Argon2 { phc, .. } => Argon2::default().verify_password(password, phc),
            Scheme::Pbkdf2 { phc, .. } => Pbkdf2::default().verify_password(password, phc),
            Scheme::Legacy(legacy) => return Ok(legacy.matches(password)),
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(HashError::Backend),
        }
    }
}

impl core::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredHash")
            .field("scheme", &self.scheme())
            .finish_non_exhaustive()
    }
}

/// Parses a PHC string of a supported family and bounds its cost.
fn parse_phc(s: &str) -> Result<Scheme, HashError> {
    let phc = PasswordHash::new(s).map_err(|_| HashError::Malformed {
        reason: "not a PHC string ($id[$v=…][$params][$salt[$hash]])",
    })?;
    let Some(output) = &phc.hash else {
        return Err(HashError::Malformed {
            reason: "salt or hash field missing",
        });
    };
    let output_len = output.len();
    let malformed_params = |_| HashError::Malformed {
        reason: "parameters are invalid for the algorithm",
    };
    match phc.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => {
            let p = argon2::Params::try_from(&phc).map_err(malformed_params)?;
            let bounded = Argon2Params::new(p.m_cost(), p.t_cost(), p.p_cost())?;
            let canonical = phc.algorithm.as_str() == "argon2id"
                && phc.version == Some(0x13)
                && output_len == OUTPUT_LEN
                && p.keyid().is_empty()
                && p.data().is_empty();
            Ok(Scheme::Argon2 {
                current: canonical.then_some(bounded),
                phc,
            })
        }
        id @ ("pbkdf2-sha256" | "pbkdf2-sha512") => {
            let p = pbkdf2::Params::try_from(&phc).map_err(malformed_params)?;
            let rounds = Pbkdf2Rounds::new(p.rounds())?;
            let policy = if id == "pbkdf2-sha256" {
                HashPolicy::Pbkdf2Sha256(rounds)
            } else {
                HashPolicy::Pbkdf2Sha512(rounds)
            };
            Ok(Scheme::Pbkdf2 {
                current: (output_len == OUTPUT_LEN).then_some(policy),
                phc,
            })
        }
        _ => Err(HashError::UnsupportedScheme),
    }
}

impl HashPolicy {
    /// Hashes `password` with this algorithm and parameters and a fresh 16-byte salt from
    /// `rng` (e.g. `rand::rng()`, or `rand::rngs::SysRng` directly).
    ///
    /// # Errors
    /// [`HashError::Rng`] if `rng` fails, [`HashError::Backend`] if the library refuses.
    pub fn hash<R: rand::TryCryptoRng + ?Sized>(
        &self,
        password: &str,
        rng: &mut R,
    ) -> Result<StoredHash, HashError> {
        let mut salt = [0u8; SALT_LEN];
        rng.try_fill_bytes(&mut salt).map_err(|_| HashError::Rng)?;
        let password = password.as_bytes();
        let phc = match self {
            HashPolicy::Argon2id(a) => {
                let params = argon2::Params::new(a.m_kib(), a.t(), a.p(), Some(OUTPUT_LEN))
                    .map_err(|_| HashError::Backend)?;
                Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                    .hash_password_with_salt(password, &salt)
            }
            HashPolicy::Pbkdf2Sha256(r) | HashPolicy::Pbkdf2Sha512(r) => {
                let algorithm = match self {
                    HashPolicy::Pbkdf2Sha512(_) => pbkdf2::Algorithm::Pbkdf2Sha512,
                    _ => pbkdf2::Algorithm::Pbkdf2Sha256,
                };
                let params = pbkdf2::Params::new_with_output_len(r.get(), OUTPUT_LEN)
                    .map_err(|_| HashError::Backend)?;
                Pbkdf2::new(algorithm, params).hash_password_with_salt(password, &salt)
            }
        }
        .map_err(|_| HashError::Backend)?;
        StoredHash::parse(&phc.to_string())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    fn cheap_argon2() -> HashPolicy {
        HashPolicy::Argon2id(Argon2Params::new(64, 1, 1).unwrap())
    }

    fn cheap_policies() -> [(&'static str, HashPolicy); 3] {
        [
            ("argon2id", cheap_argon2()),
            (
                "pbkdf2-sha256",
                HashPolicy::Pbkdf2Sha256(Pbkdf2Rounds::new(1000).unwrap()),
            ),
            (
                "pbkdf2-sha512",
                HashPolicy::Pbkdf2Sha512(Pbkdf2Rounds::new(1000).unwrap()),
            ),
        ]
    }

    /// Vectors computed independently with Python 3.11 (not with this crate's code):
    /// * argon2: `argon2-cffi` 25.1 `argon2.low_level.hash_secret(password, salt,
    ///   time_cost, memory_cost, parallelism, hash_len=32, type)`;
    /// * pbkdf2: `hashlib.pbkdf2_hmac(alg, password, salt, rounds, len)`, salt and output
    ///   in base64 without padding, assembled as `$pbkdf2-<alg>$i=<rounds>,l=<len>$…$…`;
    ///   the `l=40` row is the well-known RFC 6070-style PBKDF2-HMAC-SHA256 vector
    ///   (P = "passwordPASSWORDpassword", S = "saltSALTsaltSALTsaltSALTsaltSALTsalt",
    ///   c = 4096, dk = 348c89db…c7dac47e9), which hashlib reproduces;
    /// * legacy: `'$sha256$' + salt.hex() + '$' + hashlib.sha256(salt + password).hexdigest()`.
    ///
    /// (name, password, stored string)
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "argon2id m=64 t=1 p=1",
            "correct horse battery staple",
            "$argon2id$v=19$m=64,t=1,p=1$c2FlLXRlc3Qtc2FsdC0wMQ$AKV8JG4ATUMIRydVsXn/pIliAx2Ws3clqfR+4RbBFG8",
        ),
        (
            "argon2id m=256 t=3 p=2, non-ASCII password",
            "pásswörd",
            "$argon2id$v=19$m=256,t=3,p=2$MDEyMzQ1Njc4OWFiY2RlZg$107Zg4Hw4apOjbhQKlIl2GKLxBkY3Wppz8X05TVysUI",
        ),
        (
            "argon2i m=64 t=2 p=1",
            "password",
            "$argon2i$v=19$m=64,t=2,p=1$c29tZXNhbHRTT01FU0FMVA$4r4mBY/04Gfy1QSM8XJpElzSvKsyY2krdSUpAwq9X1s",
        ),
        (
            "pbkdf2-sha256 RFC 6070-style c=4096 l=40",
            "passwordPASSWORDpassword",
            "$pbkdf2-sha256$i=4096,l=40$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q",
        ),
        (
            "pbkdf2-sha256 i=1000",
            "correct horse battery staple",
            "$pbkdf2-sha256$i=1000,l=32$c2FlLXBia2RmMi1zYWx0IQ$867nVe0JQCEcFCXFFeQ4MwHSjtK2SgVRohGDRs4ATGM",
        ),
        (
            "pbkdf2-sha512 i=1000",
            "correct horse battery staple",
            "$pbkdf2-sha512$i=1000,l=32$c2FlLXBia2RmMi1zYWx0IQ$03OzhMQ2iFY68cWb37fPlXZh2MizQeikM2nxolJ9J5E",
        ),
        (
            "legacy sha256 salted",
            "correct horse battery staple",
            "$sha256$a1b2c3d4e5f60718$ffeed257ffacfc30dbb5e12d351f97f5801d49204866d2a3c30c2a05960f5700",
        ),
        (
            "legacy sha256 unsalted, upper-case hex",
            "secret",
            "$sha256$$2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B",
        ),
        (
            "legacy sha512 salted",
            "correct horse battery staple",
            "$sha512$a1b2c3d4e5f60718$344275dc2b795f42d27678aacbab5b45c2a8a39a3779df1d3abed82a04023a42f5b3302622a2976d616cb0a15927ab9f51f7da85ec055cfbfeb17c5bc886afe6",
        ),
        (
            "legacy sha512 unsalted",
            "secret",
            "$sha512$$bd2b1aaf7ef4f09be9f52ce2d8d599674d81aa9d6a4421696dc4d93dd0619d682ce56b4d64a9ef097761ced99e0f67265b5f76085e5b0ee7ca4696b2ad6fe2b2",
        ),
    ];

    #[test]
    fn independent_vectors_verify_and_reject_wrong_passwords() {
        let policy = HashPolicy::default();
        for (name, password, stored) in VECTORS {
            let h = StoredHash::parse(stored).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                matches!(h.verify(password, &policy), Ok(Verification::Valid { .. })),
                "{name}: right password"
            );
            let wrong = format!("{password}x");
            assert_eq!(
                h.verify(&wrong, &policy),
                Ok(Verification::Invalid),
                "{name}: wrong"
            );
            assert_eq!(
                h.verify("", &policy),
                Ok(Verification::Invalid),
                "{name}: empty"
            );
        }
    }

    #[test]
    fn owasp_default_vectors() {
        // Same tools as VECTORS, at the default (OWASP) parameters.
        let rows: &[(&str, HashPolicy, &str)] = &[
            (
                "argon2id m=19456 t=2 p=1",
                HashPolicy::default(),
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRTT01FU0FMVA$DkdiWnw7T03ffprnn4mlDkd3/sCJ7cwkgD7pdNvv6t8",
            ),
            (
                "pbkdf2-sha512 i=210000",
                HashPolicy::recommended(HashAlgorithm::Pbkdf2Sha512),
                "$pbkdf2-sha512$i=210000,l=32$c2FlLXBia2RmMi1zYWx0IQ$uzd//YjzSJPH0PWaS1AqvoyizQuGCClPCMpMak0qoJk",
            ),
        ];
        for (name, policy, stored) in rows {
            let h = StoredHash::parse(stored).unwrap();
            let password = if name.starts_with("argon2") {
                "password"
            } else {
                "correct horse battery staple"
            };
            assert_eq!(
                h.verify(password, policy),
                Ok(Verification::Valid {
                    needs_rehash: false
                }),
                "{name}: matches and is current"
            );
        }
    }

    #[test]
    fn default_policy_hashes_with_owasp_argon2id() {
        let policy = HashPolicy::default();
        let h = policy.hash("Tr0ub4dor&3", &mut rng()).unwrap();
        assert!(
            h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.as_str()
        );
        assert_eq!(
            h.verify("Tr0ub4dor&3", &policy),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(h.verify("Tr0ub4dor&4", &policy), Ok(Verification::Invalid));
    }

    #[test]
    fn every_algorithm_verifies_what_it_produced() {
        for (name, policy) in cheap_policies() {
            let h = policy.hash("hunter2", &mut rng()).unwrap();
            assert_eq!(h.scheme(), name, "{name}");
            assert!(
                h.as_str().starts_with(&format!("${name}$")),
                "{name}: {}",
                h.as_str()
            );
            assert_eq!(
                h.verify("hunter2", &policy),
                Ok(Verification::Valid {
                    needs_rehash: false
                }),
                "{name}: right password"
            );
            assert_eq!(
                h.verify("hunter3", &policy),
                Ok(Verification::Invalid),
                "{name}: wrong"
            );
            let again = policy.hash("hunter2", &mut rng()).unwrap();
            let other = policy
                .hash("hunter2", &mut rand::rngs::StdRng::seed_from_u64(8))
                .unwrap();
            assert_eq!(again, h, "{name}: same salt, same string");
            assert_ne!(other, h, "{name}: another salt, another string");
        }
    }

    #[test]
    fn rehash_when_algorithm_or_parameters_change() {
        let h = cheap_argon2().hash("pw", &mut rng()).unwrap();
        let rows: &[(&str, HashPolicy, bool)] = &[
            ("same", cheap_argon2(), false),
            (
                "m",
                HashPolicy::Argon2id(Argon2Params::new(128, 1, 1).unwrap()),
                true,
            ),
            (
                "t",
                HashPolicy::Argon2id(Argon2Params::new(64, 2, 1).unwrap()),
                true,
            ),
            (
                "p",
                HashPolicy::Argon2id(Argon2Params::new(64, 1, 2).unwrap()),
                true,
            ),
            (
                "pbkdf2",
                HashPolicy::Pbkdf2Sha256(Pbkdf2Rounds::new(1000).unwrap()),
                true,
            ),
        ];
        for (name, policy, expected) in rows {
            assert_eq!(h.needs_rehash(policy), *expected, "argon2 hash vs {name}");
        }
        let p = HashPolicy::Pbkdf2Sha256(Pbkdf2Rounds::new(1000).unwrap());
        let ph = p.hash("pw", &mut rng()).unwrap();
        assert!(!ph.needs_rehash(&p));
        assert!(ph.needs_rehash(&HashPolicy::Pbkdf2Sha256(Pbkdf2Rounds::new(1001).unwrap())));
        assert!(ph.needs_rehash(&HashPolicy::Pbkdf2Sha512(Pbkdf2Rounds::new(1000).unwrap())));
        assert!(ph.needs_rehash(&cheap_argon2()));
        // Strings from elsewhere: current only when variant, version, params and length
        // are exactly the policy's; legacy, argon2i and 40-byte outputs never are.
        for (name, _, stored) in VECTORS {
            let s = StoredHash::parse(stored).unwrap();
            for (policy_name, policy) in cheap_policies() {
                let current = (name.starts_with("argon2id m=64 t=1 p=1")
                    && policy_name == "argon2id")
                    || (name.starts_with("pbkdf2-sha256 i=1000") && policy_name == "pbkdf2-sha256")
                    || (name.starts_with("pbkdf2-sha512 i=1000") && policy_name == "pbkdf2-sha512");
                assert_eq!(
                    s.needs_rehash(&policy),
                    !current,
                    "{name} under {policy_name}"
                );
            }
        }
    }

    #[test]
    fn bad_stored_strings_are_errors_not_panics() {
        let rows: &[(&str, &str)] = &[
            ("empty", ""),
            ("no leading $", "argon2id$v=19"),
            ("unknown scheme", "$md5$abc$def"),
            (
                "scrypt",
                "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            ),
            (
                "bcrypt",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            ),
            (
                "no hash",
                "$argon2id$v=19$m=64,t=1,p=1$c2FlLXRlc3Qtc2FsdC0wMQ",
            ),
            (
                "bad b64",
                "$argon2id$v=19$m=64,t=1,p=1$c2FlLXRlc3Qtc2FsdC0wMQ$!!!!",
            ),
            (
                "unknown param",
                "$argon2id$v=19$m=64,t=1,p=1,x=3$c2FlLXRlc3Qtc2FsdC0wMQ$AKV8JG4ATUMIRydVsXn/pIliAx2Ws3clqfR+4RbBFG8",
            ),
            (
                "memory too big",
                "$argon2id$v=19$m=4194304,t=1,p=1$c2FlLXRlc3Qtc2FsdC0wMQ$AKV8JG4ATUMIRydVsXn/pIliAx2Ws3clqfR+4RbBFG8",
            ),
            (
                "t too big",
                "$argon2id$v=19$m=64,t=1000,p=1$c2FlLXRlc3Qtc2FsdC0wMQ$AKV8JG4ATUMIRydVsXn/pIliAx2Ws3clqfR+4RbBFG8",
            ),
            (
                "rounds too big",
                "$pbkdf2-sha256$i=4000000000,l=32$c2FlLXBia2RmMi1zYWx0IQ$867nVe0JQCEcFCXFFeQ4MwHSjtK2SgVRohGDRs4ATGM",
            ),
            (
                "rounds too small",
                "$pbkdf2-sha256$i=1,l=32$c2FlLXBia2RmMi1zYWx0IQ$867nVe0JQCEcFCXFFeQ4MwHSjtK2SgVRohGDRs4ATGM",
            ),
            (
                "length mismatch",
                "$pbkdf2-sha256$i=1000,l=20$c2FlLXBia2RmMi1zYWx0IQ$867nVe0JQCEcFCXFFeQ4MwHSjtK2SgVRohGDRs4ATGM",
            ),
            ("legacy bad hex", "$sha256$zz$00"),
            (
                "trailing",
                "$pbkdf2-sha256$i=1000,l=32$c2FlLXBia2RmMi1zYWx0IQ$867nVe0JQCEcFCXFFeQ4MwHSjtK2SgVRohGDRs4ATGM$x",
            ),
        ];
        for (name, s) in rows {
            assert!(StoredHash::parse(s).is_err(), "{name} must be refused");
        }
    }

    #[test]
    fn debug_and_errors_do_not_leak_the_hash() {
        let h = StoredHash::parse(VECTORS[0].2).unwrap();
        let shown = format!("{h:?}");
        assert_eq!(shown, "StoredHash { scheme: \"argon2id\", .. }");
        let err = StoredHash::parse("$sha256$zz$00").unwrap_err().to_string();
        assert!(!err.contains("zz"), "{err}");
    }

    #[test]
    fn failing_rng_is_an_error() {
        struct Broken;
        impl rand::TryRng for Broken {
            type Error = core::fmt::Error;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Err(core::fmt::Error)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Err(core::fmt::Error)
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
                Err(core::fmt::Error)
            }
        }
        impl rand::TryCryptoRng for Broken {}
        assert_eq!(cheap_argon2().hash("pw", &mut Broken), Err(HashError::Rng));
    }

    #[test]
    fn os_rng_can_be_passed() {
        let h = cheap_argon2().hash("pw", &mut rand::rngs::SysRng).unwrap();
        assert!(matches!(
            h.verify("pw", &cheap_argon2()),
            Ok(Verification::Valid { .. })
        ));
        let h = cheap_argon2().hash("pw", &mut rand::rng()).unwrap();
        assert!(matches!(
            h.verify("pw", &cheap_argon2()),
            Ok(Verification::Valid { .. })
        ));
    }
}
