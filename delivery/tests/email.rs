//! E-mail delivery against real peers started by the tests: an OAuth2 authorization server
//! (Python http.server) and an SMTP server (Python aiosmtpd) that accepts XOAUTH2 only with
//! tokens the authorization server issued, or password AUTH, or no AUTH, in plain text,
//! STARTTLS or implicit TLS with a self-signed certificate; a Dovecot IMAP/POP3 server
//! (password, XOAUTH2, OAUTHBEARER); and the bounce corpus.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "in a test a panic is the failure report"
)]

#[path = "email/bounces.rs"]
mod bounces;
#[path = "email/dovecot.rs"]
mod dovecot;
#[path = "email/failover.rs"]
mod failover;
#[path = "email/inbound.rs"]
mod inbound;
#[path = "email/inbound_oauth2.rs"]
mod inbound_oauth2;
#[path = "email/oauth2_flows.rs"]
mod oauth2_flows;
#[path = "email/peers.rs"]
mod peers;
#[path = "delivery/ports.rs"]
mod ports;
#[path = "email/secrets.rs"]
mod secrets;
#[path = "email/service_account.rs"]
mod service_account;
#[path = "email/smtp_modes.rs"]
mod smtp_modes;
#[path = "email/support.rs"]
mod support;
