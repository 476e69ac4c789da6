//! OAuth2 health over HTTP: a token authorised for another mailbox than the account's (the
//! trap seeds 002 and 003 warn about) is reported as "authorised for b@…, not a@…", marked
//! as needing a new authorisation, never used, and shown in `/metrics`; signing in as the
//! right mailbox clears it. The provider is the OAuth2 peer of the delivery tests (its
//! id_token names the mailbox signed in as), the SMTP server its XOAUTH2 peer.

use serde_json::json;

use super::mail::{MAILBOX, create, oauth_account, peers};
use super::mail_peers::{CLIENT_ID, CLIENT_SECRET, get_url};
use crate::support::{Server, backends};

/// "Renew authorization" with `hint`, through the provider, back to the callback page.
fn authorise(s: &Server, profile: i64, hint: Option<&str>) -> String {
    let query = hint.map(|h| format!("?login_hint={h}")).unwrap_or_default();
    let r = s.admin(
        "POST",
        &format!("/v1/oauth2/profiles/{profile}/authorize{query}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.json()["authorization_url"].as_str().unwrap().to_owned();
    let provider = get_url(&url);
    assert_eq!(provider.status, 302, "{}", provider.body);
    get_url(provider.header("location").unwrap()).body
}

#[test]
fn an_authorisation_for_another_mailbox_is_reported_and_its_token_not_used() {
    for backend in backends() {
        let s = Server::start(backend);
        let Some((oauth, smtp)) = peers(&s) else {
            return;
        };
        let profile = create(
            &s,
            "/v1/oauth2/profiles",
            &json!({"name": "office", "authorization_url": oauth.url("/authorize"),
                    "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "flow": "authorization_code",
                    "scope": "openid email https://outlook.office.com/SMTP.Send offline_access"}),
        )["id"]
            .as_i64()
            .unwrap();
        let account = oauth_account(&s, "office", smtp.peer.port, profile, true);
        let page = authorise(&s, profile, Some("other@sae.test"));
        let wrong = format!("authorised for other@sae.test, not {MAILBOX}");
        assert!(page.contains(&wrong), "{backend:?}: {page}");
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{profile}"), None)
            .json();
        assert_eq!(p["needs_reauthorization"], json!(true), "{p}");
        assert_eq!(p["valid"], json!(false), "{p}");
        assert_eq!(p["authorized_mailbox"], json!("other@sae.test"), "{p}");
        assert_eq!(p["last_error"], json!(wrong), "{p}");
        let metrics = s.admin("GET", "/metrics", None).body;
        assert!(
            metrics.contains("sae_oauth2_needs_reauthorization{profile=\"office\"} 1"),
            "{metrics}"
        );
        // The token is not used: the test mail fails without reaching the server.
        let r = s.admin(
            "POST",
            &format!("/v1/smtp/accounts/{account}/test"),
            Some(&json!({"to": "office@sae.test"})),
        );
        let t = r.json();
        assert_eq!(t["ok"], json!(false), "{t}");
        assert!(
            t["error"].as_str().unwrap().contains(&wrong),
            "{backend:?}: {t}"
        );
        assert!(smtp.records().is_empty(), "nothing was sent");
        // Signing in as the account's mailbox (the default hint) clears it.
        let page = authorise(&s, profile, None);
        assert!(
            page.contains(&format!("authorised for {MAILBOX}")),
            "{page}"
        );
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{profile}"), None)
            .json();
        assert_eq!(
            (&p["needs_reauthorization"], &p["valid"]),
            (&json!(false), &json!(true)),
            "{p}"
        );
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
    }
}

/// Without an id_token (no `openid` scope) the provider does not say which mailbox it
/// authorised: SAE logs in to the account's SMTP server with the new token as the account's
/// username. The XOAUTH2 peer refuses a token issued for another subject, so signing in as
/// another mailbox gives the same "authorised for X, not Y" state.
#[test]
fn without_an_id_token_the_mailbox_is_checked_by_logging_in() {
    for backend in backends() {
        let s = Server::start(backend);
        let Some((oauth, smtp)) = peers(&s) else {
            return;
        };
        let profile = create(
            &s,
            "/v1/oauth2/profiles",
            &json!({"name": "office", "authorization_url": oauth.url("/authorize"),
                    "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "flow": "authorization_code",
                    "scope": "https://outlook.office.com/SMTP.Send offline_access"}),
        )["id"]
            .as_i64()
            .unwrap();
        oauth_account(&s, "office", smtp.peer.port, profile, true);
        let page = authorise(&s, profile, Some("other@sae.test"));
        let wrong = format!("authorised for other@sae.test, not {MAILBOX}");
        assert!(page.contains(&wrong), "{backend:?}: {page}");
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{profile}"), None)
            .json();
        assert_eq!(p["needs_reauthorization"], json!(true), "{p}");
        assert!(p["last_error"].as_str().unwrap().starts_with(&wrong), "{p}");
        // Signing in as the account's mailbox: the server takes the token.
        let page = authorise(&s, profile, None);
        assert!(
            page.contains(&format!("authorised for {MAILBOX}")),
            "{page}"
        );
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{profile}"), None)
            .json();
        assert_eq!(
            (&p["needs_reauthorization"], &p["valid"]),
            (&json!(false), &json!(true)),
            "{p}"
        );
        assert!(smtp.records().is_empty(), "the check sends nothing");
    }
}

/// The same check through IMAP when only an inbound account uses the profile: Dovecot's
/// `oauth2` passdb (asking the peer's introspection) refuses a token issued for another
/// subject than the account's username.
#[test]
fn without_an_smtp_account_the_mailbox_is_checked_over_imap() {
    for backend in backends() {
        let user = crate::dovecot::User {
            name: MAILBOX,
            password: "unused-imap-password",
        };
        let s = Server::start(backend);
        let Some((oauth, _smtp)) = peers(&s) else {
            return;
        };
        let Some(dovecot) =
            crate::dovecot::Dovecot::start(&[user], Some(&oauth.url("/introspect")))
        else {
            return;
        };
        let profile = create(
            &s,
            "/v1/oauth2/profiles",
            &json!({"name": "imap", "authorization_url": oauth.url("/authorize"),
                    "token_url": oauth.url("/token"), "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "flow": "authorization_code",
                    "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"}),
        )["id"]
            .as_i64()
            .unwrap();
        create(
            &s,
            "/v1/inbound/accounts",
            &json!({"name": "bounces", "protocol": "imap", "host": "127.0.0.1",
                    "port": dovecot.ports.imap, "security": "none", "auth": "oauth2",
                    "username": MAILBOX, "oauth2_profile": profile}),
        );
        let page = authorise(&s, profile, Some("other@sae.test"));
        let wrong = format!("authorised for other@sae.test, not {MAILBOX}");
        assert!(page.contains(&wrong), "{backend:?}: {page}");
        let page = authorise(&s, profile, Some(MAILBOX));
        assert!(
            page.contains(&format!("authorised for {MAILBOX}")),
            "{page}"
        );
        let p = s
            .admin("GET", &format!("/v1/oauth2/profiles/{profile}"), None)
            .json();
        assert_eq!(
            (&p["needs_reauthorization"], &p["valid"]),
            (&json!(false), &json!(true)),
            "{p}"
        );
    }
}
