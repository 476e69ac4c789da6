//! Service accounts (OAuth2 `jwt_bearer`, RFC 7523) wired into profiles: the Google-style
//! JSON key is sealed and never answered; "renew authorization" signs an RS256 assertion
//! that the OAuth2 peer verifies with PyJWT (an independent library); the token it issues
//! for the subject is accepted by the XOAUTH2 SMTP peer and by a real Dovecot (its `oauth2`
//! passdb asks the peer's introspection); a subject that is not the accounts' mailbox is
//! reported "authorised for X, not Y" and its token not used.

use serde_json::{Value, json};

use super::mail::{MAILBOX, callback_url, create, oauth_account};
use super::mail_peers::{SmtpPeer, oauth_peer_with};
use crate::dovecot::{Dovecot, User};
use crate::service_account::service_account;
use crate::support::{Backend, Server, backends};

const SA: &str = "sae-relay@sae-test.iam.gserviceaccount.com";
const IMAP_USER: User = User {
    name: MAILBOX,
    password: "unused-imap-password",
};

fn profile_body(token_url: &str, key: &str, subject: &str) -> Value {
    json!({"name": "workspace", "flow": "jwt_bearer", "token_url": token_url,
           "scope": "https://mail.google.com/", "service_account_key": key, "subject": subject})
}

fn authorize(s: &Server, profile: i64) -> Value {
    let r = s.admin(
        "POST",
        &format!("/v1/oauth2/profiles/{profile}/authorize"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Refusals name the field: a key that is no service account key, a client secret given
/// to a jwt_bearer profile, no subject, a client_id that is not the key's.
fn bad_bodies_name_the_field(s: &Server, token_url: &str, key: &str) {
    let rows: Vec<(Value, &str)> = vec![
        (
            profile_body(token_url, "{\"type\":\"authorized_user\"}", MAILBOX),
            "service_account_key",
        ),
        (
            {
                let mut b = profile_body(token_url, key, MAILBOX);
                b["client_secret"] = json!("a-secret");
                b
            },
            "client_secret",
        ),
        (profile_body(token_url, key, ""), "subject"),
        (profile_body(token_url, key, "not an address"), "subject"),
        (
            {
                let mut b = profile_body(token_url, key, MAILBOX);
                b["client_id"] = json!("someone-else@p.iam.gserviceaccount.com");
                b
            },
            "client_id",
        ),
        (
            {
                let mut b = profile_body(token_url, key, MAILBOX);
                b.as_object_mut().unwrap().remove("service_account_key");
                b
            },
            "service_account_key",
        ),
    ];
    for (body, field) in rows {
        let r = s.admin("POST", "/v1/oauth2/profiles", Some(&body));
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        assert!(r.body.contains(field), "{field}: {}", r.body);
        assert!(!r.body.contains("PRIVATE KEY"), "{}", r.body);
    }
}

#[test]
fn a_service_account_sends_and_reads_as_its_subject() {
    for backend in backends() {
        let s = Server::start(backend);
        let dir = tempfile::tempdir().unwrap();
        let Some((key, public)) = service_account(dir.path(), SA) else {
            return;
        };
        let public = public.to_string_lossy().into_owned();
        let extra = [
            "--service-account-email",
            SA,
            "--service-account-public-key",
            &public,
        ];
        let Some(oauth) = oauth_peer_with(&callback_url(&s), &extra) else {
            return;
        };
        let Some(smtp) = SmtpPeer::xoauth2(&oauth) else {
            return;
        };
        let Some(dovecot) = Dovecot::start(&[IMAP_USER], Some(&oauth.url("/introspect"))) else {
            return;
        };
        let token_url = oauth.url("/token");
        bad_bodies_name_the_field(&s, &token_url, &key);

        let p = create(
            &s,
            "/v1/oauth2/profiles",
            &profile_body(&token_url, &key, MAILBOX),
        );
        assert_eq!(
            (
                &p["client_id"],
                &p["subject"],
                &p["client_secret_set"],
                &p["flow"]
            ),
            (
                &json!(SA),
                &json!(MAILBOX),
                &json!(true),
                &json!("jwt_bearer")
            ),
            "{p}"
        );
        let profile = p["id"].as_i64().unwrap();
        let account = oauth_account(&s, "workspace", smtp.peer.port, profile, true);
        let inbound = create(
            &s,
            "/v1/inbound/accounts",
            &json!({"name": "bounces", "protocol": "imap", "host": "127.0.0.1",
                    "port": dovecot.ports.imap, "security": "none", "auth": "oauth2",
                    "username": MAILBOX, "oauth2_profile": profile}),
        )["id"]
            .as_i64()
            .unwrap();

        // "Renew authorization" signs an assertion; the peer verified it with PyJWT.
        let status = authorize(&s, profile);
        assert_eq!(
            (
                &status["valid"],
                &status["authorized_mailbox"],
                &status["needs_reauthorization"]
            ),
            (&json!(true), &json!(MAILBOX), &json!(false)),
            "{backend:?}: {status}"
        );
        let assertion = oauth.stats()["last_assertion"].clone();
        assert_eq!(assertion["header"]["alg"], json!("RS256"), "{assertion}");
        assert_eq!(
            assertion["header"]["kid"],
            json!("k-2025-12"),
            "{assertion}"
        );
        assert_eq!(
            (
                &assertion["claims"]["iss"],
                &assertion["claims"]["sub"],
                &assertion["claims"]["aud"]
            ),
            (&json!(SA), &json!(MAILBOX), &json!(token_url)),
            "{assertion}"
        );

        // SMTP and IMAP accept the token for the subject.
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{account}/test"),
            Some(&json!({"to": "office@sae.test"})),
        );
        assert_eq!(r.json(), json!({"ok": true}), "{backend:?}");
        assert_eq!(
            smtp.wait_for("office@sae.test")["auth_user"],
            json!(MAILBOX)
        );
        let r = s.admin(
            "POST",
            &format!("/v1/inbound/accounts/{inbound}/test"),
            None,
        );
        assert_eq!(r.json()["ok"], json!(true), "{backend:?}: {}", r.body);

        // The key is never answered, nor stored in clear.
        let listed = s.admin("GET", "/v1/oauth2/profiles", None).body;
        assert!(
            !listed.contains("PRIVATE KEY") && !listed.contains("private_key"),
            "{listed}"
        );
        if backend == Backend::Sqlite {
            let mut bytes = Vec::new();
            for file in ["sae.db", "sae.db-wal"] {
                bytes.extend(std::fs::read(s.dir.path().join(file)).unwrap_or_default());
            }
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("oauth2_profiles"), "the database was read");
            let pem: Value = serde_json::from_str(&key).unwrap();
            let pem_line = pem["private_key"].as_str().unwrap().lines().nth(1).unwrap();
            assert!(
                !text.contains("PRIVATE KEY") && !text.contains(pem_line),
                "the key is stored in clear"
            );
            for token in oauth.stats()["issued"].as_array().unwrap() {
                assert!(
                    !text.contains(token.as_str().unwrap()),
                    "a token is stored in clear"
                );
            }
        }

        // Another subject than the accounts' mailbox: reported, and its token not used.
        let mut body = profile_body(&token_url, &key, "other@sae.test");
        body.as_object_mut().unwrap().remove("service_account_key");
        let r = s.admin(
            "PUT",
            &format!("/v1/oauth2/profiles/{profile}"),
            Some(&body),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let status = authorize(&s, profile);
        let wrong = format!("authorised for other@sae.test, not {MAILBOX}");
        assert_eq!(status["needs_reauthorization"], json!(true), "{status}");
        assert_eq!(status["last_error"], json!(wrong), "{status}");
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{account}/test"),
            Some(&json!({"to": "second@sae.test"})),
        );
        let t = r.json();
        assert_eq!(t["ok"], json!(false), "{t}");
        assert!(t["error"].as_str().unwrap().contains(&wrong), "{t}");
    }
}
