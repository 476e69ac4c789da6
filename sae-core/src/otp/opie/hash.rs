//! The 64-bit one-time password and the RFC 2289 hash-and-fold chain that produces it.

use std::fmt;

use md4::Md4;
use md5::Md5;
use sha1::{Digest, Sha1};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use super::words::{self, DecodeError, WORDS_PER_OTP};
use super::{Algorithm, Count, OpieError, PassPhrase, Seed};

/// A 64-bit OPIE one-time password.
///
/// Not yet used OTPs are secrets, so `Debug` is redacted, there is no `Display`, and equality
/// is only the constant-time [`ConstantTimeEq`]; format explicitly with [`Otp::to_hex`] or
/// [`Otp::to_words`].
#[derive(Clone, Copy)]
pub struct Otp(u64);

impl Otp {
    /// Wraps a 64-bit value (the 8 folded bytes read big-endian, as the hex form shows them).
    #[must_use]
    pub const fn from_u64(value: u64) -> Self {
        Self(value)
    }

    /// The 64-bit value.
    #[must_use]
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// Reads an OTP given as six words or 16 hex digits (see [`words::decode_auto`]).
    ///
    /// # Errors
    /// The [`DecodeError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Self, DecodeError> {
        words::decode_auto(input).map(Self)
    }

    /// Reads an OTP given as 16 hex digits (whitespace allowed between them).
    ///
    /// # Errors
    /// The [`DecodeError`] naming what is wrong.
    pub fn from_hex(input: &str) -> Result<Self, DecodeError> {
        words::decode_hex(input).map(Self)
    }

    /// Reads an OTP given as six dictionary words (any case and spacing).
    ///
    /// # Errors
    /// The [`DecodeError`] naming the unknown word, or the bad checksum.
    pub fn from_words(input: &str) -> Result<Self, DecodeError> {
        words::decode_words(input).map(Self)
    }

    /// 16 lower-case hex digits, no spaces (`9e876134d90499dd`).
    #[must_use]
    pub fn to_hex(self) -> String {
        words::format_hex(self.0)
    }

    /// Six upper-case dictionary words separated by single spaces
    /// (`INCH SEA ANNE LONG AHEM TOUR`).
    #[must_use]
    pub fn to_words(self) -> String {
        words::format_words(self.0)
    }

    /// The six dictionary words, without allocating.
    #[must_use]
    pub fn words(self) -> [&'static str; WORDS_PER_OTP] {
        words::encode_words(self.0)
    }

    /// The OTP of the next sequence number: one hash-and-fold of this one.
    #[must_use]
    pub fn next(self, algorithm: Algorithm) -> Self {
        Self::from_bytes(hash_and_fold(algorithm, &[&self.0.to_be_bytes()]))
    }

    fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(u64::from_be_bytes(bytes))
    }
}

impl ConstantTimeEq for Otp {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl Zeroize for Otp {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(<redacted>)")
    }
}

/// One line of a printed list: a sequence number and its OTP.
#[derive(Debug, Clone, Copy)]
pub struct ListEntry {
    sequence: u32,
    otp: Otp,
}

impl ListEntry {
    /// The sequence number the OTP answers (the number shown in the challenge).
    #[must_use]
    pub const fn sequence(&self) -> u32 {
        self.sequence
    }

    /// The one-time password.
    #[must_use]
    pub const fn otp(&self) -> Otp {
        self.otp
    }
}

impl Zeroize for ListEntry {
    fn zeroize(&mut self) {
        self.sequence.zeroize();
        self.otp.zeroize();
    }
}

/// The OTP for sequence number `count`: hash-and-fold of seed ‖ pass phrase, then `count`
/// further hash-and-folds. This is what a client computes to answer a challenge.
#[must_use]
pub fn compute(algorithm: Algorithm, seed: &Seed, pass_phrase: &PassPhrase, count: Count) -> Otp {
    let mut otp = start(algorithm, seed, pass_phrase);
    for _ in 0..count.get() {
        let next = otp.next(algorithm);
        otp.zeroize();
        otp = next;
    }
    otp
}

/// The printed list of the next `list_size` OTPs below `count`: sequence numbers
/// `count − 1`, `count − 2`, …, `count − list_size`, in that order (the order they are used).
///
/// # Errors
/// [`OpieError::ListSizeOutOfRange`] unless `1 <= list_size <= count`.
pub fn generate_list(
    algorithm: Algorithm,
    seed: &Seed,
    pass_phrase: &PassPhrase,
    count: Count,
    list_size: u64,
) -> Result<Zeroizing<Vec<ListEntry>>, OpieError> {
    chain(algorithm, seed, pass_phrase, count, list_size).map(|(list, _)| list)
}

/// Walks the chain once from sequence 0 to `count`, returning the list (as in
/// [`generate_list`]) and the OTP for `count`.
pub(super) fn chain(
    algorithm: Algorithm,
    seed: &Seed,
    pass_phrase: &PassPhrase,
    count: Count,
    list_size: u64,
) -> Result<(Zeroizing<Vec<ListEntry>>, Otp), OpieError> {
    let top = count.get();
    let size = match u32::try_from(list_size) {
        Ok(size) if (1..=top).contains(&size) => size,
        _ => {
            return Err(OpieError::ListSizeOutOfRange {
                list_size,
                max: top,
            });
        }
    };
    let lowest = top - size;
    // Capacity is reserved up front so the vector never reallocates and leaves copies behind.
    let mut list = Zeroizing::new(Vec::with_capacity(usize::try_from(size).unwrap_or(0)));
    let mut otp = start(algorithm, seed, pass_phrase);
    for sequence in 0..top {
        if sequence >= lowest {
            list.push(ListEntry { sequence, otp });
        }
        let next = otp.next(algorithm);
        otp.zeroize();
        otp = next;
    }
    list.reverse();
    Ok((list, otp))
}

/// The OTP for sequence number 0.
fn start(algorithm: Algorithm, seed: &Seed, pass_phrase: &PassPhrase) -> Otp {
    Otp::from_bytes(hash_and_fold(
        algorithm,
        &[seed.as_str().as_bytes(), pass_phrase.expose().as_bytes()],
    ))
}

/// Hashes the concatenation of `parts` and folds the digest to 8 bytes (RFC 2289 §6,
/// Appendix A).
fn hash_and_fold(algorithm: Algorithm, parts: &[&[u8]]) -> [u8; 8] {
    match algorithm {
        Algorithm::Md4 => fold_halves(digest::<Md4>(parts).into()),
        Algorithm::Md5 => fold_halves(digest::<Md5>(parts).into()),
        Algorithm::Sha1 => fold_sha1(digest::<Sha1>(parts).into()),
    }
}

fn digest<D: Digest>(parts: &[&[u8]]) -> sha1::digest::Output<D> {
    let mut hasher = D::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

/// MD4 and MD5: byte `i` XOR byte `i + 8`.
fn fold_halves(digest: [u8; 16]) -> [u8; 8] {
    std::array::from_fn(|i| digest[i] ^ digest[i + 8])
}

/// SHA-1: the five big-endian 32-bit words fold to `w0 ^ w2 ^ w4` and `w1 ^ w3`, each written
/// low byte first (RFC 2289 Appendix A, as its C code runs on a little-endian machine).
fn fold_sha1(digest: [u8; 20]) -> [u8; 8] {
    let w: [u32; 5] = std::array::from_fn(|i| {
        u32::from_be_bytes([
            digest[4 * i],
            digest[4 * i + 1],
            digest[4 * i + 2],
            digest[4 * i + 3],
        ])
    });
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(w[0] ^ w[2] ^ w[4]).to_le_bytes());
    out[4..].copy_from_slice(&(w[1] ^ w[3]).to_le_bytes());
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/rfc2289_appendix_c.json"
    ));

    /// One expected OTP of RFC 2289 Appendix C.
    struct Vector {
        name: String,
        algorithm: Algorithm,
        seed: Seed,
        pass_phrase: String,
        count: Count,
        hex: String,
        words: String,
    }

    fn vectors() -> Vec<Vector> {
        let json: Value = serde_json::from_str(VECTORS).unwrap();
        let mut out = Vec::new();
        for (i, row) in json["rows"].as_array().unwrap().iter().enumerate() {
            for algorithm in [Algorithm::Md4, Algorithm::Md5, Algorithm::Sha1] {
                let expected = &row[algorithm.name()];
                out.push(Vector {
                    name: format!(
                        "row {i} {algorithm} {}/{}/{}",
                        row["passphrase"], row["seed"], row["count"]
                    ),
                    algorithm,
                    seed: Seed::new(row["seed"].as_str().unwrap()).unwrap(),
                    pass_phrase: row["passphrase"].as_str().unwrap().to_owned(),
                    count: Count::new(row["count"].as_u64().unwrap()).unwrap(),
                    hex: expected["hex"].as_str().unwrap().to_owned(),
                    words: expected["words"].as_str().unwrap().to_owned(),
                });
            }
        }
        out
    }

    #[test]
    fn rfc2289_appendix_c() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 27, "9 rows × 3 algorithms");
        for v in vectors {
            let phrase = PassPhrase::new(v.pass_phrase.as_str()).unwrap();
            let otp = compute(v.algorithm, &v.seed, &phrase, v.count);
            let hex = v.hex.replace(' ', "").to_lowercase();
            assert_eq!(otp.to_hex(), hex, "{}: hex", v.name);
            assert_eq!(otp.to_words(), v.words, "{}: words", v.name);
            assert_eq!(
                Otp::from_hex(&v.hex).map(Otp::to_u64),
                Ok(otp.to_u64()),
                "{}: hex decode",
                v.name
            );
            assert_eq!(
                Otp::from_words(&v.words).map(Otp::to_u64),
                Ok(otp.to_u64()),
                "{}: words decode",
                v.name
            );
            assert_eq!(
                Otp::parse(&v.words.to_lowercase()).map(Otp::to_u64),
                Ok(otp.to_u64()),
                "{}: auto decode of words",
                v.name
            );
        }
    }

    #[test]
    fn next_steps_along_the_chain() {
        // Row "This is a test." / TeSt: count 1 is one hash-and-fold of count 0.
        let seed = Seed::new("TeSt").unwrap();
        let phrase = PassPhrase::new("This is a test.").unwrap();
        for algorithm in [Algorithm::Md4, Algorithm::Md5, Algorithm::Sha1] {
            let zero = compute(algorithm, &seed, &phrase, Count::ZERO);
            let one = compute(algorithm, &seed, &phrase, Count::new(1).unwrap());
            assert_eq!(
                zero.next(algorithm).to_u64(),
                one.to_u64(),
                "algorithm {algorithm}"
            );
        }
    }

    #[test]
    fn list_counts_down_from_count_minus_one() {
        let seed = Seed::new("alpha1").unwrap();
        let phrase = PassPhrase::new("AbCdEfGhIjK").unwrap();
        let count = Count::new(10).unwrap();
        let (list, top) = chain(Algorithm::Sha1, &seed, &phrase, count, 4).unwrap();
        let sequences: Vec<u32> = list.iter().map(ListEntry::sequence).collect();
        assert_eq!(sequences, [9, 8, 7, 6]);
        for entry in list.iter() {
            let expected = compute(
                Algorithm::Sha1,
                &seed,
                &phrase,
                Count::new(entry.sequence().into()).unwrap(),
            );
            assert_eq!(
                entry.otp().to_u64(),
                expected.to_u64(),
                "entry {}",
                entry.sequence()
            );
        }
        assert_eq!(
            top.to_u64(),
            compute(Algorithm::Sha1, &seed, &phrase, count).to_u64()
        );
        let full = generate_list(Algorithm::Sha1, &seed, &phrase, count, 10).unwrap();
        assert_eq!(full.last().map(ListEntry::sequence), Some(0));
    }

    #[test]
    fn list_size_bounds() {
        let seed = Seed::new("alpha1").unwrap();
        let phrase = PassPhrase::new("AbCdEfGhIjK").unwrap();
        let rows: [(u64, u64); 4] = [(5, 0), (5, 6), (0, 1), (5, u64::MAX)];
        for (count, size) in rows {
            let result = generate_list(
                Algorithm::Md5,
                &seed,
                &phrase,
                Count::new(count).unwrap(),
                size,
            );
            assert_eq!(
                result.map(|l| l.len()),
                Err(OpieError::ListSizeOutOfRange {
                    list_size: size,
                    max: u32::try_from(count).unwrap()
                }),
                "count {count}, list size {size}"
            );
        }
    }

    #[test]
    fn otp_debug_is_redacted() {
        let otp = Otp::from_u64(0x9E87_6134_D904_99DD);
        assert_eq!(format!("{otp:?}"), "Otp(<redacted>)");
        assert!(!format!("{:?}", ListEntry { sequence: 3, otp }).contains("9e87"));
        assert!(bool::from(otp.ct_eq(&Otp::from_u64(0x9E87_6134_D904_99DD))));
        assert!(!bool::from(otp.ct_eq(&Otp::from_u64(0))));
    }
}
