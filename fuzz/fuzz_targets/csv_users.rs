//! User CSV files from arbitrary input: never panic, row numbers only grow; and every
//! imported user, written back by `UserCsvWriter`, reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::import::Outcome;
use sae_core::import::csv::{ImportedUser, UserCsvReader, UserCsvWriter, UserRecord};

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = UserCsvReader::new(data) else {
        return;
    };
    let mut last = 0;
    let mut users = Vec::new();
    for item in reader {
        let Ok(outcome) = item else { break };
        assert!(outcome.position() > last, "row numbers only grow");
        last = outcome.position();
        if let Outcome::Imported { item, .. } = outcome {
            users.push(item);
        }
    }
    let mut writer = UserCsvWriter::new(Vec::new()).expect("in memory");
    for user in &users {
        writer.write(&record(user)).expect("in memory");
    }
    let written = writer.finish().expect("in memory");
    let again: Vec<ImportedUser> = UserCsvReader::new(&written[..])
        .expect("the writer's header")
        .map(|item| match item.expect("no fatal error") {
            Outcome::Imported { item, .. } => item,
            Outcome::Skipped { position, reason, .. } => panic!("row {position}: {reason}"),
        })
        .collect();
    assert_eq!(again, users);
});

fn record(user: &ImportedUser) -> UserRecord<'_> {
    UserRecord {
        login: &user.login,
        name: user.name.as_deref(),
        email: user.email.as_ref().map(|v| v.raw.as_str()),
        document: user.document.as_ref().map(|v| v.raw.as_str()),
        mobile: user.mobile.as_ref().map(|v| v.raw.as_str()),
        wallet: user.wallet.as_deref(),
        password_hash: user.password_hash.as_ref().map(|h| h.as_str()),
    }
}
