//! Token CSV files from arbitrary input (either layout): never panic, row numbers only
//! grow; and every imported token, written back in SAE's headed layout by the `csv` crate,
//! reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::codec::hex_encode;
use sae_core::import::csv::{TokenCsvReader, TokenLayout};
use sae_core::import::{ImportedToken, Outcome, TokenKind};

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = TokenCsvReader::new(data, TokenLayout::Detect) else {
        return;
    };
    let mut last = 0;
    let mut tokens = Vec::new();
    for item in reader {
        let Ok(outcome) = item else { break };
        assert!(outcome.position() > last, "row numbers only grow");
        last = outcome.position();
        if let Outcome::Imported { item, .. } = outcome {
            tokens.push(item);
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["serial", "type", "secret_hex", "algorithm", "digits", "period", "counter", "login"])
        .expect("in memory");
    for token in &tokens {
        writer.write_record(row(token)).expect("in memory");
    }
    let written = writer.into_inner().expect("in memory");
    let again: Vec<ImportedToken> = TokenCsvReader::new(&written[..], TokenLayout::Sae)
        .expect("a header of known columns")
        .map(|item| match item.expect("no fatal error") {
            Outcome::Imported { item, .. } => item,
            Outcome::Skipped { position, reason, .. } => panic!("row {position}: {reason}"),
        })
        .collect();
    assert_eq!(again.len(), tokens.len());
    for (a, b) in tokens.iter().zip(&again) {
        assert_eq!(row(a), row(b));
    }
});

fn row(token: &ImportedToken) -> Vec<String> {
    let (period, counter) = match token.kind {
        TokenKind::Totp { period, .. } => (period.seconds().to_string(), String::new()),
        TokenKind::Hotp { counter } => (String::new(), counter.to_string()),
    };
    vec![
        token.serial.clone().unwrap_or_default(),
        token.kind.as_str().to_owned(),
        hex_encode(token.secret.expose_bytes()),
        token.algorithm.as_str().to_owned(),
        token.digits.get().to_string(),
        period,
        counter,
        token.user.clone().unwrap_or_default(),
    ]
}
