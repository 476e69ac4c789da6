//! Shared helpers of the import tests: reading a PSKC file to the end, the real peers
//! (`oathtool`, python-pskc in the repository's `.venv`) and the code cross-check.
//!
//! A missing peer skips the test with a note, unless `SAE_REQUIRE_PEERS=1` (or `CI=true`),
//! which makes it a failure.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use sae_core::import::pskc::{
    KeyMaterial, PskcError, PskcOptions, PskcOutcome, PskcReader, SkipReason,
};
use sae_core::import::{ImportedToken, Outcome, TokenKind};
use sae_core::otp::{Hotp, Totp, format_code};
use sae_core::secret::Secret;

/// A fixed instant for TOTP cross-checks (2026-01-01T00:00:00Z).
pub const NOW: u64 = 1_767_225_600;

pub fn peers_required() -> bool {
    std::env::var("SAE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Prints a skip note, or fails when peers are required.
pub fn missing_peer(what: &str) {
    assert!(
        !peers_required(),
        "peer unavailable and SAE_REQUIRE_PEERS=1 / CI=true: {what}"
    );
    eprintln!("SKIP: {what}");
}

/// The contents of `tests/data/pskc/<name>`.
pub fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pskc")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn psk(hex: &str) -> PskcOptions {
    PskcOptions {
        key: KeyMaterial::PreSharedKey(Secret::from_hex(hex).unwrap()),
        skip_bad: false,
    }
}

pub fn password(password: &str) -> PskcOptions {
    PskcOptions {
        key: KeyMaterial::Password(Secret::from_bytes(password.as_bytes()).unwrap()),
        skip_bad: false,
    }
}

pub fn skip_bad(mut options: PskcOptions) -> PskcOptions {
    options.skip_bad = true;
    options
}

/// Reads a whole file: every outcome, or the fatal error (from `new` or from the stream)
/// with the outcomes yielded before it.
pub fn read_all(bytes: &[u8], options: PskcOptions) -> (Vec<PskcOutcome>, Option<PskcError>) {
    let reader = match PskcReader::new(bytes, options) {
        Ok(reader) => reader,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut outcomes = Vec::new();
    for item in reader {
        match item {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => return (outcomes, Some(error)),
        }
    }
    (outcomes, None)
}

/// Reads a file that must have no fatal error.
pub fn read_ok(bytes: &[u8], options: PskcOptions) -> Vec<PskcOutcome> {
    let (outcomes, error) = read_all(bytes, options);
    assert_eq!(error, None, "unexpected fatal error");
    outcomes
}

pub fn imported(outcome: &PskcOutcome) -> &ImportedToken {
    match outcome {
        Outcome::Imported { item, .. } => item,
        Outcome::Skipped {
            position, reason, ..
        } => panic!("package {position} skipped: {reason}"),
    }
}

pub fn skipped(outcome: &PskcOutcome) -> &SkipReason {
    match outcome {
        Outcome::Skipped { reason, .. } => reason,
        Outcome::Imported { position, .. } => panic!("package {position} was imported"),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SAE's code for `token` at counter / Unix time `at`.
pub fn sae_code(token: &ImportedToken, at: u64) -> String {
    match token.kind {
        TokenKind::Hotp { counter } => {
            let hotp = Hotp::new(&token.secret, token.algorithm, token.digits);
            format_code(hotp.generate(counter + at), token.digits).to_string()
        }
        TokenKind::Totp { period, .. } => {
            let totp = Totp::new(&token.secret, token.algorithm, token.digits, period, 0);
            format_code(totp.generate(at).unwrap(), token.digits).to_string()
        }
    }
}

/// `oathtool`'s code for the same token and moment, or `None` when oathtool is missing
/// (and peers are not required). The key goes through stdin, not the command line.
pub fn oathtool_code(token: &ImportedToken, at: u64) -> Option<String> {
    let mut args = vec![format!("--digits={}", token.digits.get())];
    match token.kind {
        TokenKind::Hotp { counter } if token.algorithm == sae_core::otp::Algorithm::Sha1 => {
            args.push("--hotp".into());
            args.push(format!("--counter={}", counter + at));
        }
        // oathtool's HOTP is SHA-1 only: its TOTP with a 1-second step is HOTP at counter = time.
        TokenKind::Hotp { counter } => {
            args.push(format!("--totp={}", token.algorithm.uri_name()));
            args.push("--time-step-size=1s".into());
            args.push(format!("--now=@{}", counter + at));
        }
        TokenKind::Totp { period, .. } => {
            args.push(format!("--totp={}", token.algorithm.uri_name()));
            args.push(format!("--time-step-size={}s", period.seconds()));
            args.push(format!("--now=@{at}"));
        }
    }
    args.push("-".into());
    let child = Command::new("oathtool")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            missing_peer(&format!(
                "oathtool cannot be run ({error}); apt-get install oathtool"
            ));
            return None;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", hex(token.secret.expose_bytes())).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "oathtool {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

/// Asserts that SAE and oathtool agree on three consecutive codes of `token`.
pub fn cross_check(token: &ImportedToken, what: &str) {
    for step in 0..3 {
        let at = match token.kind {
            TokenKind::Hotp { .. } => step,
            TokenKind::Totp { period, .. } => NOW + step * period.seconds(),
        };
        let Some(expected) = oathtool_code(token, at) else {
            return;
        };
        assert_eq!(
            sae_code(token, at),
            expected,
            "{what}: code {step} differs from oathtool's"
        );
    }
}

/// The Python interpreter with python-pskc, or `None` (skip) when there is none.
pub fn python_with_pskc() -> Option<PathBuf> {
    let python = std::env::var_os("SAE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let works = Command::new(&python)
        .args(["-c", "import pskc"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        Some(python)
    } else {
        missing_peer(&format!(
            "python-pskc is not importable by {} (pip install -r scripts/requirements-peers.txt)",
            python.display()
        ));
        None
    }
}
