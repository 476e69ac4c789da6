//! The RFC 2289 challenge `otp-<algorithm> <sequence> <seed>`, e.g. `otp-md5 499 ke1234`.

use std::fmt;
use std::str::FromStr;

use super::{Algorithm, Count, OpieError, Otp, PassPhrase, Seed, compute};

/// A challenge: which algorithm, sequence number and seed the answering OTP must use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    algorithm: Algorithm,
    sequence: Count,
    seed: Seed,
}

impl Challenge {
    /// Longest accepted sequence field, in digits (more could only overflow [`Count::MAX`]).
    const MAX_SEQUENCE_DIGITS: usize = 10;

    /// A challenge asking for the OTP of `sequence`.
    #[must_use]
    pub fn new(algorithm: Algorithm, sequence: Count, seed: Seed) -> Self {
        Self {
            algorithm,
            sequence,
            seed,
        }
    }

    /// Reads `otp-<algorithm> <sequence> <seed>`: fields separated by any whitespace,
    /// `otp-` and the algorithm in any case, the seed lower-cased, and an optional trailing
    /// `ext` (the RFC 2243 extended-response marker) ignored.
    ///
    /// # Errors
    /// [`OpieError::ChallengeFieldCount`], [`OpieError::ChallengeNotOtp`],
    /// [`OpieError::UnknownAlgorithm`], [`OpieError::CountNotANumber`],
    /// [`OpieError::CountOutOfRange`] or a seed error.
    pub fn parse(input: &str) -> Result<Self, OpieError> {
        let field_count = || OpieError::ChallengeFieldCount {
            found: input.split_whitespace().count(),
        };
        let mut fields = input.split_whitespace();
        let (Some(method), Some(sequence), Some(seed)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(field_count());
        };
        match (fields.next(), fields.next()) {
            (None, _) => {}
            (Some(ext), None) if ext.eq_ignore_ascii_case("ext") => {}
            _ => return Err(field_count()),
        }
        let algorithm = match (method.get(..4), method.get(4..)) {
            (Some(prefix), Some(name)) if prefix.eq_ignore_ascii_case("otp-") => name.parse()?,
            _ => return Err(OpieError::ChallengeNotOtp),
        };
        if sequence.is_empty()
            || sequence.len() > Self::MAX_SEQUENCE_DIGITS
            || !sequence.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(OpieError::CountNotANumber);
        }
        let sequence = sequence
            .parse::<u64>()
            .map_err(|_| OpieError::CountNotANumber)?;
        Ok(Self {
            algorithm,
            sequence: Count::new(sequence)?,
            seed: Seed::new(seed)?,
        })
    }

    /// The hash algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The sequence number whose OTP answers the challenge.
    #[must_use]
    pub const fn sequence(&self) -> Count {
        self.sequence
    }

    /// The seed.
    #[must_use]
    pub const fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The answer: the OTP for this challenge's sequence number (client side).
    #[must_use]
    pub fn respond(&self, pass_phrase: &PassPhrase) -> Otp {
        compute(self.algorithm, &self.seed, pass_phrase, self.sequence)
    }
}

impl fmt::Display for Challenge {
    /// `otp-<algorithm> <sequence> <seed>`, single spaces, lower case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "otp-{} {} {}", self.algorithm, self.sequence, self.seed)
    }
}

impl FromStr for Challenge {
    type Err = OpieError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_as_the_rfc_shows() {
        let rows = [
            (Algorithm::Md5, 499, "ke1234", "otp-md5 499 ke1234"),
            (Algorithm::Md4, 0, "TeSt", "otp-md4 0 test"),
            (Algorithm::Sha1, 10_000, "alpha1", "otp-sha1 10000 alpha1"),
        ];
        for (algorithm, sequence, seed, text) in rows {
            let challenge = Challenge::new(
                algorithm,
                Count::new(sequence).unwrap(),
                Seed::new(seed).unwrap(),
            );
            assert_eq!(challenge.to_string(), text, "row {text}");
            assert_eq!(Challenge::parse(text), Ok(challenge), "row {text}");
        }
    }

    #[test]
    fn parse_is_tolerant() {
        let expected = Challenge::new(
            Algorithm::Md5,
            Count::new(499).unwrap(),
            Seed::new("ke1234").unwrap(),
        );
        for input in [
            "otp-md5 499 ke1234",
            "OTP-MD5 499 KE1234",
            "  otp-md5\t499   ke1234\n",
            "otp-md5 499 ke1234 ext",
            "otp-md5 0499 ke1234",
        ] {
            assert_eq!(
                Challenge::parse(input).as_ref(),
                Ok(&expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let rows: [(&str, OpieError); 13] = [
            ("", OpieError::ChallengeFieldCount { found: 0 }),
            ("otp-md5 499", OpieError::ChallengeFieldCount { found: 2 }),
            (
                "otp-md5 499 ke1234 x",
                OpieError::ChallengeFieldCount { found: 4 },
            ),
            (
                "otp-md5 499 ke1234 ext ext",
                OpieError::ChallengeFieldCount { found: 5 },
            ),
            ("s/key 499 ke1234", OpieError::ChallengeNotOtp),
            ("otp 499 ke1234", OpieError::ChallengeNotOtp),
            ("ötp-md5 499 ke1234", OpieError::ChallengeNotOtp),
            ("otp-sha256 499 ke1234", OpieError::UnknownAlgorithm),
            ("otp-md5 -1 ke1234", OpieError::CountNotANumber),
            ("otp-md5 +1 ke1234", OpieError::CountNotANumber),
            ("otp-md5 99999999999 ke1234", OpieError::CountNotANumber),
            (
                "otp-md5 10001 ke1234",
                OpieError::CountOutOfRange {
                    count: 10_001,
                    min: 0,
                    max: Count::MAX,
                },
            ),
            (
                "otp-md5 499 ke-1234",
                OpieError::SeedCharacter { position: 3 },
            ),
        ];
        for (input, error) in rows {
            assert_eq!(Challenge::parse(input), Err(error), "input {input:?}");
        }
    }

    #[test]
    fn respond_answers_with_the_rfc_vector() {
        // RFC 2289 Appendix C: MD5, "This is a test.", TeSt, count 1.
        let challenge = Challenge::parse("otp-md5 1 TeSt").unwrap();
        let phrase = PassPhrase::new("This is a test.").unwrap();
        assert_eq!(
            challenge.respond(&phrase).to_words(),
            "EASE OIL FUM CURE AWRY AVIS"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,60}") {
            let _ = Challenge::parse(&input);
        }

        #[test]
        fn parse_reads_what_display_writes(sequence in 0u64..=10_000, seed in "[a-zA-Z0-9]{1,16}") {
            let challenge = Challenge::new(
                Algorithm::Sha1,
                Count::new(sequence).unwrap(),
                Seed::new(&seed).unwrap(),
            );
            prop_assert_eq!(Challenge::parse(&challenge.to_string()), Ok(challenge));
        }
    }
}
