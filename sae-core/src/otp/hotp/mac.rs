//! HMAC (RFC 2104) with the key state precomputed, and HOTP dynamic truncation
//! (RFC 4226 §5.3), over SHA-1, SHA-256 and SHA-512.
//!
//! [`KeyedMac::new`] absorbs the inner and outer padded keys once; each code then costs
//! exactly two compressions (the 8-byte counter and the inner digest each fit one padded
//! block), run by the RustCrypto `sha1`/`sha2` compression functions, with no allocation.
//! The two key states are the only key material kept, and they are wiped on drop; the
//! per-code states are hashes of public data and are not.

use core::ops::RangeInclusive;

use zeroize::{Zeroize, Zeroizing};

use crate::otp::{Algorithm, Digits};

/// RFC 4226 §5.3 dynamic truncation: 31 bits at the offset given by the low 4 bits of the
/// last MAC byte, whatever the hash.
fn dynamic_truncation(mac: &[u8]) -> u32 {
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    // Every MAC is at least 20 bytes long, so offset + 4 <= 19 is always in range.
    mac.get(offset..offset + 4)
        .and_then(|word| <[u8; 4]>::try_from(word).ok())
        .map_or(0, u32::from_be_bytes)
        & 0x7fff_ffff
}

/// The keyed HMAC of one of the three algorithms.
#[derive(Clone)]
pub(super) struct KeyedMac(Keyed);

/// One keyed HMAC per hash, in an enum rather than a box, so calls are direct.
#[derive(Clone)]
enum Keyed {
    Sha1(KeyedHmac<Sha1Compression>),
    Sha256(KeyedHmac<Sha256Compression>),
    Sha512(KeyedHmac<Sha512Compression>),
}

/// Runs `$body` with `$keyed` bound to the `KeyedHmac` inside the `KeyedMac` `$mac`,
/// whatever its hash.
macro_rules! with_keyed_hmac {
    ($mac:expr, $keyed:ident => $body:expr) => {
        match &$mac.0 {
            Keyed::Sha1($keyed) => $body,
            Keyed::Sha256($keyed) => $body,
            Keyed::Sha512($keyed) => $body,
        }
    };
}

impl KeyedMac {
    /// Keys the HMAC of `algorithm` with `key` (any length).
    pub(super) fn new(key: &[u8], algorithm: Algorithm) -> Self {
        Self(match algorithm {
            Algorithm::Sha1 => Keyed::Sha1(KeyedHmac::new(key)),
            Algorithm::Sha256 => Keyed::Sha256(KeyedHmac::new(key)),
            Algorithm::Sha512 => Keyed::Sha512(KeyedHmac::new(key)),
        })
    }

    /// The HOTP value of `counter`.
    pub(super) fn hotp(&self, counter: u64, digits: Digits) -> u32 {
        with_keyed_hmac!(self, keyed => keyed.hotp(counter, digits))
    }

    /// Calls `visit(counter, code)` for every counter of `counters`, in order. The
    /// algorithm is dispatched once, outside the loop.
    pub(super) fn for_each_code(
        &self,
        digits: Digits,
        counters: RangeInclusive<u64>,
        mut visit: impl FnMut(u64, u32),
    ) {
        with_keyed_hmac!(self, keyed => {
            for counter in counters {
                visit(counter, keyed.hotp(counter, digits));
            }
        });
    }

    /// The full HMAC of `counter` written into `out`; returns its length.
    #[cfg(test)]
    fn mac(&self, counter: u64, out: &mut [u8; MAX_DIGEST_LEN]) -> usize {
        with_keyed_hmac!(self, keyed => keyed.mac(counter, out).len())
    }
}

/// Largest digest (SHA-512).
const MAX_DIGEST_LEN: usize = 64;
/// HMAC inner pad byte (RFC 2104).
const IPAD: u8 = 0x36;
/// HMAC outer pad byte (RFC 2104).
const OPAD: u8 = 0x5c;

/// A Merkle–Damgård compression function and the sizes HMAC needs.
trait Compression {
    /// Chaining state.
    type State: Copy + Zeroize;
    /// One input block.
    type Block: Copy + Zeroize + AsRef<[u8]> + AsMut<[u8]>;
    /// Initial state (FIPS 180-4).
    const IV: Self::State;
    /// An all-zero block.
    const ZERO_BLOCK: Self::Block;
    /// Block length in bytes.
    const BLOCK_LEN: usize;
    /// Digest length in bytes.
    const DIGEST_LEN: usize;
    /// Length of the message-length field closing the padding, in bytes.
    const LENGTH_FIELD_LEN: usize;

    /// Absorbs one block.
    fn compress(state: &mut Self::State, block: &Self::Block);
    /// Writes the big-endian digest of `state` into `out` (`DIGEST_LEN` bytes).
    fn write_digest(state: &Self::State, out: &mut [u8]);
}

/// SHA-1 compression.
#[derive(Clone, Copy)]
enum Sha1Compression {}

impl Compression for Sha1Compression {
    type State = [u32; 5];
    type Block = [u8; 64];
    const IV: Self::State = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    const ZERO_BLOCK: Self::Block = [0; 64];
    const BLOCK_LEN: usize = 64;
    const DIGEST_LEN: usize = 20;
    const LENGTH_FIELD_LEN: usize = 8;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha1::block_api::compress(state, core::slice::from_ref(block));
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// SHA-256 compression.
#[derive(Clone, Copy)]
enum Sha256Compression {}

impl Compression for Sha256Compression {
    type State = [u32; 8];
    type Block = [u8; 64];
    const IV: Self::State = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    const ZERO_BLOCK: Self::Block = [0; 64];
    const BLOCK_LEN: usize = 64;
    const DIGEST_LEN: usize = 32;
    const LENGTH_FIELD_LEN: usize = 8;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress256(state, core::slice::from_ref(block));
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// SHA-512 compression.
#[derive(Clone, Copy)]
enum Sha512Compression {}

impl Compression for Sha512Compression {
    type State = [u64; 8];
    type Block = [u8; 128];
    const IV: Self::State = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    const ZERO_BLOCK: Self::Block = [0; 128];
    const BLOCK_LEN: usize = 128;
    const DIGEST_LEN: usize = 64;
    const LENGTH_FIELD_LEN: usize = 16;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress512(state, core::slice::from_ref(block));
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// HMAC with the padded keys already absorbed: the states after compressing
/// `K ^ ipad` and `K ^ opad`. Wiped on drop.
struct KeyedHmac<C: Compression> {
    inner: C::State,
    outer: C::State,
}

impl<C: Compression> KeyedHmac<C> {
    /// RFC 2104 key schedule: keys longer than a block are hashed first, shorter ones
    /// are zero-padded.
    fn new(key: &[u8]) -> Self {
        let mut key_block = Zeroizing::new(C::ZERO_BLOCK);
        if key.len() > C::BLOCK_LEN {
            hash::<C>(key, &mut key_block.as_mut()[..C::DIGEST_LEN]);
        } else {
            key_block.as_mut()[..key.len()].copy_from_slice(key);
        }
        Self {
            inner: padded_key_state::<C>(&key_block, IPAD),
            outer: padded_key_state::<C>(&key_block, OPAD),
        }
    }

    /// HMAC(K, counter as 8 big-endian bytes): two compressions, the inner and outer
    /// messages each fitting one padded block.
    fn mac<'a>(&self, counter: u64, out: &'a mut [u8; MAX_DIGEST_LEN]) -> &'a [u8] {
        let mut block = C::ZERO_BLOCK;
        let bytes = block.as_mut();
        bytes[..8].copy_from_slice(&counter.to_be_bytes());
        bytes[8] = 0x80;
        write_bit_length(bytes, C::BLOCK_LEN + 8);
        let mut state = self.inner;
        C::compress(&mut state, &block);

        let mut block = C::ZERO_BLOCK;
        let bytes = block.as_mut();
        C::write_digest(&state, &mut bytes[..C::DIGEST_LEN]);
        bytes[C::DIGEST_LEN] = 0x80;
        write_bit_length(bytes, C::BLOCK_LEN + C::DIGEST_LEN);
        let mut state = self.outer;
        C::compress(&mut state, &block);

        let out = &mut out[..C::DIGEST_LEN];
        C::write_digest(&state, out);
        out
    }

    /// The HOTP value of `counter`.
    fn hotp(&self, counter: u64, digits: Digits) -> u32 {
        let mut out = [0; MAX_DIGEST_LEN];
        digits.reduce(dynamic_truncation(self.mac(counter, &mut out)))
    }
}

impl<C: Compression> Clone for KeyedHmac<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            outer: self.outer,
        }
    }
}

impl<C: Compression> Drop for KeyedHmac<C> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// The state after absorbing `key_block ^ pad`.
fn padded_key_state<C: Compression>(key_block: &C::Block, pad: u8) -> C::State {
    let mut block = Zeroizing::new(*key_block);
    for byte in block.as_mut() {
        *byte ^= pad;
    }
    let mut state = C::IV;
    C::compress(&mut state, &block);
    state
}

/// The full hash of `message` into `out` (`DIGEST_LEN` bytes), for keys longer than a
/// block. Intermediate buffers are wiped.
fn hash<C: Compression>(message: &[u8], out: &mut [u8]) {
    let mut state = Zeroizing::new(C::IV);
    let mut block = Zeroizing::new(C::ZERO_BLOCK);
    let mut chunks = message.chunks_exact(C::BLOCK_LEN);
    for chunk in &mut chunks {
        block.as_mut().copy_from_slice(chunk);
        C::compress(&mut state, &block);
    }
    let rest = chunks.remainder();
    *block = C::ZERO_BLOCK;
    block.as_mut()[..rest.len()].copy_from_slice(rest);
    block.as_mut()[rest.len()] = 0x80;
    if rest.len() + 1 + C::LENGTH_FIELD_LEN > C::BLOCK_LEN {
        C::compress(&mut state, &block);
        *block = C::ZERO_BLOCK;
    }
    write_bit_length(block.as_mut(), message.len());
    C::compress(&mut state, &block);
    C::write_digest(&state, out);
}

/// Writes the bit length of a `message_len`-byte message into the last 8 bytes of the
/// final block (big-endian; for SHA-512 the 8 bytes before stay zero).
fn write_bit_length(block: &mut [u8], message_len: usize) {
    let bits = u64::try_from(message_len)
        .unwrap_or(u64::MAX)
        .wrapping_mul(8);
    let start = block.len().saturating_sub(8);
    block[start..].copy_from_slice(&bits.to_be_bytes());
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::codec::hex_encode;
    use hmac::{KeyInit, Mac};
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Rfc4226 {
        secret_ascii: String,
        rows: Vec<Rfc4226Row>,
    }

    #[derive(Deserialize)]
    struct Rfc4226Row {
        counter: u64,
        hmac_hex: String,
        truncated_hex: String,
        truncated_dec: u32,
    }

    /// The `hmac` crate's HMAC of the 8-byte big-endian counter, as a reference.
    fn reference_mac(key: &[u8], algorithm: Algorithm, counter: u64) -> Vec<u8> {
        fn run<D: hmac::EagerHash>(key: &[u8], counter: u64) -> Vec<u8> {
            let mut mac = hmac::Hmac::<D>::new_from_slice(key).expect("any key length");
            mac.update(&counter.to_be_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        match algorithm {
            Algorithm::Sha1 => run::<sha1::Sha1>(key, counter),
            Algorithm::Sha256 => run::<sha2::Sha256>(key, counter),
            Algorithm::Sha512 => run::<sha2::Sha512>(key, counter),
        }
    }

    fn our_mac(key: &[u8], algorithm: Algorithm, counter: u64) -> Vec<u8> {
        let mut out = [0; MAX_DIGEST_LEN];
        let len = KeyedMac::new(key, algorithm).mac(counter, &mut out);
        out[..len].to_vec()
    }

    #[test]
    fn rfc4226_appendix_d_hmac_and_truncation() {
        let vectors: Rfc4226 = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/rfc4226_appendix_d.json"
        )))
        .expect("the RFC 4226 vector file is valid JSON");
        let key = vectors.secret_ascii.as_bytes();
        for row in &vectors.rows {
            let mac = our_mac(key, Algorithm::Sha1, row.counter);
            assert_eq!(
                hex_encode(&mac),
                row.hmac_hex,
                "HMAC, counter {}",
                row.counter
            );
            let truncated = dynamic_truncation(&mac);
            assert_eq!(
                format!("{truncated:08x}"),
                row.truncated_hex,
                "truncation (hex), counter {}",
                row.counter
            );
            assert_eq!(
                truncated, row.truncated_dec,
                "truncation, counter {}",
                row.counter
            );
        }
    }

    #[test]
    fn truncation_offset_is_the_low_nibble_of_the_last_byte() {
        // A 64-byte MAC whose last byte selects offset 0x0f, and one selecting 0.
        let mut mac = [0u8; 64];
        mac[15..19].copy_from_slice(&[0xff, 0x12, 0x34, 0x56]);
        mac[63] = 0xaf;
        assert_eq!(dynamic_truncation(&mac), 0x7f12_3456);
        mac[0..4].copy_from_slice(&[0x01, 0x02, 0x03, 0x04]);
        mac[63] = 0xf0;
        assert_eq!(dynamic_truncation(&mac), 0x0102_0304);
    }

    #[test]
    fn keys_around_the_block_size_match_the_hmac_crate() {
        // Keys shorter than, equal to and longer than (hashed) each block size, including
        // the lengths where the final padding of the key hash needs a second block.
        let lengths = [1, 20, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 200, 300];
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for len in lengths {
                let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                for counter in [0, 1, u64::MAX] {
                    assert_eq!(
                        our_mac(&key, algorithm, counter),
                        reference_mac(&key, algorithm, counter),
                        "{algorithm}, key length {len}, counter {counter}"
                    );
                }
            }
        }
    }

    #[test]
    fn for_each_code_visits_every_counter_in_order() {
        let mac = KeyedMac::new(b"12345678901234567890", Algorithm::Sha256);
        let mut seen = Vec::new();
        mac.for_each_code(Digits::EIGHT, u64::MAX - 2..=u64::MAX, |counter, code| {
            seen.push((counter, code));
        });
        let expected: Vec<(u64, u32)> = (u64::MAX - 2..=u64::MAX)
            .map(|counter| (counter, mac.hotp(counter, Digits::EIGHT)))
            .collect();
        assert_eq!(seen, expected);
    }

    proptest! {
        #[test]
        fn matches_the_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 1..300),
            algorithm in prop_oneof![
                Just(Algorithm::Sha1),
                Just(Algorithm::Sha256),
                Just(Algorithm::Sha512)
            ],
            counter in any::<u64>(),
        ) {
            prop_assert_eq!(
                our_mac(&key, algorithm, counter),
                reference_mac(&key, algorithm, counter)
            );
        }
    }
}
