//! Integration tests against real peers: a spyne SOAP server and http.server REST brokers
//! (Python, from the workspace's `.venv`; see `scripts/test.sh`).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failed setup is a failed test"
)]

mod delivery {
    pub mod escaping;
    pub mod failover;
    pub mod peers;
    pub mod ports;
    pub mod rest;
    pub mod soap;
    pub mod soap_login;
}
