//! Wallets, devices, `trusted_proxies` for the audit source, and retention.

use serde_json::json;

use crate::support::{Backend, Server, backends};

#[test]
fn wallets_crud_and_membership() {
    for backend in backends() {
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/wallets",
            Some(&json!({"name": "retail", "description": "Retail banking"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            s.admin("POST", "/v1/wallets", Some(&json!({"name": "retail"})))
                .status,
            409
        );
        assert_eq!(
            s.admin("POST", "/v1/wallets", Some(&json!({"name": "a/b"})))
                .json()["field"],
            json!("name")
        );
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "w1", "wallet": "retail"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["wallet"], json!("retail"));
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "w2", "wallet": "nope"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (404, json!("wallet"))
        );
        assert_eq!(
            s.admin("GET", "/v1/wallets/retail", None).json()["users"],
            json!(1),
            "{backend:?}"
        );
        assert_eq!(
            s.admin("GET", "/v1/users?wallet=retail", None).json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.admin("DELETE", "/v1/wallets/retail", None).status,
            409,
            "not empty"
        );
        let r = s.admin(
            "PUT",
            "/v1/wallets/retail",
            Some(&json!({"name": "personal", "description": "renamed"})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            s.admin("GET", "/v1/users/w1", None).json()["wallet"],
            json!("personal")
        );
        assert_eq!(
            s.admin("PATCH", "/v1/users/w1", Some(&json!({"wallet": null})))
                .status,
            200
        );
        assert_eq!(s.admin("DELETE", "/v1/wallets/personal", None).status, 204);
        assert_eq!(
            s.admin("GET", "/v1/wallets", None).json()["items"],
            json!([])
        );
    }
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let check = |s: &Server| {
        s.raw(
            "POST",
            "/v1/otp/validate",
            Some(&s.admin_key),
            Some(r#"{"login":"x","code":"1"}"#),
            &[("X-Forwarded-For", "6.6.6.6, 198.51.100.7")],
        );
        let audit = s.admin("GET", "/v1/audit?action=otp.validate", None).json();
        audit["items"][0]["source"].as_str().unwrap().to_owned()
    };
    let plain = Server::start(Backend::Sqlite);
    assert_eq!(
        check(&plain),
        "127.0.0.1",
        "an untrusted peer's header is ignored"
    );
    let dir = tempfile::tempdir().unwrap();
    let proxied = Server::start_with(
        Backend::Sqlite,
        dir,
        None,
        &["--trusted-proxies", "127.0.0.1,10.0.0.0/8"],
    );
    assert_eq!(
        check(&proxied),
        "198.51.100.7",
        "the rightmost untrusted hop"
    );
    let out = std::process::Command::new(crate::support::sae_bin())
        .args([
            "serve",
            "--trusted-proxies",
            "10.0.0.0/99",
            "--data-dir",
            "/nonexistent/x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("trusted_proxies"));
}

#[test]
fn retention_deletes_old_audit_and_delivery_records() {
    let s = Server::start(Backend::Sqlite);
    let r = s.admin(
        "PUT",
        "/v1/config/retention",
        Some(&json!({"audit_days": 4000})),
    );
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (400, json!("audit_days"))
    );
    let r = s.admin(
        "PUT",
        "/v1/config/retention",
        Some(&json!({"audit_days": 30, "deliveries_days": 0})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.admin("GET", "/v1/config/retention", None).json(),
        json!({"audit_days": 30, "deliveries_days": 0})
    );
    let (dir, _) = s.kill();
    // An audit record from 1970 and a delivery attempt from 1970, written behind SAE's back.
    let db = dir.path().join("sae.db");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c=sqlite3.connect({:?}); \
             c.execute(\"INSERT INTO audit (at, actor, action, outcome) VALUES (1, 'old', 'old.action', 'ok')\"); \
             c.execute(\"INSERT INTO delivery_attempts (outbox_id, request_id, channel, broker, destination_masked, outcome, latency_ms, at) VALUES (1, 'old-request', 'sms', 'primary', '***1', 'delivered', 1, 1)\"); \
             c.commit()",
            db.to_str().unwrap()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let s = Server::start_with(Backend::Sqlite, dir, None, &[]);
    let key = std::fs::read_to_string(s.dir.path().join("initial-credentials")).unwrap();
    let key = key
        .lines()
        .find_map(|l| l.strip_prefix("api_key = "))
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let old = s
            .call("GET", "/v1/audit?actor=old", Some(&key), None)
            .json();
        if old["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the 1970 audit record was not deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let kept = s
        .call(
            "GET",
            "/v1/reports/deliveries?request_id=old-request",
            Some(&key),
            None,
        )
        .json();
    assert_eq!(
        kept["items"].as_array().unwrap().len(),
        1,
        "deliveries_days 0 keeps reports forever"
    );
}

#[test]
fn devices_have_their_own_token_or_share_the_principal() {
    use sae_core::secret::Secret;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for backend in backends() {
        let s = Server::start(backend);
        let (principal_id, principal) = super::otp::user_with_totp(&s, "dev");
        // Switch off (default): a device gets a token of its own.
        let r = s.admin(
            "POST",
            "/v1/users/dev/devices",
            Some(&json!({"name": "tablet"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let own = r.json();
        assert_eq!(own["shares_principal"], json!(false));
        let own_secret =
            Secret::from_base32(own["token"]["secret_base32"].as_str().unwrap()).unwrap();
        assert_ne!(own["token"]["id"], json!(principal_id));
        let code = super::otp::totp_at(&own_secret, now);
        let v = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "dev", "code": code})),
        );
        assert_eq!(
            v.json()["valid"],
            json!(true),
            "{backend:?}: the device's own token validates"
        );
        assert_eq!(
            s.admin(
                "POST",
                "/v1/users/dev/devices",
                Some(&json!({"name": "tablet"}))
            )
            .status,
            409
        );

        // Switch on: a device shares the principal secret and its replay state.
        assert_eq!(
            s.admin(
                "PUT",
                "/v1/config/im",
                Some(&json!({"device_secret_same_as_principal": true}))
            )
            .status,
            200
        );
        let r = s.admin(
            "POST",
            "/v1/users/dev/devices",
            Some(&json!({"name": "phone-2"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let shared = r.json();
        assert_eq!(shared["shares_principal"], json!(true));
        assert_eq!(shared["token"]["id"], json!(principal_id));
        let shared_secret =
            Secret::from_base32(shared["token"]["secret_base32"].as_str().unwrap()).unwrap();
        let code = super::otp::totp_at(&shared_secret, now);
        assert_eq!(
            code,
            super::otp::totp_at(&principal, now),
            "same secret as the principal"
        );
        let v = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "dev", "code": code, "token_id": principal_id})),
        );
        assert_eq!(v.json()["valid"], json!(true), "{backend:?}");
        let v = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "dev", "code": code})),
        );
        assert_eq!(
            v.json()["reason"],
            json!("replayed"),
            "a code used on one device is spent on all"
        );
        let list = s.admin("GET", "/v1/users/dev/devices", None).json();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert!(
            !list.to_string().contains("secret"),
            "listing shows no secret"
        );
        assert_eq!(
            s.admin("DELETE", "/v1/users/dev/devices/phone-2", None)
                .status,
            204
        );
        let tokens = s.admin("GET", "/v1/users/dev/tokens", None).json();
        assert!(
            tokens["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == json!(principal_id)),
            "the principal token stays"
        );
        assert_eq!(
            s.admin("DELETE", "/v1/users/dev/devices/tablet", None)
                .status,
            204
        );
        assert_eq!(
            s.admin("GET", "/v1/users/dev/tokens", None).json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "the device's own token goes with it"
        );
    }
}

#[test]
fn backup_while_serving_and_restore() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let s = Server::start(Backend::Sqlite);
    let (_, secret) = super::otp::user_with_totp(&s, "kept");
    let snapshot = s.dir.path().join("snapshot.db");
    let out = s.cli(&["backup", "--out", snapshot.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keyring"),
        "the keyring warning is printed"
    );
    assert!(
        !s.cli(&["backup", "--out", snapshot.to_str().unwrap()])
            .status
            .success(),
        "never overwrites"
    );
    assert_eq!(s.admin("DELETE", "/v1/users/kept", None).status, 204);
    let admin_key = s.admin_key.clone();
    let (dir, _) = s.kill();
    let restore = |from: &std::path::Path| {
        std::process::Command::new(crate::support::sae_bin())
            .args(["restore", "--data-dir"])
            .arg(dir.path())
            .arg("--from")
            .arg(from)
            .output()
            .unwrap()
    };
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(
        !restore(&junk).status.success(),
        "a file that is not a SAE backup is refused"
    );
    let out = restore(&snapshot);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut s = Server::start_with(Backend::Sqlite, dir, None, &[]);
    s.admin_key = admin_key;
    assert_eq!(
        s.admin("GET", "/v1/users/kept", None).status,
        200,
        "the user is back"
    );
    let v = s.admin(
        "POST",
        "/v1/otp/validate",
        Some(&json!({"login": "kept", "code": super::otp::totp_at(&secret, now)})),
    );
    assert_eq!(
        v.json()["valid"],
        json!(true),
        "its token (sealed with the same keyring) validates"
    );
    let pg = std::process::Command::new(crate::support::sae_bin())
        .args([
            "backup",
            "--out",
            "/tmp/x.db",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&pg.stderr).contains("pg_dump"),
        "PostgreSQL points to pg_dump"
    );
}
