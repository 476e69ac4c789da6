//! OPIE parameters: hash algorithm, seed, secret pass phrase and sequence count, each checked
//! when it is built.

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngExt};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::OpieError;

/// The hash of an OPIE sequence (RFC 2289 §4).
///
/// MD4 is broken and only kept for old clients; MD5 is the algorithm every RFC 2289 client
/// must support, hence the default; SHA-1 is the strongest of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// MD4 (RFC 1320), folded by XOR of its two 64-bit halves.
    Md4,
    /// MD5 (RFC 1321), folded by XOR of its two 64-bit halves.
    #[default]
    Md5,
    /// SHA-1 (FIPS 180-4), folded as RFC 2289 Appendix A does.
    Sha1,
}

impl Algorithm {
    /// The RFC 2289 name: `md4`, `md5` or `sha1` (as in `otp-md5`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Md4 => "md4",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = OpieError;

    /// Reads `md4`, `md5` or `sha1`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::Md4, Self::Md5, Self::Sha1]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .ok_or(OpieError::UnknownAlgorithm)
    }
}

/// An RFC 2289 seed: 1 to 16 ASCII letters or digits, stored lower-cased (seeds are
/// case-insensitive). Seeds are public; they appear in the challenge.
///
/// Stored inline, so a seed is `Copy` and carrying it into a new [`OpieState`] after a
/// verification does not allocate.
///
/// [`OpieState`]: super::OpieState
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Seed {
    /// The lower-cased seed in `bytes[..len]`, zero bytes after it.
    bytes: [u8; Self::MAX_LEN],
    len: u8,
}

impl Seed {
    /// Longest seed, in characters (RFC 2289 §6).
    pub const MAX_LEN: usize = 16;

    /// Checks and lower-cases a seed.
    ///
    /// # Errors
    /// [`OpieError::SeedCharacter`] for a character that is not an ASCII letter or digit,
    /// [`OpieError::SeedLength`] for an empty seed or one over 16 characters.
    pub fn new(seed: &str) -> Result<Self, OpieError> {
        if let Some(i) = seed.chars().position(|c| !c.is_ascii_alphanumeric()) {
            return Err(OpieError::SeedCharacter { position: i + 1 });
        }
        // All ASCII from here, so bytes are characters.
        let length = seed.len();
        match u8::try_from(length) {
            Ok(len) if (1..=Self::MAX_LEN).contains(&length) => {
                let mut bytes = [0u8; Self::MAX_LEN];
                for (slot, b) in bytes.iter_mut().zip(seed.bytes()) {
                    *slot = b.to_ascii_lowercase();
                }
                Ok(Self { bytes, len })
            }
            _ => Err(OpieError::SeedLength { length }),
        }
    }

    /// The lower-cased seed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // `new` and `random` store 1 to 16 ASCII bytes, so neither fallback is ever taken.
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Draws a fresh seed: two lower-case letters and six digits (`ke123456`), about 26 bits
    /// of randomness — enough to make seeds differ between users and re-enrolments, which is
    /// all a seed is for.
    pub(super) fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; Self::MAX_LEN];
        for (i, slot) in bytes.iter_mut().take(8).enumerate() {
            *slot = if i < 2 {
                b'a' + rng.random_range(0..26u8)
            } else {
                b'0' + rng.random_range(0..10u8)
            };
        }
        Self { bytes, len: 8 }
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Seed").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Seed {
    type Err = OpieError;

    fn from_str(seed: &str) -> Result<Self, Self::Err> {
        Self::new(seed)
    }
}

impl TryFrom<String> for Seed {
    type Error = OpieError;

    fn try_from(seed: String) -> Result<Self, Self::Error> {
        Self::new(&seed)
    }
}

impl From<Seed> for String {
    fn from(seed: Seed) -> Self {
        seed.as_str().to_owned()
    }
}

/// The secret pass phrase: 10 to 63 characters (RFC 2289 §6), zeroized on drop, redacted in
/// `Debug`, with no `Display`, `Clone` or `Serialize`.
pub struct PassPhrase(Zeroizing<String>);

impl PassPhrase {
    /// Shortest pass phrase, in characters.
    pub const MIN_LEN: usize = 10;
    /// Longest pass phrase, in characters.
    pub const MAX_LEN: usize = 63;
    /// Length of a pass phrase drawn by [`OpieState::enrol_paper`](super::OpieState::enrol_paper).
    const RANDOM_LEN: usize = 24;
    /// 32 symbols (no `l`, `o`, `0`, `1`), so one random byte masked to 5 bits picks one
    /// uniformly; 24 of them carry 120 bits.
    const RANDOM_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

    /// Takes a pass phrase, checking its length in characters (Unicode scalar values; the
    /// hash reads its UTF-8 bytes). The string is zeroized even when it is rejected.
    ///
    /// # Errors
    /// [`OpieError::PassPhraseTooShort`] or [`OpieError::PassPhraseTooLong`].
    pub fn new(phrase: impl Into<String>) -> Result<Self, OpieError> {
        let phrase = Zeroizing::new(phrase.into());
        let length = phrase.chars().count();
        if length < Self::MIN_LEN {
            Err(OpieError::PassPhraseTooShort { length })
        } else if length > Self::MAX_LEN {
            Err(OpieError::PassPhraseTooLong { length })
        } else {
            Ok(Self(phrase))
        }
    }

    /// The pass phrase itself; an explicit call, for the code that hashes or prints it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Draws a pass phrase of 24 characters from a 32-symbol alphabet (120 bits).
    pub(super) fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; Self::RANDOM_LEN]);
        rng.fill_bytes(bytes.as_mut_slice());
        let mut phrase = Zeroizing::new(String::with_capacity(Self::RANDOM_LEN));
        for b in bytes.iter() {
            phrase.push(char::from(Self::RANDOM_ALPHABET[usize::from(b & 31)]));
        }
        Self(phrase)
    }
}

impl fmt::Debug for PassPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PassPhrase(<redacted>)")
    }
}

/// A sequence count (sequence number) between 0 and [`Count::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count(u32);

impl Count {
    /// Largest count: computing the OTP for a count `n` takes `n + 1` hashes, so this bounds
    /// the work one request can ask for.
    pub const MAX: u32 = 10_000;

    /// The count 0: its OTP is the last of a sequence.
    pub const ZERO: Self = Self(0);

    /// Checks a count.
    ///
    /// # Errors
    /// [`OpieError::CountOutOfRange`] above [`Count::MAX`].
    pub fn new(count: u64) -> Result<Self, OpieError> {
        match u32::try_from(count) {
            Ok(n) if n <= Self::MAX => Ok(Self(n)),
            _ => Err(OpieError::CountOutOfRange {
                count,
                min: 0,
                max: Self::MAX,
            }),
        }
    }

    /// The count as a number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The count one lower, or `None` at 0.
    pub(super) fn pred(self) -> Option<Self> {
        self.0.checked_sub(1).map(Self)
    }

    /// Checks that this count can start an enrolment (at least 1).
    pub(super) fn check_enrolment(self) -> Result<Self, OpieError> {
        if self.0 == 0 {
            Err(OpieError::CountOutOfRange {
                count: 0,
                min: 1,
                max: Self::MAX,
            })
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn algorithm_names_round_trip() {
        let rows = [
            ("md4", Algorithm::Md4),
            ("MD5", Algorithm::Md5),
            ("Sha1", Algorithm::Sha1),
        ];
        for (name, algorithm) in rows {
            assert_eq!(name.parse::<Algorithm>(), Ok(algorithm), "name {name}");
            assert_eq!(algorithm.to_string(), name.to_lowercase(), "name {name}");
        }
        for name in ["", "sha-1", "sha256", "md 5", "md5 "] {
            assert_eq!(
                name.parse::<Algorithm>(),
                Err(OpieError::UnknownAlgorithm),
                "name {name:?}"
            );
        }
        assert_eq!(Algorithm::default(), Algorithm::Md5);
    }

    #[test]
    fn algorithm_serde_uses_rfc_names() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&Algorithm::Sha1)?, "\"sha1\"");
        assert_eq!(
            serde_json::from_str::<Algorithm>("\"md4\"")?,
            Algorithm::Md4
        );
        Ok(())
    }

    #[test]
    fn seed_bounds() {
        let ok = [
            ("TeSt", "test"),
            ("a", "a"),
            ("KE1234", "ke1234"),
            ("0123456789abcdef", "0123456789abcdef"),
        ];
        for (input, stored) in ok {
            assert_eq!(
                Seed::new(input).map(|s| s.as_str().to_owned()),
                Ok(stored.to_owned()),
                "seed {input:?}"
            );
        }
        let bad = [
            ("", OpieError::SeedLength { length: 0 }),
            ("0123456789abcdefg", OpieError::SeedLength { length: 17 }),
            ("ke 1234", OpieError::SeedCharacter { position: 3 }),
            ("ke-1234", OpieError::SeedCharacter { position: 3 }),
            ("é1", OpieError::SeedCharacter { position: 1 }),
            ("ab\u{0}", OpieError::SeedCharacter { position: 3 }),
        ];
        for (input, error) in bad {
            assert_eq!(Seed::new(input), Err(error), "seed {input:?}");
        }
    }

    #[test]
    fn seed_serde_checks_and_lowercases() {
        assert_eq!(
            serde_json::from_str::<Seed>("\"KE1234\"")
                .map(String::from)
                .ok(),
            Some("ke1234".to_owned())
        );
        assert!(serde_json::from_str::<Seed>("\"ke 1234\"").is_err());
    }

    #[test]
    fn pass_phrase_bounds() {
        let rows: [(String, Result<(), OpieError>); 6] = [
            (
                "x".repeat(9),
                Err(OpieError::PassPhraseTooShort { length: 9 }),
            ),
            ("x".repeat(10), Ok(())),
            ("x".repeat(63), Ok(())),
            (
                "x".repeat(64),
                Err(OpieError::PassPhraseTooLong { length: 64 }),
            ),
            // Characters, not bytes: 10 two-byte characters are enough.
            ("é".repeat(10), Ok(())),
            (
                String::new(),
                Err(OpieError::PassPhraseTooShort { length: 0 }),
            ),
        ];
        for (phrase, expected) in rows {
            assert_eq!(
                PassPhrase::new(phrase.clone()).map(|_| ()),
                expected,
                "pass phrase of {} chars",
                phrase.chars().count()
            );
        }
    }

    #[test]
    fn pass_phrase_debug_is_redacted() {
        let phrase = PassPhrase::new("This is a test.").map(|p| format!("{p:?}"));
        assert_eq!(phrase.as_deref(), Ok("PassPhrase(<redacted>)"));
    }

    #[test]
    fn random_seed_and_pass_phrase_are_valid() {
        let mut rng = rand::rng();
        for _ in 0..50 {
            let seed = Seed::random(&mut rng);
            assert_eq!(Seed::new(seed.as_str()).as_ref(), Ok(&seed), "seed {seed}");
            let phrase = PassPhrase::random(&mut rng);
            let checked = PassPhrase::new(phrase.expose());
            assert_eq!(checked.map(|p| p.expose().len()), Ok(24));
        }
        let a = PassPhrase::random(&mut rng);
        let b = PassPhrase::random(&mut rng);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn count_bounds() {
        let rows: [(u64, Result<u32, OpieError>); 5] = [
            (0, Ok(0)),
            (499, Ok(499)),
            (10_000, Ok(10_000)),
            (
                10_001,
                Err(OpieError::CountOutOfRange {
                    count: 10_001,
                    min: 0,
                    max: 10_000,
                }),
            ),
            (
                u64::MAX,
                Err(OpieError::CountOutOfRange {
                    count: u64::MAX,
                    min: 0,
                    max: 10_000,
                }),
            ),
        ];
        for (count, expected) in rows {
            assert_eq!(Count::new(count).map(Count::get), expected, "count {count}");
        }
        assert_eq!(Count::ZERO.pred(), None);
        assert_eq!(Count::new(5).ok().and_then(Count::pred), Count::new(4).ok());
        assert!(Count::ZERO.check_enrolment().is_err());
    }

    proptest! {
        #[test]
        fn seed_new_never_panics(input in ".{0,40}") {
            if let Ok(seed) = Seed::new(&input) {
                prop_assert!(seed.as_str().len() <= Seed::MAX_LEN);
                prop_assert_eq!(seed.as_str(), input.to_ascii_lowercase());
            }
        }
    }
}
