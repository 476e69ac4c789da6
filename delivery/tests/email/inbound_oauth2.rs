//! OAuth2 logins against a real Dovecot whose `oauth2` passdb checks bearer tokens at the
//! OAuth2 peer's introspection endpoint: XOAUTH2 and OAUTHBEARER over IMAP and POP3, a
//! revoked token and a token for another mailbox refused, the id_token's mailbox, and the
//! JWT bearer grant of a service account (the peer verifies the RS256 assertion with
//! PyJWT) whose token Dovecot accepts.

use delivery::email::inbound::{
    self, InboundAccount, InboundAuth, InboundError, OAuth2Mechanism, Protocol,
};
use delivery::email::oauth2::{
    Flow, IdTokenClaims, JwtBearerGrant, MailboxVerification, OAuth2Error, OAuth2Profile,
    ProfileSettings, ServiceAccountKey, verify_mailbox,
};
use delivery::email::{SecretString, Security};

use crate::dovecot::Dovecot;
use crate::inbound::{USER, account};
use crate::peers::{CLIENT_ID, CLIENT_SECRET, OAuthPeer, REDIRECT_URI, now};
use crate::service_account::service_account;
use crate::support::{authorize, token_client};

fn oauth2(mechanism: OAuth2Mechanism) -> InboundAuth {
    InboundAuth::OAuth2 {
        username: USER.name.into(),
        mechanism,
    }
}

/// The IMAPS account logging in with XOAUTH2.
fn imap_xoauth2(dovecot: &Dovecot) -> InboundAccount {
    account(
        dovecot.ports,
        Protocol::Imap,
        Security::Tls,
        oauth2(OAuth2Mechanism::XOAuth2),
        |_| {},
    )
}

/// A Google-like profile whose scope has `openid email`.
fn openid_profile(oauth: &OAuthPeer) -> OAuth2Profile {
    OAuth2Profile::new(ProfileSettings {
        authorization_url: Some(oauth.url("/authorize")),
        token_url: oauth.url("/token"),
        redirect_url: Some(REDIRECT_URI.into()),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scope: "openid email https://mail.google.com/".into(),
        flow: Flow::AuthorizationCode,
    })
    .expect("valid profile")
}

#[tokio::test]
async fn xoauth2_and_oauthbearer_log_in_over_imap_and_pop3() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let Some(dovecot) = Dovecot::start(&[USER], Some(&oauth.url("/introspect"))) else {
        return;
    };
    let token = authorize(&oauth, &openid_profile(&oauth), USER.name).await;
    let access = token.access_token();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        for mechanism in [OAuth2Mechanism::XOAuth2, OAuth2Mechanism::OAuthBearer] {
            for security in [Security::Tls, Security::StartTls] {
                let account = account(dovecot.ports, protocol, security, oauth2(mechanism), |_| {});
                inbound::test(&account, Some(access))
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "{protocol} {mechanism:?} {security:?}: {e}\n{}",
                            dovecot.log()
                        )
                    });
            }
        }
    }
    let account = imap_xoauth2(&dovecot);
    let err = inbound::test(&account, None).await.expect_err("no token");
    assert!(matches!(err, InboundError::MissingAccessToken), "{err}");
    assert!(
        !dovecot.log().contains(access.expose()),
        "the token is not in Dovecot's log"
    );
}

#[tokio::test]
async fn revoked_tokens_and_tokens_for_another_mailbox_are_refused() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let Some(dovecot) = Dovecot::start(&[USER], Some(&oauth.url("/introspect"))) else {
        return;
    };
    let profile = openid_profile(&oauth);

    // The administrator signed in as someone else: the id_token says so, and the
    // server refuses the token for the account's mailbox.
    let other = authorize(&oauth, &profile, "other@sae.test").await;
    let claims =
        IdTokenClaims::parse(other.id_token().expect("openid scope").expose()).expect("claims");
    let verification = verify_mailbox(USER.name, claims.mailbox().expect("email"));
    assert_eq!(
        verification.to_string(),
        "authorised for other@sae.test, not bounces@sae.test"
    );
    let right = authorize(&oauth, &profile, USER.name).await;
    let claims =
        IdTokenClaims::parse(right.id_token().expect("openid scope").expose()).expect("claims");
    assert_eq!(
        verify_mailbox(USER.name, claims.mailbox().expect("email")),
        MailboxVerification::Verified
    );

    for (protocol, mechanism) in [
        (Protocol::Imap, OAuth2Mechanism::XOAuth2),
        (Protocol::Imap, OAuth2Mechanism::OAuthBearer),
        (Protocol::Pop3, OAuth2Mechanism::XOAuth2),
        (Protocol::Pop3, OAuth2Mechanism::OAuthBearer),
    ] {
        let account = account(
            dovecot.ports,
            protocol,
            Security::Tls,
            oauth2(mechanism),
            |_| {},
        );
        let err = inbound::test(&account, Some(other.access_token()))
            .await
            .expect_err("a token for another mailbox");
        assert!(err.is_authentication(), "{protocol} {mechanism:?}: {err}");
        let text = err.to_string();
        assert!(!text.contains(other.access_token().expose()), "{text}");
        // A password is not a token (each passdb accepts only its own mechanisms).
        let err = inbound::test(&account, Some(&SecretString::from(USER.password)))
            .await
            .expect_err("a password as a token");
        assert!(err.is_authentication(), "{protocol} {mechanism:?}: {err}");
    }

    // Revoked: the server's SASL error challenge is answered and reported.
    oauth
        .control(serde_json::json!({"revoke": right.access_token().expose()}))
        .await;
    let imap = imap_xoauth2(&dovecot);
    let err = inbound::test(&imap, Some(right.access_token()))
        .await
        .expect_err("revoked");
    assert!(
        matches!(&err, InboundError::Authentication { text } if text.contains("challenge")),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_account_token_opens_the_mailbox_it_impersonates() {
    const SA: &str = "sae-relay@sae-test.iam.gserviceaccount.com";
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((json, public)) = service_account(dir.path(), SA) else {
        return;
    };
    let public = public.to_string_lossy().into_owned();
    let Some(oauth) = OAuthPeer::start_with(&[
        "--service-account-email",
        SA,
        "--service-account-public-key",
        &public,
    ]) else {
        return;
    };
    let Some(dovecot) = Dovecot::start(&[USER], Some(&oauth.url("/introspect"))) else {
        return;
    };
    let key = ServiceAccountKey::from_json(&json).expect("service account key");
    assert_eq!(key.key_id(), Some("k-2025-12"));
    assert!(
        !format!("{key:?}").contains("PRIVATE KEY"),
        "Debug hides the key"
    );
    let grant = JwtBearerGrant::new(
        key,
        &oauth.url("/token"),
        "https://mail.google.com/",
        USER.name,
    )
    .expect("grant");
    let token = token_client()
        .jwt_bearer(&grant, now())
        .await
        .expect("token");

    // The peer verified the RS256 signature with PyJWT and recorded what it checked.
    let stats = oauth.stats().await;
    let assertion = &stats["last_assertion"];
    assert_eq!(assertion["header"]["alg"], "RS256");
    assert_eq!(assertion["header"]["kid"], "k-2025-12");
    assert_eq!(assertion["claims"]["iss"], SA);
    assert_eq!(assertion["claims"]["sub"], USER.name);
    assert_eq!(assertion["claims"]["scope"], "https://mail.google.com/");
    assert_eq!(assertion["claims"]["aud"], oauth.url("/token"));

    // Dovecot accepts the token for the impersonated mailbox.
    let account = imap_xoauth2(&dovecot);
    inbound::test(&account, Some(token.access_token()))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", dovecot.log()));

    // A key the endpoint does not know: the signature check fails there.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let (other_json, _) = service_account(other_dir.path(), SA).expect("second key");
    let other = JwtBearerGrant::new(
        ServiceAccountKey::from_json(&other_json).expect("key"),
        &oauth.url("/token"),
        "https://mail.google.com/",
        USER.name,
    )
    .expect("grant");
    let err = token_client()
        .jwt_bearer(&other, now())
        .await
        .expect_err("wrong key");
    assert!(
        matches!(&err, OAuth2Error::InvalidGrant { description } if description.contains("Signature")),
        "{err}"
    );
}
