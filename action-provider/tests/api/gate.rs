//! The gate under concurrency, through the API (issue 14, items 1–3): a burst of concurrent
//! wrong credentials of each factor — split across two nodes on PostgreSQL — is checked no
//! more often than the throttle allows in the time the burst took, and every check is
//! counted. The bound is computed from the measured duration, so a slow machine loosens it
//! exactly as much as the policy does: nothing here depends on the machine's speed.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sae_core::otp::{Algorithm, Digits, Hotp, format_code};
use sae_core::secret::Secret;
use serde_json::{Value, json};

use super::otp::{totp_at, user_with_totp};
use crate::support::closed_port;
use crate::support::{Backend, Server, backends};

/// Concurrent attempts per factor.
const N: usize = 24;
/// Free failures before the throttle delays (the policy set below).
const FREE: usize = 5;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The most checks the throttle allows within `elapsed`: `FREE`, then one more each time
/// the doubling delay (1 s, 2 s, 4 s …) has passed.
fn allowed(elapsed: Duration) -> usize {
    let elapsed = elapsed.as_millis();
    let (mut extra, mut waited, mut delay) = (0, 0u128, 1000u128);
    while waited + delay <= elapsed {
        waited += delay;
        delay *= 2;
        extra += 1;
    }
    FREE + extra
}

/// Fires `N` calls at once, spread over `nodes`; returns the answers and how long it took.
fn burst<F>(nodes: &[Arc<Server>], call: F) -> (Vec<(u16, Value)>, Duration)
where
    F: Fn(&Server) -> (u16, Value) + Sync,
{
    let barrier = Barrier::new(N);
    let started = Instant::now();
    let answers = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let node = &nodes[i % nodes.len()];
                let (barrier, call) = (&barrier, &call);
                scope.spawn(move || {
                    barrier.wait();
                    call(node)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    (answers, started.elapsed())
}

/// A second node sharing the first one's database and keyring.
fn second_node(first: &Server) -> Server {
    let keyring = first.dir.path().join("keyring.json");
    let mut node = Server::start_with(
        Backend::Postgres,
        tempfile::tempdir().unwrap(),
        first.database_url.clone(),
        &["--keyring", keyring.to_str().unwrap()],
    );
    node.admin_key = first.admin_key.clone();
    node
}

fn ok(r: &crate::support::Response, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
}

/// Everything the factors need, set up on the first node before the second starts (so
/// the second reads the final configuration).
fn set_up(s: &Server) -> (Secret, Secret) {
    ok(&s.admin("PUT", "/v1/config/lockout", Some(&json!({"enabled": false, "attempts": 4,
        "block_type": "permanent", "throttle": {"enabled": true, "after": FREE, "max_delay_s": 900}}))), 200);
    ok(
        &s.admin(
            "PUT",
            "/v1/config/admin-lockout",
            Some(&json!({"attempts": 10, "minutes": 15,
        "throttle": {"enabled": true, "after": FREE, "max_delay_s": 900}})),
        ),
        200,
    );
    // Channels that are configured (their peers are unreachable: codes are issued and the
    // deliveries fail in the background, which is all these tests need).
    super::hardening::unreachable_sms_broker(s);
    ok(
        &s.admin(
            "POST",
            "/v1/smtp/accounts",
            Some(&json!({"name": "relay", "sender": "sae@sae.test",
        "host": "127.0.0.1", "port": closed_port(), "security": "none", "auth": "password",
        "username": "u", "password": "smtp-pass"})),
        ),
        201,
    );

    ok(
        &s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "g-pw", "password": "Correct-Horse-42"})),
        ),
        201,
    );
    let (_, totp) = user_with_totp(s, "g-totp");
    for login in ["g-hotp", "g-opie", "g-hash"] {
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": login}))),
            201,
        );
    }
    let r = s.admin(
        "POST",
        "/v1/users/g-hotp/tokens",
        Some(&json!({"type": "hotp"})),
    );
    ok(&r, 201);
    let hotp = Secret::from_base32(r.json()["secret_base32"].as_str().unwrap()).unwrap();
    ok(
        &s.admin(
            "POST",
            "/v1/users/g-opie/tokens",
            Some(&json!({"type": "opie", "count": 10,
        "list_size": 3, "seed": "ke1234"})),
        ),
        201,
    );
    ok(
        &s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "g-sms", "mobile": "+55 11 91234-0001"})),
        ),
        201,
    );
    ok(
        &s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "g-sms", "channel": "sms"})),
        ),
        202,
    );
    ok(
        &s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "g-mail", "email": "g-mail@sae.test"})),
        ),
        201,
    );
    ok(
        &s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "g-mail", "channel": "email"})),
        ),
        202,
    );
    let tree = json!([{"authsys": "bank", "claims": [{"claim": "device", "values": [
        {"key": "phone-1", "content": "{\"hash\": \"abc123\"}"}]}]}]);
    ok(
        &s.admin("PUT", "/v1/users/g-hash/authsys", Some(&tree)),
        200,
    );
    ok(
        &s.admin(
            "PUT",
            "/v1/policies/mfa",
            Some(&json!([{"mfa_id": "7", "authsys": "bank",
        "authclaim": "device", "position": "hash"}])),
        ),
        200,
    );
    ok(
        &s.admin(
            "POST",
            "/v1/admins",
            Some(&json!({"login": "g-ops",
        "password": "Console-Pass-4242"})),
        ),
        201,
    );
    (totp, hotp)
}

/// A 6-digit code none of the first `n` HOTP counters of `secret` gives.
fn wrong_hotp(secret: &Secret, n: u64) -> String {
    let hotp = Hotp::new(secret, Algorithm::Sha1, Digits::SIX);
    let taken: Vec<String> = (0..n)
        .map(|c| {
            format_code(hotp.generate(c), Digits::SIX)
                .as_str()
                .to_owned()
        })
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !taken.contains(c))
        .unwrap()
}

/// A 6-digit code that is not the TOTP of `secret` around now.
fn wrong_totp(secret: &Secret) -> String {
    let t = now();
    let near: Vec<String> = (0..5).map(|i| totp_at(secret, t - 60 + 30 * i)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Checks one user-factor burst: every answer is a check (`checked_reason`) or a refusal
/// (`throttled`); the checks stay within the throttle; each was counted.
fn user_burst(
    nodes: &[Arc<Server>],
    what: &str,
    login: &str,
    counter: &str,
    checked_reason: &str,
    path: &str,
    body: Value,
) {
    let (answers, elapsed) = burst(nodes, |node| {
        let r = node.admin("POST", path, Some(&body));
        (r.status, r.json())
    });
    let mut checked = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{what}: {answer}");
        match answer["reason"].as_str() {
            Some(r) if r == checked_reason => checked += 1,
            Some("throttled") => assert!(answer["retry_after"].as_u64().unwrap() >= 1, "{answer}"),
            _ => panic!("{what}: unexpected answer {answer}"),
        }
    }
    let bound = allowed(elapsed);
    assert!(
        (1..=bound).contains(&checked),
        "{what}: {checked} of {N} concurrent wrong credentials were checked in {elapsed:?}; \
         the throttle allows {bound}: {answers:?}"
    );
    let user = nodes[0]
        .admin("GET", &format!("/v1/users/{login}"), None)
        .json();
    assert_eq!(
        user["failures"][counter],
        json!(checked),
        "{what}: every check counted: {user}"
    );
}

fn gate_holds_on(backend: Backend) {
    let a = Arc::new(Server::start(backend));
    let (totp, hotp) = set_up(&a);
    let mut nodes = vec![Arc::clone(&a)];
    if backend == Backend::Postgres {
        nodes.push(Arc::new(second_node(&a)));
    }
    let what = |f: &str| format!("{backend:?} {f}");

    user_burst(
        &nodes,
        &what("password"),
        "g-pw",
        "password",
        "invalid_password",
        "/v1/auth/password",
        json!({"login": "g-pw", "password": "Wrong-Horse-42"}),
    );
    user_burst(
        &nodes,
        &what("TOTP"),
        "g-totp",
        "otp",
        "invalid_code",
        "/v1/otp/validate",
        json!({"login": "g-totp", "code": wrong_totp(&totp)}),
    );
    user_burst(
        &nodes,
        &what("HOTP"),
        "g-hotp",
        "otp",
        "invalid_code",
        "/v1/otp/validate",
        json!({"login": "g-hotp", "code": wrong_hotp(&hotp, 200)}),
    );
    user_burst(
        &nodes,
        &what("OPIE"),
        "g-opie",
        "otp",
        "invalid_code",
        "/v1/otp/validate",
        json!({"login": "g-opie", "code": "0123456789abcdef"}),
    );
    // Issued codes are 6 digits: 7 digits never match, and are checked like any code.
    user_burst(
        &nodes,
        &what("SMS code"),
        "g-sms",
        "otp",
        "invalid_code",
        "/v1/otp/validate",
        json!({"login": "g-sms", "code": "0000000"}),
    );
    user_burst(
        &nodes,
        &what("e-mail code"),
        "g-mail",
        "otp",
        "invalid_code",
        "/v1/otp/validate",
        json!({"login": "g-mail", "code": "0000000"}),
    );
    user_burst(
        &nodes,
        &what("MFA hash"),
        "g-hash",
        "hash",
        "invalid_code",
        "/v1/auth/hash",
        json!({"login": "g-hash", "mfa": "7", "authvalue": "phone-1", "hash": "not-the-hash"}),
    );

    // The console: a wrong password with a code, the attack of item 2. Every answer is the
    // same 401; the administrator's counter shows how many were checked.
    let body = json!({"login": "g-ops", "password": "Wrong-Pass-4242", "otp": "123456"});
    let (answers, elapsed) = burst(&nodes, |node| {
        let r = node.call("POST", "/v1/session", None, Some(&body));
        (r.status, r.json())
    });
    let first = &answers[0];
    for answer in &answers {
        assert_eq!(answer, first, "{backend:?}: one answer for every refusal");
    }
    assert_eq!(first.0, 401, "{first:?}");
    assert_eq!(first.1["code"], json!("invalid_credentials"), "{first:?}");
    let admin = a.admin("GET", "/v1/admins/g-ops", None).json();
    let checked = usize::try_from(admin["failures"]["password"].as_u64().unwrap()).unwrap();
    let bound = allowed(elapsed);
    assert!(
        (1..=bound).contains(&checked),
        "{backend:?} console: {checked} of {N} concurrent wrong passwords were checked in \
         {elapsed:?}; the throttle allows {bound}"
    );
}

#[test]
fn concurrent_wrong_credentials_of_every_factor_are_checked_no_more_than_the_throttle_allows() {
    for backend in backends() {
        gate_holds_on(backend);
    }
}
