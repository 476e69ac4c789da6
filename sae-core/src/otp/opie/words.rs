//! RFC 2289 encodings of a 64-bit one-time password: 16 hex digits, or six words from the
//! standard dictionary (RFC 2289 Appendix D) carrying a 2-bit checksum.
//!
//! These are pure codecs over `u64`; the OPIE semantics (hashing, sequence counts, server
//! state) live in [`crate::otp::opie`]. Every decoder accepts any `&str` without panicking and
//! without allocating on success.
//!
//! Input is tolerant, as RFC 2289 §6 asks: case-insensitive, any run of whitespace (spaces,
//! tabs, newlines) between words, and whitespace anywhere between hex digits
//! (`"D185 4218 EBBB 0B51"`). Output is canonical: 16 lower-case hex digits, or six upper-case
//! words separated by single spaces.

use thiserror::Error;

/// Number of words in the six-word encoding.
pub const WORDS_PER_OTP: usize = 6;

/// Number of hex digits in the hex encoding.
pub const HEX_DIGITS: usize = 16;

/// Number of words in the RFC 2289 standard dictionary.
pub const DICTIONARY_SIZE: usize = 2048;

/// The dictionary's first 571 words have one to three letters; the rest have four. Each part
/// is sorted alphabetically (checked at compile time), which makes lookups a binary search.
const SHORT_WORDS: usize = 571;

/// Longest word in the dictionary.
const MAX_WORD_LEN: usize = 4;

/// The RFC 2289 Appendix D standard dictionary; the index of a word is its 11-bit value.
pub static DICTIONARY: [&str; DICTIONARY_SIZE] = split_dictionary(include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/rfc2289_dictionary.txt"
)));

/// The dictionary's words packed into big-endian `u32`s (zero-padded): the same order as the
/// words within each part, and a lookup compares integers instead of strings.
static PACKED: [u32; DICTIONARY_SIZE] = pack_dictionary(&DICTIONARY);

/// Longest excerpt of an offending word kept in a [`DecodeError`], in characters.
const EXCERPT_CHARS: usize = 12;

/// Why a string is not a valid RFC 2289 one-time password. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input holds nothing but whitespace.
    #[error("otp: the one-time password is empty")]
    Empty,
    /// The input does not have exactly six words (and is not 16 hex digits).
    #[error("otp: expected six dictionary words (or 16 hex digits), found {found} words")]
    WordCount {
        /// How many whitespace-separated words the input has.
        found: usize,
    },
    /// A word is not in the RFC 2289 standard dictionary.
    #[error("otp: word {position} ({word:?}) is not in the RFC 2289 dictionary")]
    UnknownWord {
        /// 1-based position of the word.
        position: usize,
        /// The word as typed, cut to a few characters.
        word: String,
    },
    /// All six words are in the dictionary but the 2-bit checksum does not match: one of them
    /// is mistyped (or the words are out of order).
    #[error("otp: the six words fail the RFC 2289 checksum; a word is mistyped")]
    BadChecksum,
    /// The hex form does not have exactly 16 hex digits.
    #[error("otp: expected 16 hex digits, found {found}")]
    HexDigitCount {
        /// How many hex digits the input has.
        found: usize,
    },
    /// A character of the hex form is neither a hex digit nor whitespace.
    #[error("otp: character {position} is not a hex digit")]
    InvalidHexDigit {
        /// 1-based position of the character in the input (counting every character).
        position: usize,
    },
}

/// The RFC 2289 checksum of a 64-bit value: the sum of its 32 two-bit pairs, mod 4.
#[must_use]
pub fn checksum(value: u64) -> u8 {
    let mut sum = 0u64;
    let mut rest = value;
    while rest != 0 {
        sum += rest & 3;
        rest >>= 2;
    }
    // `sum & 3` < 4, so the cast is lossless.
    (sum & 3) as u8
}

/// Encodes a 64-bit value as six dictionary words (upper case): the 64 bits followed by the
/// 2-bit checksum, read as six 11-bit indices, most significant first.
#[must_use]
pub fn encode_words(value: u64) -> [&'static str; WORDS_PER_OTP] {
    let bits = (u128::from(value) << 2) | u128::from(checksum(value));
    std::array::from_fn(|i| {
        let shift = 11 * (WORDS_PER_OTP - 1 - i);
        // Masked to 11 bits, so the index is < 2048 = DICTIONARY_SIZE.
        DICTIONARY[((bits >> shift) & 0x7ff) as usize]
    })
}

/// Formats a 64-bit value as six upper-case words separated by single spaces.
#[must_use]
pub fn format_words(value: u64) -> String {
    encode_words(value).join(" ")
}

/// Decodes six dictionary words (any case, any whitespace between them) into the 64-bit
/// value, checking the 2-bit checksum.
///
/// # Errors
/// [`DecodeError::Empty`], [`DecodeError::WordCount`], [`DecodeError::UnknownWord`] naming
/// the first unknown word, or [`DecodeError::BadChecksum`].
pub fn decode_words(input: &str) -> Result<u64, DecodeError> {
    match input.split_whitespace().count() {
        0 => return Err(DecodeError::Empty),
        WORDS_PER_OTP => {}
        found => return Err(DecodeError::WordCount { found }),
    }
    let mut bits: u128 = 0;
    for (i, word) in input.split_whitespace().enumerate() {
        let index = word_index(word).ok_or_else(|| DecodeError::UnknownWord {
            position: i + 1,
            word: excerpt(word),
        })?;
        bits = (bits << 11) | u128::from(index);
    }
    // 66 bits: the value, then the checksum in the low 2 bits.
    let value = (bits >> 2) as u64;
    if (bits & 3) as u8 == checksum(value) {
        Ok(value)
    } else {
        Err(DecodeError::BadChecksum)
    }
}

/// Formats a 64-bit value as 16 lower-case hex digits, without spaces.
#[must_use]
pub fn format_hex(value: u64) -> String {
    format!("{value:016x}")
}

/// Decodes 16 hex digits (any case, whitespace allowed anywhere between digits).
///
/// # Errors
/// [`DecodeError::Empty`], [`DecodeError::InvalidHexDigit`] or
/// [`DecodeError::HexDigitCount`].
pub fn decode_hex(input: &str) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    let mut digits = 0usize;
    for (i, c) in input.chars().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        let digit = c
            .to_digit(16)
            .ok_or(DecodeError::InvalidHexDigit { position: i + 1 })?;
        digits += 1;
        if digits <= HEX_DIGITS {
            value = (value << 4) | u64::from(digit);
        }
    }
    match digits {
        0 => Err(DecodeError::Empty),
        HEX_DIGITS => Ok(value),
        found => Err(DecodeError::HexDigitCount { found }),
    }
}

/// Decodes a one-time password given either as six words or as 16 hex digits, telling the two
/// apart automatically.
///
/// Six whitespace-separated tokens are read as words first; if that fails and the input is
/// also 16 hex digits (e.g. `"D1 85 42 18 EBBB 0B51"`), it is read as hex. Any other input
/// made only of hex digits and whitespace is read as hex; anything else is a word-count error.
/// (Six words spelt only with the letters A–F whose lengths add up to 16, such as
/// `"A AD BE BAD DEAD FACE"`, could be either; words win, as the checksum makes an accidental
/// match between genuine hex and six valid words vanishingly rare.)
///
/// # Errors
/// Any [`DecodeError`]: the words' error when the input looks like words, the hex error when
/// it looks like hex.
pub fn decode_auto(input: &str) -> Result<u64, DecodeError> {
    let tokens = input.split_whitespace().count();
    if tokens == 0 {
        return Err(DecodeError::Empty);
    }
    let only_hex = input
        .chars()
        .all(|c| c.is_whitespace() || c.is_ascii_hexdigit());
    if tokens == WORDS_PER_OTP {
        return match decode_words(input) {
            Ok(value) => Ok(value),
            Err(words_error) => decode_hex(input).map_err(|_| words_error),
        };
    }
    if only_hex {
        decode_hex(input)
    } else {
        Err(DecodeError::WordCount { found: tokens })
    }
}

/// The dictionary index of `word` (case-insensitive), if it is a dictionary word.
#[must_use]
pub fn word_index(word: &str) -> Option<u16> {
    let bytes = word.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_WORD_LEN {
        return None;
    }
    let mut upper = [0u8; MAX_WORD_LEN];
    for (slot, b) in upper.iter_mut().zip(bytes) {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        *slot = b.to_ascii_uppercase();
    }
    let key = u32::from_be_bytes(upper);
    let (offset, part) = if bytes.len() == MAX_WORD_LEN {
        (SHORT_WORDS, &PACKED[SHORT_WORDS..])
    } else {
        (0, &PACKED[..SHORT_WORDS])
    };
    let found = part.binary_search(&key).ok()?;
    // found + offset < DICTIONARY_SIZE = 2048, which fits in u16.
    u16::try_from(found + offset).ok()
}

/// At most [`EXCERPT_CHARS`] characters of `word`, for an error message.
fn excerpt(word: &str) -> String {
    match word.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &word[..end]),
        None => word.to_owned(),
    }
}

/// Splits the dictionary file into its 2048 lines at compile time, checking that every word is
/// 1 to 4 upper-case ASCII letters, that the short words come first and that each part is
/// sorted (so a malformed file fails the build instead of a lookup).
const fn split_dictionary(text: &str) -> [&str; DICTIONARY_SIZE] {
    let mut words = [""; DICTIONARY_SIZE];
    let mut rest = text.as_bytes();
    let mut n = 0;
    while n < DICTIONARY_SIZE {
        let mut end = 0;
        while end < rest.len() && rest[end] != b'\n' {
            end += 1;
        }
        let (line, tail) = rest.split_at(end);
        let (line, _) = line.split_at(if !line.is_empty() && line[line.len() - 1] == b'\r' {
            line.len() - 1
        } else {
            line.len()
        });
        assert!(
            !line.is_empty() && line.len() <= MAX_WORD_LEN,
            "dictionary word of bad length"
        );
        let mut i = 0;
        while i < line.len() {
            assert!(line[i].is_ascii_uppercase(), "dictionary word not A-Z");
            i += 1;
        }
        assert!(
            (line.len() == MAX_WORD_LEN) == (n >= SHORT_WORDS),
            "short words must come first"
        );
        if n != 0 && n != SHORT_WORDS {
            assert!(
                bytes_less(words[n - 1].as_bytes(), line),
                "dictionary part not sorted"
            );
        }
        words[n] = match core::str::from_utf8(line) {
            Ok(word) => word,
            Err(_) => panic!("dictionary not UTF-8"),
        };
        rest = if tail.is_empty() {
            tail
        } else {
            tail.split_at(1).1
        };
        n += 1;
    }
    assert!(rest.is_empty(), "dictionary has more than 2048 lines");
    words
}

/// Packs each word into a big-endian `u32`, zero-padded on the right (`"AB"` →
/// `0x4142_0000`). Zero sorts before every letter, so packed order is word order.
const fn pack_dictionary(words: &[&str; DICTIONARY_SIZE]) -> [u32; DICTIONARY_SIZE] {
    let mut packed = [0u32; DICTIONARY_SIZE];
    let mut n = 0;
    while n < DICTIONARY_SIZE {
        let w = words[n].as_bytes();
        let mut bytes = [0u8; MAX_WORD_LEN];
        let mut i = 0;
        while i < w.len() {
            bytes[i] = w[i];
            i += 1;
        }
        packed[n] = u32::from_be_bytes(bytes);
        n += 1;
    }
    packed
}

/// `a < b` in lexicographic byte order (usable in const context).
const fn bytes_less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
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
    fn dictionary_ends_are_the_rfc_ones() {
        assert_eq!(DICTIONARY[0], "A");
        assert_eq!(DICTIONARY[570], "YOU");
        assert_eq!(DICTIONARY[571], "ABED");
        assert_eq!(DICTIONARY[2047], "YOKE");
    }

    #[test]
    fn every_word_finds_its_index() {
        for (i, word) in DICTIONARY.iter().enumerate() {
            assert_eq!(word_index(word).map(usize::from), Some(i), "word {word}");
            let lower = word.to_ascii_lowercase();
            assert_eq!(word_index(&lower).map(usize::from), Some(i), "word {lower}");
        }
    }

    #[test]
    fn non_words_have_no_index() {
        for word in ["", "AAAA", "ZZZZZ", "ABCDE", "B", "É", "A1", "YOKES", "ÀBE"] {
            assert_eq!(word_index(word), None, "word {word:?}");
        }
    }

    #[test]
    fn checksum_sums_two_bit_pairs() {
        let rows: [(u64, u8); 5] = [
            (0, 0),
            (1, 1),
            (0b11, 3),
            (0b1111, 2),   // 3 + 3 = 6 ≡ 2
            (u64::MAX, 0), // 32 × 3 = 96 ≡ 0
        ];
        for (value, sum) in rows {
            assert_eq!(checksum(value), sum, "value {value:#x}");
        }
    }

    #[test]
    fn known_encodings() {
        // RFC 2289 Appendix C, MD5, "This is a test." / TeSt / count 0.
        let value = 0x9E87_6134_D904_99DD;
        assert_eq!(format_words(value), "INCH SEA ANNE LONG AHEM TOUR");
        assert_eq!(format_hex(value), "9e876134d90499dd");
        assert_eq!(format_hex(0), "0000000000000000");
        assert_eq!(format_words(0), "A A A A A A");
    }

    #[test]
    fn decoding_tolerates_case_and_spacing() {
        let value = 0x9E87_6134_D904_99DD;
        let rows = [
            "INCH SEA ANNE LONG AHEM TOUR",
            "inch sea anne long ahem tour",
            "  Inch\tsEa   ANNE\nlong \t ahem tour  ",
            "9E876134D90499DD",
            "9e87 6134 d904 99dd",
            " 9e 87\t6134d904 99 dd ",
            "9E87 61 34 D9 04 99DD",
        ];
        for row in rows {
            assert_eq!(decode_auto(row), Ok(value), "input {row:?}");
        }
        assert_eq!(decode_words(rows[2]), Ok(value));
        assert_eq!(decode_hex(rows[5]), Ok(value));
    }

    #[test]
    fn decoding_errors_name_the_problem() {
        let rows: [(&str, DecodeError); 12] = [
            ("", DecodeError::Empty),
            (" \t\n", DecodeError::Empty),
            (
                "INCH SEA ANNE LONG AHEM",
                DecodeError::WordCount { found: 5 },
            ),
            (
                "INCH SEA ANNE LONG AHEM TOUR TOUR",
                DecodeError::WordCount { found: 7 },
            ),
            (
                "INCH SEA ANNE LONX AHEM TOUR",
                DecodeError::UnknownWord {
                    position: 4,
                    word: "LONX".into(),
                },
            ),
            (
                "INCH SEA ANNE LONG AHEM TOURS",
                DecodeError::UnknownWord {
                    position: 6,
                    word: "TOURS".into(),
                },
            ),
            // A single word changed for another dictionary word: checksum catches it.
            ("INCH SEA ANNE LONG AHEM TOUT", DecodeError::BadChecksum),
            ("INCH SEA ANNE LONG TOUR AHEM", DecodeError::BadChecksum),
            (
                "9e87 6134 d904 99d",
                DecodeError::HexDigitCount { found: 15 },
            ),
            (
                "9e8761 34d9 0499dd00",
                DecodeError::HexDigitCount { found: 18 },
            ),
            ("hello", DecodeError::WordCount { found: 1 }),
            ("9e87 6134 d904 99dg", DecodeError::WordCount { found: 4 }),
        ];
        for (input, expected) in rows {
            assert_eq!(decode_auto(input), Err(expected), "input {input:?}");
        }
        assert_eq!(
            decode_hex("9e87 6134 d904 99dg"),
            Err(DecodeError::InvalidHexDigit { position: 19 })
        );
        assert_eq!(decode_hex(""), Err(DecodeError::Empty));
    }

    #[test]
    fn error_messages_name_the_word_and_position() {
        let err = decode_words("INCH SEA ANNE LONX AHEM TOUR").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("word 4"), "{message}");
        assert!(message.contains("LONX"), "{message}");
        let long = "X".repeat(1000);
        let err = decode_words(&format!("A A A {long} A A")).unwrap_err();
        assert!(err.to_string().len() < 120, "excerpt is short: {err}");
    }

    #[test]
    fn all_hex_letter_words_are_read_as_words() {
        // Six valid words spelt with A–F only, 16 letters in all: also 16 hex digits.
        let input = "A A ABE ABE ABED DEAD";
        assert_eq!(decode_hex(input), Ok(0xAAAB_EABE_ABED_DEAD));
        assert_eq!(decode_words(input), Ok(0x8014_76e1));
        assert_eq!(decode_auto(input), Ok(0x8014_76e1));
        // With a failing checksum the same shape falls back to hex.
        assert_eq!(
            decode_auto("A A ABE ABE ABED DEAF"),
            Ok(0xAAAB_EABE_ABED_DEAF)
        );
    }

    proptest! {
        #[test]
        fn words_round_trip(value in any::<u64>()) {
            let words = format_words(value);
            prop_assert_eq!(decode_words(&words), Ok(value));
            prop_assert_eq!(decode_auto(&words.to_lowercase()), Ok(value));
            prop_assert_eq!(decode_auto(&words.replace(' ', " \t ")), Ok(value));
        }

        #[test]
        fn hex_round_trip(value in any::<u64>()) {
            let hex = format_hex(value);
            prop_assert_eq!(hex.len(), HEX_DIGITS);
            prop_assert_eq!(decode_hex(&hex), Ok(value));
            prop_assert_eq!(decode_auto(&hex.to_uppercase()), Ok(value));
        }

        #[test]
        fn a_changed_word_is_rejected_or_decodes_elsewhere(value in any::<u64>(), pos in 0usize..6, index in 0usize..2048) {
            let mut words = encode_words(value);
            prop_assume!(DICTIONARY[index] != words[pos]);
            words[pos] = DICTIONARY[index];
            // A different word string never decodes back to the same value.
            prop_assert_ne!(decode_words(&words.join(" ")), Ok(value));
        }

        #[test]
        fn decoders_never_panic(input in ".{0,80}") {
            let _ = decode_auto(&input);
            let _ = decode_words(&input);
            let _ = decode_hex(&input);
            let _ = word_index(&input);
        }
    }
}
