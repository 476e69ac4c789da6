//! Enrolment and `/v1/otp/validate`: codes, replay, lockout and throttling, on every backend.

use std::sync::Arc;

use sae_core::otp::{Algorithm, Digits, Hotp, TimeStep, Totp, format_code};
use sae_core::secret::Secret;
use serde_json::{Value, json};

use crate::support::{Server, backends};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Creates a user and enrols a TOTP token; returns (token id, secret).
pub fn user_with_totp(s: &Server, login: &str) -> (String, Secret) {
    let r = s.admin(
        "POST",
        "/v1/users",
        Some(&json!({"login": login, "mobile": "+55 11 91234-5678"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.admin(
        "POST",
        &format!("/v1/users/{login}/tokens"),
        Some(&json!({"type": "totp"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    assert!(
        v["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/SAE:"),
        "{v}"
    );
    assert!(
        v["qr_svg"].as_str().unwrap().contains("<svg"),
        "QR is an SVG"
    );
    let secret = Secret::from_base32(v["secret_base32"].as_str().unwrap()).unwrap();
    (v["id"].as_str().unwrap().to_owned(), secret)
}

/// The TOTP code of `secret` at `t` (SHA-1, 6 digits, 30 s).
pub fn totp_at(secret: &Secret, t: u64) -> String {
    let totp = Totp::new(
        secret,
        Algorithm::Sha1,
        Digits::SIX,
        TimeStep::new(30).unwrap(),
        0,
    );
    format_code(totp.generate(t).unwrap(), Digits::SIX)
        .as_str()
        .to_owned()
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

fn wrong_code(secret: &Secret) -> String {
    let t = now();
    let near: Vec<String> = (0..6).map(|i| totp_at(secret, t + i * 30 - 90)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

#[test]
fn totp_enrol_validate_replay_and_listing_hides_secrets() {
    for backend in backends() {
        let s = Server::start(backend);
        let (id, secret) = user_with_totp(&s, "ana");
        let r = s.admin("GET", "/v1/users/ana/tokens", None);
        assert_eq!(r.status, 200);
        assert!(
            !r.body.contains("secret"),
            "{backend:?}: listing shows no secret: {}",
            r.body
        );
        assert_eq!(r.json()["items"][0]["id"], json!(id));

        let code = totp_at(&secret, now());
        assert_eq!(
            validate(&s, "ana", &code),
            json!({"valid": true}),
            "{backend:?}"
        );
        let again = validate(&s, "ana", &code);
        assert_eq!(again["valid"], json!(false));
        assert_eq!(again["reason"], json!("replayed"), "{backend:?}: {again}");
        let wrong = validate(&s, "ana", &wrong_code(&secret));
        assert_eq!(wrong["reason"], json!("invalid_code"), "{backend:?}");
        assert_eq!(
            validate(&s, "nobody", "123456")["reason"],
            json!("unknown_user")
        );
        let r = s.admin("POST", "/v1/users", Some(&json!({"login": "empty"})));
        assert_eq!(r.status, 201);
        assert_eq!(validate(&s, "empty", "123456")["reason"], json!("no_token"));
        // The user's view counts the OTP failures (replay + wrong code).
        let user = s.admin("GET", "/v1/users/ana", None).json();
        assert_eq!(user["failures"]["otp"], json!(2), "{backend:?}: {user}");
    }
}

#[test]
fn hotp_and_opie_tokens_validate() {
    for backend in backends() {
        let s = Server::start(backend);
        assert_eq!(
            s.admin("POST", "/v1/users", Some(&json!({"login": "bo"})))
                .status,
            201
        );
        let r = s.admin(
            "POST",
            "/v1/users/bo/tokens",
            Some(&json!({"type": "hotp", "digits": 8, "algorithm": "sha256"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert!(
            v["otpauth_uri"].as_str().unwrap().contains("counter=0"),
            "{v}"
        );
        let secret = Secret::from_base32(v["secret_base32"].as_str().unwrap()).unwrap();
        let hotp = Hotp::new(&secret, Algorithm::Sha256, Digits::EIGHT);
        let code = |c| {
            format_code(hotp.generate(c), Digits::EIGHT)
                .as_str()
                .to_owned()
        };
        // Counter 3 is within the look-ahead; 0..=3 are then spent.
        assert_eq!(
            validate(&s, "bo", &code(3))["valid"],
            json!(true),
            "{backend:?}"
        );
        assert_eq!(validate(&s, "bo", &code(1))["valid"], json!(false));
        assert_eq!(validate(&s, "bo", &code(4))["valid"], json!(true));

        // OPIE paper enrolment: the printed list is accepted in order, once.
        let r = s.admin(
            "POST",
            "/v1/users/bo/tokens",
            Some(&json!({"type": "opie", "count": 10, "list_size": 3, "seed": "ke1234"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        let tid = v["id"].as_str().unwrap().to_owned();
        let list = v["list"].as_array().unwrap().clone();
        assert_eq!(list.len(), 3);
        let c = s
            .admin("GET", &format!("/v1/users/bo/tokens/{tid}/challenge"), None)
            .json();
        assert_eq!(c["challenge"], json!("otp-md5 9 ke1234"), "{c}");
        let first = list[0]["words"].as_str().unwrap();
        assert_eq!(
            validate(&s, "bo", first)["valid"],
            json!(true),
            "{backend:?}"
        );
        assert_eq!(validate(&s, "bo", first)["reason"], json!("replayed"));
        assert_eq!(
            validate(&s, "bo", list[1]["hex"].as_str().unwrap())["valid"],
            json!(true)
        );
        let c = s
            .admin("GET", &format!("/v1/users/bo/tokens/{tid}/challenge"), None)
            .json();
        assert_eq!(c["challenge"], json!("otp-md5 7 ke1234"));
    }
}

#[test]
fn concurrent_submissions_of_one_code_accept_exactly_once() {
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let (_, secret) = user_with_totp(&s, "carla");
        let code = totp_at(&secret, now());
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let s = Arc::clone(&s);
                let code = code.clone();
                std::thread::spawn(move || validate(&s, "carla", &code)["valid"] == json!(true))
            })
            .collect();
        let accepted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(
            accepted, 1,
            "{backend:?}: exactly one of 32 concurrent submissions wins"
        );
    }
}

#[test]
fn lockout_counts_exactly_attempts_under_concurrency() {
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let r = s.admin(
            "PUT",
            "/v1/config/lockout",
            Some(&json!({
                "enabled": true, "attempts": 5, "block_type": "temporary", "minutes": 10,
                "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}
            })),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let (_, secret) = user_with_totp(&s, "dan");
        let wrong = wrong_code(&secret);
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let s = Arc::clone(&s);
                let wrong = wrong.clone();
                std::thread::spawn(move || validate(&s, "dan", &wrong))
            })
            .collect();
        let answers: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let counted = answers
            .iter()
            .filter(|a| a["reason"] == json!("invalid_code"))
            .count();
        let locked = answers
            .iter()
            .filter(|a| a["reason"] == json!("locked"))
            .count();
        assert_eq!(counted, 5, "{backend:?}: exactly 5 failures counted");
        assert_eq!(locked, 45, "{backend:?}");
        assert_eq!(
            answers
                .iter()
                .filter(|a| a["locked_until"].is_string() && a["reason"] == json!("invalid_code"))
                .count(),
            1,
            "{backend:?}: the failure that reaches attempts answers invalid_code with locked_until"
        );
        let user = s.admin("GET", "/v1/users/dan", None).json();
        assert_eq!(user["failures"]["otp"], json!(5), "{backend:?}: {user}");
        assert_eq!(user["status"], json!("locked"));
        // Locked: even the right code is refused.
        assert_eq!(
            validate(&s, "dan", &totp_at(&secret, now()))["reason"],
            json!("locked")
        );
    }
}

#[test]
fn throttling_answers_retry_after_without_counting() {
    for backend in backends() {
        let s = Server::start(backend);
        let (_, secret) = user_with_totp(&s, "eva");
        let wrong = wrong_code(&secret);
        // Default throttle: 5 free failures, then 1 s, 2 s, 4 s … of waiting.
        for i in 0..5 {
            assert_eq!(
                validate(&s, "eva", &wrong)["reason"],
                json!("invalid_code"),
                "{backend:?} attempt {i}"
            );
        }
        let t = validate(&s, "eva", &wrong);
        assert_eq!(t["reason"], json!("throttled"), "{backend:?}: {t}");
        assert!(t["retry_after"].as_u64().unwrap() >= 1);
        let user = s.admin("GET", "/v1/users/eva", None).json();
        assert_eq!(
            user["failures"]["otp"],
            json!(5),
            "{backend:?}: a throttled attempt is not counted"
        );
    }
}

#[test]
fn database_holds_no_secret_in_clear() {
    let s = Server::start(crate::support::Backend::Sqlite);
    let (_, secret) = user_with_totp(&s, "fay");
    let b32 = secret.to_base32().to_string();
    let hex: String = secret
        .expose_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    drop(s.admin("GET", "/healthz", None));
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("sae.db")
        {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&b32), "{path:?} holds the base32 secret");
            assert!(
                !text.to_lowercase().contains(&hex),
                "{path:?} holds the hex secret"
            );
            assert!(
                !bytes
                    .windows(secret.byte_len())
                    .any(|w| w == secret.expose_bytes()),
                "{path:?} holds the raw secret"
            );
        }
    }
}

#[test]
fn opie_client_initialised_enrolment_keeps_no_pass_phrase() {
    use sae_core::otp::opie::{self, Count, PassPhrase, Seed};
    for backend in backends() {
        let s = Server::start(backend);
        assert_eq!(
            s.admin("POST", "/v1/users", Some(&json!({"login": "op"})))
                .status,
            201
        );
        let seed = Seed::new("ke1234").unwrap();
        let phrase = PassPhrase::new("correct horse battery staple").unwrap();
        let at = |n: u64| {
            opie::compute(
                opie::Algorithm::Sha1,
                &seed,
                &phrase,
                Count::new(n).unwrap(),
            )
        };
        let r = s.admin("POST", "/v1/users/op/tokens", Some(&json!({"type": "opie", "algorithm": "sha1", "seed": "ke1234", "count": 100, "otp": at(100).to_hex()})));
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert!(v.get("list").is_none(), "client-initialised: no list");
        let c = s
            .admin(
                "GET",
                &format!(
                    "/v1/users/op/tokens/{}/challenge",
                    v["id"].as_str().unwrap()
                ),
                None,
            )
            .json();
        assert_eq!(c["challenge"], json!("otp-sha1 99 ke1234"));
        assert_eq!(
            validate(&s, "op", &at(99).to_words())["valid"],
            json!(true),
            "{backend:?}"
        );
        assert_eq!(
            validate(&s, "op", &at(99).to_hex())["reason"],
            json!("replayed")
        );
        assert_eq!(
            validate(&s, "op", &at(97).to_hex())["valid"],
            json!(false),
            "skipping is not allowed"
        );
        assert_eq!(validate(&s, "op", &at(98).to_hex())["valid"], json!(true));
        // Bad enrolment input names the field.
        let r = s.admin(
            "POST",
            "/v1/users/op/tokens",
            Some(&json!({"type": "opie", "seed": "ke 12", "count": 5, "otp": at(5).to_hex()})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("seed")),
            "{}",
            r.body
        );
        let r = s.admin(
            "POST",
            "/v1/users/op/tokens",
            Some(&json!({"type": "opie", "seed": "ke1234", "count": 5, "otp": "NOT SIX WORDS"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("otp")),
            "{}",
            r.body
        );
    }
}
