//! In-process tests of the service layer and of the app built by the library, against a real
//! store (a fresh SQLite file, and a fresh PostgreSQL database when `SAE_TEST_PG_URL` is
//! set), with a [`ManualClock`]: time moves when a test says so, never by sleeping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is the test failure report"
)]

mod support;

#[path = "dovecot/peers.rs"]
mod peers;

/// The Dovecot the delivery tests start, shared rather than copied.
#[path = "../../delivery/tests/email/dovecot.rs"]
#[allow(dead_code, reason = "the server tests use part of the helper")]
mod dovecot;

/// The OAuth2 and SMTP peers of the server tests.
#[path = "api/mail_peers.rs"]
#[allow(dead_code, reason = "the service tests use part of the helper")]
mod mail_peers;

mod service {
    mod caches;
    mod code_batches;
    mod gate;
    mod harness;
    mod imports;
    mod inbound;
    mod layout;
    mod notifications;
    mod oauth2_refresh;
    mod outbox_claim;
    mod outbox_handoff;
    mod outbox_worker;
    mod row_locks;
    mod sessions;
    mod store_reads;
    mod uploads;
}
