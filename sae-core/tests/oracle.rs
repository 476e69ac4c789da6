//! Cross-check of HOTP and TOTP against two independent implementations: the `oathtool`
//! binary (OATH Toolkit) and the `totp-rs` crate.
//!
//! Cases are random but reproducible: a SplitMix64 generator seeded from
//! `SAE_ORACLE_SEED` (decimal or `0x…` hex; a fixed default otherwise). Every assertion
//! message names the seed, the case number and the case, and for oathtool the command line.
//!
//! The cases cover SHA-1, SHA-256 and SHA-512, 6 to 8 digits, secrets of 1 to 100 bytes
//! (plus the HMAC block-size edges 64/65/128/129 and 200), counters from 0 up to `u64::MAX`
//! and times up to `u64::MAX` (oathtool only up to `i64::MAX`: its clock is a `time_t`).
//! Each case checks `WINDOW + 1` consecutive codes.
//!
//! oathtool computes HOTP with SHA-1 only, so HOTP-SHA-256/512 is cross-checked through its
//! TOTP mode with a 1-second step (the time is the counter). It runs once per case, about 300
//! processes in all. When it is not installed the oathtool test prints a skip note, unless
//! `SAE_REQUIRE_PEERS=1`, which makes a missing peer a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]

use std::fmt;
use std::process::Command;

use sae_core::otp::{Algorithm, Code, Digits, Hotp, TimeStep, Totp, TotpWindow, format_code};
use sae_core::secret::Secret;

/// Default seed when `SAE_ORACLE_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5AE0_2026_0611_0001;
/// Extra consecutive codes checked per case (oathtool's `-w`).
const WINDOW: u64 = 4;
/// Cases checked against oathtool (one process each).
const OATHTOOL_CASES: usize = 300;
/// Cases checked against totp-rs (in process, so more of them and the full `u64` range).
const TOTP_RS_CASES: usize = 1_000;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and fully determined by its seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.next(),
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

/// The seed of this run, from `SAE_ORACLE_SEED` or the default.
fn seed() -> u64 {
    let Ok(text) = std::env::var("SAE_ORACLE_SEED") else {
        return DEFAULT_SEED;
    };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.replace('_', "").parse(),
    };
    parsed.unwrap_or_else(|e| panic!("SAE_ORACLE_SEED={text:?} is not a u64: {e}"))
}

/// What is computed: HOTP codes from a counter, or TOTP codes from a time.
#[derive(Clone, Copy)]
enum Mode {
    Hotp { counter: u64 },
    Totp { time: u64, step: u64, t0: u64 },
}

/// One random case: `WINDOW + 1` consecutive codes from its first counter or time step.
#[derive(Clone)]
struct Case {
    index: usize,
    mode: Mode,
    algorithm: Algorithm,
    digits: u8,
    secret: Vec<u8>,
}

impl Case {
    /// The first HOTP counter (TOTP: time step) of the case.
    fn first_counter(&self) -> u64 {
        match self.mode {
            Mode::Hotp { counter } => counter,
            Mode::Totp { time, step, t0 } => (time - t0) / step,
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case {} ({}, {} digits, {}-byte secret {}, ",
            self.index,
            self.algorithm,
            self.digits,
            self.secret.len(),
            hex(&self.secret)
        )?;
        match self.mode {
            Mode::Hotp { counter } => write!(f, "HOTP counters {counter}..={WINDOW} more)"),
            Mode::Totp { time, step, t0 } => {
                write!(
                    f,
                    "TOTP time {time}, step {step}, t0 {t0}, {WINDOW} more steps)"
                )
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_algorithm(rng: &mut SplitMix64) -> Algorithm {
    match rng.below(3) {
        0 => Algorithm::Sha1,
        1 => Algorithm::Sha256,
        _ => Algorithm::Sha512,
    }
}

/// A secret length: mostly uniform in 1..=100, sometimes an HMAC block-size edge.
fn random_secret(rng: &mut SplitMix64) -> Vec<u8> {
    const EDGES: [usize; 6] = [1, 64, 65, 128, 129, 200];
    let len = if rng.below(8) == 0 {
        EDGES[usize::try_from(rng.below(6)).unwrap()]
    } else {
        usize::try_from(rng.between(1, 100)).unwrap()
    };
    rng.bytes(len)
}

/// A counter in `0..=max - WINDOW`: small, near the top, or anywhere.
fn random_counter(rng: &mut SplitMix64, max: u64) -> u64 {
    let top = max - WINDOW;
    match rng.below(4) {
        0 => rng.below(1 << 16),
        1 => top - rng.below(64),
        2 => top,
        _ => rng.between(0, top),
    }
}

/// A time step in seconds: the common ones, or anything up to a day.
fn random_step(rng: &mut SplitMix64) -> u64 {
    match rng.below(4) {
        0 => 30,
        1 => 60,
        2 => 1,
        _ => rng.between(1, 86_400),
    }
}

/// A TOTP case whose time and step counters stay within `0..=max_time`.
fn random_totp(rng: &mut SplitMix64, max_time: u64) -> Mode {
    let step = random_step(rng);
    let time = match rng.below(4) {
        0 => rng.between(1_000_000_000, 4_102_444_800), // 2001..2100
        1 => rng.between(0, 1 << 40),
        2 => max_time - rng.below(1_000),
        _ => rng.between(0, max_time),
    };
    // Keep the last step of the window inside `max_time` so both oracles can represent it.
    let time = time.min(max_time - (WINDOW + 1) * step);
    let t0 = if rng.below(4) == 0 {
        rng.between(0, time)
    } else {
        0
    };
    Mode::Totp { time, step, t0 }
}

/// Cases for oathtool: HOTP counters up to `u64::MAX` (SHA-1), `i64::MAX` otherwise
/// (computed through oathtool's TOTP mode), TOTP times up to `i64::MAX`.
fn oathtool_cases(seed: u64) -> Vec<Case> {
    let mut rng = SplitMix64(seed);
    let i64_max = u64::try_from(i64::MAX).unwrap();
    (0..OATHTOOL_CASES)
        .map(|index| {
            let algorithm = random_algorithm(&mut rng);
            let digits = u8::try_from(rng.between(6, 8)).unwrap();
            let secret = random_secret(&mut rng);
            let mode = if index % 2 == 0 {
                let max = if algorithm == Algorithm::Sha1 {
                    u64::MAX
                } else {
                    i64_max
                };
                Mode::Hotp {
                    counter: random_counter(&mut rng, max),
                }
            } else {
                random_totp(&mut rng, i64_max)
            };
            Case {
                index,
                mode,
                algorithm,
                digits,
                secret,
            }
        })
        .collect()
}

/// Cases for totp-rs: the whole `u64` range for counters and times.
fn totp_rs_cases(seed: u64) -> Vec<Case> {
    let mut rng = SplitMix64(seed ^ 0x7070_7273);
    (0..TOTP_RS_CASES)
        .map(|index| {
            let algorithm = random_algorithm(&mut rng);
            let digits = u8::try_from(rng.between(6, 8)).unwrap();
            let secret = random_secret(&mut rng);
            let mode = if index % 2 == 0 {
                Mode::Hotp {
                    counter: random_counter(&mut rng, u64::MAX),
                }
            } else {
                random_totp(&mut rng, u64::MAX)
            };
            Case {
                index,
                mode,
                algorithm,
                digits,
                secret,
            }
        })
        .collect()
}

/// SAE's codes for the case, formatted.
fn sae_codes(case: &Case) -> Vec<String> {
    let secret = Secret::from_bytes(&case.secret).unwrap();
    let digits = Digits::new(case.digits).unwrap();
    let first = case.first_counter();
    match case.mode {
        Mode::Hotp { counter } => {
            let hotp = Hotp::new(&secret, case.algorithm, digits);
            (0..=WINDOW)
                .map(|i| format_code(hotp.generate(counter + i), digits).to_string())
                .collect()
        }
        Mode::Totp { time, step, t0 } => {
            let totp = Totp::new(
                &secret,
                case.algorithm,
                digits,
                TimeStep::new(step).unwrap(),
                t0,
            );
            let at_time = format_code(totp.generate(time).unwrap(), digits).to_string();
            let codes: Vec<String> = (0..=WINDOW)
                .map(|i| format_code(totp.generate_for_counter(first + i), digits).to_string())
                .collect();
            assert_eq!(at_time, codes[0], "{case}: generate(time) vs its step");
            codes
        }
    }
}

/// totp-rs's codes: HOTP is TOTP with a 1-second step at time = counter; T0 is applied by
/// subtracting it from the time (totp-rs has no T0).
fn totp_rs_codes(case: &Case) -> Vec<String> {
    let algorithm = match case.algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    let (step, first_time) = match case.mode {
        Mode::Hotp { counter } => (1, counter),
        Mode::Totp { time, step, t0 } => (step, time - t0),
    };
    let totp = totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(case.digits)
        .with_step_duration(step)
        .with_secret(case.secret.clone())
        .build_noncompliant();
    let first = first_time / step;
    (0..=WINDOW)
        .map(|i| totp.generate((first + i) * step).to_string())
        .collect()
}

/// The oathtool arguments reproducing the case.
fn oathtool_args(case: &Case) -> Vec<String> {
    let mut args = Vec::new();
    let totp_mode = |args: &mut Vec<String>, time: u64, step: u64, t0: u64| {
        args.push(format!("--totp={}", case.algorithm.uri_name()));
        args.push(format!("--time-step-size={step}s"));
        args.push(format!("--start-time=@{t0}"));
        args.push(format!("--now=@{time}"));
    };
    match case.mode {
        Mode::Hotp { counter } if case.algorithm == Algorithm::Sha1 => {
            args.push("--hotp".to_owned());
            args.push(format!("--counter={counter}"));
        }
        Mode::Hotp { counter } => totp_mode(&mut args, counter, 1, 0),
        Mode::Totp { time, step, t0 } => totp_mode(&mut args, time, step, t0),
    }
    args.push(format!("--digits={}", case.digits));
    args.push(format!("--window={WINDOW}"));
    args.push(hex(&case.secret));
    args
}

/// Whether oathtool can be run at all.
fn oathtool_present() -> bool {
    Command::new("oathtool")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn hotp_and_totp_match_totp_rs() {
    let seed = seed();
    eprintln!("oracle seed = {seed:#x} (set SAE_ORACLE_SEED to reproduce)");
    let window = TotpWindow::default();
    for case in totp_rs_cases(seed) {
        let ours = sae_codes(&case);
        let theirs = totp_rs_codes(&case);
        assert_eq!(ours, theirs, "seed {seed:#x}, {case}: SAE vs totp-rs");

        // The verifier accepts what the other implementation generates, at the right step.
        if let Mode::Totp { time, step, t0 } = case.mode {
            let secret = Secret::from_bytes(&case.secret).unwrap();
            let digits = Digits::new(case.digits).unwrap();
            let totp = Totp::new(
                &secret,
                case.algorithm,
                digits,
                TimeStep::new(step).unwrap(),
                t0,
            );
            let code = Code::parse(&theirs[0], digits).unwrap();
            let verified = totp.verify(&code, time, None, window);
            let matched = verified.map(|v| v.counter());
            // With 6 digits an adjacent step has the same code about once in 10^6; then the
            // lower step wins, which is still a step whose code is this one.
            let ok = matched.is_ok_and(|counter| {
                counter.abs_diff(case.first_counter()) <= 1
                    && format_code(totp.generate_for_counter(counter), digits).to_string()
                        == theirs[0]
            });
            assert!(
                ok,
                "seed {seed:#x}, {case}: verify of totp-rs's code gave {matched:?}"
            );
        }
    }
}

#[test]
fn hotp_and_totp_match_oathtool() {
    if !oathtool_present() {
        assert!(
            std::env::var("SAE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "SAE_REQUIRE_PEERS=1 but `oathtool` cannot be run (apt-get install oathtool)"
        );
        eprintln!("skipped: `oathtool` is not installed (SAE_REQUIRE_PEERS=1 makes this fail)");
        return;
    }
    let seed = seed();
    eprintln!("oracle seed = {seed:#x} (set SAE_ORACLE_SEED to reproduce)");
    let mut checked = 0usize;
    for case in oathtool_cases(seed) {
        let args = oathtool_args(&case);
        let command = format!("oathtool {}", args.join(" "));
        let output = Command::new("oathtool").args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "seed {seed:#x}, {case}: `{command}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let theirs: Vec<&str> = stdout.lines().collect();
        let ours = sae_codes(&case);
        assert_eq!(ours, theirs, "seed {seed:#x}, {case}: SAE vs `{command}`");
        checked += ours.len();
    }
    assert_eq!(
        checked,
        OATHTOOL_CASES * (usize::try_from(WINDOW).unwrap() + 1)
    );
}

#[test]
fn the_generator_reaches_every_edge() {
    // Guards the case generators: the edges the module promises must really be drawn.
    let cases = totp_rs_cases(DEFAULT_SEED);
    let oath = oathtool_cases(DEFAULT_SEED);
    let all = || cases.iter().chain(&oath);
    for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        assert!(
            all().any(|c| c.algorithm == algorithm),
            "{algorithm} never drawn"
        );
    }
    for digits in 6..=8 {
        assert!(
            all().any(|c| c.digits == digits),
            "{digits} digits never drawn"
        );
    }
    for len in [1, 64, 65, 100, 128, 129, 200] {
        assert!(
            all().any(|c| c.secret.len() == len),
            "{len}-byte secret never drawn"
        );
    }
    let hotp_top =
        |c: &Case| matches!(c.mode, Mode::Hotp { counter } if counter == u64::MAX - WINDOW);
    assert!(
        oath.iter()
            .any(|c| hotp_top(c) && c.algorithm == Algorithm::Sha1)
    );
    assert!(
        cases
            .iter()
            .any(|c| hotp_top(c) && c.algorithm == Algorithm::Sha512)
    );
    assert!(
        cases
            .iter()
            .any(|c| matches!(c.mode, Mode::Totp { time, .. } if time > u64::MAX / 2)),
        "no TOTP time above 2^63"
    );
    assert!(
        oath.iter()
            .any(|c| matches!(c.mode, Mode::Totp { t0, .. } if t0 > 0)),
        "no TOTP case with T0 > 0"
    );
}
