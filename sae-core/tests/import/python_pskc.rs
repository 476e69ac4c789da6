//! Interoperability: files WRITTEN by python-pskc (an independent PSKC implementation, run
//! from the repository's `.venv` or `$SAE_PYTHON`) import, and the imported tokens give the
//! codes `oathtool` computes from the secrets the test chose.

use std::io::Write;
use std::process::{Command, Stdio};

use sae_core::import::TokenKind;
use sae_core::import::pskc::{PskcOptions, SkipReason};
use sae_core::otp::{Algorithm, Digits, TimeStep};
use serde_json::{Value, json};

use crate::support::{
    cross_check, hex, imported, password, psk, python_with_pskc, read_all, read_ok, skip_bad,
    skipped,
};

/// Runs `tests/peers/write_pskc.py` with `spec`; `None` when python-pskc is missing.
fn python_pskc_write(spec: &Value) -> Option<Vec<u8>> {
    let python = python_with_pskc()?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/write_pskc.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "write_pskc.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(output.stdout)
}

/// Secrets of several lengths (none a multiple of 8 but one, to exercise the wraps).
fn secret(i: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| {
            i.wrapping_mul(31)
                .wrapping_add((j as u8).wrapping_mul(7))
                .wrapping_add(1)
        })
        .collect()
}

/// Two devices: one with a HOTP-SHA1 and a TOTP-SHA256 key, one with a HOTP-SHA512 key.
fn devices() -> (Value, Vec<Vec<u8>>) {
    let secrets = vec![secret(1, 20), secret(2, 32), secret(3, 64)];
    let devices = json!([
        {"serial": "PY-1", "manufacturer": "python-pskc", "user": "alice", "keys": [
            {"id": "PY-1-H", "secret_hex": hex(&secrets[0]), "digits": 6, "counter": 7,
             "algorithm": "urn:ietf:params:xml:ns:keyprov:pskc:hotp", "issuer": "Example"},
        ]},
        {"serial": null, "keys": [
            {"id": "PY-2-T", "secret_hex": hex(&secrets[1]), "digits": 8, "time_interval": 60,
             "suite": "HMAC-SHA256", "algorithm": "urn:ietf:params:xml:ns:keyprov:pskc:totp"},
            {"id": "PY-2-H", "secret_hex": hex(&secrets[2]), "digits": 7, "counter": 0,
             "suite": "hmac-sha512", "algorithm": "urn:ietf:params:xml:ns:keyprov:pskc:hotp"},
        ]},
    ]);
    (devices, secrets)
}

/// Imports `xml` with `options` and checks every token against the spec of [`devices`].
fn check_import(xml: &[u8], options: PskcOptions, secrets: &[Vec<u8>], what: &str) {
    let outcomes = read_ok(xml, options);
    assert_eq!(outcomes.len(), 3, "{what}");
    let first = imported(&outcomes[0]);
    assert_eq!(first.serial.as_deref(), Some("PY-1"), "{what}");
    assert_eq!(first.user.as_deref(), Some("alice"), "{what}");
    assert_eq!(first.issuer.as_deref(), Some("Example"), "{what}");
    assert_eq!(first.kind, TokenKind::Hotp { counter: 7 }, "{what}");
    assert_eq!(
        (first.algorithm, first.digits),
        (Algorithm::Sha1, Digits::SIX),
        "{what}"
    );
    let second = imported(&outcomes[1]);
    assert_eq!(
        second.serial.as_deref(),
        Some("PY-2-T"),
        "{what}: no SerialNo, so the Key Id"
    );
    assert_eq!(
        second.kind,
        TokenKind::Totp {
            period: TimeStep::new(60).unwrap(),
            drift: 0
        },
        "{what}"
    );
    assert_eq!(
        (second.algorithm, second.digits),
        (Algorithm::Sha256, Digits::EIGHT),
        "{what}"
    );
    let third = imported(&outcomes[2]);
    assert_eq!(
        (third.algorithm, third.digits.get()),
        (Algorithm::Sha512, 7),
        "{what}"
    );
    for (outcome, expected) in outcomes.iter().zip(secrets) {
        let token = imported(outcome);
        assert_eq!(
            token.secret.expose_bytes(),
            expected.as_slice(),
            "{what}: secret"
        );
        if token.digits.get() <= 8 {
            cross_check(token, what);
        }
    }
}

#[test]
fn plain_file_written_by_python_pskc() {
    let (devices, secrets) = devices();
    let Some(xml) =
        python_pskc_write(&json!({"protection": {"kind": "plain"}, "devices": devices}))
    else {
        return;
    };
    check_import(&xml, PskcOptions::default(), &secrets, "plain");
}

#[test]
fn psk_encrypted_files_written_by_python_pskc() {
    let key32 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    for (algorithm, mac, key) in [
        ("aes128-cbc", "hmac-sha1", &key32[..32]),
        ("aes192-cbc", "hmac-sha256", &key32[..48]),
        ("aes256-cbc", "hmac-sha256", key32),
        ("kw-aes128", "hmac-sha1", &key32[..32]),
        ("kw-aes256", "hmac-sha256", key32),
    ] {
        let (devices, secrets) = devices();
        let spec = json!({
            "protection": {"kind": "psk", "key_hex": key, "algorithm": algorithm, "mac_algorithm": mac},
            "devices": devices,
        });
        let Some(xml) = python_pskc_write(&spec) else {
            return;
        };
        let what = format!("{algorithm} + {mac}");
        check_import(&xml, psk(key), &secrets, &what);
        let mut wrong = key.to_owned();
        wrong.replace_range(..2, "ff");
        let (outcomes, error) = read_all(&xml, psk(&wrong));
        assert!(outcomes.is_empty(), "{what}");
        assert!(
            error.is_some_and(|e| e.to_string().contains("wrong")),
            "{what}: wrong key"
        );
        let outcomes = read_ok(&xml, skip_bad(psk(&wrong)));
        assert!(
            outcomes
                .iter()
                .all(|o| skipped(o) == &SkipReason::WrongKeyOrPassword),
            "{what}: skip_bad"
        );
    }
}

#[test]
fn password_encrypted_files_written_by_python_pskc() {
    for (algorithm, prf) in [
        ("aes128-cbc", None),
        ("aes256-cbc", Some("hmac-sha256")),
        ("kw-aes256", Some("hmac-sha512")),
    ] {
        let (devices, secrets) = devices();
        let spec = json!({
            "protection": {"kind": "password", "password": "correct horse battery",
                           "iterations": 2000, "algorithm": algorithm, "prf": prf,
                           "mac_algorithm": "hmac-sha1"},
            "devices": devices,
        });
        let Some(xml) = python_pskc_write(&spec) else {
            return;
        };
        let what = format!("PBKDF2 {prf:?} + {algorithm}");
        check_import(&xml, password("correct horse battery"), &secrets, &what);
        let (_, error) = read_all(&xml, password("correct horse batter"));
        assert!(
            error.is_some_and(|e| e.to_string().contains("wrong")),
            "{what}: wrong password"
        );
    }
}
