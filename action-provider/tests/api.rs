//! End-to-end tests of the `sae` binary over HTTP, against SQLite and a real PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is the test failure report"
)]
//!
//! One test binary (fast linking); the modules under `api/` group the tests by resource.

mod support;

mod api {
    mod admin;
    mod administration;
    mod bad_input;
    mod basics;
    mod console;
    mod crash;
    mod keys;
    mod mail;
    mod mail_peers;
    mod nodes;
    mod openapi_fuzz;
    mod otp;
    mod password;
    mod request;
    mod sms;
}
