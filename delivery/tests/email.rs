//! E-mail delivery against real peers started by the tests: an OAuth2 authorization server
//! (Python http.server) and an SMTP server (Python aiosmtpd) that accepts XOAUTH2 only with
//! tokens the authorization server issued, or password AUTH, or no AUTH, in plain text,
//! STARTTLS or implicit TLS with a self-signed certificate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "in a test a panic is the failure report"
)]

#[path = "email/failover.rs"]
mod failover;
#[path = "email/oauth2_flows.rs"]
mod oauth2_flows;
#[path = "email/peers.rs"]
mod peers;
#[path = "email/secrets.rs"]
mod secrets;
#[path = "email/smtp_modes.rs"]
mod smtp_modes;
#[path = "email/support.rs"]
mod support;
