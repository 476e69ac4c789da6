//! Integration tests of `sae_core::import`: PSKC (RFC 6030 examples, failures, files written
//! by python-pskc, a round-trip property) and CSV imports, cross-checked with `oathtool`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]

#[path = "import/build.rs"]
mod build;
#[path = "import/csv_tokens.rs"]
mod csv_tokens;
#[path = "import/csv_users.rs"]
mod csv_users;
#[path = "import/negative.rs"]
mod negative;
#[path = "import/python_pskc.rs"]
mod python_pskc;
#[path = "import/rfc6030.rs"]
mod rfc6030;
#[path = "import/roundtrip.rs"]
mod roundtrip;
#[path = "import/support.rs"]
mod support;
#[path = "import/vendors.rs"]
mod vendors;
