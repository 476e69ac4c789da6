//! `/v1/wallets`, users in wallets, and `trusted_proxies` for the audit source.

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
            (400, json!("wallet"))
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
