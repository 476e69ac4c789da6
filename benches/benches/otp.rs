#![allow(
    clippy::expect_used,
    reason = "benchmark set-up on fixed, valid inputs"
)]
//! One-time-password benchmarks, each against a reference measured in the same run.
//!
//! - `hotp_sha1`: one HOTP-SHA1 code from a precomputed key (`Hotp::generate`) vs two
//!   `Sha1::digest` calls on a 55-byte message (one padded block each: the work HMAC cannot
//!   avoid once the key state is precomputed) — target ≤ 1.5×. The raw floor (two bare
//!   SHA-1 block compressions, no padding or finalisation) is shown too.
//! - `totp_verify_3_steps`: SAE's verification (parse the presented code, then the
//!   constant-time scan of a 3-step window: look_around 1, token_window 1) vs totp-rs
//!   `check` with skew 1 (also 3 steps), with a wrong code (every step is computed) and with
//!   the right one — target ≥ 5× faster.
//! - `opie_verify`: SAE's server-side OPIE verification (parse six words, one MD5
//!   hash-and-fold, constant-time compare) vs one bare MD5 digest of 8 bytes; its two parts
//!   (parsing the words, verifying a parsed OTP) are measured apart.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use md5::{Digest as _, Md5};
use sae_core::otp::opie::{self, Count, OpieState, PassPhrase, Seed};
use sae_core::otp::{Algorithm, Code, Digits, Hotp, TimeStep, Totp, TotpWindow, format_code};
use sae_core::secret::Secret;
use sha1::Sha1;

/// The RFC 4226 secret.
const SECRET: &[u8; 20] = b"12345678901234567890";
/// RFC 6238's 1111111109 (a Friday in 2005): any time works.
const TIME: u64 = 1_111_111_109;

fn hotp_sha1(c: &mut Criterion) {
    let secret = Secret::from_bytes(SECRET).expect("non-empty secret");
    let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
    let message = [0x5a_u8; 55];
    let block = [0x5a_u8; 64];
    let mut group = c.benchmark_group("hotp_sha1");
    group.bench_function("sae_generate", |b| {
        b.iter(|| hotp.generate(black_box(1_234_567)))
    });
    group.bench_function("reference_two_sha1_digests_55_bytes", |b| {
        b.iter(|| {
            let inner = Sha1::digest(black_box(&message));
            let outer = Sha1::digest(black_box(&message));
            (inner, outer)
        })
    });
    group.bench_function("floor_two_sha1_compressions", |b| {
        b.iter(|| {
            let mut state = [
                0x6745_2301,
                0xefcd_ab89,
                0x98ba_dcfe,
                0x1032_5476,
                0xc3d2_e1f0,
            ];
            sha1::block_api::compress(&mut state, core::slice::from_ref(black_box(&block)));
            sha1::block_api::compress(&mut state, core::slice::from_ref(black_box(&block)));
            state
        })
    });
    group.finish();
}

fn totp_verify_3_steps(c: &mut Criterion) {
    let secret = Secret::from_bytes(SECRET).expect("non-empty secret");
    let totp = Totp::new(
        &secret,
        Algorithm::Sha1,
        Digits::SIX,
        TimeStep::default(),
        0,
    );
    let window = TotpWindow::new(1, 1).expect("valid window");
    let theirs = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(*SECRET)
        .build()
        .expect("RFC-compliant parameters");

    let step = totp.counter_at(TIME).expect("after T0");
    let window_codes: Vec<u32> = (step - 1..=step + 1)
        .map(|s| totp.generate_for_counter(s))
        .collect();
    let right = format_code(totp.generate(TIME).expect("after T0"), Digits::SIX).to_string();
    let wrong_value = (0..1_000_000)
        .find(|v| !window_codes.contains(v))
        .expect("three codes cannot cover a million");
    let wrong = format_code(wrong_value, Digits::SIX).to_string();
    // Both implementations agree on which code is which, so they do the same work.
    assert!(totp_verify(&totp, window, &right).is_ok());
    assert!(totp_verify(&totp, window, &wrong).is_err());
    assert_eq!(theirs.check(&right, TIME), Some(step));
    assert_eq!(theirs.check(&wrong, TIME), None);

    let mut group = c.benchmark_group("totp_verify_3_steps");
    group.bench_function("sae_wrong_code", |b| {
        b.iter(|| totp_verify(&totp, window, black_box(&wrong)))
    });
    group.bench_function("reference_totp_rs_check_wrong_code", |b| {
        b.iter(|| theirs.check(black_box(&wrong), black_box(TIME)))
    });
    group.bench_function("sae_right_code", |b| {
        b.iter(|| totp_verify(&totp, window, black_box(&right)))
    });
    group.bench_function("reference_totp_rs_check_right_code", |b| {
        b.iter(|| theirs.check(black_box(&right), black_box(TIME)))
    });
    group.finish();
}

/// What a server does per attempt: parse the presented text, then verify it.
fn totp_verify(totp: &Totp, window: TotpWindow, presented: &str) -> Result<u64, ()> {
    let code = Code::parse(presented, totp.digits()).map_err(|_| ())?;
    totp.verify(&code, black_box(TIME), None, window)
        .map(|verified| verified.counter())
        .map_err(|_| ())
}

fn opie_verify(c: &mut Criterion) {
    let alg = opie::Algorithm::Md5;
    let seed = Seed::new("ke1234").expect("valid seed");
    let phrase = PassPhrase::new("correct horse battery staple").expect("valid pass phrase");
    let n = Count::new(500).expect("valid count");
    let stored = opie::compute(alg, &seed, &phrase, n);
    let state = OpieState::enrol_client(alg, seed, n, stored).expect("enrolment");
    let answer =
        opie::compute(alg, &seed, &phrase, Count::new(499).expect("valid count")).to_words();
    let mut group = c.benchmark_group("opie_verify");
    group.bench_function("sae_verify_words", |b| {
        b.iter(|| black_box(&state).verify(black_box(&answer)).is_ok())
    });
    // The two halves of `sae_verify_words`, to show where its time goes.
    let parsed = opie::Otp::parse(&answer).expect("valid words");
    group.bench_function("part_parse_words", |b| {
        b.iter(|| opie::Otp::parse(black_box(&answer)).is_ok())
    });
    group.bench_function("part_verify_parsed_otp", |b| {
        b.iter(|| black_box(&state).verify_otp(black_box(parsed)).is_ok())
    });
    group.bench_function("reference_md5_8_bytes", |b| {
        b.iter(|| Md5::digest(black_box([7u8; 8])))
    });
    group.finish();
}

criterion_group!(benches, hotp_sha1, totp_verify_3_steps, opie_verify);
criterion_main!(benches);
