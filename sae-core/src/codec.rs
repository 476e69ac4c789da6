//! Base32 (RFC 4648 §6) and hexadecimal encoding and decoding.
//!
//! Hand-written so that decoding never panics on any input (these functions are fuzz
//! targets) and allocates exactly once: the whole input is validated first and the output
//! buffer is then allocated at its final size. A decoder therefore never leaves a partial
//! copy of a secret behind when it rejects its input, and the returned `Vec` can be moved
//! into [`crate::secret::Secret`] without a copy.
//!
//! Positions in errors are byte offsets into the input. Every byte before a reported
//! position is ASCII, so the offset is also the character index.

use thiserror::Error;

/// RFC 4648 base32 alphabet.
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Lower-case hexadecimal digits.
pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Why an encoded input was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A character outside the base32 alphabet (A–Z, 2–7, either case), whitespace and `=`.
    #[error("base32 input has an invalid character {found:?} at position {position}")]
    InvalidBase32Char {
        /// Byte offset of the character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A base32 symbol after the `=` padding started.
    #[error("base32 input has data after the '=' padding, at position {position}")]
    Base32DataAfterPadding {
        /// Byte offset of the first symbol after the padding.
        position: usize,
    },
    /// A number of base32 symbols that no byte string encodes to (1, 3 or 6 modulo 8).
    #[error(
        "base32 input has {symbols} symbols; a length of 1, 3 or 6 modulo 8 cannot encode whole bytes"
    )]
    InvalidBase32Length {
        /// Number of base32 symbols found (whitespace and padding excluded).
        symbols: usize,
    },
    /// A character that is neither a hexadecimal digit nor whitespace.
    #[error("hex input has an invalid character {found:?} at position {position}")]
    InvalidHexChar {
        /// Byte offset of the character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// An odd number of hexadecimal digits (each byte takes two).
    #[error("hex input has an odd number of digits ({digits}); each byte takes two")]
    OddHexLength {
        /// Number of hexadecimal digits found (whitespace excluded).
        digits: usize,
    },
    /// A hexadecimal input of the wrong length for a fixed-size output.
    #[error("hex input has {found} digits, expected exactly {expected}")]
    WrongHexLength {
        /// Number of digits required.
        expected: usize,
        /// Number of digits found (whitespace excluded).
        found: usize,
    },
}

/// Encodes `bytes` as upper-case base32 without padding.
#[must_use]
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(base32_encoded_len(bytes.len()));
    base32_encode_into(bytes, &mut out);
    out
}

/// Number of characters [`base32_encode`] produces for `len` bytes.
#[must_use]
pub const fn base32_encoded_len(len: usize) -> usize {
    // Split to avoid overflowing `len * 8`.
    (len / 5) * 8 + ((len % 5) * 8).div_ceil(5)
}

/// Appends the upper-case, unpadded base32 encoding of `bytes` to `out`.
///
/// Reserve [`base32_encoded_len`] first when `out` must not reallocate (e.g. a
/// `Zeroizing<String>` holding a secret).
pub fn base32_encode_into(bytes: &[u8], out: &mut String) {
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_symbol(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_symbol(buffer << (5 - bits)));
    }
}

/// Decodes base32 (RFC 4648 alphabet, case-insensitive).
///
/// Whitespace (space, tab, CR, LF) is ignored anywhere, and trailing `=` padding is
/// accepted whatever its amount. Bits left over after the last whole byte are ignored,
/// as authenticator apps do.
///
/// # Errors
/// [`CodecError::InvalidBase32Char`], [`CodecError::Base32DataAfterPadding`],
/// [`CodecError::InvalidBase32Length`].
pub fn base32_decode(input: &str) -> Result<Vec<u8>, CodecError> {
    let symbols = count_base32_symbols(input)?;
    let mut out = Vec::with_capacity((symbols / 8) * 5 + (symbols % 8) * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for value in input.bytes().filter_map(base32_value) {
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(low_byte(buffer >> bits));
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Validates a base32 input and counts its symbols.
fn count_base32_symbols(input: &str) -> Result<usize, CodecError> {
    let mut symbols = 0usize;
    let mut padded = false;
    for (position, byte) in input.bytes().enumerate() {
        if is_whitespace(byte) {
            continue;
        }
        if byte == b'=' {
            padded = true;
            continue;
        }
        if base32_value(byte).is_none() {
            return Err(CodecError::InvalidBase32Char {
                position,
                found: char_at(input, position),
            });
        }
        if padded {
            return Err(CodecError::Base32DataAfterPadding { position });
        }
        symbols += 1;
    }
    match symbols % 8 {
        1 | 3 | 6 => Err(CodecError::InvalidBase32Length { symbols }),
        _ => Ok(symbols),
    }
}

/// Encodes `bytes` as lower-case hexadecimal.
#[must_use]
pub fn hex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    hex_encode_into(bytes, &mut out);
    out
}

/// Appends the lower-case hexadecimal encoding of `bytes` to `out`.
pub fn hex_encode_into(bytes: &[u8], out: &mut String) {
    for &byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
}

/// Decodes hexadecimal (case-insensitive; whitespace ignored anywhere).
///
/// # Errors
/// [`CodecError::InvalidHexChar`], [`CodecError::OddHexLength`].
pub fn hex_decode(input: &str) -> Result<Vec<u8>, CodecError> {
    let digits = count_hex_digits(input)?;
    if digits % 2 != 0 {
        return Err(CodecError::OddHexLength { digits });
    }
    let mut out = Vec::with_capacity(digits / 2);
    let mut high: Option<u8> = None;
    for value in input.bytes().filter_map(hex_value) {
        match high.take() {
            None => high = Some(value),
            Some(h) => out.push((h << 4) | value),
        }
    }
    Ok(out)
}

/// Decodes exactly `N` bytes of hexadecimal (case-insensitive; whitespace ignored),
/// without allocating.
///
/// # Errors
/// [`CodecError::InvalidHexChar`], [`CodecError::WrongHexLength`].
pub fn hex_decode_array<const N: usize>(input: &str) -> Result<[u8; N], CodecError> {
    let digits = count_hex_digits(input)?;
    let expected = N.saturating_mul(2);
    if digits != expected {
        return Err(CodecError::WrongHexLength {
            expected,
            found: digits,
        });
    }
    let mut out = [0u8; N];
    let mut values = input.bytes().filter_map(hex_value);
    for slot in &mut out {
        let high = values.next().unwrap_or(0);
        let low = values.next().unwrap_or(0);
        *slot = (high << 4) | low;
    }
    Ok(out)
}

/// Validates a hexadecimal input and counts its digits.
fn count_hex_digits(input: &str) -> Result<usize, CodecError> {
    let mut digits = 0usize;
    for (position, byte) in input.bytes().enumerate() {
        if is_whitespace(byte) {
            continue;
        }
        if hex_value(byte).is_none() {
            return Err(CodecError::InvalidHexChar {
                position,
                found: char_at(input, position),
            });
        }
        digits += 1;
    }
    Ok(digits)
}

/// The base32 symbol for the low five bits of `value`.
fn base32_symbol(value: u32) -> char {
    // `value & 31` is below 32, so the index is always in range.
    char::from(BASE32_ALPHABET[(value & 31) as usize])
}

/// The value of a base32 symbol (either case), or `None`.
fn base32_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a'),
        b'2'..=b'7' => Some(byte - b'2' + 26),
        _ => None,
    }
}

/// The value of a hexadecimal digit (either case), or `None`.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The whitespace tolerated inside encoded input.
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// The low eight bits of `value`.
fn low_byte(value: u32) -> u8 {
    value.to_be_bytes()[3]
}

/// The character starting at byte `position` (U+FFFD if that is not a character boundary,
/// which the callers rule out: every earlier byte is ASCII).
fn char_at(input: &str, position: usize) -> char {
    input
        .get(position..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4648 §10 vectors (base32 and base16), padding stripped for our encoder.
    const RFC4648: &[(&str, &str, &str)] = &[
        ("", "", ""),
        ("f", "MY", "66"),
        ("fo", "MZXQ", "666f"),
        ("foo", "MZXW6", "666f6f"),
        ("foob", "MZXW6YQ", "666f6f62"),
        ("fooba", "MZXW6YTB", "666f6f6261"),
        ("foobar", "MZXW6YTBOI", "666f6f626172"),
    ];

    #[test]
    fn rfc4648_vectors_encode_and_decode() {
        for &(plain, b32, hex) in RFC4648 {
            assert_eq!(
                base32_encode(plain.as_bytes()),
                b32,
                "base32 encode {plain:?}"
            );
            assert_eq!(
                base32_decode(b32).as_deref(),
                Ok(plain.as_bytes()),
                "base32 decode {b32:?}"
            );
            assert_eq!(hex_encode(plain.as_bytes()), hex, "hex encode {plain:?}");
            assert_eq!(
                hex_decode(hex).as_deref(),
                Ok(plain.as_bytes()),
                "hex decode {hex:?}"
            );
        }
    }

    #[test]
    fn base32_decode_tolerates_case_spaces_and_padding() {
        let cases: &[(&str, &[u8])] = &[
            ("my======", b"f"),
            ("mzxw6ytboi======", b"foobar"),
            ("MZXW 6YTB OI", b"foobar"),
            ("\tMZXW6\r\n", b"foo"),
            ("MZXQ====  ", b"fo"),
            ("MZXQ=", b"fo"),
            (
                "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
                b"12345678901234567890",
            ),
        ];
        for &(input, expected) in cases {
            assert_eq!(
                base32_decode(input).as_deref(),
                Ok(expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn base32_decode_errors_name_the_problem() {
        let cases: &[(&str, CodecError)] = &[
            (
                "MZ1Q",
                CodecError::InvalidBase32Char {
                    position: 2,
                    found: '1',
                },
            ),
            (
                "MZXé",
                CodecError::InvalidBase32Char {
                    position: 3,
                    found: 'é',
                },
            ),
            ("MY==MY", CodecError::Base32DataAfterPadding { position: 4 }),
            ("M", CodecError::InvalidBase32Length { symbols: 1 }),
            ("MZX", CodecError::InvalidBase32Length { symbols: 3 }),
            ("MZXW6Y", CodecError::InvalidBase32Length { symbols: 6 }),
            ("MZXW6YTBO", CodecError::InvalidBase32Length { symbols: 9 }),
        ];
        for (input, expected) in cases {
            assert_eq!(base32_decode(input), Err(*expected), "input {input:?}");
        }
    }

    #[test]
    fn hex_decode_errors_name_the_problem() {
        let cases: &[(&str, CodecError)] = &[
            (
                "0g",
                CodecError::InvalidHexChar {
                    position: 1,
                    found: 'g',
                },
            ),
            ("abc", CodecError::OddHexLength { digits: 3 }),
            ("a b c", CodecError::OddHexLength { digits: 3 }),
        ];
        for (input, expected) in cases {
            assert_eq!(hex_decode(input), Err(*expected), "input {input:?}");
        }
    }

    #[test]
    fn hex_decode_is_case_insensitive_and_skips_spaces() {
        assert_eq!(hex_decode("DE ad Be EF"), Ok(vec![0xde, 0xad, 0xbe, 0xef]));
    }

    #[test]
    fn hex_decode_array_checks_the_length() {
        assert_eq!(
            hex_decode_array::<8>("9E87 6134 D904 99DD"),
            Ok([0x9e, 0x87, 0x61, 0x34, 0xd9, 0x04, 0x99, 0xdd])
        );
        assert_eq!(
            hex_decode_array::<8>("9E876134D90499"),
            Err(CodecError::WrongHexLength {
                expected: 16,
                found: 14
            })
        );
        assert_eq!(
            hex_decode_array::<2>("zz00"),
            Err(CodecError::InvalidHexChar {
                position: 0,
                found: 'z'
            })
        );
    }

    #[test]
    fn encoded_len_matches_output() {
        for len in 0..64 {
            let bytes = vec![0xa5u8; len];
            assert_eq!(
                base32_encode(&bytes).len(),
                base32_encoded_len(len),
                "len {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let encoded = base32_encode(&bytes);
            prop_assert_eq!(base32_decode(&encoded), Ok(bytes.clone()));
            prop_assert_eq!(base32_decode(&encoded.to_ascii_lowercase()), Ok(bytes));
        }

        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let encoded = hex_encode(&bytes);
            prop_assert_eq!(hex_decode(&encoded), Ok(bytes.clone()));
            prop_assert_eq!(hex_decode(&encoded.to_ascii_uppercase()), Ok(bytes));
        }

        #[test]
        fn decoders_never_panic(input in "\\PC*") {
            let _ = base32_decode(&input);
            let _ = hex_decode(&input);
            let _ = hex_decode_array::<8>(&input);
        }

        #[test]
        fn decoders_never_panic_on_near_valid_input(input in "[A-Za-z2-7=0-9 \\t]{0,40}") {
            if let Ok(bytes) = base32_decode(&input) {
                let symbols = input.bytes().filter(|b| base32_value(*b).is_some()).count();
                prop_assert_eq!(bytes.len(), symbols * 5 / 8);
            }
            let _ = hex_decode(&input);
        }
    }
}
