//! `sae otp` end to end: the built binary, run as a user would, against the published RFC
//! vectors in `sae-core/data/`.
//!
//! A success prints only the code (or the list) on stdout and nothing on stderr. Bad input
//! exits with status 2, prints nothing on stdout and exactly one line on stderr that names
//! the offending argument.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

const RFC4226: &str = include_str!("../../sae-core/data/rfc4226_appendix_d.json");
const RFC6238: &str = include_str!("../../sae-core/data/rfc6238_appendix_b.json");
const RFC2289: &str = include_str!("../../sae-core/data/rfc2289_appendix_c.json");
const DICTIONARY: &str = include_str!("../../sae-core/data/rfc2289_dictionary.txt");

/// The RFC 4226 secret "12345678901234567890", in hex and base32.
const RFC4226_HEX: &str = "3132333435363738393031323334353637383930";
const RFC4226_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn sae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sae"))
        .arg("otp")
        .args(args)
        .env_remove("SAE_LOG")
        .output()
        .expect("the sae binary runs")
}

/// Runs `sae otp ARGS`, asserts success with a clean stderr, and returns stdout's lines.
fn ok_lines(args: &[&str]) -> Vec<String> {
    let out = sae(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        out.status.success(),
        "sae otp {args:?}: exit {:?}, stderr {stderr:?}",
        out.status.code()
    );
    assert_eq!(stderr, "", "sae otp {args:?}: stderr not empty");
    assert!(
        stdout.ends_with('\n'),
        "sae otp {args:?}: stdout {stdout:?}"
    );
    stdout.lines().map(str::to_owned).collect()
}

/// Runs `sae otp ARGS`, asserts it printed exactly one line, and returns it.
fn ok(args: &[&str]) -> String {
    let lines = ok_lines(args);
    assert_eq!(lines.len(), 1, "sae otp {args:?}: stdout {lines:?}");
    lines.into_iter().next().unwrap()
}

/// Runs `sae otp ARGS` and asserts a usage error: status 2, empty stdout, one stderr line
/// naming `argument`. `row` names the case in failure messages.
fn usage_error(row: &str, args: &[&str], argument: &str) {
    let out = sae(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{row}: sae otp {args:?}: stderr {stderr:?}"
    );
    assert_eq!(
        stdout, "",
        "{row}: sae otp {args:?}: stdout must stay empty"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{row}: sae otp {args:?}: stderr must be one line: {stderr:?}"
    );
    assert!(
        stderr.ends_with('\n'),
        "{row}: sae otp {args:?}: {stderr:?}"
    );
    assert!(
        stderr.contains(argument),
        "{row}: sae otp {args:?}: stderr {stderr:?} does not name {argument}"
    );
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn ascii_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// RFC 2289 Appendix C rows: (pass phrase, seed, count, algorithm, hex, words).
fn rfc2289_rows() -> Vec<(String, String, u64, &'static str, String, String)> {
    let data = json(RFC2289);
    let mut rows = Vec::new();
    for row in data["rows"].as_array().unwrap() {
        for algorithm in ["md4", "md5", "sha1"] {
            rows.push((
                row["passphrase"].as_str().unwrap().to_owned(),
                row["seed"].as_str().unwrap().to_owned(),
                row["count"].as_u64().unwrap(),
                algorithm,
                row[algorithm]["hex"].as_str().unwrap().to_owned(),
                row[algorithm]["words"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(
        rows.len(),
        27,
        "RFC 2289 Appendix C has 9 rows × 3 algorithms"
    );
    rows
}

/// The RFC's hex form (`D185 4218 EBBB 0B51`) as `sae` prints it: lower case, no spaces.
fn plain_hex(rfc_hex: &str) -> String {
    rfc_hex.replace(' ', "").to_ascii_lowercase()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn hotp_matches_rfc4226_appendix_d() {
    let data = json(RFC4226);
    assert_eq!(
        ascii_hex(data["secret_ascii"].as_str().unwrap()),
        RFC4226_HEX
    );
    for row in data["rows"].as_array().unwrap() {
        let counter = row["counter"].as_u64().unwrap().to_string();
        let expected = row["hotp"].as_str().unwrap();
        let by_hex = ok(&["hotp", "--secret-hex", RFC4226_HEX, "--counter", &counter]);
        assert_eq!(by_hex, expected, "counter {counter}, hex secret");
        let by_base32 = ok(&[
            "hotp",
            "--secret-base32",
            RFC4226_BASE32,
            "--counter",
            &counter,
            "--digits",
            "6",
            "--algorithm",
            "sha1",
        ]);
        assert_eq!(by_base32, expected, "counter {counter}, base32 secret");
    }
}

#[test]
fn totp_with_time_matches_rfc6238_appendix_b() {
    let data = json(RFC6238);
    let digits = data["digits"].as_u64().unwrap().to_string();
    let step = data["step"].as_u64().unwrap().to_string();
    for row in data["rows"].as_array().unwrap() {
        let time = row["unix_time"].as_u64().unwrap().to_string();
        for algorithm in ["sha1", "sha256", "sha512"] {
            let secret = ascii_hex(data["seeds_ascii"][algorithm].as_str().unwrap());
            let expected = row[algorithm].as_str().unwrap();
            let code = ok(&[
                "totp",
                "--secret-hex",
                &secret,
                "--time",
                &time,
                "--step",
                &step,
                "--t0",
                "0",
                "--digits",
                &digits,
                "--algorithm",
                algorithm,
            ]);
            assert_eq!(code, expected, "time {time}, {algorithm}");
        }
    }
}

#[test]
fn totp_defaults_to_the_current_time() {
    // The code of the current step, computed from the RFC 4226 secret by the core; the
    // process may start in the next step, so the adjacent steps are tolerated.
    use sae_core::otp::{Algorithm, Digits, TimeStep, Totp, format_code};
    use sae_core::secret::Secret;
    let secret = Secret::from_hex(RFC4226_HEX).unwrap();
    let totp = Totp::new(
        &secret,
        Algorithm::Sha1,
        Digits::SIX,
        TimeStep::default(),
        0,
    );
    let before = now();
    let code = ok(&["totp", "--secret-hex", RFC4226_HEX]);
    let after = now();
    let first = totp.counter_at(before).unwrap() - 1;
    let last = totp.counter_at(after).unwrap() + 1;
    let accepted: Vec<String> = (first..=last)
        .map(|step| format_code(totp.generate_for_counter(step), Digits::SIX).to_string())
        .collect();
    assert!(
        accepted.contains(&code),
        "code {code} is none of steps {first}..={last}: {accepted:?}"
    );
    // And an explicit --time of now gives a code from the same neighbourhood.
    let explicit = ok(&[
        "totp",
        "--secret-hex",
        RFC4226_HEX,
        "--time",
        &now().to_string(),
    ]);
    assert!(
        accepted.contains(&explicit) || now() > after + 30,
        "{explicit}"
    );
}

#[test]
fn opie_matches_rfc2289_appendix_c_in_hex_and_words() {
    for (phrase, seed, count, algorithm, hex, words) in rfc2289_rows() {
        let row = format!("{algorithm} seed {seed} count {count} pass phrase {phrase:?}");
        let count = count.to_string();
        let base = [
            "opie",
            "--algorithm",
            algorithm,
            "--seed",
            &seed,
            "--count",
            &count,
            "--passphrase",
            &phrase,
        ];
        assert_eq!(ok(&base), plain_hex(&hex), "{row}, default format");
        let as_hex = ok(&[&base[..], &["--format", "hex"]].concat());
        assert_eq!(as_hex, plain_hex(&hex), "{row}, --format hex");
        let as_words = ok(&[&base[..], &["--format", "words"]].concat());
        assert_eq!(as_words, words, "{row}, --format words");
    }
}

#[test]
fn opie_list_prints_the_next_k_sequence_numbers() {
    // Count 2, list 2: sequences 1 and 0, both RFC vectors.
    let rows = rfc2289_rows();
    for (phrase, seed, _, algorithm, _, _) in rows.iter().filter(|r| r.2 == 0) {
        let vector = |count: u64| {
            rows.iter()
                .find(|r| r.0 == *phrase && r.1 == *seed && r.2 == count && r.3 == *algorithm)
                .unwrap()
        };
        let args = [
            "opie",
            "--algorithm",
            algorithm,
            "--seed",
            seed,
            "--count",
            "2",
            "--passphrase",
            phrase,
        ];
        let hex = ok_lines(&[&args[..], &["--list", "2"]].concat());
        let expected = vec![
            format!("1: {}", plain_hex(&vector(1).4)),
            format!("0: {}", plain_hex(&vector(0).4)),
        ];
        assert_eq!(hex, expected, "{algorithm} {seed}: hex list");
        let words = ok_lines(&[&args[..], &["--list", "2", "--format", "words"]].concat());
        let expected = vec![format!("1: {}", vector(1).5), format!("0: {}", vector(0).5)];
        assert_eq!(words, expected, "{algorithm} {seed}: word list");
    }

    // Count 100, list 3: sequences 99 (an RFC vector), 98 and 97 (each the OTP of that count).
    let (phrase, seed, _, algorithm, hex, _) = rows
        .iter()
        .find(|r| r.2 == 99 && r.3 == "md5")
        .unwrap()
        .clone();
    let args = |count: &'static str| {
        vec![
            "opie".to_owned(),
            "--algorithm".to_owned(),
            algorithm.to_owned(),
            "--seed".to_owned(),
            seed.clone(),
            "--count".to_owned(),
            count.to_owned(),
            "--passphrase".to_owned(),
            phrase.clone(),
        ]
    };
    let mut list_args = args("100");
    list_args.extend(["--list".to_owned(), "3".to_owned()]);
    let list = ok_lines(&list_args.iter().map(String::as_str).collect::<Vec<_>>());
    let single =
        |count: &'static str| ok(&args(count).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        list,
        vec![
            format!("99: {}", plain_hex(&hex)),
            format!("98: {}", single("98")),
            format!("97: {}", single("97")),
        ]
    );
}

#[test]
fn opie_decode_gives_the_rfc_hex() {
    for (_, seed, count, algorithm, hex, words) in rfc2289_rows() {
        assert_eq!(
            ok(&["opie-decode", &words]),
            plain_hex(&hex),
            "{algorithm} {seed} {count}"
        );
        // Any case and spacing.
        let sloppy = format!("  {} ", words.to_ascii_lowercase().replace(' ', "   "));
        assert_eq!(
            ok(&["opie-decode", &sloppy]),
            plain_hex(&hex),
            "{algorithm} {seed} {count}, lower case and extra spaces"
        );
    }
}

/// The RFC 2289 dictionary, index = line number − 1.
fn dictionary() -> Vec<&'static str> {
    let words: Vec<&str> = DICTIONARY.lines().collect();
    assert_eq!(words.len(), 2048);
    words
}

/// Whether six words carry a valid RFC 2289 checksum, computed here independently of the
/// core: 66 bits = 64-bit value + 2-bit sum of the value's 32 bit pairs, mod 4.
fn checksum_holds(words: &[&str], dictionary: &[&str]) -> bool {
    let bits = words.iter().fold(0u128, |bits, word| {
        let index = dictionary.iter().position(|w| w == word).unwrap();
        (bits << 11) | u128::try_from(index).unwrap()
    });
    let value = bits >> 2;
    let sum: u128 = (0..32).map(|pair| (value >> (2 * pair)) & 3).sum();
    sum % 4 == bits & 3
}

#[test]
fn opie_decode_rejects_a_word_change_that_breaks_the_checksum() {
    let dictionary = dictionary();
    let valid = ["INCH", "SEA", "ANNE", "LONG", "AHEM", "TOUR"];
    assert!(checksum_holds(&valid, &dictionary), "RFC row must be valid");
    // Change the third word to each later dictionary word until the checksum breaks; also
    // keep one change that happens to keep it valid, to show such changes are not errors.
    let position = dictionary.iter().position(|w| *w == valid[2]).unwrap();
    let mut broken = None;
    let mut still_valid = None;
    for candidate in dictionary.iter().skip(position + 1) {
        let mut words = valid;
        words[2] = candidate;
        if checksum_holds(&words, &dictionary) {
            still_valid.get_or_insert(words);
        } else {
            broken.get_or_insert(words);
        }
        if broken.is_some() && still_valid.is_some() {
            break;
        }
    }
    let broken = broken.unwrap().join(" ");
    usage_error(
        &format!("bad checksum {broken:?}"),
        &["opie-decode", &broken],
        "WORDS",
    );
    let still_valid = still_valid.unwrap().join(" ");
    let decoded = ok(&["opie-decode", &still_valid]);
    assert_ne!(
        decoded, "9e876134d90499dd",
        "{still_valid} is another value"
    );
}

#[test]
fn bad_input_is_a_one_line_usage_error_naming_the_argument() {
    let hex = RFC4226_HEX;
    let long_phrase = "x".repeat(64);
    let opie = |extra: &[&'static str]| -> Vec<String> {
        let mut args = vec![
            "opie",
            "--algorithm",
            "md5",
            "--seed",
            "ke1234",
            "--count",
            "99",
            "--passphrase",
            "This is a test.",
        ];
        // Later flags replace earlier ones of the same name.
        for pair in extra.chunks(2) {
            if let Some(i) = args.iter().position(|a| *a == pair[0]) {
                args[i + 1] = pair[1];
            } else {
                args.extend_from_slice(pair);
            }
        }
        args.into_iter().map(str::to_owned).collect()
    };
    let mut table: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "hex with a non-hex digit",
            to_vec(&["hotp", "--secret-hex", "31zz", "--counter", "0"]),
            "--secret-hex",
        ),
        (
            "hex with an odd length",
            to_vec(&["hotp", "--secret-hex", "313", "--counter", "0"]),
            "--secret-hex",
        ),
        (
            "empty hex secret",
            to_vec(&["hotp", "--secret-hex", "", "--counter", "0"]),
            "--secret-hex",
        ),
        (
            "base32 with a bad symbol",
            to_vec(&["totp", "--secret-base32", "GEZ1GNBV", "--time", "59"]),
            "--secret-base32",
        ),
        (
            "base32 of an impossible length",
            to_vec(&["totp", "--secret-base32", "GEZ", "--time", "59"]),
            "--secret-base32",
        ),
        (
            "5 digits",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--counter",
                "0",
                "--digits",
                "5",
            ]),
            "--digits",
        ),
        (
            "11 digits",
            to_vec(&[
                "totp",
                "--secret-hex",
                hex,
                "--time",
                "59",
                "--digits",
                "11",
            ]),
            "--digits",
        ),
        (
            "digits not a number",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--counter",
                "0",
                "--digits",
                "six",
            ]),
            "--digits",
        ),
        (
            "unknown HMAC algorithm",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--counter",
                "0",
                "--algorithm",
                "md5",
            ]),
            "--algorithm",
        ),
        (
            "unknown TOTP algorithm",
            to_vec(&[
                "totp",
                "--secret-hex",
                hex,
                "--time",
                "59",
                "--algorithm",
                "sha3",
            ]),
            "--algorithm",
        ),
        (
            "negative counter",
            to_vec(&["hotp", "--secret-hex", hex, "--counter", "-1"]),
            "--counter",
        ),
        (
            "negative time",
            to_vec(&["totp", "--secret-hex", hex, "--time", "-5"]),
            "--time",
        ),
        (
            "negative digits",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--counter",
                "0",
                "--digits",
                "-6",
            ]),
            "--digits",
        ),
        ("negative count", opie(&["--count", "-1"]), "--count"),
        ("negative list", opie(&["--list", "-2"]), "--list"),
        (
            "counter above u64",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--counter",
                "18446744073709551616",
            ]),
            "--counter",
        ),
        (
            "time before T0",
            to_vec(&["totp", "--secret-hex", hex, "--time", "59", "--t0", "60"]),
            "--time",
        ),
        (
            "time not a number",
            to_vec(&["totp", "--secret-hex", hex, "--time", "yesterday"]),
            "--time",
        ),
        (
            "zero step",
            to_vec(&["totp", "--secret-hex", hex, "--time", "59", "--step", "0"]),
            "--step",
        ),
        (
            "missing secret (hotp)",
            to_vec(&["hotp", "--counter", "0"]),
            "--secret-hex",
        ),
        (
            "both secrets",
            to_vec(&[
                "hotp",
                "--secret-hex",
                hex,
                "--secret-base32",
                "GE",
                "--counter",
                "0",
            ]),
            "--secret-hex",
        ),
        (
            "missing secret (totp)",
            to_vec(&["totp", "--time", "59"]),
            "--secret-hex",
        ),
        (
            "unknown word",
            to_vec(&["opie-decode", "INCH SEA ANNE LONG AHEM XYZZY"]),
            "WORDS",
        ),
        (
            "five words",
            to_vec(&["opie-decode", "INCH SEA ANNE LONG AHEM"]),
            "WORDS",
        ),
        (
            "unknown OPIE algorithm",
            opie(&["--algorithm", "sha256"]),
            "--algorithm",
        ),
        ("empty seed", opie(&["--seed", ""]), "--seed"),
        (
            "17-character seed",
            opie(&["--seed", "abcdefghijklmnopq"]),
            "--seed",
        ),
        (
            "seed with punctuation",
            opie(&["--seed", "ke-1234"]),
            "--seed",
        ),
        (
            "9-character pass phrase",
            opie(&["--passphrase", "123456789"]),
            "--passphrase",
        ),
        (
            "count above the maximum",
            opie(&["--count", "10001"]),
            "--count",
        ),
        ("list of 0", opie(&["--list", "0"]), "--list"),
        (
            "list longer than the count",
            opie(&["--list", "100"]),
            "--list",
        ),
        ("unknown format", opie(&["--format", "base64"]), "--format"),
    ];
    let mut long = opie(&[]);
    let at = long.iter().position(|a| a == "--passphrase").unwrap();
    long[at + 1].clone_from(&long_phrase);
    table.push(("64-character pass phrase", long, "--passphrase"));
    for (what, args, argument) in &table {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        usage_error(what, &args, argument);
    }
    // The boundaries just inside are accepted, so the rows above fail for the reason named.
    ok(
        &opie(&["--seed", "abcdefghijklmnop", "--passphrase", "1234567890"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let mut long_ok = opie(&["--count", "10000", "--list", "1"]);
    let at = long_ok.iter().position(|a| a == "--passphrase").unwrap();
    long_ok[at + 1] = "x".repeat(63);
    ok(&long_ok.iter().map(String::as_str).collect::<Vec<_>>());
    ok(&[
        "hotp",
        "--secret-hex",
        hex,
        "--counter",
        "18446744073709551615",
        "--digits",
        "10",
    ]);
    ok(&[
        "totp",
        "--secret-hex",
        hex,
        "--time",
        "60",
        "--t0",
        "60",
        "--step",
        "1",
    ]);
}

fn to_vec(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}
