//! What the Dovecot helper of the delivery tests (`delivery/tests/email/dovecot.rs`, included
//! by path, not copied) needs of its crate: `crate::peers::{skip, now}`.

/// Skips (returns `None` after printing why) or fails under `SAE_REQUIRE_PEERS=1` /
/// `CI=true`.
pub fn skip<T>(reason: &str) -> Option<T> {
    let required = std::env::var("SAE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !required,
        "peer unavailable and peers are required: {reason}"
    );
    eprintln!("SKIP: {reason}");
    None
}

/// Seconds since the epoch (names of delivered Maildir files).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
