//! OPIE / S/KEY one-time passwords (RFC 2289) with MD4, MD5 or SHA-1.
//!
//! A one-time password (OTP) is 64 bits: the [`Seed`] (lower-cased) and the secret
//! [`PassPhrase`] are hashed and folded to 64 bits, which is the OTP for sequence number 0;
//! each further hash-and-fold gives the next sequence number. The server keeps only an
//! [`OpieState`] — algorithm, seed, count `n` and the OTP for `n` — and never a pass phrase.
//! It shows the [`Challenge`] `otp-<algorithm> <n − 1> <seed>`; the client answers with the
//! OTP for `n − 1`, which the server checks by hashing it once ([`OpieState::verify`]). The
//! accepted OTP becomes the stored one and the count drops by one; a count of 0 is exhausted.
//!
//! OTPs are read and written as 16 hex digits or six words of the RFC dictionary (see
//! [`words`]); [`Otp::parse`] tells the two apart.
//!
//! Bounds (RFC 2289 §6 where it sets them, ours otherwise):
//! - seed: 1 to 16 ASCII letters or digits, lower-cased ([`Seed::MAX_LEN`]);
//! - pass phrase: 10 to 63 characters ([`PassPhrase::MIN_LEN`], [`PassPhrase::MAX_LEN`]);
//! - count: 0 to 10 000 ([`Count::MAX`]), at least 1 to enrol — it bounds the work of one
//!   computation to 10 001 hashes;
//! - printed list: 1 to `count` entries.
//!
//! Enrolment comes in the two forms of SPEC §4.1: [`OpieState::enrol_client`] (the client
//! sends the OTP for `N` computed from its own pass phrase) and [`OpieState::enrol_paper`]
//! (the server draws a pass phrase and seed, returns the printed list and forgets the phrase).

mod challenge;
mod hash;
mod params;
mod server;
pub mod words;

pub use challenge::Challenge;
pub use hash::{ListEntry, Otp, compute, generate_list};
pub use params::{Algorithm, Count, PassPhrase, Seed};
pub use server::{OpieState, PaperEnrolment};
pub use words::DecodeError;

use thiserror::Error;

/// What went wrong with an OPIE parameter, challenge or verification.
///
/// Messages name the offending field and never contain a pass phrase or an OTP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpieError {
    /// The algorithm name is not `md4`, `md5` or `sha1`.
    #[error("algorithm: must be md4, md5 or sha1")]
    UnknownAlgorithm,
    /// The seed is empty or longer than 16 characters.
    #[error("seed: must be 1 to 16 characters, got {length}")]
    SeedLength {
        /// Length of the rejected seed, in characters.
        length: usize,
    },
    /// The seed has a character that is not an ASCII letter or digit.
    #[error("seed: must be ASCII letters and digits only; character {position} is not")]
    SeedCharacter {
        /// 1-based position of the first bad character.
        position: usize,
    },
    /// The pass phrase has fewer than 10 characters.
    #[error("pass_phrase: must be at least 10 characters, got {length}")]
    PassPhraseTooShort {
        /// Length of the rejected pass phrase, in characters.
        length: usize,
    },
    /// The pass phrase has more than 63 characters.
    #[error("pass_phrase: must be at most 63 characters, got {length}")]
    PassPhraseTooLong {
        /// Length of the rejected pass phrase, in characters.
        length: usize,
    },
    /// The sequence count is outside the allowed range.
    #[error("count: must be between {min} and {max}, got {count}")]
    CountOutOfRange {
        /// The rejected count.
        count: u64,
        /// Smallest allowed count here (1 to enrol, 0 otherwise).
        min: u32,
        /// Largest allowed count.
        max: u32,
    },
    /// The sequence count in a challenge is not a decimal number.
    #[error("count: the sequence number must be decimal digits")]
    CountNotANumber,
    /// The printed list size is 0 or larger than the count.
    #[error("list_size: must be between 1 and the count {max}, got {list_size}")]
    ListSizeOutOfRange {
        /// The rejected list size.
        list_size: u64,
        /// Largest allowed list size (the count).
        max: u32,
    },
    /// The challenge does not have the fields `otp-<algorithm> <sequence> <seed>`.
    #[error(
        "challenge: expected \"otp-<algorithm> <sequence> <seed>\" (optionally \"ext\"), found {found} fields"
    )]
    ChallengeFieldCount {
        /// How many whitespace-separated fields the challenge has.
        found: usize,
    },
    /// The challenge's first field does not start with `otp-`.
    #[error("challenge: must start with \"otp-\" followed by md4, md5 or sha1")]
    ChallengeNotOtp,
    /// The presented OTP is neither six dictionary words nor 16 hex digits.
    #[error(transparent)]
    MalformedOtp(#[from] DecodeError),
    /// The presented OTP is well formed but does not hash to the stored one.
    #[error("otp: the one-time password does not match")]
    WrongOtp,
    /// The presented OTP is the one accepted last time.
    #[error("otp: the one-time password was already used")]
    Replayed,
    /// The sequence count is 0: no one-time password is left; enrol again.
    #[error("count: the OPIE sequence is exhausted (count 0); enrol again")]
    Exhausted,
}

impl OpieError {
    /// The API `reason` for a failed verification (`invalid_code`, `replayed` or
    /// `exhausted`), or `None` for a parameter error, which is a 4xx input error instead.
    #[must_use]
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::WrongOtp | Self::MalformedOtp(_) => Some("invalid_code"),
            Self::Replayed => Some("replayed"),
            Self::Exhausted => Some("exhausted"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_errors_map_to_api_reasons() {
        let rows = [
            (OpieError::WrongOtp, Some("invalid_code")),
            (
                OpieError::MalformedOtp(DecodeError::BadChecksum),
                Some("invalid_code"),
            ),
            (OpieError::Replayed, Some("replayed")),
            (OpieError::Exhausted, Some("exhausted")),
            (OpieError::SeedLength { length: 0 }, None),
            (OpieError::ChallengeNotOtp, None),
        ];
        for (error, reason) in rows {
            assert_eq!(error.reason(), reason, "error {error:?}");
        }
    }

    #[test]
    fn messages_name_the_field() {
        let rows = [
            (OpieError::UnknownAlgorithm, "algorithm"),
            (OpieError::SeedCharacter { position: 3 }, "seed"),
            (OpieError::PassPhraseTooShort { length: 3 }, "pass_phrase"),
            (
                OpieError::CountOutOfRange {
                    count: 0,
                    min: 1,
                    max: Count::MAX,
                },
                "count",
            ),
            (
                OpieError::ListSizeOutOfRange {
                    list_size: 0,
                    max: 5,
                },
                "list_size",
            ),
            (OpieError::ChallengeFieldCount { found: 2 }, "challenge"),
            (OpieError::MalformedOtp(DecodeError::Empty), "otp"),
            (OpieError::Exhausted, "exhausted"),
        ];
        for (error, field) in rows {
            let message = error.to_string();
            assert!(message.contains(field), "{error:?}: {message}");
        }
    }
}
