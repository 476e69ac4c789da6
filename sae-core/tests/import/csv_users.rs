//! User CSV files: every column validated as the users API validates it, password hashes
//! that verify after import, and the export writer reading back to the same users.

use proptest::prelude::*;
use sae_core::import::Outcome;
use sae_core::import::csv::{
    CsvError, ImportedUser, RowError, UserCsvReader, UserCsvWriter, UserRecord,
};
use sae_core::password::{HashError, HashPolicy, Verification};
use sha2::Digest;

type Row = Outcome<ImportedUser, RowError>;

fn read(text: &str) -> Vec<Row> {
    UserCsvReader::new(text.as_bytes())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn user(row: &Row) -> &ImportedUser {
    match row {
        Outcome::Imported { item, .. } => item,
        Outcome::Skipped {
            position, reason, ..
        } => panic!("row {position} skipped: {reason}"),
    }
}

#[test]
fn users_with_every_column() {
    let phc = HashPolicy::default()
        .hash("alice's password", &mut rand::rng())
        .unwrap();
    let digest = sha2::Sha256::digest(b"salt-bytesbob's password");
    let legacy = format!("$sha256${}${}", hex(b"salt-bytes"), hex(&digest));
    let text = format!(
        "login,name,email,document,mobile,wallet,password_hash\n\
         alice,Alice A,Alice@Example.COM,123.456.789-09,+55 (11) 91234-5678,main,\"{}\"\n\
         bob,,,,,,{legacy}\n\
         ,no login\n\
         carol,,not-an-email\n\
         dave,,,,abc\n\
         erin,,,,,,$md5$xx\n\
         alice,Second Alice\n\
         \"frank\",\"Frank, \"\"the\"\" Tank\nSecond line\"\n\
         a/b\n\
         gina,,,no digits\n\
         henry,,,,,,,extra\n",
        phc.as_str()
    );
    let rows = read(&text);
    let positions: Vec<u64> = rows.iter().map(Outcome::position).collect();
    assert_eq!(positions, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let alice = user(&rows[0]);
    assert_eq!(alice.login, "alice");
    assert_eq!(alice.name.as_deref(), Some("Alice A"));
    let email = alice.email.as_ref().unwrap();
    assert_eq!(
        (email.raw.as_str(), email.normalized.as_str()),
        ("Alice@Example.COM", "alice@example.com")
    );
    assert_eq!(alice.document.as_ref().unwrap().normalized, "12345678909");
    assert_eq!(alice.mobile.as_ref().unwrap().normalized, "5511912345678");
    assert_eq!(alice.wallet.as_deref(), Some("main"));
    let policy = HashPolicy::default();
    let stored = alice.password_hash.as_ref().unwrap();
    assert!(matches!(
        stored.verify("alice's password", &policy),
        Ok(Verification::Valid { .. })
    ));
    assert!(matches!(
        stored.verify("wrong", &policy),
        Ok(Verification::Invalid)
    ));
    let bob = user(&rows[1]);
    assert_eq!((bob.name.as_ref(), bob.email.as_ref()), (None, None));
    let bob_hash = bob.password_hash.as_ref().unwrap();
    assert!(matches!(
        bob_hash.verify("bob's password", &policy),
        Ok(Verification::Valid { .. })
    ));

    let reason = |i: usize| rows[i].skip_reason().unwrap().clone();
    assert_eq!(reason(2), RowError::Missing { field: "login" });
    assert_eq!(reason(3).field(), "email");
    assert_eq!(reason(4).field(), "mobile");
    assert!(matches!(
        reason(5),
        RowError::PasswordHash(HashError::Malformed { .. })
    ));
    assert_eq!(reason(5).code(), "invalid_password_hash");
    assert_eq!(
        reason(6),
        RowError::Duplicate {
            field: "login",
            first_row: 2
        }
    );
    assert_eq!(
        user(&rows[7]).name.as_deref(),
        Some("Frank, \"the\" Tank\nSecond line")
    );
    assert_eq!(
        reason(8),
        RowError::Invalid {
            field: "login",
            problem: "must not contain '/'"
        }
    );
    assert_eq!(reason(9).field(), "document");
    assert_eq!(reason(10).field(), "row");
    assert!(matches!(&rows[10], Outcome::Skipped { id: Some(id), .. } if id == "henry"));
}

#[test]
fn header_problems_are_fatal() {
    assert_eq!(UserCsvReader::new(&b""[..]).err(), Some(CsvError::Empty));
    assert_eq!(
        UserCsvReader::new(&b"name,email\n"[..]).err(),
        Some(CsvError::MissingColumn { name: "login" })
    );
    let error = UserCsvReader::new(&b"login,password\n"[..]).err().unwrap();
    assert!(
        error.to_string().contains("unknown column \"password\""),
        "{error}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cell value the reader keeps as is: no surrounding whitespace, not empty.
fn cell() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[a-zA-Z0-9 ,\"\n;'é]{0,12}".prop_map(|s| s.trim().to_owned()))
        .prop_map(|s| s.filter(|s| !s.is_empty()))
}

proptest! {
    /// The export writer's output reads back to the same users (quoting of commas, quotes
    /// and line breaks included).
    #[test]
    fn export_reads_back(
        users in prop::collection::vec(("[a-z][a-z0-9.@_-]{0,15}", cell(), cell(), prop::option::of("[a-z]{1,8}")), 0..8)
    ) {
        let mut writer = UserCsvWriter::new(Vec::new()).unwrap();
        let mut logins = std::collections::HashSet::new();
        let users: Vec<_> = users.into_iter().filter(|(login, ..)| logins.insert(login.clone())).collect();
        for (login, name, _, wallet) in &users {
            writer.write(&UserRecord {
                login,
                name: name.as_deref(),
                wallet: wallet.as_deref(),
                ..UserRecord::default()
            }).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let rows = read(&text);
        prop_assert_eq!(rows.len(), users.len());
        for (row, (login, name, _, wallet)) in rows.iter().zip(&users) {
            let read_back = user(row);
            prop_assert_eq!(&read_back.login, login);
            prop_assert_eq!(&read_back.name, name);
            prop_assert_eq!(&read_back.wallet, wallet);
        }
    }
}
