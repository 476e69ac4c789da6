//! Two `sae serve` nodes on one PostgreSQL: replay, lockout, outbox claims and console
//! sessions hold across them.

use std::sync::Arc;

use serde_json::json;

use super::otp::{totp_at, user_with_totp};
use crate::support::{Backend, Peer, Server, backends, python};

/// Polls `condition` until it holds (a generous deadline: the machine may be slow).
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A REST SMS peer and two nodes on one PostgreSQL database whose SMS broker sends to it;
/// `None` (the test is skipped) without PostgreSQL or Python.
fn two_nodes_sending_to_a_peer() -> Option<(Peer, Arc<Server>, Arc<Server>)> {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("skipped: no PostgreSQL (set SAE_TEST_PG_URL)");
        return None;
    }
    let py = python()?;
    let peer = Peer::start(&py, "rest_peer.py", &[]);
    let a = Arc::new(Server::start(Backend::Postgres));
    let b = Arc::new(second_node(&a));
    let broker = json!({"primary": {"kind": "rest", "url": format!("http://127.0.0.1:{}/none/ok", peer.port),
        "method": "POST", "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}",
        "timeout_ms": 3000}, "broker2": {"mode": "none"}});
    let r = a.admin("PUT", "/v1/delivery/sms", Some(&broker));
    assert_eq!(r.status, 200, "{}", r.body);
    Some((peer, a, b))
}

/// Waits until nothing is queued or being sent on either node (a job claimed twice would
/// still be in flight, counted in the backlog, until its second send), then answers the
/// calls the peer received.
fn drained_calls(peer: &Peer, a: &Server, b: &Server) -> Vec<serde_json::Value> {
    eventually("the outbox drains", || {
        [a, b].iter().all(|node| {
            node.call("GET", "/metrics", None, None)
                .body
                .lines()
                .any(|l| l == "sae_outbox_backlog 0")
        })
    });
    peer.get("/_calls").as_array().cloned().unwrap_or_default()
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
    // Node b sees the new configuration once its cache has refreshed (its GET answers
    // from the same cache the decisions use).
    eventually("node b reads the new lockout", || {
        b.admin("GET", "/v1/config/lockout", None).json()["attempts"] == json!(4)
    });
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

#[test]
fn outbox_claims_and_sessions_hold_across_two_nodes() {
    let Some((peer, a, b)) = two_nodes_sending_to_a_peer() else {
        return;
    };
    const N: usize = 40;
    for i in 0..N {
        let r = a.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": format!("n{i}"), "mobile": format!("+55119{:08}", 10_000_000 + i)})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Both nodes' outbox workers claim from one queue filled through both nodes.
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let node = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            std::thread::spawn(move || {
                let r = node.admin(
                    "POST",
                    "/v1/otp/request",
                    Some(&json!({"login": format!("n{i}"), "channel": "sms"})),
                );
                assert_eq!(r.status, 202, "{}", r.body);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let calls = drained_calls(&peer, &a, &b);
    let mut phones: Vec<String> = calls
        .iter()
        .map(|c| {
            let body: serde_json::Value =
                serde_json::from_str(c["body"].as_str().unwrap()).unwrap();
            body["to"].as_str().unwrap().to_owned()
        })
        .collect();
    phones.sort();
    let sent = phones.len();
    phones.dedup();
    assert_eq!(sent, N, "every job delivered once, none twice: {phones:?}");
    assert_eq!(phones.len(), N);

    // A console session made on one node is valid on the other.
    let creds = std::fs::read_to_string(a.dir.path().join("initial-credentials")).unwrap();
    let password = creds
        .lines()
        .find_map(|l| l.strip_prefix("admin_password = "))
        .unwrap()
        .to_owned();
    let session = super::console::first_login(&a, "admin", &password);
    let r = session.send(&b, "GET", "/v1/session", None, false);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = session.send(&b, "POST", "/v1/wallets", Some(&json!({"name": "w"})), true);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        session.send(&a, "DELETE", "/v1/session", None, true).status,
        204
    );
    assert_eq!(
        session.send(&b, "GET", "/v1/session", None, false).status,
        401
    );
}

/// Code requests and validations of the same users, through two nodes at once: on
/// PostgreSQL both share batches (a request's key is its user's id), so a lock cycle between
/// batches would fail a batch. Every answer is the right one, every failure is counted
/// exactly, every code goes out once.
#[test]
fn requests_and_validations_of_the_same_users_share_batches_across_two_nodes() {
    let Some((peer, a, b)) = two_nodes_sending_to_a_peer() else {
        return;
    };
    // Failures are counted without locking anyone (a locked user is sent no code).
    let lockout = json!({"enabled": false, "attempts": 10, "block_type": "permanent",
        "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}});
    let r = a.admin("PUT", "/v1/config/lockout", Some(&lockout));
    assert_eq!(r.status, 200, "{}", r.body);
    eventually("node b reads the new lockout", || {
        b.admin("GET", "/v1/config/lockout", None).json()["throttle"]["enabled"] == json!(false)
    });
    const USERS: usize = 6;
    const THREADS: usize = 24;
    const ROUNDS: usize = 6;
    for u in 0..USERS {
        let user =
            json!({"login": format!("m{u}"), "mobile": format!("+55119{:08}", 20_000_000 + u)});
        assert_eq!(a.admin("POST", "/v1/users", Some(&user)).status, 201);
    }
    // Thread t works on users t and t + 1 (mod USERS) from node t mod 2, alternating a
    // request for one with a wrong code for the other, so batches mix both users' writes.
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let node = Arc::clone(if t % 2 == 0 { &a } else { &b });
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let (asked, wrong) = if r % 2 == 0 { (t, t + 1) } else { (t + 1, t) };
                    let body = json!({"login": format!("m{}", asked % USERS), "channel": "sms"});
                    let ans = node.admin("POST", "/v1/otp/request", Some(&body));
                    assert_eq!(ans.status, 202, "{}", ans.body);
                    let body = json!({"login": format!("m{}", wrong % USERS), "code": "0000000"});
                    let ans = node.admin("POST", "/v1/otp/validate", Some(&body));
                    assert_eq!(ans.status, 200, "{}", ans.body);
                    assert_eq!(ans.json()["valid"], json!(false), "{}", ans.body);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Each user was sent a wrong code by ROUNDS/2 rounds of the two threads that share it
    // (each thread's wrong codes go half to each of its two users).
    for u in 0..USERS {
        let failures =
            b.admin("GET", &format!("/v1/users/m{u}"), None).json()["failures"]["otp"].clone();
        assert_eq!(
            failures,
            json!(THREADS / USERS * ROUNDS),
            "m{u}: every failure counted once"
        );
    }
    let calls = drained_calls(&peer, &a, &b);
    assert_eq!(
        calls.len(),
        THREADS * ROUNDS,
        "every requested code sent once"
    );
}
