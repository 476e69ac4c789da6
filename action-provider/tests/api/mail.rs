//! OAuth2 profiles, SMTP accounts and the e-mail channel, against the delivery crate's
//! Python OAuth2 and XOAUTH2 SMTP peers, on every backend.

use serde_json::{Value, json};

use super::mail_peers::{CLIENT_ID, CLIENT_SECRET, Peer, SmtpPeer, get_url, oauth_peer};
use crate::support::{Server, backends, closed_port};

pub(super) const MAILBOX: &str = "mailbox@sae.test";
const PASSWORD: &str = "smtp-pass-PLUGH";

pub(super) fn callback_url(s: &Server) -> String {
    format!("http://{}/v1/oauth2/callback", s.addr)
}

/// The OAuth2 peer for `s` and an XOAUTH2 SMTP peer checking its tokens (`None`: Python
/// peers unavailable and not required).
pub(super) fn peers(s: &Server) -> Option<(Peer, SmtpPeer)> {
    let oauth = oauth_peer(&callback_url(s))?;
    let smtp = SmtpPeer::xoauth2(&oauth)?;
    Some((oauth, smtp))
}

pub(super) fn create(s: &Server, path: &str, body: &Value) -> Value {
    let r = s.admin("POST", path, Some(body));
    assert_eq!(r.status, 201, "POST {path}: {}", r.body);
    r.json()
}

fn cc_profile(s: &Server, oauth: &Peer, name: &str) -> i64 {
    create(
        s,
        "/v1/oauth2/profiles",
        &json!({"name": name, "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "scope": "https://outlook.office365.com/.default",
                "flow": "client_credentials"}),
    )["id"]
        .as_i64()
        .unwrap()
}

pub(super) fn oauth_account(s: &Server, name: &str, port: u16, profile: i64, default: bool) -> i64 {
    create(
        s,
        "/v1/smtp/accounts",
        &json!({"name": name, "sender": "SAE <sae@sae.test>", "host": "127.0.0.1", "port": port,
                "security": "none", "auth": "oauth2", "username": MAILBOX,
                "oauth2_profile": profile, "default": default}),
    )["id"]
        .as_i64()
        .unwrap()
}

fn query_param(url: &str, key: &str) -> String {
    url.split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap()
        .to_owned()
}

#[test]
fn profiles_accounts_authorization_and_test_mail() {
    for backend in backends() {
        let s = Server::start(backend);
        let Some((oauth, smtp)) = peers(&s) else {
            return;
        };
        let presets = s.admin("GET", "/v1/oauth2/presets", None).json();
        assert_eq!(presets["items"].as_array().unwrap().len(), 4, "{presets}");

        // Client credentials: profile, account, test mail through XOAUTH2.
        let cc = cc_profile(&s, &oauth, "cc");
        let account = oauth_account(&s, "relay", smtp.peer.port, cc, true);
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{account}/test"),
            Some(&json!({"to": "admin@sae.test"})),
        );
        assert_eq!(
            (r.status, r.json()),
            (200, json!({"ok": true})),
            "{backend:?}"
        );
        smtp.wait_for("admin@sae.test");
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{cc}"), None)
            .json();
        assert_eq!(
            (&p["token_present"], &p["valid"], &p["client_secret_set"]),
            (&json!(true), &json!(true), &json!(true)),
            "{backend:?}: {p}"
        );
        assert!(
            p["expires_at"].is_string() && p["last_refresh_at"].is_string(),
            "{p}"
        );
        let r = s.admin("POST", &format!("/v1/oauth2/profiles/{cc}/authorize"), None);
        assert_eq!(r.json()["token_present"], json!(true), "{}", r.body);

        // PUT without the secret keeps it: a new token is still granted.
        let r = s.admin(
            "PUT",
            &format!("/v1/oauth2/profiles/{cc}"),
            Some(
                &json!({"name": "cc2", "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                         "client_secret": null, "scope": "https://outlook.office365.com/.default",
                         "flow": "client_credentials"}),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = s.admin("POST", &format!("/v1/oauth2/profiles/{cc}/authorize"), None);
        assert_eq!(
            (&r.json()["valid"], &r.json()["last_error"]),
            (&json!(true), &json!(null)),
            "{}",
            r.body
        );

        // Authorization code: authorize → provider → our callback.
        let ac = create(
            &s,
            "/v1/oauth2/profiles",
            &json!({"name": "ac", "authorization_url": oauth.url("/authorize"),
                    "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "flow": "authorization_code",
                    "scope": "https://outlook.office.com/SMTP.Send offline_access"}),
        );
        assert_eq!(ac["redirect_url"], json!(callback_url(&s)));
        let ac = ac["id"].as_i64().unwrap();
        let office = oauth_account(&s, "office", smtp.peer.port, ac, false);
        let r = s.admin("POST", &format!("/v1/oauth2/profiles/{ac}/authorize"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        let url = r.json()["authorization_url"].as_str().unwrap().to_owned();
        let provider = get_url(&url);
        assert_eq!(provider.status, 302, "{}", provider.body);
        let location = provider.header("location").unwrap().to_owned();
        let done = get_url(&location);
        assert_eq!(done.status, 200, "{backend:?}: {}", done.body);
        assert!(
            done.body.contains("authorised for mailbox@sae.test"),
            "{}",
            done.body
        );
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{ac}"), None)
            .json();
        assert_eq!(
            (
                &p["token_present"],
                &p["authorized_mailbox"],
                &p["needs_reauthorization"]
            ),
            (&json!(true), &json!(MAILBOX), &json!(false)),
            "{p}"
        );
        // The state is single use.
        assert_eq!(get_url(&location).status, 400);
        // The token works at the SMTP server for the mailbox it was issued for.
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{office}/test"),
            Some(&json!({"to": "office@sae.test"})),
        );
        assert_eq!(r.json(), json!({"ok": true}), "{backend:?}");
        assert_eq!(
            smtp.wait_for("office@sae.test")["auth_user"],
            json!(MAILBOX)
        );
        // A token close to expiry is refreshed before use, and the refreshed one works.
        oauth.post_json("/control", &json!({"expires_in": 60}));
        let before = oauth.stats()["grants"]["refresh_token"].as_u64().unwrap();
        let renew = |s: &Server| {
            let r = s.admin("POST", &format!("/v1/oauth2/profiles/{ac}/authorize"), None);
            let url = r.json()["authorization_url"].as_str().unwrap().to_owned();
            let location = get_url(&url).header("location").unwrap().to_owned();
            assert_eq!(get_url(&location).status, 200);
        };
        renew(&s);
        let test_mail = |to: &str| {
            s.admin(
                "POST",
                &format!("/v1/smtp/accounts/{office}/test"),
                Some(&json!({"to": to})),
            )
            .json()
        };
        assert_eq!(test_mail("r1@sae.test"), json!({"ok": true}), "{backend:?}");
        let after = oauth.stats()["grants"]["refresh_token"].as_u64().unwrap();
        assert_eq!(
            after,
            before + 1,
            "{backend:?}: one refresh before the send"
        );
        // A refused refresh (invalid_grant) marks the profile for re-authorization.
        oauth.post_json("/control", &json!({"refresh_error": "invalid_grant"}));
        let answer = test_mail("r2@sae.test");
        assert_eq!(answer["ok"], json!(false), "{answer}");
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{ac}"), None)
            .json();
        assert_eq!(
            (&p["needs_reauthorization"], &p["valid"]),
            (&json!(true), &json!(false)),
            "{backend:?}: {p}"
        );
        assert!(
            p["last_error"].as_str().unwrap().contains("invalid_grant"),
            "{p}"
        );
        // Authorising again clears the mark.
        oauth.post_json(
            "/control",
            &json!({"refresh_error": null, "expires_in": 3600}),
        );
        renew(&s);
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{ac}"), None)
            .json();
        assert_eq!(
            (&p["needs_reauthorization"], &p["last_error"]),
            (&json!(false), &json!(null)),
            "{p}"
        );

        // The provider's refusal is shown and recorded.
        let r = s.admin("POST", &format!("/v1/oauth2/profiles/{ac}/authorize"), None);
        let state = query_param(r.json()["authorization_url"].as_str().unwrap(), "state");
        let r = s.call(
            "GET",
            &format!(
                "/v1/oauth2/callback?error=access_denied&error_description=nope&state={state}"
            ),
            None,
            None,
        );
        assert_eq!(r.status, 400);
        assert!(r.body.contains("access_denied"), "{}", r.body);
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{ac}"), None)
            .json();
        assert!(
            p["last_error"].as_str().unwrap().contains("access_denied"),
            "{p}"
        );

        // A failing account answers the SMTP error with 200.
        let broken_port = closed_port();
        let broken = create(
            &s,
            "/v1/smtp/accounts",
            &json!({"name": "broken", "sender": "sae@sae.test", "host": "127.0.0.1",
                    "port": broken_port, "security": "starttls", "auth": "password",
                    "username": "u", "password": PASSWORD, "ignore_cert_errors": true}),
        );
        assert_eq!(broken["password_set"], json!(true));
        assert!(
            broken["warnings"][0]
                .as_str()
                .unwrap()
                .contains("ignore_cert_errors"),
            "{broken}"
        );
        let broken = broken["id"].as_i64().unwrap();
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{broken}/test"),
            Some(&json!({"to": "x@sae.test"})),
        );
        let answer = r.json();
        assert_eq!((r.status, &answer["ok"]), (200, &json!(false)), "{answer}");
        assert!(!answer["error"].as_str().unwrap().is_empty());
        // PUT without the password keeps it — on the same endpoint only.
        let r = s.admin(
            "PUT",
            &format!("/v1/smtp/accounts/{broken}"),
            Some(
                &json!({"name": "broken", "sender": "sae@sae.test", "host": "127.0.0.1",
                         "port": 2, "security": "none", "auth": "password", "username": "u"}),
            ),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("password")),
            "{}",
            r.body
        );
        let r = s.admin(
            "PUT",
            &format!("/v1/smtp/accounts/{broken}"),
            Some(
                &json!({"name": "broken", "sender": "sae@sae.test", "host": "127.0.0.1",
                         "port": broken_port, "security": "starttls", "auth": "password",
                         "username": "u"}),
            ),
        );
        assert_eq!(
            (r.status, &r.json()["password_set"], &r.json()["warnings"]),
            (200, &json!(true), &json!(null)),
            "{}",
            r.body
        );

        // Bad input names the field.
        let bad = [
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "a@b.c", "host": "h", "security": "ssl"}),
                "security",
            ),
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "not an address", "host": "h"}),
                "sender",
            ),
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "a@b.c", "host": "h", "auth": "oauth2", "username": "u"}),
                "oauth2_profile",
            ),
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "a@b.c", "host": "h", "auth": "oauth2", "username": "u", "oauth2_profile": 999}),
                "oauth2_profile",
            ),
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "a@b.c", "host": "h", "auth": "password", "username": "u"}),
                "password",
            ),
            (
                "/v1/smtp/accounts",
                json!({"name": "x", "sender": "a@b.c", "host": "h", "port": 0}),
                "port",
            ),
            (
                "/v1/oauth2/profiles",
                json!({"name": "p", "token_url": "ftp://x", "client_id": "c", "client_secret": "s", "scope": "a", "flow": "client_credentials"}),
                "token_url",
            ),
            (
                "/v1/oauth2/profiles",
                json!({"name": "p", "token_url": "https://x", "client_id": "c", "client_secret": "s", "scope": "a", "flow": "implicit"}),
                "flow",
            ),
            (
                "/v1/oauth2/profiles",
                json!({"name": "p", "token_url": "https://x", "client_id": "c", "scope": "a", "flow": "client_credentials"}),
                "client_secret",
            ),
            (
                "/v1/oauth2/profiles",
                json!({"name": "p", "token_url": "https://x", "client_id": "c", "client_secret": "s", "scope": "a", "flow": "authorization_code"}),
                "authorization_url",
            ),
        ];
        for (path, body, field) in bad {
            let r = s.admin("POST", path, Some(&body));
            // A well-formed reference to something that does not exist answers 404, naming
            // the field; every other bad field 400.
            let status = if body["oauth2_profile"] == json!(999) {
                404
            } else {
                400
            };
            assert_eq!(
                (r.status, r.json()["field"].clone()),
                (status, json!(field)),
                "{backend:?} {body}: {}",
                r.body
            );
        }
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{account}/test"),
            Some(&json!({"to": "not an address"})),
        );
        assert_eq!((r.status, r.json()["field"].clone()), (400, json!("to")));
        let r = s.admin(
            "POST",
            "/v1/oauth2/profiles",
            Some(&json!({"name": "ac", "token_url": "https://x",
            "client_id": "c", "client_secret": "s", "scope": "a", "flow": "client_credentials"})),
        );
        assert_eq!(r.status, 409, "{}", r.body);
        // A profile in use cannot be deleted.
        assert_eq!(
            s.admin("DELETE", &format!("/v1/oauth2/profiles/{ac}"), None)
                .status,
            409
        );

        // Setting a default demotes the other.
        let r = s.admin(
            "PUT",
            &format!("/v1/smtp/accounts/{office}"),
            Some(
                &json!({"name": "office", "sender": "SAE <sae@sae.test>", "host": "127.0.0.1",
                         "port": smtp.peer.port, "security": "none", "auth": "oauth2",
                         "username": MAILBOX, "oauth2_profile": ac, "default": true}),
            ),
        );
        assert_eq!(r.json()["default"], json!(true), "{}", r.body);
        let relay = s
            .admin("GET", &format!("/v1/smtp/accounts/{account}"), None)
            .json();
        assert_eq!(relay["default"], json!(false));

        // Deletion; the API description lists the routes.
        let r = s.admin("DELETE", &format!("/v1/smtp/accounts/{broken}"), None);
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(
            s.admin("GET", &format!("/v1/smtp/accounts/{broken}"), None)
                .status,
            404
        );
        let doc = s.call("GET", "/openapi.json", None, None).body;
        for route in [
            "/v1/oauth2/callback",
            "/v1/oauth2/profiles/{id}/authorize",
            "/v1/smtp/accounts/{id}/test",
        ] {
            assert!(doc.contains(route), "{route} missing from /openapi.json");
        }

        // Secrets are never answered, and never stored in clear.
        let profiles = s.admin("GET", "/v1/oauth2/profiles", None);
        let accounts = s.admin("GET", "/v1/smtp/accounts", None);
        assert_eq!(profiles.json()["items"].as_array().unwrap().len(), 2);
        assert_eq!(accounts.json()["items"].as_array().unwrap().len(), 2);
        for body in [&profiles.body, &accounts.body] {
            assert!(
                !body.contains(CLIENT_SECRET) && !body.contains(PASSWORD),
                "{body}"
            );
            assert!(!body.contains("\"client_secret\":") && !body.contains("\"password\":"));
            assert!(!body.contains("access_token") && !body.contains("refresh_token"));
        }
        if backend == crate::support::Backend::Sqlite {
            let mut bytes = Vec::new();
            for file in ["sae.db", "sae.db-wal"] {
                bytes.extend(std::fs::read(s.dir.path().join(file)).unwrap_or_default());
            }
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("oauth2_profiles"), "the database was read");
            assert!(!text.contains(CLIENT_SECRET), "client secret in clear");
            assert!(!text.contains(PASSWORD), "password in clear");
            let issued = oauth.stats()["issued"].as_array().unwrap().clone();
            assert!(!issued.is_empty(), "the provider issued tokens");
            for token in issued {
                let token = token.as_str().unwrap();
                assert!(
                    !text.contains(token),
                    "an access or refresh token is stored in clear"
                );
            }
        }
    }
}

fn digits_run(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() >= 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

#[test]
fn otp_by_email_is_delivered_through_the_fallback_account() {
    for backend in backends() {
        let s = Server::start(backend);
        let Some((oauth, smtp)) = peers(&s) else {
            return;
        };
        // The default account is down; the second active one delivers.
        create(
            &s,
            "/v1/smtp/accounts",
            &json!({"name": "down", "sender": "sae@sae.test", "host": "127.0.0.1",
                    "port": closed_port(), "security": "none", "default": true}),
        );
        let cc = cc_profile(&s, &oauth, "cc");
        oauth_account(&s, "up", smtp.peer.port, cc, false);
        create(
            &s,
            "/v1/users",
            &json!({"login": "ana", "email": "ana@example.org"}),
        );
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "ana", "channel": "email"})),
        );
        assert_eq!(r.status, 202, "{backend:?}: {}", r.body);
        let mail = smtp.wait_for("ana@example.org");
        assert_eq!(mail["headers"]["disposition-notification-to"], json!(null));
        let code = digits_run(mail["body"].as_str().unwrap());
        let check = || {
            let r = s.admin(
                "POST",
                "/v1/otp/validate",
                Some(&json!({"login": "ana", "code": code})),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let d = r.json();
            (d["valid"].clone(), d["reason"].clone())
        };
        assert_eq!(check(), (json!(true), json!(null)), "{backend:?}");
        // Used once: the second use is a replay.
        assert_eq!(
            check(),
            (json!(false), json!("replayed")),
            "{backend:?}: second use"
        );
    }
}

/// Attempts recorded for `request_id`, polled until at least `min` exist (30 s at most).
fn attempts_of(s: &Server, request_id: &str, min: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = s.admin(
            "GET",
            &format!("/v1/reports/deliveries?request_id={request_id}"),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.json()["items"].as_array().unwrap().clone();
        if items.len() >= min {
            return items;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {min} attempts for {request_id}: {items:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn request_email(s: &Server, login: &str) -> String {
    let r = s.admin(
        "POST",
        "/v1/otp/request",
        Some(&json!({"login": login, "channel": "email"})),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["request_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_forced_account_is_the_only_one_used_and_its_footer_ends_the_mail() {
    for backend in backends() {
        let s = Server::start(backend);
        let Some((oauth, smtp)) = peers(&s) else {
            return;
        };
        let cc = cc_profile(&s, &oauth, "cc");
        let relay = |port: u16, extra: Value| {
            let mut body = json!({"name": "relay", "sender": "SAE <sae@sae.test>",
                "host": "127.0.0.1", "port": port, "security": "none", "auth": "oauth2",
                "username": MAILBOX, "oauth2_profile": cc, "force_use": true});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };

        // Bad footers are refused, naming footer_text, and nothing is written.
        let long = "x".repeat(1001);
        for (name, extra) in [
            ("footer on without text", json!({"footer": true})),
            (
                "footer on with blank text",
                json!({"footer": true, "footer_text": " \r\n\t"}),
            ),
            (
                "escape sequence",
                json!({"footer_text": "Example\u{1b}[2J Corp"}),
            ),
            ("too long", json!({"footer": true, "footer_text": long})),
        ] {
            let r = s.admin(
                "POST",
                "/v1/smtp/accounts",
                Some(&relay(smtp.peer.port, extra)),
            );
            assert_eq!(r.status, 400, "{backend:?} {name}: {}", r.body);
            assert_eq!(r.json()["field"], "footer_text", "{backend:?} {name}");
        }
        let list = s.admin("GET", "/v1/smtp/accounts", None).json();
        assert_eq!(
            list["items"],
            json!([]),
            "{backend:?}: a refused account was stored"
        );

        // A working default account, and a forced relay with a footer (CR LF stored as LF).
        oauth_account(&s, "plain", smtp.peer.port, cc, true);
        let created = create(
            &s,
            "/v1/smtp/accounts",
            &relay(
                smtp.peer.port,
                json!({"footer": true, "footer_text": "Example Corp\r\nDo not reply.\n"}),
            ),
        );
        assert_eq!(created["footer_text"], "Example Corp\nDo not reply.");
        assert_eq!(created["force_use"], true);
        let relay_id = created["id"].as_i64().unwrap();
        for login in ["ana", "bob", "carl"] {
            create(
                &s,
                "/v1/users",
                &json!({"login": login, "email": format!("{login}@example.org")}),
            );
        }

        // The forced relay sends, not the default account; its footer ends the mail.
        let rid = request_email(&s, "ana");
        let mail = smtp.wait_for("ana@example.org");
        let body = mail["body"].as_str().unwrap().replace("\r\n", "\n");
        assert!(
            body.trim_end()
                .ends_with("\n\n-- \nExample Corp\nDo not reply."),
            "{backend:?}: {body:?}"
        );
        let attempts = attempts_of(&s, &rid, 1);
        assert!(
            attempts.iter().all(|a| a["broker"] == "relay"),
            "{backend:?}: {attempts:?}"
        );

        // A forced relay that is down is not replaced by the working default account.
        let r = s.admin(
            "PUT",
            &format!("/v1/smtp/accounts/{relay_id}"),
            Some(&relay(closed_port(), json!({}))),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["footer_text"], json!(null));
        let rid = request_email(&s, "bob");
        let attempts = attempts_of(&s, &rid, 1);
        assert!(
            attempts
                .iter()
                .all(|a| a["broker"] == "relay" && a["outcome"] == "failed"),
            "{backend:?}: {attempts:?}"
        );
        assert!(
            !smtp
                .records()
                .iter()
                .any(|m| m["rcpt_tos"].to_string().contains("bob@example.org")),
            "{backend:?}: bob's code left through an account that is not forced"
        );

        // Force off: the default account sends again, without a footer.
        let r = s.admin(
            "PUT",
            &format!("/v1/smtp/accounts/{relay_id}"),
            Some(&relay(closed_port(), json!({"force_use": false}))),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let rid = request_email(&s, "carl");
        let mail = smtp.wait_for("carl@example.org");
        assert!(
            !mail["body"].as_str().unwrap().contains("Example Corp"),
            "{backend:?}"
        );
        let attempts = attempts_of(&s, &rid, 1);
        assert_eq!(attempts[0]["broker"], "plain", "{backend:?}: {attempts:?}");
    }
}
