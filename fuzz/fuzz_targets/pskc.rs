//! The streaming PSKC reader, from arbitrary input: never panics, yields consecutive
//! positions and stops after a fatal error; and a container written from the input's
//! values (secret, counter, digits, serial and issuer with XML-special characters) reads
//! back to exactly those values.
//! Input: byte 0 picks the mode (bit 0: pre-shared key given; bit 1: skip_bad), the rest is
//! the file. The same bytes also drive the round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::import::pskc::{KeyMaterial, PskcOptions, PskcReader};
use sae_core::import::{Outcome, TokenKind};
use sae_core::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let key = if mode & 1 == 1 {
        KeyMaterial::PreSharedKey(Secret::from_bytes(&[0x42; 16]).expect("non-empty"))
    } else {
        KeyMaterial::None
    };
    let options = PskcOptions {
        key,
        skip_bad: mode & 2 == 2,
    };
    if let Ok(reader) = PskcReader::new(file, options) {
        let mut expected = 1;
        let mut failed = false;
        for item in reader {
            assert!(!failed, "an item after a fatal error");
            match item {
                Ok(outcome) => {
                    assert_eq!(outcome.position(), expected);
                    expected += 1;
                    if let Outcome::Imported { item, .. } = outcome {
                        assert!(item.secret.byte_len() >= 1);
                        assert!((6..=10).contains(&item.digits.get()));
                    }
                }
                Err(_) => failed = true,
            }
        }
    }
    round_trip(data);
});

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes one plaintext HOTP package from `data` and reads it back.
fn round_trip(data: &[u8]) {
    if data.len() < 10 {
        return;
    }
    let counter = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    let digits = 6 + data[8] % 5;
    let rest = &data[9..];
    let split = rest.len() / 2;
    let secret = &rest[..split.max(1)];
    // Serial and issuer: printable text, trimmed (the reader trims element text).
    let text: String = String::from_utf8_lossy(&rest[split.max(1)..])
        .chars()
        .filter(|c| !c.is_control() && *c != '\u{FFFD}')
        .take(64)
        .collect();
    let text = text.trim();
    let serial = if text.is_empty() { "S" } else { text };
    let xml = format!(
        r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
<DeviceInfo><SerialNo>{}</SerialNo></DeviceInfo>
<Key Id="{}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Issuer>{}</Issuer>
<AlgorithmParameters><ResponseFormat Length="{digits}" Encoding="DECIMAL"/></AlgorithmParameters>
<Data><Secret><PlainValue>{}</PlainValue></Secret><Counter><PlainValue>{counter}</PlainValue></Counter></Data>
</Key></KeyPackage></KeyContainer>"#,
        escape(serial),
        escape(serial),
        escape(serial),
        base64(secret),
    );
    let reader = PskcReader::new(xml.as_bytes(), PskcOptions::default()).expect("header");
    let outcomes: Vec<_> = reader.collect();
    assert_eq!(outcomes.len(), 1);
    let Ok(Outcome::Imported { item, .. }) = &outcomes[0] else {
        panic!("not imported: {:?}", outcomes[0]);
    };
    assert_eq!(item.secret.expose_bytes(), secret);
    assert_eq!(item.kind, TokenKind::Hotp { counter });
    assert_eq!(item.digits.get(), digits);
    assert_eq!(item.serial.as_deref(), Some(serial));
    assert_eq!(item.issuer.as_deref(), Some(serial));
    assert_eq!(item.key_id.as_deref(), Some(serial));
}

/// Standard base64 with padding (written here so the target has no encoder dependency).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
