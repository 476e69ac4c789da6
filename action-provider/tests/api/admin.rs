//! `/v1/apikeys`, `sae apikey list|revoke`, and `/v1/audit`.

use serde_json::json;

use crate::support::{Server, backends};

#[test]
fn api_keys_are_shown_once_listed_without_secret_and_revocable() {
    for backend in backends() {
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/apikeys",
            Some(&json!({"name": "billing", "scope": "otp"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let created = r.json();
        let key = created["key"].as_str().unwrap().to_owned();
        let id = created["id"].as_i64().unwrap();
        assert!(key.starts_with(created["prefix"].as_str().unwrap()));
        let list = s.admin("GET", "/v1/apikeys", None);
        assert!(
            !list.body.contains(&key),
            "{backend:?}: listing never shows a key"
        );
        assert_eq!(list.json()["items"].as_array().unwrap().len(), 2);
        let r = s.call(
            "POST",
            "/v1/otp/validate",
            Some(&key),
            Some(&json!({"login": "x", "code": "1"})),
        );
        assert_eq!(r.status, 200, "the new key works at once");
        assert_eq!(
            s.admin("DELETE", &format!("/v1/apikeys/{id}"), None).status,
            204
        );
        let r = s.call(
            "POST",
            "/v1/otp/validate",
            Some(&key),
            Some(&json!({"login": "x", "code": "1"})),
        );
        assert_eq!(r.status, 401, "{backend:?}: revoked on this node at once");
        assert_eq!(
            s.admin("DELETE", &format!("/v1/apikeys/{id}"), None).status,
            404
        );
        let r = s.admin(
            "POST",
            "/v1/apikeys",
            Some(&json!({"name": "x", "scope": "root"})),
        );
        assert_eq!((r.status, r.json()["field"].clone()), (400, json!("scope")));

        // The CLI lists and revokes too.
        let out = s.cli(&["apikey", "list"]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("billing") && text.contains("initial-admin") && !text.contains(&key),
            "{text}"
        );
        let out = s.cli(&["apikey", "create", "--name", "cli", "--scope", "otp"]);
        let cli_key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let cli_id = String::from_utf8(s.cli(&["apikey", "list"]).stdout)
            .unwrap()
            .lines()
            .find(|l| l.contains("\tcli\t"))
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            s.cli(&["apikey", "revoke", "--id", &cli_id])
                .status
                .success()
        );
        assert!(
            !s.cli(&["apikey", "revoke", "--id", &cli_id])
                .status
                .success(),
            "revoking twice is an error"
        );
        std::thread::sleep(std::time::Duration::from_millis(5200));
        let r = s.call(
            "POST",
            "/v1/otp/validate",
            Some(&cli_key),
            Some(&json!({"login": "x", "code": "1"})),
        );
        assert_eq!(
            r.status, 401,
            "{backend:?}: a key revoked by the CLI stops working within 5 s"
        );
    }
}

#[test]
fn audit_lists_decisions_and_changes_with_filters() {
    for backend in backends() {
        let s = Server::start(backend);
        assert_eq!(
            s.admin("POST", "/v1/users", Some(&json!({"login": "aud"})))
                .status,
            201
        );
        assert_eq!(
            s.admin("PUT", "/v1/config/im", Some(&json!({"token_window": 2})))
                .status,
            200
        );
        for _ in 0..3 {
            s.admin(
                "POST",
                "/v1/otp/validate",
                Some(&json!({"login": "aud", "code": "123456"})),
            );
        }
        let all = s
            .admin("GET", "/v1/audit?subject=aud&action=otp.validate", None)
            .json();
        let items = all["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{backend:?}: {all}");
        assert_eq!(items[0]["outcome"], json!("rejected:no_token"));
        assert_eq!(items[0]["actor"], json!("apikey:initial-admin"));
        assert!(
            items[0]["source"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1")
        );
        let config = s.admin("GET", "/v1/audit?action=config.", None).json();
        assert_eq!(config["items"].as_array().unwrap().len(), 1, "{config}");
        let rejected = s
            .admin("GET", "/v1/audit?outcome=rejected:&limit=2", None)
            .json();
        assert_eq!(rejected["items"].as_array().unwrap().len(), 2);
        assert!(rejected["next_cursor"].is_string());
        let r = s.admin("GET", "/v1/audit?since=yesterday", None);
        assert_eq!((r.status, r.json()["field"].clone()), (400, json!("since")));
        assert!(
            !s.admin("GET", "/v1/audit", None).body.contains("123456"),
            "no codes in the audit log"
        );
    }
}
