//! Benchmarks live in `benches/`; this library holds the HTTP load harness's parts (the
//! `load` binary).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a harness fails loudly"
)]

pub mod load;
