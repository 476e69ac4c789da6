//! Two `sae serve` nodes on one PostgreSQL: replay and lockout hold across them.

use std::sync::Arc;

use serde_json::json;

use super::otp::{totp_at, user_with_totp};
use crate::support::{Backend, Server, backends};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A second node sharing the first node's database and keyring.
fn second_node(first: &Server) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let keyring = first.dir.path().join("keyring.json");
    let mut node = Server::start_with(
        Backend::Postgres,
        dir,
        first.database_url.clone(),
        &["--keyring", keyring.to_str().unwrap()],
    );
    node.admin_key = first.admin_key.clone();
    node
}

#[test]
fn replay_and_lockout_hold_across_two_nodes() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("skipped: no PostgreSQL (set SAE_TEST_PG_URL)");
        return;
    }
    let a = Arc::new(Server::start(Backend::Postgres));
    let b = Arc::new(second_node(&a));
    let (_, secret) = user_with_totp(&a, "max");
    let code = totp_at(&secret, now());
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let node = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let code = code.clone();
            std::thread::spawn(move || {
                node.admin(
                    "POST",
                    "/v1/otp/validate",
                    Some(&json!({"login": "max", "code": code})),
                )
                .json()["valid"]
                    == json!(true)
            })
        })
        .collect();
    let accepted = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(accepted, 1, "exactly one acceptance across two nodes");

    let r = a.admin("PUT", "/v1/config/lockout", Some(&json!({"enabled": true, "attempts": 4, "block_type": "permanent", "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}})));
    assert_eq!(r.status, 200);
    // The 31 losing submissions above were counted as (replay) failures: start clean.
    assert_eq!(a.admin("POST", "/v1/users/max/unlock", None).status, 200);
    // Node b sees the new configuration within its refresh interval.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let node = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            std::thread::spawn(move || {
                node.admin(
                    "POST",
                    "/v1/otp/validate",
                    Some(&json!({"login": "max", "code": "000000"})),
                )
                .json()
            })
        })
        .collect();
    let answers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let counted = answers
        .iter()
        .filter(|a| a["reason"] == json!("invalid_code"))
        .count();
    assert_eq!(
        counted, 4,
        "exactly `attempts` failures counted across nodes: {answers:?}"
    );
    assert_eq!(
        b.admin("GET", "/v1/users/max", None).json()["failures"]["otp"],
        json!(4)
    );
}
