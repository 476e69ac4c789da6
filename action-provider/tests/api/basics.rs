//! Start-up, health, authentication and error shapes.

use serde_json::json;

use crate::support::{Server, backends};

#[test]
fn first_start_healthz_and_auth() {
    for backend in backends() {
        let s = Server::start(backend);
        assert!(
            s.admin_key.starts_with("sae_"),
            "{backend:?}: initial key written"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.dir.path().join("initial-credentials"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{backend:?}");
            let dir = s.dir.path().join("fresh-data");
            let out = std::process::Command::new(crate::support::sae_bin())
                .args(["migrate", "--data-dir"])
                .arg(&dir)
                .output()
                .unwrap();
            assert!(out.status.success());
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "a new data directory is private");
        }
        let r = s.call("GET", "/healthz", None, None);
        assert_eq!(r.status, 200, "{backend:?}: {}", r.body);
        let r = s.call("GET", "/v1/users", None, None);
        assert_eq!(r.status, 401, "{backend:?}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let r = s.call("GET", "/v1/users", Some("sae_wrong"), None);
        assert_eq!(r.status, 401, "{backend:?}");
        let r = s.call("GET", "/no/such/route", None, None);
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["code"], json!("not_found"));
    }
}

#[test]
fn cli_key_works_at_once_and_scopes_are_enforced() {
    for backend in backends() {
        let s = Server::start(backend);
        let out = s.cli(&["apikey", "create", "--name", "app", "--scope", "otp"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = String::from_utf8(out.stdout).unwrap();
        let key = key.trim();
        assert_eq!(key.lines().count(), 1, "the key alone on stdout");
        // An otp key may not configure.
        let r = s.call(
            "PUT",
            "/v1/config/im",
            Some(key),
            Some(&json!({"token_window": 1})),
        );
        assert_eq!(r.status, 403, "{backend:?}: {}", r.body);
        // but is authenticated.
        let r = s.call(
            "POST",
            "/v1/otp/validate",
            Some(key),
            Some(&json!({"login": "nobody", "code": "123456"})),
        );
        assert_eq!(r.status, 200, "{backend:?}: {}", r.body);
    }
}
