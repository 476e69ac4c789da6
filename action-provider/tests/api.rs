//! End-to-end tests of the `sae` binary over HTTP, against SQLite and a real PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is the test failure report"
)]
//!
//! One test binary (fast linking); the modules under `api/` group the tests by resource.

mod support;

#[path = "dovecot/peers.rs"]
mod peers;

/// The Dovecot the delivery tests start, shared rather than copied.
#[path = "../../delivery/tests/email/dovecot.rs"]
#[allow(dead_code, reason = "the server tests use part of the helper")]
mod dovecot;

/// The service account key maker of the delivery tests, shared rather than copied.
#[path = "../../delivery/tests/email/service_account.rs"]
mod service_account;

mod api {
    // schemathesis against every operation (`abuse.rs`). Named to sort first: libtest starts
    // tests in the order of their names, and these two are the suite's longest (about 400
    // and 160 s on CI's two cores); started first, the rest of the suite runs beside them
    // instead of after them (this machine: 525 s when they started at 122 s, 418 s now).
    mod abuse;
    mod admin;
    mod administration;
    mod bad_input;
    mod basics;
    mod bounce_storm;
    mod console;
    mod crash;
    mod gate;
    mod hardening;
    mod imports;
    mod inbound;
    mod inventory;
    mod keys;
    mod mail;
    mod mail_peers;
    mod nodes;
    mod notifications;
    mod oauth2_health;
    mod otp;
    mod password;
    mod request;
    mod service_account;
    mod sms;
    mod sms_escaping;
    mod sms_secrets;
    mod user_list;
}
