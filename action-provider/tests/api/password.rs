//! Passwords: policy on set, `/v1/auth/password` with lockout, expiry, rehash and imports.

use serde_json::{Value, json};

use crate::support::{Server, backends};

fn auth(s: &Server, login: &str, password: &str) -> Value {
    let r = s.admin(
        "POST",
        "/v1/auth/password",
        Some(&json!({"login": login, "password": password})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Cheap argon2 so the suite stays fast; one test keeps the default parameters.
fn cheap_policy(s: &Server, extra: Value) {
    let mut body = json!({"hash": "argon2id", "hash_params": {"m_kib": 1024, "t": 1, "p": 1}, "differ": 0, "reset_every": 0, "strength": "off"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = s.admin("PUT", "/v1/policies/global", Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn password_set_check_and_reuse() {
    for backend in backends() {
        let s = Server::start(backend);
        cheap_policy(&s, json!({"strength": "strong", "differ": 2}));
        // Strength: every unmet requirement is listed, and the field is named.
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "gil", "password": "short"})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let p = r.json();
        assert_eq!(p["field"], json!("password"));
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.matches(';').count() >= 2,
            "several unmet rules listed: {detail}"
        );
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "gil", "password": "Correct-Horse-9"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            auth(&s, "gil", "Correct-Horse-9"),
            json!({"valid": true}),
            "{backend:?}"
        );
        assert_eq!(
            auth(&s, "gil", "wrong")["reason"],
            json!("invalid_password")
        );
        assert_eq!(auth(&s, "nobody", "x")["reason"], json!("unknown_user"));
        // differ 2: the current password may not be reused; a new one may.
        let r = s.admin(
            "POST",
            "/v1/users/gil/password",
            Some(&json!({"password": "Correct-Horse-9"})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], json!("password_reused"));
        let r = s.admin(
            "POST",
            "/v1/users/gil/password",
            Some(&json!({"password": "Battery-Staple-7"})),
        );
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(auth(&s, "gil", "Battery-Staple-7")["valid"], json!(true));
        // An otp key must prove the current password.
        let out = s.cli(&["apikey", "create", "--name", "app", "--scope", "otp"]);
        let key = String::from_utf8(out.stdout).unwrap();
        let r = s.call(
            "POST",
            "/v1/users/gil/password",
            Some(key.trim()),
            Some(&json!({"password": "Third-Pass-5"})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], json!("current_password"));
        let r = s.call(
            "POST",
            "/v1/users/gil/password",
            Some(key.trim()),
            Some(&json!({"password": "Third-Pass-5", "current_password": "Battery-Staple-7"})),
        );
        assert_eq!(r.status, 204, "{}", r.body);
    }
}

#[test]
fn correct_password_does_not_clear_otp_failures_and_lockout_applies() {
    for backend in backends() {
        let s = Server::start(backend);
        cheap_policy(&s, json!({}));
        let r = s.admin("PUT", "/v1/config/lockout", Some(&json!({"enabled": true, "attempts": 3, "block_type": "permanent", "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}})));
        assert_eq!(r.status, 200, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "hal", "password": "pw-of-hal"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            s.admin(
                "POST",
                "/v1/users/hal/tokens",
                Some(&json!({"type": "totp"}))
            )
            .status,
            201
        );
        for _ in 0..2 {
            let r = s.admin(
                "POST",
                "/v1/otp/validate",
                Some(&json!({"login": "hal", "code": "000000"})),
            );
            assert_eq!(r.json()["valid"], json!(false));
        }
        assert_eq!(auth(&s, "hal", "pw-of-hal")["valid"], json!(true));
        let user = s.admin("GET", "/v1/users/hal", None).json();
        assert_eq!(
            user["failures"]["otp"],
            json!(2),
            "{backend:?}: a correct password keeps the OTP failures"
        );
        // Three password failures lock permanently; then even the right password is refused.
        for i in 0..3 {
            let a = auth(&s, "hal", "nope");
            assert_eq!(
                a["reason"],
                json!("invalid_password"),
                "{backend:?} attempt {i}: {a}"
            );
        }
        assert_eq!(auth(&s, "hal", "pw-of-hal")["reason"], json!("locked"));
        let user = s.admin("GET", "/v1/users/hal", None).json();
        assert_eq!(user["status"], json!("locked"));
        assert_eq!(user["lock_factor"], json!("password"));
        let r = s.admin("POST", "/v1/users/hal/unlock", None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.json()["failures"],
            json!({"password": 0, "otp": 0, "hash": 0})
        );
        assert_eq!(auth(&s, "hal", "pw-of-hal")["valid"], json!(true));
    }
}

#[test]
fn imported_legacy_hash_is_rehashed_and_expiry_is_reported() {
    for backend in backends() {
        let s = Server::start(backend);
        cheap_policy(&s, json!({}));
        // $sha256$<salt hex>$<hex(SHA-256(salt || password))>, salt "salt", password "secret".
        let salt = "73616c74";
        let digest = {
            use sha2::{Digest as _, Sha256};
            let mut h = Sha256::new();
            h.update(b"salt");
            h.update(b"secret");
            h.finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let imported = format!("$sha256${salt}${digest}");
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "ivo", "password_hash": imported})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            auth(&s, "ivo", "secret")["valid"],
            json!(true),
            "{backend:?}"
        );
        // Re-hashed under the policy on that success; the new hash verifies too.
        assert_eq!(
            auth(&s, "ivo", "secret")["valid"],
            json!(true),
            "{backend:?}"
        );
        assert_eq!(auth(&s, "ivo", "Secret")["valid"], json!(false));
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "bad", "password_hash": "$md5$abc"})),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["field"], json!("password_hash"));
        // Expiry: reset_every 1 day; a password set "now" is not expired.
        cheap_policy(&s, json!({"reset_every": 1}));
        assert_eq!(auth(&s, "ivo", "secret")["valid"], json!(true));
        assert_eq!(
            s.admin("GET", "/v1/users/ivo", None).json()["status"],
            json!("active")
        );
    }
}
