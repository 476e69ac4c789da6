//! [`Secret`]: the bytes of an OTP key, wiped on drop and never printed.

use core::fmt;

use rand::TryCryptoRng;
use subtle::{Choice, ConstantTimeEq};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::codec::{self, CodecError};
use crate::otp::Algorithm;

/// Why a secret could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret has no bytes; HMAC needs at least one.
    #[error("secret must be at least 1 byte long")]
    TooShort,
    /// The encoded secret (base32 or hex) is malformed.
    #[error("secret is not validly encoded: {0}")]
    Encoding(#[from] CodecError),
    /// The random number generator passed in reported a failure.
    #[error("the random number generator failed to produce a secret")]
    RandomSource,
}

/// The key of an OTP credential.
///
/// The bytes are private, zeroized on drop, and only reachable through
/// [`Secret::expose_bytes`]; `Debug` prints `Secret(<redacted>)` and there is no
/// `Display` or `Serialize`. A secret always has at least one byte.
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Copies `bytes` into a new secret.
    ///
    /// # Errors
    /// [`SecretError::TooShort`] when `bytes` is empty.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        Self::from_vec(bytes.to_vec())
    }

    /// Takes ownership of `bytes` (no copy; they are wiped when the secret is dropped).
    ///
    /// # Errors
    /// [`SecretError::TooShort`] when `bytes` is empty.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.is_empty() {
            return Err(SecretError::TooShort);
        }
        Ok(Self { bytes })
    }

    /// Decodes a base32 secret (as in otpauth:// URIs; case-insensitive, spaces and `=`
    /// padding tolerated).
    ///
    /// # Errors
    /// [`SecretError::Encoding`] for malformed base32, [`SecretError::TooShort`] when it
    /// decodes to nothing.
    pub fn from_base32(encoded: &str) -> Result<Self, SecretError> {
        Self::from_vec(codec::base32_decode(encoded)?)
    }

    /// Decodes a hexadecimal secret (case-insensitive, spaces tolerated).
    ///
    /// # Errors
    /// [`SecretError::Encoding`] for malformed hex, [`SecretError::TooShort`] when it
    /// decodes to nothing.
    pub fn from_hex(encoded: &str) -> Result<Self, SecretError> {
        Self::from_vec(codec::hex_decode(encoded)?)
    }

    /// Draws a new secret of the length recommended for `algorithm` (its output size:
    /// 20, 32 or 64 bytes, see [`Algorithm::secret_len`]) from a cryptographic RNG.
    ///
    /// Accepts infallible generators (`rand::rng()`) and fallible ones such as
    /// `rand::rngs::SysRng`.
    ///
    /// # Errors
    /// [`SecretError::RandomSource`] when the generator fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        algorithm: Algorithm,
    ) -> Result<Self, SecretError> {
        Self::generate_with_len(rng, algorithm.secret_len())
    }

    /// Draws a new secret of `len` bytes from a cryptographic RNG.
    ///
    /// # Errors
    /// [`SecretError::TooShort`] when `len` is 0, [`SecretError::RandomSource`] when the
    /// generator fails.
    pub fn generate_with_len<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        len: usize,
    ) -> Result<Self, SecretError> {
        if len == 0 {
            return Err(SecretError::TooShort);
        }
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        rng.try_fill_bytes(&mut bytes)
            .map_err(|_| SecretError::RandomSource)?;
        Ok(Self { bytes })
    }

    /// The secret bytes. Every use is a deliberate exposure: keep the borrow short and
    /// never log it.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of bytes (at least 1).
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The secret as upper-case unpadded base32, in a buffer wiped on drop.
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(codec::base32_encoded_len(
            self.bytes.len(),
        )));
        codec::base32_encode_into(&self.bytes, &mut out);
        out
    }
}

impl ConstantTimeEq for Secret {
    /// Constant-time in the contents; the lengths are compared openly.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.bytes.as_slice().ct_eq(other.bytes.as_slice())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// An RNG that always fails, to exercise the error path.
    struct BrokenRng;

    #[derive(Debug)]
    struct Broken;

    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broken")
        }
    }

    impl core::error::Error for Broken {}

    impl rand::TryRng for BrokenRng {
        type Error = Broken;
        fn try_next_u32(&mut self) -> Result<u32, Broken> {
            Err(Broken)
        }
        fn try_next_u64(&mut self) -> Result<u64, Broken> {
            Err(Broken)
        }
        fn try_fill_bytes(&mut self, _dst: &mut [u8]) -> Result<(), Broken> {
            Err(Broken)
        }
    }

    impl TryCryptoRng for BrokenRng {}

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from_bytes(b"12345678901234567890").expect("non-empty");
        let printed = format!("{secret:?}");
        assert_eq!(printed, "Secret(<redacted>)");
        assert!(!printed.contains("1234"), "debug output leaks: {printed}");
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert_eq!(
            Secret::from_bytes(&[]).map(|s| s.byte_len()),
            Err(SecretError::TooShort)
        );
        assert_eq!(
            Secret::from_base32("").map(|s| s.byte_len()),
            Err(SecretError::TooShort)
        );
        assert_eq!(
            Secret::generate_with_len(&mut StdRng::seed_from_u64(1), 0).map(|s| s.byte_len()),
            Err(SecretError::TooShort)
        );
        assert_eq!(
            Secret::from_bytes(&[0]).map(|s| s.byte_len()),
            Ok(1),
            "one byte is enough"
        );
    }

    #[test]
    fn generated_lengths_follow_the_algorithm() {
        let mut rng = StdRng::seed_from_u64(7);
        for (algorithm, len) in [
            (Algorithm::Sha1, 20),
            (Algorithm::Sha256, 32),
            (Algorithm::Sha512, 64),
        ] {
            let secret = Secret::generate(&mut rng, algorithm).expect("seeded rng");
            assert_eq!(secret.byte_len(), len, "{algorithm}");
        }
    }

    #[test]
    fn generation_draws_fresh_bytes() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = Secret::generate(&mut rng, Algorithm::Sha1).expect("seeded rng");
        let b = Secret::generate(&mut rng, Algorithm::Sha1).expect("seeded rng");
        assert!(!bool::from(a.ct_eq(&b)), "two draws gave the same secret");
        assert!(a.expose_bytes().iter().any(|&byte| byte != 0), "all zero");
    }

    #[test]
    fn os_and_thread_rngs_are_accepted() {
        let from_os = Secret::generate(&mut rand::rngs::SysRng, Algorithm::Sha256);
        assert_eq!(from_os.map(|s| s.byte_len()), Ok(32));
        let from_thread = Secret::generate(&mut rand::rng(), Algorithm::Sha512);
        assert_eq!(from_thread.map(|s| s.byte_len()), Ok(64));
    }

    #[test]
    fn rng_failure_is_reported() {
        assert_eq!(
            Secret::generate(&mut BrokenRng, Algorithm::Sha1).map(|s| s.byte_len()),
            Err(SecretError::RandomSource)
        );
    }

    #[test]
    fn base32_and_hex_constructors_agree() {
        let from_b32 = Secret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").expect("ok");
        let from_hex = Secret::from_hex("3132333435363738393031323334353637383930").expect("ok");
        assert_eq!(from_b32.expose_bytes(), b"12345678901234567890");
        assert!(bool::from(from_b32.ct_eq(&from_hex)));
        assert_eq!(
            from_b32.to_base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn bad_encodings_are_reported() {
        assert_eq!(
            Secret::from_base32("GEZ!").map(|s| s.byte_len()),
            Err(SecretError::Encoding(CodecError::InvalidBase32Char {
                position: 3,
                found: '!'
            }))
        );
        assert_eq!(
            Secret::from_hex("313").map(|s| s.byte_len()),
            Err(SecretError::Encoding(CodecError::OddHexLength {
                digits: 3
            }))
        );
    }
}
