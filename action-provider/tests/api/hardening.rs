//! Issue 14, one test per finding of the outside review (the concurrent gate is in
//! `gate.rs`): each failed on the code before the fix, through the API, on SQLite and
//! PostgreSQL.

use serde_json::{Value, json};

use crate::support::closed_port;
use crate::support::{Backend, Peer, Response, Server, backends, python};

fn ok(r: &Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn session(s: &Server, body: &Value) -> Response {
    s.call("POST", "/v1/session", None, Some(body))
}

/// The audit entries of `action` (newest first).
fn audit(s: &Server, action: &str) -> Vec<Value> {
    let r = s.admin("GET", &format!("/v1/audit?action={action}&limit=100"), None);
    ok(&r, 200)["items"].as_array().unwrap().clone()
}

/// Items 2 and 3: the console gates both factors whatever the request carries, answers
/// unknown, locked, throttled and existing logins alike, and has its own temporary policy.
#[test]
fn console_login_gates_both_factors_and_answers_alike() {
    for backend in backends() {
        let s = Server::start(backend);
        ok(
            &s.admin(
                "POST",
                "/v1/admins",
                Some(&json!({"login": "ops", "password": "Console-Pass-4242"})),
            ),
            201,
        );
        // The users' policy (3 attempts, permanent) does not apply to administrators.
        ok(&s.admin("PUT", "/v1/config/lockout", Some(&json!({"enabled": true, "attempts": 3,
            "block_type": "permanent", "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}}))), 200);
        let policy = ok(&s.admin("GET", "/v1/config/admin-lockout", None), 200);
        assert_eq!(
            policy["attempts"],
            json!(10),
            "{backend:?}: default {policy}"
        );
        assert_eq!(
            policy["minutes"],
            json!(15),
            "{backend:?}: default {policy}"
        );
        let r = s.admin(
            "PUT",
            "/v1/config/admin-lockout",
            Some(&json!({"attempts": 11, "minutes": 0})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        for _ in 0..3 {
            let r = session(
                &s,
                &json!({"login": "ops", "password": "wrong", "otp": "123456"}),
            );
            assert_eq!(r.status, 401, "{}", r.body);
        }
        let ops = ok(&s.admin("GET", "/v1/admins/ops", None), 200);
        assert_eq!(ops["locked"], json!(false), "{backend:?}: {ops}");

        // Its own policy: 4 attempts for 5 minutes, no throttle.
        ok(
            &s.admin(
                "PUT",
                "/v1/config/admin-lockout",
                Some(&json!({"attempts": 4, "minutes": 5,
            "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}})),
            ),
            200,
        );
        let r = session(
            &s,
            &json!({"login": "ops", "password": "wrong", "otp": "123456"}),
        );
        assert_eq!(r.status, 401, "{}", r.body);
        let ops = ok(&s.admin("GET", "/v1/admins/ops", None), 200);
        assert_eq!(ops["locked"], json!(true), "{backend:?}: {ops}");
        assert!(
            ops["locked_until"].is_string(),
            "{backend:?}: a temporary lock: {ops}"
        );

        // Locked: the right password with a bogus code, a wrong one, an unknown login —
        // one answer. Without a code, everyone is asked for one.
        let right = session(
            &s,
            &json!({"login": "ops", "password": "Console-Pass-4242", "otp": "123456"}),
        );
        let wrong = session(
            &s,
            &json!({"login": "ops", "password": "nope", "otp": "123456"}),
        );
        let unknown = session(
            &s,
            &json!({"login": "nobody", "password": "nope", "otp": "123456"}),
        );
        for r in [&right, &wrong, &unknown] {
            assert_eq!(
                (r.status, &r.body),
                (right.status, &right.body),
                "{backend:?}"
            );
        }
        assert_eq!(right.status, 401);
        assert_eq!(right.json()["code"], json!("invalid_credentials"));
        assert!(
            right.json().get("field").is_none(),
            "no field names which factor failed"
        );
        let asked = session(
            &s,
            &json!({"login": "ops", "password": "Console-Pass-4242"}),
        );
        let asked_unknown = session(&s, &json!({"login": "nobody", "password": "nope"}));
        assert_eq!(
            ok(&asked, 200),
            json!({"status": "otp_required"}),
            "{backend:?}"
        );
        assert_eq!(asked.body, asked_unknown.body, "{backend:?}");
        let ops = ok(&s.admin("GET", "/v1/admins/ops", None), 200);
        assert_eq!(
            ops["failures"]["password"],
            json!(4),
            "{backend:?}: nothing counted while locked: {ops}"
        );
        assert!(
            audit(&s, "admin.lock")
                .iter()
                .any(|e| e["subject"] == json!("ops")),
            "{backend:?}"
        );

        // The throttle holds whatever the request names: with a code, a wrong password
        // is still throttled (not checked, not counted).
        ok(&s.admin("POST", "/v1/admins/ops/unlock", None), 204);
        ok(
            &s.admin(
                "PUT",
                "/v1/config/admin-lockout",
                Some(&json!({"attempts": 10, "minutes": 5,
            "throttle": {"enabled": true, "after": 2, "max_delay_s": 900}})),
            ),
            200,
        );
        for _ in 0..6 {
            let r = session(
                &s,
                &json!({"login": "ops", "password": "wrong", "otp": "123456"}),
            );
            assert_eq!(r.status, 401);
        }
        let ops = ok(&s.admin("GET", "/v1/admins/ops", None), 200);
        let counted = ops["failures"]["password"].as_i64().unwrap();
        assert!(
            (2..=3).contains(&counted),
            "{backend:?}: throttled attempts are not checked: {ops}"
        );
        let outcomes: Vec<String> = audit(&s, "admin.login")
            .iter()
            .map(|e| e["outcome"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            outcomes.iter().any(|o| o == "rejected:throttled"),
            "{backend:?}: {outcomes:?}"
        );
    }
}

/// Items 4–6: flows are for `otp` keys and unrestricted administrators; sharing the
/// principal secret needs `tokens: edit` and is audited; a disabled user's hash is refused.
#[test]
fn flows_and_secrets_need_the_right_caller() {
    for backend in backends() {
        let s = Server::start(backend);
        ok(
            &s.admin(
                "POST",
                "/v1/admin-groups",
                Some(&json!({"name": "helpdesk", "may_modify": true,
            "users": {"login": "view", "status": "edit", "devices": "edit"}})),
            ),
            201,
        );
        let key = ok(
            &s.admin(
                "POST",
                "/v1/apikeys",
                Some(&json!({"name": "bot", "scope": "admin",
            "group": "helpdesk"})),
            ),
            201,
        )["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = super::otp::user_with_totp(&s, "fl");
        ok(
            &s.admin(
                "POST",
                "/v1/users/fl/password",
                Some(&json!({"password": "Flow-Pass-4242"})),
            ),
            204,
        );
        let calls = [
            (
                "POST",
                "/v1/auth/password".to_owned(),
                Some(json!({"login": "fl", "password": "Flow-Pass-4242"})),
            ),
            (
                "POST",
                "/v1/otp/validate".to_owned(),
                Some(json!({"login": "fl", "code": "123456"})),
            ),
            (
                "POST",
                "/v1/otp/request".to_owned(),
                Some(json!({"login": "fl", "channel": "sms"})),
            ),
            (
                "POST",
                "/v1/auth/hash".to_owned(),
                Some(json!({"login": "fl", "mfa": "7", "hash": "h"})),
            ),
            (
                "GET",
                format!("/v1/users/fl/tokens/{token}/challenge"),
                None,
            ),
        ];
        for (method, path, body) in &calls {
            let r = s.call(method, path, Some(&key), body.as_ref());
            assert_eq!(r.status, 403, "{backend:?} {path}: {}", r.body);
        }
        let otp_key = ok(
            &s.admin(
                "POST",
                "/v1/apikeys",
                Some(&json!({"name": "app", "scope": "otp"})),
            ),
            201,
        )["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = s.call(
            "POST",
            "/v1/auth/password",
            Some(&otp_key),
            calls[0].2.as_ref(),
        );
        assert_eq!(
            ok(&r, 200)["valid"],
            json!(true),
            "{backend:?}: an otp key may"
        );

        // Item 5: devices: edit without tokens: edit cannot receive the principal secret.
        ok(
            &s.admin(
                "PUT",
                "/v1/config/im",
                Some(&json!({"device_secret_same_as_principal": true})),
            ),
            200,
        );
        let r = s.call(
            "POST",
            "/v1/users/fl/devices",
            Some(&key),
            Some(&json!({"name": "phone"})),
        );
        assert_eq!(r.status, 403, "{backend:?}: {}", r.body);
        assert!(!r.body.contains("secret_base32"), "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/users/fl/devices",
            Some(&json!({"name": "phone"})),
        );
        assert!(ok(&r, 201)["token"]["secret_base32"].is_string());
        let disclosed = audit(&s, "token.secret.disclosed");
        assert_eq!(disclosed.len(), 1, "{backend:?}: {disclosed:?}");
        assert_eq!(disclosed[0]["subject"], json!("fl"));

        // Item 6: a disabled user's MFA hash is refused like its password and codes.
        let tree = json!([{"authsys": "bank", "claims": [{"claim": "device", "values": [
            {"key": "p1", "content": "{\"hash\": \"abc123\"}"}]}]}]);
        ok(&s.admin("PUT", "/v1/users/fl/authsys", Some(&tree)), 200);
        ok(
            &s.admin(
                "PUT",
                "/v1/policies/mfa",
                Some(&json!([{"mfa_id": "7", "authsys": "bank",
            "authclaim": "device", "position": "hash"}])),
            ),
            200,
        );
        let hash = json!({"login": "fl", "mfa": "7", "authvalue": "p1", "hash": "abc123"});
        assert_eq!(
            ok(&s.admin("POST", "/v1/auth/hash", Some(&hash)), 200)["valid"],
            json!(true)
        );
        ok(
            &s.admin("PATCH", "/v1/users/fl", Some(&json!({"disabled": true}))),
            200,
        );
        let d = ok(&s.admin("POST", "/v1/auth/hash", Some(&hash)), 200);
        assert_eq!(
            (d["valid"].clone(), d["reason"].clone()),
            (json!(false), json!("disabled")),
            "{backend:?}"
        );
    }
}

/// Item 7: a stored password or client secret never follows an edited endpoint.
#[test]
fn credentials_stay_bound_to_their_endpoint() {
    for backend in backends() {
        let s = Server::start(backend);
        let port = closed_port();
        let account = ok(
            &s.admin(
                "POST",
                "/v1/smtp/accounts",
                Some(&json!({"name": "relay",
            "sender": "sae@sae.test", "host": "127.0.0.1", "port": port, "security": "none",
            "auth": "password", "username": "u", "password": "smtp-pass"})),
            ),
            201,
        )["id"]
            .as_i64()
            .unwrap();
        let path = format!("/v1/smtp/accounts/{account}");
        for (member, value) in [
            ("host", json!("localhost")),
            ("port", json!(port + 1)),
            ("security", json!("starttls")),
        ] {
            let mut body = json!({"name": "relay", "sender": "sae@sae.test", "host": "127.0.0.1",
                "port": port, "security": "none", "auth": "password", "username": "u"});
            body[member] = value;
            let r = s.admin("PUT", &path, Some(&body));
            assert_eq!(
                (r.status, r.json()["field"].clone()),
                (400, json!("password")),
                "{backend:?}: changing {member} needs the password again: {}",
                r.body
            );
        }
        // Other changes keep it; a new endpoint with the password is fine.
        let r = s.admin("PUT", &path, Some(&json!({"name": "relay-2", "sender": "sae@sae.test",
            "host": "127.0.0.1", "port": port, "security": "none", "auth": "password", "username": "u"})));
        ok(&r, 200);
        let r = s.admin("PUT", &path, Some(&json!({"name": "relay-2", "sender": "sae@sae.test",
            "host": "localhost", "port": port, "security": "none", "auth": "password", "username": "u",
            "password": "other-pass"})));
        let view = ok(&r, 200);
        assert!(!view.to_string().contains("other-pass"), "{view}");

        let profile = ok(&s.admin("POST", "/v1/oauth2/profiles", Some(&json!({"name": "p",
            "token_url": "https://login.example.test/token", "client_id": "c", "client_secret": "cs-1",
            "scope": "s", "flow": "client_credentials"}))), 201)["id"].as_i64().unwrap();
        let path = format!("/v1/oauth2/profiles/{profile}");
        let r = s.admin(
            "PUT",
            &path,
            Some(
                &json!({"name": "p", "token_url": "https://evil.example.test/token",
            "client_id": "c", "scope": "s", "flow": "client_credentials"}),
            ),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("client_secret")),
            "{backend:?}: {}",
            r.body
        );
        let r = s.admin(
            "PUT",
            &path,
            Some(
                &json!({"name": "p2", "token_url": "https://login.example.test/token",
            "client_id": "c", "scope": "s", "flow": "client_credentials"}),
            ),
        );
        ok(&r, 200);
        let audit = audit(&s, "oauth2.profile.update");
        assert!(!serde_json::to_string(&audit).unwrap().contains("cs-1"));
    }
}

/// Items 11 and 12: every file SAE writes is private, and SQLite flushes every commit.
#[test]
fn files_are_private_and_commits_durable() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // The folder exists already (the case the review found 0644 files in).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Server::start_with(Backend::Sqlite, dir, None, &[]);
    ok(
        &s.admin("POST", "/v1/users", Some(&json!({"login": "f"}))),
        201,
    );
    let out = s.dir.path().join("backup.db");
    let r = s.cli(&["backup", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for name in [
        "sae.db",
        "sae.db-wal",
        "sae.db-shm",
        "keyring.json",
        "initial-credentials",
        "backup.db",
    ] {
        let path = s.dir.path().join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
    let store =
        action_provider::store::Store::open(s.dir.path().join("sae.db").to_str().unwrap(), 1)
            .unwrap();
    let level: i32 = store
        .sqlite_raw(|c| {
            use diesel::RunQueryDsl as _;
            #[derive(diesel::QueryableByName)]
            struct Level {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                synchronous: i32,
            }
            let rows: Vec<Level> = diesel::sql_query("PRAGMA synchronous").load(c)?;
            Ok(rows[0].synchronous)
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        level, 2,
        "synchronous = FULL (2) on every pooled connection"
    );
}

/// Item 13: a code request on a channel nothing can deliver is refused, not queued.
#[test]
fn unconfigured_channels_are_refused() {
    for backend in backends() {
        let s = Server::start(backend);
        ok(
            &s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "nc", "mobile": "+55 11 91234-0002",
            "email": "nc@sae.test"})),
            ),
            201,
        );
        for channel in ["sms", "email"] {
            let r = s.admin(
                "POST",
                "/v1/otp/request",
                Some(&json!({"login": "nc", "channel": channel})),
            );
            assert_eq!(
                (r.status, r.json()["code"].clone()),
                (409, json!("channel_not_configured")),
                "{backend:?} {channel}: {}",
                r.body
            );
        }
        let report = ok(&s.admin("GET", "/v1/reports/deliveries", None), 200);
        assert_eq!(
            report["items"].as_array().map(Vec::len),
            Some(0),
            "nothing queued: {report}"
        );
    }
}

/// Item 14: the metrics SPEC §5.2 lists move.
#[test]
fn metrics_count_responses_decisions_and_backlog() {
    let s = Server::start(Backend::Sqlite);
    ok(
        &s.admin("POST", "/v1/users", Some(&json!({"login": "m"}))),
        201,
    );
    let _ = s.admin(
        "POST",
        "/v1/otp/validate",
        Some(&json!({"login": "m", "code": "123456"})),
    );
    let _ = s.admin("GET", "/v1/users/nobody", None);
    let text = s.call("GET", "/metrics", None, None).body;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        value("sae_http_responses_total{class=\"2xx\"}") >= 2.0,
        "{text}"
    );
    assert!(
        value("sae_http_responses_total{class=\"4xx\"}") >= 1.0,
        "{text}"
    );
    assert!(
        value("sae_decisions_total{flow=\"validate\",outcome=\"no_token\"}") >= 1.0,
        "{text}"
    );
    assert_eq!(value("sae_outbox_backlog "), 0.0, "{text}");
}

/// Item 15: host commands and test sends are audited; configuration changes carry the
/// source and the names of what changed; the reasons say what happened.
#[test]
fn audit_and_reasons_say_what_happened() {
    for backend in backends() {
        let s = Server::start(backend);
        let run = |args: &[&str]| {
            let out = s.cli(args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        run(&["admin", "create", "--login", "host-admin"]);
        run(&["admin", "unlock", "--login", "host-admin"]);
        run(&["admin", "reset-totp", "--login", "host-admin"]);
        run(&["apikey", "create", "--name", "host-key", "--scope", "otp"]);
        let id = run(&["apikey", "list"])
            .lines()
            .find(|l| l.contains("host-key"))
            .and_then(|l| l.split('\t').next())
            .unwrap()
            .to_owned();
        run(&["apikey", "revoke", "--id", &id]);
        if backend == Backend::Sqlite {
            let kid = run(&["keys", "add"]);
            run(&["keys", "activate", kid.trim()]);
        }
        for action in [
            "admin.create",
            "admin.unlock",
            "admin.totp.reset",
            "apikey.create",
            "apikey.revoke",
        ] {
            let entries = audit(&s, action);
            assert!(
                entries
                    .iter()
                    .any(|e| e["actor"].as_str().unwrap().starts_with("cli:")),
                "{backend:?}: {action} from the host is audited: {entries:?}"
            );
        }
        if backend == Backend::Sqlite {
            assert_eq!(audit(&s, "keys.add").len(), 1);
            assert_eq!(audit(&s, "keys.activate").len(), 1);
        }

        // Configuration: source address and changed field names, never values.
        ok(
            &s.admin(
                "PUT",
                "/v1/config/im",
                Some(&json!({"token_window": 2, "accept_risk": true})),
            ),
            200,
        );
        let entry = &audit(&s, "config.im.update")[0];
        assert!(
            entry["source"].as_str().unwrap().starts_with("127.0.0.1"),
            "{entry}"
        );
        let detail = entry["detail"].to_string();
        assert!(detail.contains("token_window"), "{entry}");
        assert!(
            !detail.contains("\"token_window\":2"),
            "names, not values: {entry}"
        );
        ok(
            &s.admin("PUT", "/v1/config/im", Some(&json!({"token_window": 1}))),
            200,
        );

        // Test sends are audited.
        unreachable_sms_broker(&s);
        let _ = s.admin(
            "POST",
            "/v1/delivery/sms/test",
            Some(&json!({"phone": "+5511912345678", "message": "hi"})),
        );
        let tested = audit(&s, "delivery.sms.test");
        assert_eq!(tested.len(), 1, "{backend:?}: {tested:?}");
        assert!(
            !tested[0].to_string().contains("12345678"),
            "the number is masked: {tested:?}"
        );

        // Reasons.
        ok(
            &s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "r1", "password": "Reason-Pass-4242"})),
            ),
            201,
        );
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": "r2"}))),
            201,
        );
        let check = |login: &str| {
            ok(
                &s.admin(
                    "POST",
                    "/v1/auth/password",
                    Some(&json!({"login": login, "password": "Wrong-Pass-0000"})),
                ),
                200,
            )
        };
        assert_eq!(
            check("r1")["reason"],
            json!("invalid_password"),
            "{backend:?}"
        );
        assert_eq!(check("r2")["reason"], json!("no_password"), "{backend:?}");
        let r2 = ok(&s.admin("GET", "/v1/users/r2", None), 200);
        assert_eq!(
            r2["failures"]["password"],
            json!(0),
            "{backend:?}: no password, nothing counted: {r2}"
        );
    }
}

/// Item 15: a code whose request a newer one replaced answers `superseded`.
#[test]
fn a_replaced_code_is_superseded() {
    let Some(py) = python() else { return };
    for backend in backends() {
        let peer = Peer::start(&py, "rest_peer.py", &[]);
        let s = Server::start(backend);
        ok(
            &s.admin(
                "PUT",
                "/v1/delivery/sms",
                Some(&json!({"primary": {"kind": "rest",
            "url": format!("http://127.0.0.1:{}/none/ok", peer.port), "method": "POST",
            "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}",
            "timeout_ms": 3000}, "broker2": {"mode": "none"}})),
            ),
            200,
        );
        ok(
            &s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "sup", "mobile": "+55 11 91234-0003"})),
            ),
            201,
        );
        let mut codes = Vec::new();
        for n in 1..=2 {
            ok(
                &s.admin(
                    "POST",
                    "/v1/otp/request",
                    Some(&json!({"login": "sup", "channel": "sms"})),
                ),
                202,
            );
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let calls = loop {
                let calls = peer.get("/_calls").as_array().cloned().unwrap_or_default();
                if calls.len() >= n || std::time::Instant::now() > deadline {
                    break calls;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            };
            let body: Value = serde_json::from_str(calls[n - 1]["body"].as_str().unwrap()).unwrap();
            let text = body["text"].as_str().unwrap().to_owned();
            let code: String = text.chars().filter(char::is_ascii_digit).collect();
            codes.push(code);
        }
        let v = |code: &str| {
            ok(
                &s.admin(
                    "POST",
                    "/v1/otp/validate",
                    Some(&json!({"login": "sup", "code": code})),
                ),
                200,
            )
        };
        assert_eq!(v(&codes[0])["reason"], json!("superseded"), "{backend:?}");
        assert_eq!(v(&codes[1])["valid"], json!(true), "{backend:?}");
    }
}

/// Item 10: logins are identities — case, normalisation, invisible characters and
/// look-alikes from another script do not make a second user or administrator.
#[test]
fn logins_are_identities() {
    for backend in backends() {
        let s = Server::start(backend);
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": "ana"}))),
            201,
        );
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": "caf\u{e9}"}))),
            201,
        );
        for (login, code) in [
            ("Ana", "duplicate"),
            ("ANA", "duplicate"),
            ("cafe\u{301}", "duplicate"),
            ("\u{430}na", "confusable_login"),
            ("\u{410}NA", "confusable_login"),
        ] {
            let r = s.admin("POST", "/v1/users", Some(&json!({"login": login})));
            assert_eq!(
                (
                    r.status,
                    r.json()["code"].clone(),
                    r.json()["field"].clone()
                ),
                (409, json!(code), json!("login")),
                "{backend:?} {login:?}: {}",
                r.body
            );
            assert!(
                r.json()["detail"].as_str().unwrap().contains("ana") || login.starts_with("caf"),
                "names the existing login: {}",
                r.body
            );
        }
        for login in ["ana\u{200b}", "\u{202e}ana", "an\u{feff}a"] {
            let r = s.admin("POST", "/v1/users", Some(&json!({"login": login})));
            assert_eq!(
                (r.status, r.json()["field"].clone()),
                (400, json!("login")),
                "{backend:?} {login:?}"
            );
        }
        // Same-script look-alikes are different people.
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": "barn"}))),
            201,
        );
        ok(
            &s.admin("POST", "/v1/users", Some(&json!({"login": "bam"}))),
            201,
        );
        // Lookups use the key.
        assert_eq!(
            ok(&s.admin("GET", "/v1/users/ANA", None), 200)["login"],
            json!("ana")
        );
        let d = ok(
            &s.admin(
                "POST",
                "/v1/otp/validate",
                Some(&json!({"login": "Ana", "code": "123456"})),
            ),
            200,
        );
        assert_eq!(
            d["reason"],
            json!("no_token"),
            "{backend:?}: found as ana: {d}"
        );
        // Administrators too.
        let r = s.admin(
            "POST",
            "/v1/admins",
            Some(&json!({"login": "\u{430}dmin", "password": "Console-Pass-4242"})),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("confusable_login")),
            "{backend:?}: {}",
            r.body
        );
        let r = s.admin(
            "POST",
            "/v1/admins",
            Some(&json!({"login": "Admin", "password": "Console-Pass-4242"})),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("duplicate")),
            "{backend:?}: {}",
            r.body
        );
        let r = session(&s, &json!({"login": "ADMIN", "password": "wrong"}));
        assert_eq!(
            r.status, 200,
            "found as admin (and asked for the code): {}",
            r.body
        );
    }
}

/// Item 10: data written before the keys existed gets them; collisions are listed by
/// `sae migrate`, not merged, and both rows stay reachable by their exact login.
#[test]
fn migrate_lists_login_collisions() {
    let s = Server::start(Backend::Sqlite);
    ok(
        &s.admin("POST", "/v1/users", Some(&json!({"login": "Joao"}))),
        201,
    );
    ok(
        &s.admin("POST", "/v1/users", Some(&json!({"login": "old"}))),
        201,
    );
    let (dir, _) = s.kill();
    let db = dir.path().join("sae.db");
    let store = action_provider::store::Store::open(db.to_str().unwrap(), 1).unwrap();
    store
        .sqlite_raw(|c| {
            use diesel::RunQueryDsl as _;
            // What an older version wrote: no keys, and two logins that are one identity.
            diesel::sql_query("UPDATE users SET login = 'JOAO', login_key = NULL, login_skeleton = NULL WHERE login = 'old'")
                .execute(c)?;
            diesel::sql_query("UPDATE users SET login_key = NULL, login_skeleton = NULL").execute(c)?;
            Ok(())
        })
        .unwrap()
        .unwrap();
    drop(store);
    let out = std::process::Command::new(crate::support::sae_bin())
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("\"JOAO\"") && listed.contains("\"Joao\""),
        "{listed}"
    );
    let s = Server::start_with(Backend::Sqlite, dir, None, &[]);
    assert_eq!(
        ok(&s.admin("GET", "/v1/users/joao", None), 200)["login"],
        json!("Joao")
    );
    assert_eq!(
        ok(&s.admin("GET", "/v1/users/JOAO", None), 200)["login"],
        json!("JOAO"),
        "the row without a key answers to its exact login"
    );
    assert_eq!(
        ok(&s.admin("GET", "/v1/users/jOaO", None), 200)["login"],
        json!("Joao"),
        "the key belongs to the first row"
    );
    let list = ok(&s.admin("GET", "/v1/users", None), 200);
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "nothing merged: {list}"
    );
}

/// Configures an SMS broker nobody listens on: codes are issued and their deliveries fail
/// in the background.
pub(super) fn unreachable_sms_broker(s: &Server) {
    ok(
        &s.admin(
            "PUT",
            "/v1/delivery/sms",
            Some(&json!({"primary": {"kind": "rest",
        "url": format!("http://127.0.0.1:{}/sms", closed_port()), "method": "POST",
        "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}",
        "timeout_ms": 1000}, "broker2": {"mode": "none"}})),
        ),
        200,
    );
}
