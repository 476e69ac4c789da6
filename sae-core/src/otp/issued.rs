//! Issued codes (sent by SMS, e-mail or voice): the keyed MAC a server stores instead of
//! the code.
//!
//! A database dump then does not reveal the codes, and without the key they cannot be
//! brute-forced offline. The construction, version 1:
//!
//! ```text
//! subkey = HMAC-SHA-256(key, "sae issued-code mac v1")
//! mac    = HMAC-SHA-256(subkey, request_id || 0x00 || code)
//! stored = the 32 MAC bytes as 64 lower-case hexadecimal digits
//! ```
//!
//! The subkey keeps this use of the key apart from any other; the NUL byte keeps
//! `("ab", "c")` apart from `("a", "bc")`. The stored text must never change for a given
//! input: databases written by earlier versions keep validating.
//!
//! ```
//! use sae_core::otp::issued::code_mac;
//!
//! let key = [7u8; 32];
//! let stored = code_mac(&key, "request-1", "123456").to_hex();
//! assert!(code_mac(&key, "request-1", "123456").matches(&stored));
//! assert!(!code_mac(&key, "request-1", "123457").matches(&stored));
//! assert!(!code_mac(&key, "request-2", "123456").matches(&stored));
//! ```

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::codec::HEX_DIGITS;

/// The label the subkey is derived with.
const SUBKEY_LABEL: &[u8] = b"sae issued-code mac v1";

/// Length of the MAC in bytes.
const MAC_LEN: usize = 32;

/// The MAC of one issued code, bound to its request.
///
/// Store it with [`CodeMac::to_hex`]; check a presented code by computing its MAC and
/// calling [`CodeMac::matches`] with the stored text (constant time). There is no
/// `PartialEq`, so a variable-time comparison cannot slip in, and `Debug` shows no bytes.
#[derive(Clone)]
pub struct CodeMac([u8; MAC_LEN]);

/// The MAC of `code`, issued for `request_id`, under `key` (HMAC takes keys of any length;
/// the server passes its 32-byte data key).
#[must_use]
pub fn code_mac(key: &[u8], request_id: &str, code: &str) -> CodeMac {
    let mut derive = hmac_sha256(key);
    derive.update(SUBKEY_LABEL);
    let subkey = Zeroizing::new(<[u8; MAC_LEN]>::from(derive.finalize().into_bytes()));
    let mut mac = hmac_sha256(subkey.as_ref());
    mac.update(request_id.as_bytes());
    mac.update(b"\0");
    mac.update(code.as_bytes());
    CodeMac(mac.finalize().into_bytes().into())
}

impl CodeMac {
    /// Length of the stored text: 64 hexadecimal digits.
    pub const HEX_LEN: usize = 2 * MAC_LEN;

    /// The stored text: 64 lower-case hexadecimal digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.hex().iter().copied().map(char::from).collect()
    }

    /// Whether `stored` (a text written by [`CodeMac::to_hex`]) is this MAC, compared in
    /// constant time. Only the exact lower-case form matches; a text of another length
    /// never does.
    #[must_use]
    pub fn matches(&self, stored: &str) -> bool {
        bool::from(self.hex()[..].ct_eq(stored.as_bytes()))
    }

    /// The lower-case hexadecimal form, on the stack.
    fn hex(&self) -> [u8; Self::HEX_LEN] {
        let mut out = [0u8; Self::HEX_LEN];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }
}

impl fmt::Debug for CodeMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeMac(<redacted>)")
    }
}

/// HMAC-SHA-256 keyed with `key`.
fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    #[expect(
        clippy::expect_used,
        reason = "HMAC accepts keys of any length (RFC 2104 §2): new_from_slice cannot fail"
    )]
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::codec::{hex_decode, hex_encode};

    #[derive(Deserialize)]
    struct Vectors {
        rows: Vec<Row>,
    }

    #[derive(Deserialize)]
    struct Row {
        name: String,
        key_hex: String,
        request_id: String,
        code: String,
        subkey_hex: String,
        mac_hex: String,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/code_mac_v1_python.json"
        )))
        .expect("the code MAC vector file is valid JSON")
    }

    #[test]
    fn rfc4231_hmac_sha256() {
        // RFC 4231 §4: test cases 1, 2, 6 and 7 (HMAC-SHA-256 column).
        let rows: &[(&str, &[u8], &[u8], &str)] = &[
            (
                "case 1",
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                "case 2",
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "case 6",
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                "case 7",
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (name, key, data, expected) in rows {
            let mut mac = hmac_sha256(key);
            mac.update(data);
            assert_eq!(
                hex_encode(&mac.finalize().into_bytes()),
                *expected,
                "row {name}"
            );
        }
    }

    #[test]
    fn code_mac_v1_vectors() {
        let vectors = vectors();
        assert!(vectors.rows.len() >= 5, "the vector file lost rows");
        for row in &vectors.rows {
            let key = hex_decode(&row.key_hex).expect("hex key");
            let mut derive = hmac_sha256(&key);
            derive.update(SUBKEY_LABEL);
            assert_eq!(
                hex_encode(&derive.finalize().into_bytes()),
                row.subkey_hex,
                "row {}: subkey",
                row.name
            );
            let mac = code_mac(&key, &row.request_id, &row.code);
            assert_eq!(mac.to_hex(), row.mac_hex, "row {}: stored text", row.name);
            assert!(mac.matches(&row.mac_hex), "row {}: matches", row.name);
        }
    }

    #[test]
    fn only_the_exact_stored_text_matches() {
        let key = [0x42; 32];
        let mac = code_mac(&key, "r", "123456");
        let stored = mac.to_hex();
        assert_eq!(stored.len(), CodeMac::HEX_LEN);
        let mut flipped = stored.clone().into_bytes();
        flipped[CodeMac::HEX_LEN - 1] = if flipped[CodeMac::HEX_LEN - 1] == b'0' {
            b'1'
        } else {
            b'0'
        };
        let flipped = String::from_utf8(flipped).expect("ASCII");
        let rows: &[(&str, &str, bool)] = &[
            ("itself", &stored, true),
            ("upper case", &stored.to_uppercase(), false),
            ("last digit changed", &flipped, false),
            ("truncated", &stored[..CodeMac::HEX_LEN - 2], false),
            ("extended", &format!("{stored}00"), false),
            ("empty", "", false),
        ];
        for (name, text, expected) in rows {
            assert_eq!(mac.matches(text), *expected, "row {name}");
        }
    }

    #[test]
    fn every_input_changes_the_mac() {
        let stored = code_mac(&[1; 32], "r1", "123456").to_hex();
        let rows: &[(&str, &[u8], &str, &str)] = &[
            ("other key", &[2; 32], "r1", "123456"),
            ("other request", &[1; 32], "r2", "123456"),
            ("other code", &[1; 32], "r1", "123457"),
            ("code moved into the request", &[1; 32], "r11", "23456"),
        ];
        for (name, key, request_id, code) in rows {
            assert!(
                !code_mac(key, request_id, code).matches(&stored),
                "row {name}"
            );
        }
    }

    #[test]
    fn debug_shows_no_bytes() {
        let mac = code_mac(&[9; 32], "r", "123456");
        let shown = format!("{mac:?}");
        assert_eq!(shown, "CodeMac(<redacted>)");
        assert!(!shown.contains(&mac.to_hex()[..8]));
    }
}
