//! `/v1/otp/request`, message templates and `/v1/auth/hash`.

use serde_json::json;

use crate::support::{Server, backends};

#[test]
fn request_queues_a_code_with_idempotency_and_clear_refusals() {
    for backend in backends() {
        let s = Server::start(backend);
        assert_eq!(
            s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "jo", "mobile": "+55 (11) 9 1234-5678"}))
            )
            .status,
            201
        );
        assert_eq!(
            s.admin("POST", "/v1/users", Some(&json!({"login": "nomobile"})))
                .status,
            201
        );
        // Nothing can deliver yet: refused, not queued (issue 14, item 13).
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "jo", "channel": "sms"})),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("channel_not_configured")),
            "{}",
            r.body
        );
        let r = s.admin(
            "PUT",
            "/v1/delivery/sms",
            Some(&json!({"primary": {"kind": "rest",
                "url": format!("http://127.0.0.1:{}/sms", crate::support::closed_port()),
                "method": "POST", "authorization": "none",
                "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 1000},
                "broker2": {"mode": "none"}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let body = json!({"login": "jo", "channel": "sms"}).to_string();
        let r = s.raw(
            "POST",
            "/v1/otp/request",
            Some(&s.admin_key),
            Some(&body),
            &[("Idempotency-Key", "k-1")],
        );
        assert_eq!(r.status, 202, "{backend:?}: {}", r.body);
        let first = r.json();
        assert_eq!(first["request_id"].as_str().unwrap().len(), 32);
        assert!(first["expires_at"].as_str().unwrap().ends_with('Z'));
        // Same key, same body: same answer, no second code.
        let r = s.raw(
            "POST",
            "/v1/otp/request",
            Some(&s.admin_key),
            Some(&body),
            &[("Idempotency-Key", "k-1")],
        );
        assert_eq!(r.status, 202);
        assert_eq!(r.json(), first, "{backend:?}: idempotent replay");
        // Same key, other body: refused.
        let other = json!({"login": "jo", "channel": "email"}).to_string();
        let r = s.raw(
            "POST",
            "/v1/otp/request",
            Some(&s.admin_key),
            Some(&other),
            &[("Idempotency-Key", "k-1")],
        );
        assert_eq!(r.status, 409, "{}", r.body);
        // Voice is configurable but disabled: a state of the server, not a passing outage.
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "jo", "channel": "voice"})),
        );
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], json!("channel_not_configured"));
        assert_eq!(r.json()["field"], json!("channel"));
        // No destination; unknown user; bad channel.
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "nomobile", "channel": "sms"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (409, json!("mobile"))
        );
        assert_eq!(
            s.admin(
                "POST",
                "/v1/otp/request",
                Some(&json!({"login": "ghost", "channel": "sms"}))
            )
            .status,
            404
        );
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "jo", "channel": "fax"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("channel"))
        );
        // A wrong code for the request is one failure.
        let rid = first["request_id"].as_str().unwrap();
        let r = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "jo", "code": "0000000", "request_id": rid})),
        );
        assert_eq!(
            r.json()["reason"],
            json!("invalid_code"),
            "{backend:?}: {}",
            r.body
        );
        // A locked user gets no code.
        assert_eq!(
            s.admin(
                "PUT",
                "/v1/config/lockout",
                Some(&json!({"enabled": true, "attempts": 1, "block_type": "permanent"}))
            )
            .status,
            200
        );
        let r = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "jo", "code": "000000"})),
        );
        assert_eq!(r.json()["reason"], json!("invalid_code"));
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "jo", "channel": "sms"})),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("user_locked")),
            "{backend:?}"
        );
    }
}

#[test]
fn message_templates_are_validated_at_save() {
    for backend in backends() {
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/messages",
            Some(&json!({"id": "sms-1", "channel": "sms", "text": "Code {otp} for {nome}"})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.json()["detail"].as_str().unwrap().contains("nome"),
            "{}",
            r.body
        );
        let r = s.admin("POST", "/v1/messages", Some(&json!({"id": "sms-1", "channel": "sms", "text": "Code {otp}, valid {expires_in}. {literal braces}"})));
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert_eq!(
            v["default"],
            json!(false),
            "\"default\" was not asked for: the first of its channel is not made the default"
        );
        assert_eq!(v["sms"]["segments"], json!(1));
        let r = s.admin(
            "POST",
            "/v1/messages",
            Some(&json!({"id": "mail-1", "channel": "email", "text": "Code {otp}"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("subject")),
            "{}",
            r.body
        );
        let r = s.admin("POST", "/v1/messages", Some(&json!({"id": "sms-2", "channel": "sms", "default": true, "text": "Seu código: {otp}"})));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["sms"]["encoding"], json!("ucs2"));
        let list = s.admin("GET", "/v1/messages", None).json();
        let defaults: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["default"] == json!(true))
            .map(|t| t["id"].clone())
            .collect();
        assert_eq!(
            defaults,
            vec![json!("sms-2")],
            "{backend:?}: one default per channel"
        );
        assert_eq!(s.admin("DELETE", "/v1/messages/sms-1", None).status, 204);
        assert_eq!(s.admin("GET", "/v1/messages/sms-1", None).status, 404);
    }
}

#[test]
fn hash_always_present() {
    for backend in backends() {
        let s = Server::start(backend);
        assert_eq!(
            s.admin("POST", "/v1/users", Some(&json!({"login": "kim"})))
                .status,
            201
        );
        let tree = json!([{"authsys": "bank", "claims": [{"claim": "device", "values": [
            {"key": "phone-1", "content": "{\"hash\": \"abc123\", \"model\": \"x\"}"},
            {"key": "csv", "content": "a,\"b,c\",d"}
        ]}]}]);
        let r = s.admin("PUT", "/v1/users/kim/authsys", Some(&tree));
        assert_eq!(r.status, 200, "{}", r.body);
        let rules = json!([
            {"mfa_id": "7", "authsys": "bank", "authclaim": "device", "position": "hash"},
            {"mfa_id": "8", "authsys": "bank", "authclaim": "device", "authvalue": "csv", "position": "1"}
        ]);
        let r = s.admin("PUT", "/v1/policies/mfa", Some(&rules));
        assert_eq!(r.status, 200, "{}", r.body);
        let check = |mfa: &str, hash: &str, authvalue: Option<&str>| {
            let mut body = json!({"login": "kim", "mfa": mfa, "hash": hash});
            if let Some(a) = authvalue {
                body["authvalue"] = json!(a);
            }
            s.admin("POST", "/v1/auth/hash", Some(&body))
        };
        assert_eq!(
            check("7", "abc123", Some("phone-1")).json(),
            json!({"valid": true}),
            "{backend:?}"
        );
        assert_eq!(
            check("8", "b,c", None).json(),
            json!({"valid": true}),
            "{backend:?}: CSV column with quoting"
        );
        // A mismatch counts one hash failure (the successes above reset the counter).
        assert_eq!(
            check("7", "abc124", Some("phone-1")).json()["reason"],
            json!("invalid_code")
        );
        let r = check("7", "abc123", None);
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("authvalue")),
            "{}",
            r.body
        );
        let r = check("99", "abc123", None);
        assert_eq!((r.status, r.json()["field"].clone()), (404, json!("mfa")));
        let user = s.admin("GET", "/v1/users/kim", None).json();
        assert_eq!(user["failures"]["hash"], json!(1), "{backend:?}: {user}");
        assert_eq!(user["authsys"], json!(["bank"]));
        // The AuthValue contents are not stored in clear.
        if backend == crate::support::Backend::Sqlite {
            for entry in std::fs::read_dir(s.dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().contains("sae.db") {
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(
                        !String::from_utf8_lossy(&bytes).contains("abc123"),
                        "{path:?}"
                    );
                }
            }
        }
    }
}
