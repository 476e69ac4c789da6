//! Round trip: files written by `build.rs` (plaintext, pre-shared key with AES-CBC + HMAC or
//! an AES key wrap, PBKDF2) with arbitrary secrets and parameters at their edges (counter 0
//! and 2⁶⁴−1, time step 1 s and 2⁶⁴−1 s, drift ±2⁶³, 6 and 10 digits, 1- to 64-byte
//! secrets) read back to exactly what was written.

use proptest::prelude::*;
use sae_core::import::TokenKind;
use sae_core::import::pskc::{KeyMaterial, PskcOptions};
use sae_core::otp::{Algorithm, Digits, TimeStep};
use sae_core::secret::Secret;

use crate::build::{Cipher, Package, Protection, container};
use crate::support::{imported, read_ok};

/// One generated key and what it must read back as.
#[derive(Debug, Clone)]
struct Spec {
    secret: Vec<u8>,
    kind: TokenKind,
    algorithm: Algorithm,
    digits: u8,
}

fn kind() -> impl Strategy<Value = TokenKind> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()]
            .prop_map(|counter| TokenKind::Hotp { counter }),
        (
            prop_oneof![Just(1u64), Just(30), Just(u64::MAX), 1..=u64::MAX],
            prop_oneof![Just(0i64), Just(i64::MIN), Just(i64::MAX), any::<i64>()],
        )
            .prop_map(|(period, drift)| TokenKind::Totp {
                period: TimeStep::new(period).unwrap(),
                drift
            }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(any::<u8>(), 1..=64),
        kind(),
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ],
        6u8..=10,
    )
        .prop_map(|(secret, kind, algorithm, digits)| Spec {
            secret,
            kind,
            algorithm,
            digits,
        })
}

fn cipher() -> impl Strategy<Value = Cipher> {
    let bits = prop_oneof![Just(128usize), Just(192), Just(256)];
    (bits, 0..3).prop_map(|(bits, which)| match which {
        0 => Cipher::Cbc(bits),
        1 => Cipher::Kw(bits),
        _ => Cipher::Kwp(bits),
    })
}

fn package(index: usize, spec: &Spec) -> Package {
    let (uri, data) = match spec.kind {
        TokenKind::Hotp { counter } => (
            "hotp",
            format!("<Counter><PlainValue>{counter}</PlainValue></Counter>"),
        ),
        TokenKind::Totp { period, drift } => (
            "totp",
            format!(
                "<Time><PlainValue>0</PlainValue></Time>\
                 <TimeInterval><PlainValue>{}</PlainValue></TimeInterval>\
                 <TimeDrift><PlainValue>{drift}</PlainValue></TimeDrift>",
                period.seconds()
            ),
        ),
    };
    Package {
        serial: Some(format!("RT-{index}")),
        algorithm: format!("urn:ietf:params:xml:ns:keyprov:pskc:{uri}"),
        secret: spec.secret.clone(),
        parameters: format!(
            r#"<Suite>HMAC-{}</Suite><ResponseFormat Length="{}" Encoding="DECIMAL"/>"#,
            spec.algorithm.uri_name(),
            spec.digits
        ),
        data,
        key_extra: String::new(),
    }
}

/// AES key wrap (RFC 3394) takes whole 64-bit blocks, at least two.
fn fits(cipher: Cipher, secret: &[u8]) -> bool {
    !matches!(cipher, Cipher::Kw(_)) || (secret.len().is_multiple_of(8) && secret.len() >= 16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn what_is_written_is_read_back(
        specs in prop::collection::vec(spec(), 1..4),
        cipher in cipher(),
        key in prop::collection::vec(any::<u8>(), 32),
        mode in 0..3,
    ) {
        let mut key = key;
        key.truncate(cipher.key_len());
        let cipher = if specs.iter().all(|s| fits(cipher, &s.secret)) { cipher } else { Cipher::Kwp(cipher.key_len() * 8) };
        let mac = b"mac-key-of-twenty-by".to_vec();
        let (protection, material) = match mode {
            0 => (Protection::Plain, KeyMaterial::None),
            1 => (
                Protection::Psk { key: key.clone(), cipher, mac: Some(mac) },
                KeyMaterial::PreSharedKey(Secret::from_bytes(&key).unwrap()),
            ),
            _ => (
                Protection::Pbkdf2 { password: "pässword".into(), salt: key.clone(), iterations: 3, cipher, mac },
                KeyMaterial::Password(Secret::from_bytes("pässword".as_bytes()).unwrap()),
            ),
        };
        let packages: Vec<Package> = specs.iter().enumerate().map(|(i, s)| package(i, s)).collect();
        let xml = container(&protection, &packages);
        let outcomes = read_ok(xml.as_bytes(), PskcOptions { key: material, skip_bad: false });
        prop_assert_eq!(outcomes.len(), specs.len());
        for (i, (outcome, spec)) in outcomes.iter().zip(&specs).enumerate() {
            let token = imported(outcome);
            prop_assert_eq!(outcome.position(), i as u64 + 1);
            prop_assert_eq!(token.secret.expose_bytes(), spec.secret.as_slice());
            prop_assert_eq!(token.kind, spec.kind);
            prop_assert_eq!(token.algorithm, spec.algorithm);
            prop_assert_eq!(token.digits, Digits::new(spec.digits).unwrap());
            let serial = format!("RT-{i}");
            prop_assert_eq!(token.serial.as_deref(), Some(serial.as_str()));
        }
    }

    /// Arbitrary bytes never panic the reader, and positions only grow.
    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (outcomes, _) = crate::support::read_all(&bytes, PskcOptions::default());
        for (i, outcome) in outcomes.iter().enumerate() {
            prop_assert_eq!(outcome.position(), i as u64 + 1);
        }
    }
}
