//! The PSKC cryptography: AES-CBC and AES key wrap decryption, the HMAC check of a value
//! and PBKDF2 key derivation (RFC 6030 §6).
//!
//! Every plaintext lands in a [`Zeroizing`] buffer; intermediate buffers are wiped too.

use aes::cipher::array::Array;
use aes::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use aes::{Aes128, Aes192, Aes256};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

use super::uris::{AesBits, Cipher, Hash};

/// AES block (and CBC IV) length.
const BLOCK: usize = 16;

/// Why a value did not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecryptError {
    /// The key has the wrong length for the cipher.
    KeyLength,
    /// The ciphertext length is impossible for the cipher.
    CiphertextLength,
    /// CBC padding is invalid, or a key wrap's integrity check failed.
    Integrity,
}

/// A decrypted value.
pub(super) struct Plaintext {
    /// The bytes, wiped on drop.
    pub(super) bytes: Zeroizing<Vec<u8>>,
    /// True when decryption itself is strong evidence that the key is right: a key wrap's
    /// 64-bit integrity check passed, or CBC padding of at least two bytes was entirely
    /// consistent (a wrong key gives that with probability below 2⁻¹⁶).
    pub(super) key_evidence: bool,
}

/// Decrypts `data` (for CBC: IV ‖ ciphertext) with `key`.
pub(super) fn decrypt(cipher: Cipher, key: &[u8], data: &[u8]) -> Result<Plaintext, DecryptError> {
    if key.len() != cipher.key_len() {
        return Err(DecryptError::KeyLength);
    }
    match cipher {
        Cipher::Cbc(AesBits::A128) => cbc::<Aes128>(key, data),
        Cipher::Cbc(AesBits::A192) => cbc::<Aes192>(key, data),
        Cipher::Cbc(AesBits::A256) => cbc::<Aes256>(key, data),
        // python-pskc writes RFC 5649 (padded) wraps under the `kw-aes…` URIs when the key
        // is not a multiple of 8 bytes. The two schemes have different integrity values,
        // so trying the other one after a failed check cannot accept a wrong key.
        Cipher::Kw(bits) => key_wrap(bits, false, key, data)
            .or_else(|error| retry_wrap(error, bits, true, key, data)),
        Cipher::Kwp(bits) => key_wrap(bits, true, key, data)
            .or_else(|error| retry_wrap(error, bits, false, key, data)),
    }
}

/// After a failed unwrap, unwraps with the other key-wrap scheme. When both fail, an
/// integrity failure of either is the answer (the length fitted one of them).
fn retry_wrap(
    error: DecryptError,
    bits: AesBits,
    padded: bool,
    key: &[u8],
    data: &[u8],
) -> Result<Plaintext, DecryptError> {
    if error == DecryptError::KeyLength {
        return Err(error);
    }
    key_wrap(bits, padded, key, data).map_err(|other| {
        if error == DecryptError::Integrity || other == DecryptError::Integrity {
            DecryptError::Integrity
        } else {
            error
        }
    })
}

/// AES-CBC with the IV in front. The padding is XML Encryption's (the last byte counts the
/// padding bytes, 1..=16; the others are arbitrary), which accepts PKCS #7 too.
fn cbc<C>(key: &[u8], data: &[u8]) -> Result<Plaintext, DecryptError>
where
    C: BlockCipherDecrypt<BlockSize = aes::cipher::consts::U16> + KeyInit,
{
    if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
        return Err(DecryptError::CiphertextLength);
    }
    let (iv, ciphertext) = data.split_at(BLOCK);
    let mut decryptor =
        cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| DecryptError::KeyLength)?;
    let mut bytes = Zeroizing::new(ciphertext.to_vec());
    let (blocks, rest) = Array::slice_as_chunks_mut(bytes.as_mut_slice());
    debug_assert!(rest.is_empty(), "the length was checked to be whole blocks");
    decryptor.decrypt_blocks(blocks);
    let pad = usize::from(bytes.last().copied().unwrap_or(0));
    if pad == 0 || pad > BLOCK {
        return Err(DecryptError::Integrity);
    }
    let text_len = bytes.len() - pad;
    let pkcs7 = bytes[text_len..]
        .iter()
        .all(|&byte| usize::from(byte) == pad);
    bytes[text_len..].zeroize();
    bytes.truncate(text_len);
    Ok(Plaintext {
        bytes,
        key_evidence: pkcs7 && pad >= 2,
    })
}

/// AES key wrap (RFC 3394) or key wrap with padding (RFC 5649).
fn key_wrap(
    bits: AesBits,
    padded: bool,
    key: &[u8],
    data: &[u8],
) -> Result<Plaintext, DecryptError> {
    // RFC 3394 needs at least two 64-bit blocks of plaintext; RFC 5649 one.
    let min = if padded { 16 } else { 24 };
    if data.len() < min || !data.len().is_multiple_of(8) {
        return Err(DecryptError::CiphertextLength);
    }
    let mut buf = Zeroizing::new(vec![0u8; data.len()]);
    let unwrapped_len = {
        let result = match (bits, padded) {
            (AesBits::A128, false) => aes_kw::KwAes128::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
            (AesBits::A192, false) => aes_kw::KwAes192::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
            (AesBits::A256, false) => aes_kw::KwAes256::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
            (AesBits::A128, true) => aes_kw::KwpAes128::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
            (AesBits::A192, true) => aes_kw::KwpAes192::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
            (AesBits::A256, true) => aes_kw::KwpAes256::new_from_slice(key)
                .map(|kw| kw.unwrap_key(data, &mut buf).map(<[u8]>::len)),
        };
        match result {
            Ok(Ok(len)) => len,
            Ok(Err(aes_kw::Error::IntegrityCheckFailed)) => return Err(DecryptError::Integrity),
            Ok(Err(_)) => return Err(DecryptError::CiphertextLength),
            Err(_) => return Err(DecryptError::KeyLength),
        }
    };
    buf[unwrapped_len..].zeroize();
    buf.truncate(unwrapped_len);
    Ok(Plaintext {
        bytes: buf,
        key_evidence: true,
    })
}

/// Checks `expected` against HMAC(`key`, `data`) in constant time.
pub(super) fn verify_mac(hash: Hash, key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    fn check<M: Mac + hmac::KeyInit>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
        match <M as hmac::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
            Err(_) => false,
        }
    }
    match hash {
        Hash::Sha1 => check::<Hmac<Sha1>>(key, data, expected),
        Hash::Sha224 => check::<Hmac<Sha224>>(key, data, expected),
        Hash::Sha256 => check::<Hmac<Sha256>>(key, data, expected),
        Hash::Sha384 => check::<Hmac<Sha384>>(key, data, expected),
        Hash::Sha512 => check::<Hmac<Sha512>>(key, data, expected),
    }
}

/// PBKDF2 with HMAC-`prf`: `len` bytes from `password` and `salt`.
pub(super) fn pbkdf2(
    prf: Hash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    match prf {
        Hash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut key),
        Hash::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, iterations, &mut key),
        Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut key),
        Hash::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, iterations, &mut key),
        Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut key),
    }
    key
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::codec::hex_decode;

    fn hex(s: &str) -> Vec<u8> {
        hex_decode(s).unwrap()
    }

    /// RFC 3394 §4.1, §4.3, §4.6 and RFC 5649 §6 (both examples): key, wrapped, plaintext.
    #[test]
    fn key_wrap_vectors_of_rfc_3394_and_5649() {
        let cases = [
            (
                Cipher::Kw(AesBits::A128),
                "000102030405060708090A0B0C0D0E0F",
                "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5",
                "00112233445566778899AABBCCDDEEFF",
            ),
            (
                Cipher::Kw(AesBits::A256),
                "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
                "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7",
                "00112233445566778899AABBCCDDEEFF",
            ),
            (
                Cipher::Kw(AesBits::A256),
                "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
                "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
                "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            ),
            (
                Cipher::Kwp(AesBits::A192),
                "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
                "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
                "c37b7e6492584340bed12207808941155068f738",
            ),
            (
                Cipher::Kwp(AesBits::A192),
                "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
                "afbeb0f07dfbf5419200f2ccb50bb24f",
                "466f7250617369",
            ),
        ];
        for (cipher, key, wrapped, plain) in cases {
            let out = decrypt(cipher, &hex(key), &hex(wrapped)).expect(wrapped);
            assert_eq!(out.bytes.as_slice(), hex(plain).as_slice(), "{wrapped}");
            assert!(out.key_evidence);
            let mut tampered = hex(wrapped);
            tampered[3] ^= 1;
            assert_eq!(
                decrypt(cipher, &hex(key), &tampered).map(|p| p.bytes.len()),
                Err(DecryptError::Integrity),
                "{wrapped}"
            );
        }
    }

    #[test]
    fn cbc_of_rfc_6030_figure_6() {
        // The MAC key of RFC 6030 Figure 6, encrypted with the pre-shared key.
        let psk = hex("12345678901234567890123456789012");
        let data = data_encoding::BASE64
            .decode(b"ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX")
            .unwrap();
        let out = decrypt(Cipher::Cbc(AesBits::A128), &psk, &data).unwrap();
        assert_eq!(
            out.bytes.as_slice(),
            hex("1122334455667788990011223344556677889900").as_slice()
        );
        assert!(out.key_evidence, "twelve bytes of consistent padding");
        let wrong = hex("12345678901234567890123456789013");
        assert!(
            decrypt(Cipher::Cbc(AesBits::A128), &wrong, &data).map_or(true, |p| !p.key_evidence),
            "a wrong key gives no evidence"
        );
    }

    #[test]
    fn impossible_lengths_are_refused() {
        let key = [0u8; 16];
        assert_eq!(
            decrypt(Cipher::Cbc(AesBits::A256), &key, &[0; 32]).map(|p| p.bytes.len()),
            Err(DecryptError::KeyLength)
        );
        for len in [0, 15, 16, 17, 33] {
            assert_eq!(
                decrypt(Cipher::Cbc(AesBits::A128), &key, &vec![0; len]).map(|p| p.bytes.len()),
                Err(DecryptError::CiphertextLength),
                "{len}"
            );
        }
        for len in [0, 8, 20] {
            assert_eq!(
                decrypt(Cipher::Kw(AesBits::A128), &key, &vec![0; len]).map(|p| p.bytes.len()),
                Err(DecryptError::CiphertextLength),
                "{len}"
            );
        }
        // 16 bytes fit RFC 5649's one-block form, whose check then fails.
        assert_eq!(
            decrypt(Cipher::Kw(AesBits::A128), &key, &[0; 16]).map(|p| p.bytes.len()),
            Err(DecryptError::Integrity)
        );
    }

    #[test]
    fn padded_wraps_under_the_plain_wrap_uri_open_too() {
        // python-pskc writes RFC 5649 wraps under `kw-aes…` when the key is not 8-byte aligned.
        let key = hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        let out = decrypt(
            Cipher::Kw(AesBits::A192),
            &key,
            &hex("afbeb0f07dfbf5419200f2ccb50bb24f"),
        )
        .expect("RFC 5649 example 2");
        assert_eq!(out.bytes.as_slice(), hex("466f7250617369").as_slice());
        let wrapped = hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
        let out = decrypt(
            Cipher::Kwp(AesBits::A128),
            &hex("000102030405060708090A0B0C0D0E0F"),
            &wrapped,
        )
        .expect("RFC 3394 4.1 under the padded URI");
        assert_eq!(
            out.bytes.as_slice(),
            hex("00112233445566778899AABBCCDDEEFF").as_slice()
        );
    }

    #[test]
    fn mac_and_pbkdf2_vectors() {
        // RFC 2202 test case 2 (HMAC-SHA1) and RFC 4231 test case 2 (HMAC-SHA256).
        assert!(verify_mac(
            Hash::Sha1,
            b"Jefe",
            b"what do ya want for nothing?",
            &hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        ));
        let sha256 = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_mac(
            Hash::Sha256,
            b"Jefe",
            b"what do ya want for nothing?",
            &sha256
        ));
        assert!(!verify_mac(
            Hash::Sha256,
            b"Jefe",
            b"what do ya want for nothing!",
            &sha256
        ));
        assert!(!verify_mac(
            Hash::Sha256,
            b"Jefe",
            b"what do ya want for nothing?",
            &sha256[..31]
        ));
        // RFC 6030 Figure 7: "qwerty", salt Ej7/PEpyEpw=, 1000 iterations, 16 bytes.
        let salt = data_encoding::BASE64.decode(b"Ej7/PEpyEpw=").unwrap();
        assert_eq!(
            pbkdf2(Hash::Sha1, b"qwerty", &salt, 1000, 16).as_slice(),
            hex("651e63cd57008476af1ff6422cd02e41").as_slice()
        );
    }
}
