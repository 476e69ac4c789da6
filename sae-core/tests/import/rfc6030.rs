//! RFC 6030's own examples (Figures 2 to 10, `tests/data/pskc/`), one table row each: what
//! every package becomes, the secret against the RFC's known value, and codes computed from
//! it against `oathtool`.

use sae_core::import::pskc::{KeyKind, PskcError, PskcOptions, SkipReason};
use sae_core::import::{Outcome, TokenKind};
use sae_core::otp::{Algorithm, Digits};

use crate::support::{cross_check, data, imported, password, psk, read_all, read_ok, skipped};

/// The secret of every RFC example but Figure 2.
const RFC_SECRET: &[u8] = b"12345678901234567890";
const RFC_PSK: &str = "12345678901234567890123456789012";

/// What one imported package must hold.
struct Expected {
    serial: &'static str,
    secret: &'static [u8],
    digits: u8,
    issuer: &'static str,
    user: Option<&'static str>,
    manufacturer: Option<&'static str>,
}

/// A package of the RFC secret with no user (the common case).
fn rfc(
    serial: &'static str,
    digits: u8,
    issuer: &'static str,
    manufacturer: &'static str,
) -> Expected {
    Expected {
        serial,
        secret: RFC_SECRET,
        digits,
        issuer,
        user: None,
        manufacturer: Some(manufacturer),
    }
}

fn check(file: &str, options: PskcOptions, expected: &[Result<Expected, SkipReason>]) {
    let outcomes = read_ok(&data(file), options);
    assert_eq!(outcomes.len(), expected.len(), "{file}: number of packages");
    for (index, (outcome, expected)) in outcomes.iter().zip(expected).enumerate() {
        let what = format!("{file} package {}", index + 1);
        assert_eq!(outcome.position(), index as u64 + 1, "{what}");
        match expected {
            Ok(expected) => {
                let token = imported(outcome);
                assert_eq!(token.serial.as_deref(), Some(expected.serial), "{what}");
                assert_eq!(
                    token.secret.expose_bytes(),
                    expected.secret,
                    "{what}: secret"
                );
                assert_eq!(
                    token.digits,
                    Digits::new(expected.digits).unwrap(),
                    "{what}"
                );
                assert_eq!(token.kind, TokenKind::Hotp { counter: 0 }, "{what}");
                assert_eq!(token.algorithm, Algorithm::Sha1, "{what}");
                assert_eq!(token.issuer.as_deref(), Some(expected.issuer), "{what}");
                assert_eq!(token.user.as_deref(), expected.user, "{what}");
                assert_eq!(
                    token.manufacturer.as_deref(),
                    expected.manufacturer,
                    "{what}"
                );
                cross_check(token, &what);
            }
            Err(reason) => assert_eq!(skipped(outcome), reason, "{what}"),
        }
    }
}

#[test]
fn figure_2_basic_plaintext_key() {
    let expected = Expected {
        serial: "12345678",
        secret: b"1234",
        digits: 6,
        issuer: "Issuer-A",
        user: None,
        manufacturer: None,
    };
    check(
        "rfc6030-figure2.xml",
        PskcOptions::default(),
        &[Ok(expected)],
    );
}

#[test]
fn figure_3_supplementary_data() {
    let expected = Expected {
        serial: "987654321",
        secret: RFC_SECRET,
        digits: 8,
        issuer: "Issuer",
        user: Some("UID=jsmith,DC=example-bank,DC=net"),
        manufacturer: Some("Manufacturer"),
    };
    check(
        "rfc6030-figure3.xml",
        PskcOptions::default(),
        &[Ok(expected)],
    );
    let outcomes = read_ok(&data("rfc6030-figure3.xml"), PskcOptions::default());
    assert_eq!(imported(&outcomes[0]).key_id.as_deref(), Some("12345678"));
}

#[test]
fn figure_4_key_by_reference_has_no_secret() {
    check(
        "rfc6030-figure4.xml",
        PskcOptions::default(),
        &[Err(SkipReason::MissingSecret)],
    );
    let outcomes = read_ok(&data("rfc6030-figure4.xml"), PskcOptions::default());
    assert!(
        matches!(&outcomes[0], Outcome::Skipped { id: Some(id), .. } if id == "987654321"),
        "the report names the serial"
    );
}

#[test]
fn figure_5_pin_protected_key_and_its_pin_package() {
    let hotp = rfc("987654321", 8, "Issuer", "Manufacturer");
    let pin = SkipReason::UnsupportedAlgorithm {
        uri: "urn:ietf:params:xml:ns:keyprov:pskc:pin".into(),
    };
    check(
        "rfc6030-figure5.xml",
        PskcOptions::default(),
        &[Ok(hotp), Err(pin)],
    );
}

#[test]
fn figure_6_aes128_cbc_with_pre_shared_key() {
    let expected = rfc("987654321", 8, "Issuer", "Manufacturer");
    check("rfc6030-figure6.xml", psk(RFC_PSK), &[Ok(expected)]);
    let (outcomes, error) = read_all(&data("rfc6030-figure6.xml"), PskcOptions::default());
    assert!(outcomes.is_empty());
    assert_eq!(
        error,
        Some(PskcError::KeyRequired {
            needed: KeyKind::PreSharedKey
        })
    );
}

#[test]
fn figure_7_pbkdf2_password() {
    let expected = rfc("987654321", 8, "Example-Issuer", "TokenVendorAcme");
    check("rfc6030-figure7.xml", password("qwerty"), &[Ok(expected)]);
    let (_, error) = read_all(&data("rfc6030-figure7.xml"), PskcOptions::default());
    assert_eq!(
        error,
        Some(PskcError::KeyRequired {
            needed: KeyKind::Password
        })
    );
    let (_, error) = read_all(&data("rfc6030-figure7.xml"), psk(RFC_PSK));
    assert_eq!(
        error,
        Some(PskcError::WrongKeyKind {
            needed: KeyKind::Password,
            given: KeyKind::PreSharedKey
        })
    );
}

#[test]
fn figure_8_asymmetric_encryption_is_skipped() {
    let reason = SkipReason::UnsupportedEncryption {
        uri: "http://www.w3.org/2001/04/xmlenc#rsa_1_5".into(),
    };
    check(
        "rfc6030-figure8.xml",
        PskcOptions::default(),
        &[Err(reason)],
    );
}

#[test]
fn figure_9_signed_container_is_read_past_its_signature() {
    let expected = rfc("0755225266", 6, "Example-Issuer", "TokenVendorAcme");
    check(
        "rfc6030-figure9.xml",
        PskcOptions::default(),
        &[Ok(expected)],
    );
}

#[test]
fn figure_10_bulk_provisioning_with_a_duplicate_serial() {
    let token = |serial| Ok(rfc(serial, 8, "Issuer", "TokenVendorAcme"));
    check(
        "rfc6030-figure10.xml",
        PskcOptions::default(),
        &[
            token("654321"),
            token("123456"),
            token("9999999"),
            Err(SkipReason::DuplicateSerial { first: 3 }),
        ],
    );
    let outcomes = read_ok(&data("rfc6030-figure10.xml"), PskcOptions::default());
    let first = imported(&outcomes[0]);
    assert_eq!(
        first.valid_from,
        Some(1_146_441_600),
        "2006-05-01T00:00:00Z"
    );
    assert_eq!(
        first.valid_until,
        Some(1_149_033_600),
        "2006-05-31T00:00:00Z"
    );
    assert_eq!(
        imported(&outcomes[2]).valid_until,
        Some(1_143_763_200),
        "2006-03-31"
    );
}
