//! Vendor variants of PSKC: privacyIDEA's export (`tests/data/pskc/privacyidea-export.xml`)
//! and the algorithm URIs of the drafts and the OATH profile.

use sae_core::import::TokenKind;
use sae_core::import::pskc::PskcOptions;
use sae_core::otp::{Algorithm, TimeStep};

use crate::build::{Package, Protection, container};
use crate::support::{cross_check, data, imported, psk, read_ok};

#[test]
fn privacy_idea_export() {
    let outcomes = read_ok(
        &data("privacyidea-export.xml"),
        psk("00112233445566778899aabbccddeeff"),
    );
    assert_eq!(outcomes.len(), 2);
    // privacyIDEA inserts each package right after the MACMethod: newest first.
    let totp = imported(&outcomes[0]);
    assert_eq!(totp.serial.as_deref(), Some("PITO0002"));
    assert_eq!(
        totp.kind,
        TokenKind::Totp {
            period: TimeStep::new(60).unwrap(),
            drift: 0
        }
    );
    assert_eq!((totp.algorithm, totp.digits.get()), (Algorithm::Sha256, 8));
    assert_eq!(
        totp.secret.expose_bytes(),
        b"12345678901234567890123456789012"
    );
    assert_eq!(totp.issuer.as_deref(), Some("privacyIDEA"));
    let hotp = imported(&outcomes[1]);
    assert_eq!(hotp.serial.as_deref(), Some("PIHO0001"));
    assert_eq!(hotp.kind, TokenKind::Hotp { counter: 42 });
    assert_eq!((hotp.algorithm, hotp.digits.get()), (Algorithm::Sha1, 6));
    assert_eq!(hotp.secret.expose_bytes(), b"12345678901234567890");
    cross_check(totp, "privacyIDEA TOTP");
    cross_check(hotp, "privacyIDEA HOTP");
}

#[test]
fn algorithm_uris_of_drafts_and_profiles() {
    for uri in [
        "http://www.ietf.org/keyprov/pskc#totp",
        "urn:ietf:params:xml:ns:keyprov:pskc#totp",
        "urn:ietf:params:xml:ns:keyprov:pskc:totp",
    ] {
        let mut package = Package::hotp("V", b"vendor-secret-bytes1");
        package.algorithm = uri.into();
        package.data = "<TimeInterval><PlainValue>30</PlainValue></TimeInterval>\
                        <TimeDrift><PlainValue>-2</PlainValue></TimeDrift>"
            .into();
        let outcomes = read_ok(
            container(&Protection::Plain, &[package]).as_bytes(),
            PskcOptions::default(),
        );
        let token = imported(&outcomes[0]);
        assert_eq!(
            token.kind,
            TokenKind::Totp {
                period: TimeStep::new(30).unwrap(),
                drift: -2
            },
            "{uri}"
        );
        cross_check(token, uri);
    }
}
