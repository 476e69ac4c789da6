//! Token CSV files: privacyIDEA's headerless layout and SAE's headed one, row by row, with
//! the codes of every imported token cross-checked against `oathtool`.

use sae_core::import::csv::{CsvError, RowError, TokenCsvReader, TokenLayout};
use sae_core::import::{ImportedToken, Outcome, TokenKind};
use sae_core::otp::{Algorithm, TimeStep};

use crate::support::cross_check;

const SEED: &str = "3132333435363738393031323334353637383930";

type Row = Outcome<ImportedToken, RowError>;

fn read(text: &str, layout: TokenLayout) -> Vec<Row> {
    TokenCsvReader::new(text.as_bytes(), layout)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn token(row: &Row) -> &ImportedToken {
    match row {
        Outcome::Imported { item, .. } => item,
        Outcome::Skipped {
            position, reason, ..
        } => panic!("row {position} skipped: {reason}"),
    }
}

fn reason(row: &Row) -> &RowError {
    row.skip_reason()
        .unwrap_or_else(|| panic!("row {} imported", row.position()))
}

#[test]
fn privacy_idea_layout() {
    let seed32 = "00".repeat(31) + "01";
    let seed64 = "ab".repeat(64);
    let text = format!(
        "# serial, seed, type, digits, time step | counter\n\
         T1, {SEED}\n\
         T2, {SEED}, totp, 8\n\
         T3, {SEED}, TOTP, 6, 60\n\
         H4, {SEED}, hotp, 8, 5\n\
         O5, 3132, ocra, OCRA-1:HOTP-SHA1-6:QN08\n\
         \n\
         BAD, zz\n\
         T1, 31323334\n\
         \"quoted, serial\", {SEED},totp\n\
         S256, {seed32}\n\
         S512, {seed64}, totp\n\
         L6, {SEED}, hotp, 6, 0, sha256\n\
         \"multi\nline\", {SEED}\n\
         AFTER, {SEED}, hotp, 9\n"
    );
    let rows = read(&text, TokenLayout::Detect);
    let positions: Vec<u64> = rows.iter().map(Outcome::position).collect();
    // The comment is row 1 and the blank line row 7; the two-line cell is one row.
    assert_eq!(positions, [2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]);

    let t1 = token(&rows[0]);
    assert_eq!(t1.serial.as_deref(), Some("T1"));
    assert_eq!(t1.kind, TokenKind::Hotp { counter: 0 });
    assert_eq!((t1.algorithm, t1.digits.get()), (Algorithm::Sha1, 6));
    assert_eq!(t1.secret.expose_bytes(), b"12345678901234567890");
    let t2 = token(&rows[1]);
    assert_eq!(
        t2.kind,
        TokenKind::Totp {
            period: TimeStep::new(30).unwrap(),
            drift: 0
        }
    );
    assert_eq!(t2.digits.get(), 8);
    assert_eq!(
        token(&rows[2]).kind,
        TokenKind::Totp {
            period: TimeStep::new(60).unwrap(),
            drift: 0
        }
    );
    assert_eq!(token(&rows[3]).kind, TokenKind::Hotp { counter: 5 });
    assert_eq!(
        reason(&rows[4]),
        &RowError::UnsupportedType {
            found: "ocra".into()
        }
    );
    assert_eq!(
        reason(&rows[5]),
        &RowError::Invalid {
            field: "seed",
            problem: "is not hexadecimal"
        }
    );
    assert_eq!(
        reason(&rows[6]),
        &RowError::Duplicate {
            field: "serial",
            first_row: 2
        }
    );
    assert_eq!(token(&rows[7]).serial.as_deref(), Some("quoted, serial"));
    assert_eq!(
        token(&rows[8]).algorithm,
        Algorithm::Sha256,
        "a 32-byte seed"
    );
    assert_eq!(
        token(&rows[9]).algorithm,
        Algorithm::Sha512,
        "a 64-byte seed"
    );
    assert_eq!(
        token(&rows[10]).algorithm,
        Algorithm::Sha256,
        "LinOTP's sixth cell"
    );
    assert_eq!(
        reason(&rows[11]),
        &RowError::Invalid {
            field: "serial",
            problem: "contains a control character"
        }
    );
    assert_eq!(token(&rows[12]).digits.get(), 9);
    for row in &rows {
        if let Outcome::Imported { item, position } = row
            && item.digits.get() <= 8
        {
            cross_check(item, &format!("row {position}"));
        }
    }
}

#[test]
fn sae_layout() {
    let text = format!(
        "serial,type,secret_hex,secret_base32,algorithm,digits,period,counter,login\n\
         A1,totp,{SEED},,sha256,8,60,,alice\n\
         A2,hotp,,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,,,,10,\n\
         A3,totp,{SEED},GEZDGNBV,,,,,\n\
         A4,hotp,,,,,,,\n\
         A5,totp,{SEED},,,,,5,\n\
         A6,sms,{SEED},,,,,,\n\
         A1,hotp,{SEED},,,,,,\n\
         ,totp,{SEED},,,,,,bob\n\
         A7,hotp,{SEED},,md5,,,,\n\
         A8,hotp,{SEED},,,5,,,\n\
         A9,totp,{SEED},,,,0,,\n\
         A10,hotp,{SEED},,,,,,a/b\n\
         A11,hotp,{SEED},,,,,,,extra\n\
         A12,hotp,{SEED},,,,30,,\n\
         A13,hotp,3132x,,,,,,\n"
    );
    let rows = read(&text, TokenLayout::Detect);
    assert_eq!(rows.len(), 15);
    assert_eq!(rows[0].position(), 2, "the header is row 1");
    let a1 = token(&rows[0]);
    assert_eq!(
        a1.kind,
        TokenKind::Totp {
            period: TimeStep::new(60).unwrap(),
            drift: 0
        }
    );
    assert_eq!((a1.algorithm, a1.digits.get()), (Algorithm::Sha256, 8));
    assert_eq!(a1.user.as_deref(), Some("alice"));
    let a2 = token(&rows[1]);
    assert_eq!(a2.kind, TokenKind::Hotp { counter: 10 });
    assert_eq!(a2.secret.expose_bytes(), b"12345678901234567890");
    assert_eq!(a2.user, None);
    let field = |i: usize| reason(&rows[i]).field();
    assert_eq!(field(2), "secret_hex", "both secrets");
    assert_eq!(
        reason(&rows[3]),
        &RowError::Missing {
            field: "secret_hex or secret_base32"
        }
    );
    assert_eq!(field(4), "counter", "a counter on a TOTP token");
    assert_eq!(
        reason(&rows[5]),
        &RowError::UnsupportedType {
            found: "sms".into()
        }
    );
    assert_eq!(
        reason(&rows[6]),
        &RowError::Duplicate {
            field: "serial",
            first_row: 2
        }
    );
    let no_serial = token(&rows[7]);
    assert_eq!(
        (no_serial.serial.as_deref(), no_serial.user.as_deref()),
        (None, Some("bob"))
    );
    assert_eq!(field(8), "algorithm");
    assert_eq!(field(9), "digits");
    assert_eq!(field(10), "period");
    assert_eq!(field(11), "login");
    assert_eq!(field(12), "row");
    assert_eq!(field(13), "period", "a period on a HOTP token");
    assert_eq!(
        reason(&rows[14]),
        &RowError::Invalid {
            field: "secret_hex",
            problem: "is not hexadecimal"
        }
    );
    for (i, row) in rows.iter().enumerate() {
        if let Outcome::Skipped { id, reason, .. } = row {
            let message = reason.to_string();
            assert!(
                !message.contains("3132") && !message.contains("GEZD"),
                "row {i} leaks: {message}"
            );
            assert!(
                id.as_deref().is_none_or(|id| id.starts_with('A')),
                "row {i}: {id:?}"
            );
        }
    }
    cross_check(a1, "A1");
    cross_check(a2, "A2");
}

#[test]
fn header_problems_are_fatal() {
    for (text, expected) in [
        (
            "serial,type,secret_hex,secret\nA,hotp,31,\n",
            "unknown column \"secret\"",
        ),
        (
            "serial,type,secret_hex,TYPE\n",
            "column \"type\" appears twice",
        ),
        ("serial,secret_hex\n", "column type is required"),
        (
            "serial,type,login\n",
            "column secret_hex or secret_base32 is required",
        ),
    ] {
        let error = TokenCsvReader::new(text.as_bytes(), TokenLayout::Detect).err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(expected), "{text:?}: {message}");
    }
    assert_eq!(
        TokenCsvReader::new(&b""[..], TokenLayout::Sae).err(),
        Some(CsvError::Empty)
    );
    assert_eq!(
        TokenCsvReader::new(&b""[..], TokenLayout::Detect)
            .unwrap()
            .count(),
        0
    );
    // privacyIDEA's layout forced: a header-looking first row is just a bad row.
    let rows = read("serial,type\n", TokenLayout::PrivacyIdea);
    assert_eq!(reason(&rows[0]).field(), "seed");
}

#[test]
fn lone_carriage_returns_end_rows_too() {
    // Found by the csv_tokens fuzz target: the `csv` crate counts LF only, so rows ended by
    // a lone CR (old Mac files) all sat on line 1.
    let text = format!("A1, {SEED}\rA2, {SEED}\r\rA3, zz\r");
    let rows = read(&text, TokenLayout::PrivacyIdea);
    let positions: Vec<u64> = rows.iter().map(Outcome::position).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(reason(&rows[2]).field(), "seed");
}
