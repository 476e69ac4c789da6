//! `sae keys` (two-phase rotation of the master keyring) and keyring reloads on serving nodes,
//! on SQLite and PostgreSQL.

use std::process::Output;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sae_core::otp::{Algorithm, Digits, Hotp, format_code};
use sae_core::secret::Secret;
use serde_json::{Value, json};

use super::otp::{totp_at, user_with_totp};
use crate::support::{Backend, Server, backends, closed_port, fresh_pg_database};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn start(backend: Backend, extra: &[&str]) -> Server {
    let url = (backend == Backend::Postgres).then(fresh_pg_database);
    Server::start_with(backend, tempfile::tempdir().unwrap(), url, extra)
}

/// Another node on `first`'s database and keyring file.
fn second_node(first: &Server, extra: &[&str]) -> Server {
    let keyring = first.dir.path().join("keyring.json");
    let mut args = vec!["--keyring", keyring.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut node = Server::start_with(
        first.backend,
        tempfile::tempdir().unwrap(),
        first.database_url.clone(),
        &args,
    );
    node.admin_key = first.admin_key.clone();
    node
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `sae keys ARGS` against `s`'s store; asserts success and returns stdout.
fn keys_ok(s: &Server, args: &[&str]) -> String {
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    let out = s.cli(&all);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "sae keys {args:?}: {:?}: {stderr}",
        out.status.code()
    );
    stdout
}

/// `sae keys list` as (kid, state, secrets) rows.
fn list(s: &Server) -> Vec<(String, String, i64)> {
    keys_ok(s, &["list"])
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "{l:?}");
            (f[0].to_owned(), f[2].to_owned(), f[3].parse().unwrap())
        })
        .collect()
}

/// One column of the rows of `query` on `s`'s database, as strings.
fn sql(s: &Server, query: &str) -> Vec<String> {
    let out = match &s.database_url {
        Some(url) => std::process::Command::new("psql")
            .args([url.as_str(), "-qAt", "-c", query])
            .output()
            .unwrap(),
        None => std::process::Command::new("python3")
            .arg("-c")
            .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print(r[0]) for r in c.execute(sys.argv[2])]; c.commit()")
            .arg(s.dir.path().join("sae.db"))
            .arg(query)
            .output()
            .unwrap(),
    };
    assert!(out.status.success(), "{query}: {}", text(&out).1);
    text(&out).0.lines().map(str::to_owned).collect()
}

/// The whole database as text (pg_dump / SQLite's iterdump).
fn dump(s: &Server) -> String {
    let out = match &s.database_url {
        Some(url) => std::process::Command::new("pg_dump")
            .args(["--data-only", url.as_str()])
            .output()
            .unwrap(),
        None => std::process::Command::new("python3")
            .arg("-c")
            .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print(l) for l in c.iterdump()]")
            .arg(s.dir.path().join("sae.db"))
            .output()
            .unwrap(),
    };
    assert!(out.status.success(), "dump: {}", text(&out).1);
    text(&out).0
}

fn token_kid(s: &Server, token_id: &str) -> String {
    let v = sql(
        s,
        &format!("SELECT secret_enc FROM tokens WHERE id = '{token_id}'"),
    );
    v[0].split('$').next().unwrap().to_owned()
}

fn sighup(s: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn validate(s: &Server, login: &str, code: &str) -> Value {
    let r = s.admin(
        "POST",
        "/v1/otp/validate",
        Some(&json!({"login": login, "code": code})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Keeps enrolling a probe token on `s` until it is sealed under `kid` (the node has
/// reloaded the keyring); panics after a generous deadline.
fn wait_seals_with(s: &Server, kid: &str, probe: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let r = s.admin("POST", "/v1/users", Some(&json!({"login": probe})));
    assert_eq!(r.status, 201, "{}", r.body);
    loop {
        let r = s.admin(
            "POST",
            &format!("/v1/users/{probe}/tokens"),
            Some(&json!({"type": "totp"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        if token_kid(s, r.json()["id"].as_str().unwrap()) == kid {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {} never sealed with {kid}",
            s.addr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn key_material(s: &Server) -> Vec<String> {
    let ring: Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("keyring.json")).unwrap())
            .unwrap();
    ring["keys"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn keys_cli_lists_adds_activates_and_refuses_bad_input() {
    for backend in backends() {
        let s = start(backend, &[]);
        assert_eq!(list(&s), vec![("k1".into(), "active".into(), 0)]);
        let (_, secret) = user_with_totp(&s, "cli");
        assert_eq!(list(&s), vec![("k1".into(), "active".into(), 1)]);

        assert_eq!(keys_ok(&s, &["add"]).trim(), "k2");
        let rows = list(&s);
        assert_eq!(
            rows,
            vec![
                ("k1".into(), "active".into(), 1),
                ("k2".into(), "inactive".into(), 0)
            ]
        );
        // Bad input: exit 2, one line naming the key id, nothing on stdout.
        for (args, needle) in [
            (&["keys", "activate", "nope"][..], "no key \"nope\""),
            (&["keys", "add", "k2"][..], "already in the keyring"),
            (&["keys", "add", "a$b"][..], "not a valid key id"),
            (&["keys", "add", ""][..], "not a valid key id"),
        ] {
            let out = s.cli(args);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(needle), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert_eq!(stdout, "");
        }
        let out = std::process::Command::new(crate::support::sae_bin())
            .args(["keys", "list", "--data-dir", "/nonexistent/sae"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).1.contains("no keyring"), "{}", text(&out).1);

        keys_ok(&s, &["activate", "k2"]);
        keys_ok(&s, &["reencrypt", "--batch", "1"]);
        let rows = list(&s);
        assert_eq!(
            rows,
            vec![
                ("k1".into(), "inactive".into(), 0),
                ("k2".into(), "active".into(), 1)
            ]
        );
        // Idempotent.
        keys_ok(&s, &["reencrypt"]);
        // No command printed key material; the keyring stays private.
        let material = key_material(&s);
        assert_eq!(material.len(), 2);
        for args in [&["keys", "list"][..], &["keys", "reencrypt"][..]] {
            let (stdout, stderr) = text(&s.cli(args));
            for m in &material {
                assert!(!stdout.contains(m) && !stderr.contains(m));
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(s.dir.path().join("keyring.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The server still opens the secret (it was re-encrypted under a key it had not
        // loaded: the unknown key id makes it re-read the keyring).
        assert_eq!(
            validate(&s, "cli", &totp_at(&secret, now()))["valid"],
            json!(true),
            "{backend:?}"
        );
        // A value that does not open is reported by table, column and key, and left alone.
        let (tid, _) = user_with_totp(&s, "broken");
        sql(
            &s,
            &format!("UPDATE tokens SET secret_enc = 'k1$AAAAAAAA' WHERE id = '{tid}'"),
        );
        let out = s.cli(&["keys", "reencrypt"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("tokens.secret_enc id={tid}")),
            "{stderr}"
        );
        assert_eq!(list(&s)[0], ("k1".to_owned(), "inactive".to_owned(), 1));

        // Removing a key: never the active one, never one something is still sealed under.
        for (args, code, needle) in [
            (&["keys", "remove", "k2"][..], 2, "is the active key"),
            (&["keys", "remove", "nope"][..], 2, "no key \"nope\""),
            (
                &["keys", "remove", "k1"][..],
                1,
                "1 stored secrets are still under key k1",
            ),
        ] {
            let out = s.cli(args);
            let (_, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
            assert!(stderr.contains(needle), "{args:?}: {stderr}");
        }
        assert_eq!(s.admin("DELETE", "/v1/users/broken", None).status, 204);
        keys_ok(&s, &["remove", "k1"]);
        assert_eq!(list(&s), vec![("k2".into(), "active".into(), 1)]);
        assert_eq!(key_material(&s).len(), 1);
        assert_eq!(
            validate(&s, "cli", &totp_at(&secret, now() + 30))["valid"],
            json!(true),
            "{backend:?}: the remaining secret still opens"
        );
    }
}

#[test]
fn a_node_that_has_not_reloaded_opens_secrets_under_a_new_key() {
    for backend in backends() {
        // No periodic reload and no SIGHUP: only the unknown-key-id path can help.
        let s = start(backend, &["--keyring-reload-secs", "0"]);
        let (tid, secret) = user_with_totp(&s, "ana");
        let tree = json!([{"authsys": "bank", "claims": [{"claim": "device", "values": [
            {"key": "phone-1", "content": "{\"hash\": \"abc123\"}"}]}]}]);
        assert_eq!(
            s.admin("PUT", "/v1/users/ana/authsys", Some(&tree)).status,
            200
        );
        let before = s.admin("GET", "/v1/users/ana/authsys", None).json();
        keys_ok(&s, &["add", "k2"]);
        keys_ok(&s, &["activate", "k2"]);
        keys_ok(&s, &["reencrypt"]);
        assert_eq!(token_kid(&s, &tid), "k2");
        assert_eq!(
            validate(&s, "ana", &totp_at(&secret, now()))["valid"],
            json!(true),
            "{backend:?}"
        );
        let r = s.admin("GET", "/v1/users/ana/authsys", None);
        assert_eq!((r.status, r.json()), (200, before));
        // Meeting the new key also triggers a full reload: the node then seals with k2.
        wait_seals_with(&s, "k2", "probe");
    }
}

fn hotp_user(s: &Server, login: &str) -> Secret {
    assert_eq!(
        s.admin("POST", "/v1/users", Some(&json!({"login": login})))
            .status,
        201
    );
    let r = s.admin(
        "POST",
        &format!("/v1/users/{login}/tokens"),
        Some(&json!({"type": "hotp"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    Secret::from_base32(r.json()["secret_base32"].as_str().unwrap()).unwrap()
}

fn hotp_code(secret: &Secret, counter: u64) -> String {
    let hotp = Hotp::new(secret, Algorithm::Sha1, Digits::SIX);
    format_code(hotp.generate(counter), Digits::SIX)
        .as_str()
        .to_owned()
}

/// Sets the flag when dropped (also while unwinding).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Waits until `ops` has grown by `n` (the background load is making progress).
fn progress(ops: &AtomicU64, n: u64) {
    let target = ops.load(Ordering::SeqCst) + n;
    let deadline = Instant::now() + Duration::from_secs(120);
    while ops.load(Ordering::SeqCst) < target {
        assert!(Instant::now() < deadline, "the load made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rotate_under_load() {
    for backend in backends() {
        // Node a reloads only on SIGHUP; node b (PostgreSQL) only periodically.
        let a = start(backend, &["--keyring-reload-secs", "0"]);
        let b = (backend == Backend::Postgres)
            .then(|| second_node(&a, &["--keyring-reload-secs", "1"]));
        let nodes: Vec<&Server> = std::iter::once(&a).chain(b.as_ref()).collect();

        // Sealed things of every kind.
        let hotp: Vec<(String, Secret)> = (0..3)
            .map(|i| {
                let login = format!("h{i}");
                let secret = hotp_user(&a, &login);
                (login, secret)
            })
            .collect();
        let totp: Vec<(String, Secret)> = (0..3)
            .map(|i| {
                let login = format!("t{i}");
                (login.clone(), user_with_totp(&a, &login).1)
            })
            .collect();
        let tree = json!([{"authsys": "bank", "claims": [{"claim": "device", "values": [
            {"key": "phone-1", "content": "{\"hash\": \"abc123\"}"}]}]}]);
        assert_eq!(
            a.admin("PUT", "/v1/users/t0/authsys", Some(&tree)).status,
            200
        );
        let authsys_before = a.admin("GET", "/v1/users/t0/authsys", None).json();
        let port = closed_port();
        let sms = json!({
            "primary": {"kind": "rest", "url": format!("http://127.0.0.1:{port}/sms"), "method": "POST",
                        "authorization": "basic", "username": "sae", "password": "broker-pass",
                        "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 1000}
        });
        let r = a.admin("PUT", "/v1/delivery/sms", Some(&sms));
        assert_eq!(r.status, 200, "{}", r.body);
        let sms_before = a.admin("GET", "/v1/delivery/sms", None).json();
        // A queued SMS (the broker is down): a sealed outbox payload.
        let r = a.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "t0", "channel": "sms"})),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let r = a.admin(
            "POST",
            "/v1/smtp/accounts",
            Some(
                &json!({"name": "relay", "sender": "sae@sae.test", "host": "127.0.0.1",
                    "port": port, "security": "none", "auth": "password",
                    "username": "u", "password": "smtp-pass"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let r = a.admin(
            "POST",
            "/v1/oauth2/profiles",
            Some(
                &json!({"name": "cc", "token_url": format!("http://127.0.0.1:{port}/token"),
                    "client_id": "client", "client_secret": "client-secret",
                    "scope": "mail", "flow": "client_credentials"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        // Administrators: an enrolled console TOTP secret and a pending one.
        let creds = std::fs::read_to_string(a.dir.path().join("initial-credentials")).unwrap();
        let cred = |k: &str| {
            creds
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .unwrap()
                .to_owned()
        };
        let (admin_login, admin_password) = (cred("admin_login"), cred("admin_password"));
        let admin = super::console::first_login(&a, &admin_login, &admin_password);
        let out = a.cli(&["admin", "create", "--login", "pending-admin"]);
        assert!(out.status.success(), "{}", text(&out).1);
        let pending_password = text(&out).0.trim().to_owned();
        let enrol = |node: &Server| {
            let r = node.call(
                "POST",
                "/v1/session",
                None,
                Some(&json!({"login": "pending-admin", "password": pending_password})),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json()["status"], json!("totp_enrolment"), "{}", r.body);
            r.json()["secret_base32"].as_str().unwrap().to_owned()
        };
        let pending_secret = enrol(&a);
        assert_eq!(
            sql(
                &a,
                "SELECT count(*) FROM admins WHERE totp_secret LIKE 'k1$%'"
            ),
            vec!["1"]
        );
        assert_eq!(
            sql(
                &a,
                "SELECT count(*) FROM admins WHERE totp_pending LIKE 'k1$%'"
            ),
            vec!["1"]
        );
        let kinds: Vec<String> = sql(
            &a,
            "SELECT count(*) FROM settings WHERE name = 'delivery.sms' AND value LIKE 'k1$%'",
        );
        assert_eq!(kinds, vec!["1"]);

        // Background load: HOTP validations (each must succeed) and enrolments.
        let stop = AtomicBool::new(false);
        let ops = AtomicU64::new(0);
        let failures = Mutex::new(Vec::<String>::new());
        let counter = std::thread::scope(|scope| {
            // Stops the load even when an assertion below fails (the scope joins the threads).
            let _stop = StopOnDrop(&stop);
            let validator = scope.spawn(|| {
                let mut counter = 0u64;
                let mut n = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    for (login, secret) in &hotp {
                        let node = nodes[n % nodes.len()];
                        n += 1;
                        let v = validate(node, login, &hotp_code(secret, counter));
                        if v["valid"] != json!(true) {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{login} counter {counter} on {}: {v}", node.addr));
                        }
                        ops.fetch_add(1, Ordering::SeqCst);
                    }
                    counter += 1;
                }
                counter
            });
            let enroller = scope.spawn(|| {
                let mut n = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let node = nodes[n % nodes.len()];
                    let login = format!("e{n}");
                    let (_, secret) = user_with_totp(node, &login);
                    let v = validate(node, &login, &totp_at(&secret, now()));
                    if v["valid"] != json!(true) {
                        failures.lock().unwrap().push(format!("{login}: {v}"));
                    }
                    n += 1;
                    ops.fetch_add(1, Ordering::SeqCst);
                }
            });

            progress(&ops, 10);
            keys_ok(&a, &["add", "k2"]);
            sighup(&a);
            progress(&ops, 10);
            keys_ok(&a, &["activate", "k2"]);
            sighup(&a);
            // Node a (SIGHUP) and node b (periodic reload) now seal with k2.
            wait_seals_with(&a, "k2", "probe-a");
            if let Some(b) = &b {
                wait_seals_with(b, "k2", "probe-b");
            }
            progress(&ops, 10);
            keys_ok(&a, &["reencrypt", "--batch", "7"]);
            progress(&ops, 10);
            stop.store(true, Ordering::SeqCst);
            enroller.join().unwrap();
            validator.join().unwrap()
        });
        let failures = failures.into_inner().unwrap();
        assert!(failures.is_empty(), "{backend:?}: {failures:?}");

        // Every secret still opens.
        for (i, node) in (0u64..).zip(nodes.iter().copied()) {
            for (login, secret) in &hotp {
                assert_eq!(
                    validate(node, login, &hotp_code(secret, counter + i))["valid"],
                    json!(true),
                    "{backend:?} {login}"
                );
            }
        }
        for (login, secret) in &totp {
            assert_eq!(
                validate(&a, login, &totp_at(secret, now()))["valid"],
                json!(true),
                "{backend:?} {login}"
            );
        }
        for node in &nodes {
            let r = node.admin("GET", "/v1/delivery/sms", None);
            assert_eq!((r.status, r.json()), (200, sms_before.clone()));
            let r = node.admin("GET", "/v1/users/t0/authsys", None);
            assert_eq!((r.status, r.json()), (200, authsys_before.clone()));
        }
        for node in &nodes {
            // The pending enrolment is offered again: it still opens.
            assert_eq!(enrol(node), pending_secret);
        }
        // The enrolled administrator logs in (next time step: the first login's is spent).
        let r = a.call(
            "POST",
            "/v1/session",
            None,
            Some(&json!({"login": admin_login, "password": admin_password,
                         "otp": totp_at(&admin.secret, now() + 30)})),
        );
        assert_eq!(
            (r.status, &r.json()["status"]),
            (200, &json!("ok")),
            "{}",
            r.body
        );
        // Nothing is left under the old key, anywhere in the database.
        let rows = list(&a);
        assert_eq!(rows[0], ("k1".to_owned(), "inactive".to_owned(), 0));
        assert_eq!(rows[1].1, "active");
        assert!(rows[1].2 > 10, "{rows:?}");
        let text = dump(&a);
        assert!(
            !text.contains("k1$"),
            "{backend:?}: a k1 ciphertext is left"
        );
        assert!(text.contains("k2$"));
        // A second run has nothing to do.
        keys_ok(&a, &["reencrypt"]);
    }
}
