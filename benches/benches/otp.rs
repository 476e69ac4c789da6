#![allow(
    clippy::expect_used,
    reason = "benchmark set-up on fixed, valid inputs"
)]
//! One-time-password benchmarks, each against a reference measured in the same run.
//!
//! - `hotp_sha1`: one HOTP-SHA1 code from a precomputed key vs two SHA-1 compressions
//!   (the floor: HMAC needs two) — target ≤ 1.5×.
//! - `totp_verify_3_steps`: SAE's verification over a 3-step window vs totp-rs `check` with
//!   skew 1 (also 3 steps) — target ≥ 5× faster.
//! - `opie_verify`: SAE's server-side OPIE verification (parse six words, one MD5 hash-and-
//!   fold, constant-time compare) vs one bare MD5 digest of 8 bytes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use md5::{Digest as _, Md5};
use sae_core::otp::opie::{self, Count, OpieState, PassPhrase, Seed};

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
    group.bench_function("reference_md5_8_bytes", |b| {
        b.iter(|| Md5::digest(black_box([7u8; 8])))
    });
    group.finish();
}

criterion_group!(benches, opie_verify);
criterion_main!(benches);
