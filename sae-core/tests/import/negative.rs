//! Files that must not import, or only partly: each problem gives its own reason (or its own
//! fatal error), and `skip_bad` lets only the good packages through.

use sae_core::import::Outcome;
use sae_core::import::pskc::{KeyKind, PskcError, PskcOptions, SkipReason};

use crate::build::{Cipher, Package, Protection, container};
use crate::support::{data, imported, password, psk, read_all, read_ok, skip_bad, skipped};

const RFC_PSK: &str = "12345678901234567890123456789012";
const WRONG_PSK: &str = "12345678901234567890123456789013";

fn psk_file(packages: &[Package]) -> String {
    let key = sae_core::codec::hex_decode(RFC_PSK).unwrap();
    let protection = Protection::Psk {
        key,
        cipher: Cipher::Cbc(128),
        mac: Some(b"0123456789abcdefghij".to_vec()),
    };
    container(&protection, packages)
}

/// Replaces the `n`-th (0-based) ValueMAC of `xml` by a MAC of the same length that differs.
fn tamper_mac(xml: &str, n: usize) -> String {
    let start = xml.match_indices("<ValueMAC>").nth(n).unwrap().0 + "<ValueMAC>".len();
    let mut bytes = xml.as_bytes().to_vec();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn tampered_mac_of_rfc_figure_6_is_a_bad_mac() {
    let xml = String::from_utf8(data("rfc6030-figure6.xml")).unwrap();
    let tampered = xml.replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Tu+NvtQfmvfJzF6bmQiJqoLRExc=",
    );
    assert_ne!(xml, tampered);
    // The MAC key decrypted with twelve bytes of consistent padding: the key is proven,
    // so a MAC mismatch is an altered value, not a wrong key.
    let outcomes = read_ok(tampered.as_bytes(), psk(RFC_PSK));
    assert_eq!(outcomes.len(), 1);
    assert_eq!(skipped(&outcomes[0]), &SkipReason::BadMac);
}

#[test]
fn tampered_package_among_good_ones() {
    let packages: Vec<Package> = (0..3)
        .map(|i| Package::hotp(&format!("S{i}"), format!("secret-number-{i}-ab").as_bytes()))
        .collect();
    let xml = tamper_mac(&psk_file(&packages), 1);
    let outcomes = read_ok(xml.as_bytes(), psk(RFC_PSK));
    assert_eq!(
        imported(&outcomes[0]).secret.expose_bytes(),
        b"secret-number-0-ab"
    );
    assert_eq!(skipped(&outcomes[1]), &SkipReason::BadMac);
    assert_eq!(
        imported(&outcomes[2]).secret.expose_bytes(),
        b"secret-number-2-ab"
    );
}

#[test]
fn wrong_psk_fails_the_whole_file_unless_skip_bad() {
    let (outcomes, error) = read_all(&data("rfc6030-figure6.xml"), psk(WRONG_PSK));
    assert!(outcomes.is_empty());
    assert!(
        matches!(error, Some(PskcError::WrongKeyOrPassword { .. })),
        "{error:?}"
    );
    let message = error.unwrap().to_string();
    assert!(
        message.contains("pre-shared key or password is wrong"),
        "{message}"
    );

    let outcomes = read_ok(&data("rfc6030-figure6.xml"), skip_bad(psk(WRONG_PSK)));
    assert_eq!(skipped(&outcomes[0]), &SkipReason::WrongKeyOrPassword);
}

#[test]
fn wrong_password_fails_the_whole_file_unless_skip_bad() {
    let (outcomes, error) = read_all(&data("rfc6030-figure7.xml"), password("qwertz"));
    assert!(outcomes.is_empty());
    assert!(
        matches!(error, Some(PskcError::WrongKeyOrPassword { .. })),
        "{error:?}"
    );
    let outcomes = read_ok(&data("rfc6030-figure7.xml"), skip_bad(password("qwertz")));
    assert_eq!(skipped(&outcomes[0]), &SkipReason::WrongKeyOrPassword);
}

#[test]
fn wrong_key_without_a_mac_key_fails_at_the_first_mac() {
    // No MACKey: the MAC key is the encryption key, so nothing proves the key before the
    // first ValueMAC.
    let key = sae_core::codec::hex_decode(RFC_PSK).unwrap();
    let mut xml = container(
        &Protection::Psk {
            key: key.clone(),
            cipher: Cipher::Cbc(128),
            mac: Some(key),
        },
        &[
            Package::hotp("A", b"first-secret-bytes-1"),
            Package::hotp("B", b"second-secret-byte-2"),
        ],
    );
    let mac_key = xml.find("<MACKey>").unwrap();
    let mac_key_end = xml.find("</MACKey>").unwrap() + "</MACKey>".len();
    xml.replace_range(mac_key..mac_key_end, "");
    let outcomes = read_ok(xml.as_bytes(), psk(RFC_PSK));
    assert_eq!(
        imported(&outcomes[1]).secret.expose_bytes(),
        b"second-secret-byte-2"
    );
    let (outcomes, error) = read_all(xml.as_bytes(), psk(WRONG_PSK));
    assert!(outcomes.is_empty());
    assert_eq!(
        error,
        Some(PskcError::WrongKeyOrPassword { position: Some(1) })
    );
    let outcomes = read_ok(xml.as_bytes(), skip_bad(psk(WRONG_PSK)));
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|o| o.skip_reason() == Some(&SkipReason::WrongKeyOrPassword))
    );
}

#[test]
fn truncated_files_are_fatal_and_name_the_position() {
    let xml = data("rfc6030-figure10.xml");
    let text = String::from_utf8(xml.clone()).unwrap();
    // Cut inside a tag, inside text, between packages and before the closing tag.
    let inside_tag = text.find("<Issuer>").unwrap() + 3;
    let inside_text = text.find("MTIzNDU2").unwrap() + 4;
    let between = text.match_indices("</KeyPackage>").nth(1).unwrap().0 + "</KeyPackage>".len();
    let before_end = text.rfind("</KeyContainer>").unwrap();
    for cut in [inside_tag, inside_text, between, before_end, 10] {
        let (outcomes, error) = read_all(&xml[..cut], PskcOptions::default());
        let error = error.unwrap_or_else(|| panic!("cut at {cut}: no error"));
        let line = 1 + text[..cut].matches('\n').count() as u64;
        match &error {
            PskcError::Truncated { line: at, .. } | PskcError::Malformed { line: at, .. } => {
                assert!(
                    *at <= line && *at + 1 >= line,
                    "cut at {cut} (line {line}): {error}"
                );
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
        assert!(error.to_string().starts_with("line "), "{error}");
        // Whatever was yielded before is complete; the caller rolls back on the error.
        assert!(
            outcomes.len() < 4,
            "cut at {cut}: {} outcomes",
            outcomes.len()
        );
    }
}

#[test]
fn malformed_xml_is_fatal() {
    for (xml, expected) in [
        (
            "<KeyContainer Version=\"1.0\"><KeyPackage></Key></KeyContainer>",
            "line 1",
        ),
        ("not xml at all", "no XML element"),
        (
            "<!DOCTYPE x [<!ENTITY a \"b\">]><KeyContainer Version=\"1.0\"/>",
            "DTD",
        ),
        (
            "<KeyContainer Version=\"1.0\"><KeyPackage><Key>&xxe;</Key></KeyPackage></KeyContainer>",
            "entity",
        ),
    ] {
        let (_, error) = read_all(xml.as_bytes(), PskcOptions::default());
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(expected), "{xml}: {message}");
    }
    let (_, error) = read_all(b"<Tokens><Token/></Tokens>", PskcOptions::default());
    assert_eq!(
        error,
        Some(PskcError::NotPskc {
            found: "Tokens".into()
        })
    );
    let (_, error) = read_all(b"<KeyContainer Version=\"2.0\"/>", PskcOptions::default());
    assert_eq!(
        error,
        Some(PskcError::UnsupportedVersion {
            found: "2.0".into()
        })
    );
}

#[test]
fn unknown_algorithm_is_skipped_and_the_rest_imported() {
    let mut ocra = Package::hotp("O1", b"ocra-secret-bytes-01");
    ocra.algorithm = "urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1".into();
    let xml = container(
        &Protection::Plain,
        &[ocra, Package::hotp("H1", b"hotp-secret-bytes-01")],
    );
    let outcomes = read_ok(xml.as_bytes(), PskcOptions::default());
    assert_eq!(
        skipped(&outcomes[0]),
        &SkipReason::UnsupportedAlgorithm {
            uri: "urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1".into()
        }
    );
    assert_eq!(imported(&outcomes[1]).serial.as_deref(), Some("H1"));
}

#[test]
fn duplicate_serial_within_the_file() {
    let xml = psk_file(&[
        Package::hotp("SAME", b"first-secret-bytes-1"),
        Package::hotp("OTHER", b"other-secret-bytes-1"),
        Package::hotp("SAME", b"second-secret-byte-2"),
    ]);
    let outcomes = read_ok(xml.as_bytes(), psk(RFC_PSK));
    assert_eq!(
        imported(&outcomes[0]).secret.expose_bytes(),
        b"first-secret-bytes-1"
    );
    assert_eq!(
        skipped(&outcomes[2]),
        &SkipReason::DuplicateSerial { first: 1 }
    );
    assert!(
        matches!(&outcomes[2], Outcome::Skipped { id: Some(id), position: 3, .. } if id == "SAME")
    );
}

#[test]
fn missing_secret_and_missing_mac() {
    let mut no_secret = Package::hotp("N", b"");
    no_secret.secret.clear();
    let xml = container(&Protection::Plain, &[no_secret])
        .replace("<Secret><PlainValue></PlainValue></Secret>", "");
    let outcomes = read_ok(xml.as_bytes(), PskcOptions::default());
    assert_eq!(skipped(&outcomes[0]), &SkipReason::MissingSecret);

    // AES-CBC without any MAC: its integrity cannot be checked, so it is not decrypted.
    let key = sae_core::codec::hex_decode(RFC_PSK).unwrap();
    let unauthenticated = container(
        &Protection::Psk {
            key: key.clone(),
            cipher: Cipher::Cbc(128),
            mac: None,
        },
        &[Package::hotp("C", b"cbc-secret-bytes-001")],
    );
    let outcomes = read_ok(unauthenticated.as_bytes(), psk(RFC_PSK));
    assert_eq!(skipped(&outcomes[0]), &SkipReason::MissingMac);
    // A MACMethod but a value without ValueMAC.
    let xml = psk_file(&[Package::hotp("M", b"mac-secret-bytes-001")]);
    let start = xml.find("<ValueMAC>").unwrap();
    let end = xml.find("</ValueMAC>").unwrap() + "</ValueMAC>".len();
    let mut stripped = xml.clone();
    stripped.replace_range(start..end, "");
    let outcomes = read_ok(stripped.as_bytes(), psk(RFC_PSK));
    assert_eq!(skipped(&outcomes[0]), &SkipReason::MissingMac);
    // Key wrap carries its own integrity check: no MAC needed.
    let wrapped = container(
        &Protection::Psk {
            key,
            cipher: Cipher::Kw(128),
            mac: None,
        },
        &[Package::hotp("W", b"wrapped-secret-bytes-24b")],
    );
    let outcomes = read_ok(wrapped.as_bytes(), psk(RFC_PSK));
    assert_eq!(
        imported(&outcomes[0]).secret.expose_bytes(),
        b"wrapped-secret-bytes-24b"
    );
}

#[test]
fn key_problems_of_the_caller_are_fatal() {
    let xml = psk_file(&[Package::hotp("A", b"some-secret-bytes-01")]);
    let (_, error) = read_all(
        xml.as_bytes(),
        psk("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
    );
    assert_eq!(
        error,
        Some(PskcError::KeyLength {
            cipher: "aes128-cbc",
            expected: 16,
            given: 32
        })
    );
    let (_, error) = read_all(xml.as_bytes(), password("secret"));
    assert_eq!(
        error,
        Some(PskcError::WrongKeyKind {
            needed: KeyKind::PreSharedKey,
            given: KeyKind::Password
        })
    );
    let (_, error) = read_all(xml.as_bytes(), PskcOptions::default());
    assert_eq!(
        error,
        Some(PskcError::KeyRequired {
            needed: KeyKind::PreSharedKey
        })
    );
}

#[test]
fn invalid_parameters_name_their_field() {
    let cases: [(&str, &str, &str, &'static str); 9] = [
        (
            "parameters",
            r#"<ResponseFormat Length="5" Encoding="DECIMAL"/>"#,
            "",
            "ResponseFormat.Length",
        ),
        (
            "parameters",
            r#"<ResponseFormat Length="6" Encoding="ALPHANUMERIC"/>"#,
            "",
            "ResponseFormat.Encoding",
        ),
        ("parameters", "<Suite>MD5</Suite>", "", "Suite"),
        (
            "data",
            "<Counter><PlainValue>-1</PlainValue></Counter>",
            "",
            "Counter",
        ),
        (
            "data",
            "<Counter><PlainValue>18446744073709551616</PlainValue></Counter>",
            "",
            "Counter",
        ),
        (
            "data",
            "<TimeDrift><PlainValue>x</PlainValue></TimeDrift>",
            "",
            "TimeDrift",
        ),
        (
            "data",
            "<Counter><EncryptedValue/></Counter>",
            "",
            "Counter",
        ),
        (
            "key",
            "",
            "<Policy><StartDate>yesterday</StartDate></Policy>",
            "Policy.StartDate",
        ),
        ("secret", "", "", "Secret"),
    ];
    for (slot, inner, key_extra, field) in cases {
        let mut package = Package::hotp("P", b"parameter-secret-001");
        match slot {
            "parameters" => package.parameters = inner.into(),
            "data" => package.data = inner.into(),
            _ => package.key_extra = key_extra.into(),
        }
        let mut xml = container(&Protection::Plain, &[package]);
        if slot == "secret" {
            let start = xml.find("<PlainValue>").unwrap() + "<PlainValue>".len();
            xml.insert_str(start, "!!");
        }
        let outcomes = read_ok(xml.as_bytes(), PskcOptions::default());
        let reason = skipped(&outcomes[0]);
        assert_eq!(reason.field(), Some(field), "{inner}{key_extra}: {reason}");
        assert_eq!(reason.code(), "invalid_parameter");
    }
}

#[test]
fn policies_sae_cannot_enforce_are_refused() {
    for (policy, element) in [
        (
            r#"<PINPolicy PINUsageMode="Prepend" MinLength="4"/>"#,
            "PINPolicy",
        ),
        ("<KeyUsage>Encrypt</KeyUsage>", "KeyUsage"),
        (
            "<NumberOfTransactions>10</NumberOfTransactions>",
            "NumberOfTransactions",
        ),
    ] {
        let mut package = Package::hotp("P", b"policy-secret-bytes1");
        package.key_extra = format!("<Policy>{policy}</Policy>");
        let outcomes = read_ok(
            container(&Protection::Plain, &[package]).as_bytes(),
            PskcOptions::default(),
        );
        assert_eq!(
            skipped(&outcomes[0]),
            &SkipReason::UnsupportedPolicy {
                element: element.into()
            },
            "{policy}"
        );
    }
}
