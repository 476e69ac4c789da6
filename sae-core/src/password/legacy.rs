//! Salted SHA-256 / SHA-512 hashes imported from the original product.
//!
//! # Import format
//! ```text
//! $sha256$<salt as hex>$<digest as hex>     digest = SHA-256(salt ‖ password)
//! $sha512$<salt as hex>$<digest as hex>     digest = SHA-512(salt ‖ password)
//! ```
//! * `salt` is the raw salt bytes in hexadecimal (0 to 128 bytes; empty for an unsalted
//!   hash: `$sha256$$<digest>`). A textual salt is hex-encoded as its bytes.
//! * `password` is the UTF-8 bytes of the password, appended directly after the salt.
//! * `digest` is the hexadecimal digest: 64 digits for sha256, 128 for sha512. Hex is
//!   accepted in either case.
//!
//! A migrating administrator can produce it with, e.g., PostgreSQL
//! `'$sha256$' || encode(salt, 'hex') || '$' || encode(hash, 'hex')`, or in a shell
//! `printf '%s' "$SALT$PASSWORD" | sha256sum`. Systems that appended the salt after the
//! password are not supported.
//!
//! These hashes are only ever verified (in constant time), never produced, and they always
//! need a rehash, so a user moves to the policy's algorithm at the first successful login.

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::hash::HashError;

/// Largest salt accepted, in bytes.
const MAX_SALT: usize = 128;

/// Which digest an imported hash uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegacyAlgorithm {
    Sha256,
    Sha512,
}

impl LegacyAlgorithm {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    const fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// A parsed `$sha256$…` / `$sha512$…` string.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LegacyHash {
    algorithm: LegacyAlgorithm,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

impl LegacyHash {
    /// Parses `s` when it starts with `$sha256$` or `$sha512$`; `None` for other schemes.
    pub(crate) fn parse(s: &str) -> Option<Result<Self, HashError>> {
        let (algorithm, rest) = if let Some(rest) = s.strip_prefix("$sha256$") {
            (LegacyAlgorithm::Sha256, rest)
        } else if let Some(rest) = s.strip_prefix("$sha512$") {
            (LegacyAlgorithm::Sha512, rest)
        } else {
            return None;
        };
        Some(Self::parse_fields(algorithm, rest))
    }

    fn parse_fields(algorithm: LegacyAlgorithm, rest: &str) -> Result<Self, HashError> {
        let malformed = |reason| HashError::Malformed { reason };
        let (salt_hex, digest_hex) = rest
            .split_once('$')
            .ok_or(malformed("expected $<algorithm>$<salt hex>$<digest hex>"))?;
        let salt = decode_hex(salt_hex).ok_or(malformed("salt is not hexadecimal"))?;
        if salt.len() > MAX_SALT {
            return Err(malformed("salt is longer than 128 bytes"));
        }
        let digest = decode_hex(digest_hex).ok_or(malformed("digest is not hexadecimal"))?;
        if digest.len() != algorithm.digest_len() {
            return Err(malformed("digest has the wrong length for its algorithm"));
        }
        Ok(Self {
            algorithm,
            salt,
            digest,
        })
    }

    pub(crate) const fn algorithm(&self) -> LegacyAlgorithm {
        self.algorithm
    }

    /// Whether `H(salt ‖ password)` equals the digest, compared in constant time.
    pub(crate) fn matches(&self, password: &[u8]) -> bool {
        let equal = match self.algorithm {
            LegacyAlgorithm::Sha256 => {
                let d = Sha256::new()
                    .chain_update(&self.salt)
                    .chain_update(password)
                    .finalize();
                d.as_slice().ct_eq(&self.digest)
            }
            LegacyAlgorithm::Sha512 => {
                let d = Sha512::new()
                    .chain_update(&self.salt)
                    .chain_update(password)
                    .finalize();
                d.as_slice().ct_eq(&self.digest)
            }
        };
        equal.into()
    }
}

/// Decodes an even-length hex string (either case); `None` on any other character.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
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

    #[test]
    fn hex_decoding() {
        let rows: &[(&str, Option<&[u8]>)] = &[
            ("", Some(&[])),
            ("00ff", Some(&[0, 255])),
            ("A1b2", Some(&[0xa1, 0xb2])),
            ("abc", None),
            ("zz", None),
            ("+1", None),
        ];
        for (input, expected) in rows {
            assert_eq!(decode_hex(input).as_deref(), *expected, "row {input:?}");
        }
    }

    #[test]
    fn malformed_strings_are_errors() {
        let rows = [
            "$sha256$",
            "$sha256$00",
            "$sha256$0$",
            "$sha256$00$abcd",
            "$sha512$$2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
            "$sha256$xx$2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
            "$sha256$$2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b$",
        ];
        for s in rows {
            let parsed = LegacyHash::parse(s).expect("legacy prefix");
            assert!(parsed.is_err(), "row {s:?} must be refused");
        }
        assert!(LegacyHash::parse("$argon2id$v=19").is_none());
        let long_salt = format!("$sha256${}${}", "00".repeat(129), "00".repeat(32));
        assert!(
            matches!(LegacyHash::parse(&long_salt), Some(Err(_))),
            "129-byte salt"
        );
    }
}
