//! OAuth2 flows end to end: token server peer + XOAUTH2-only SMTP peer.

use delivery::email::oauth2::{OAuth2Error, needs_refresh};
use delivery::email::smtp::send_mail;
use delivery::email::{Classified as _, DispatchError, ErrorClass, MailKind, OutgoingMail, send};
use serde_json::json;

use crate::peers::{OAuthPeer, SmtpPeer, now};
use crate::support::{
    MAILBOX, ProfileTokens, authorization_code_profile, authorize, client_credentials_profile,
    oauth_account, token_client,
};

fn code_mail() -> OutgoingMail {
    OutgoingMail::new(
        "user@example.org",
        "Your SAE code",
        "Your code is 482913",
        MailKind::Code,
    )
    .expect("valid mail")
}

/// Starts the token server and an XOAUTH2 SMTP peer checking tokens against it.
fn xoauth2_peers(error_style: &str) -> Option<(OAuthPeer, SmtpPeer)> {
    let oauth = OAuthPeer::start()?;
    let introspect = oauth.url("/introspect");
    let smtp = SmtpPeer::start(&[
        "--auth",
        "xoauth2",
        "--introspect",
        &introspect,
        "--xoauth2-errors",
        error_style,
    ])?;
    Some((oauth, smtp))
}

#[tokio::test]
async fn client_credentials_token_sends_through_xoauth2() {
    let Some((oauth, smtp)) = xoauth2_peers("plain") else {
        return;
    };
    let tokens = ProfileTokens::new(client_credentials_profile(&oauth), None);
    let account = oauth_account("m365-app", smtp.port(), MAILBOX);

    let sent = send(&account, &code_mail(), &tokens)
        .await
        .expect("delivered");

    assert!(sent.reply().starts_with("250"), "{}", sent.reply());
    assert!(!sent.refreshed_token());
    assert_eq!(oauth.grants("client_credentials").await, 1);
    assert_eq!(oauth.stats().await["last_client_auth"], "form");
    let token = tokens.token().await.expect("token stored");
    assert!(
        token.refresh_token().is_none(),
        "client credentials issue no refresh token"
    );
    assert!(token.expires_at().is_some_and(|at| at >= now() + 3000));
    let records = smtp.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["auth_user"], MAILBOX);
    assert_eq!(records[0]["to"], "user@example.org");
    assert_eq!(records[0]["subject"], "Your SAE code");
    assert!(records[0]["body"].as_str().unwrap().contains("482913"));
}

#[tokio::test]
async fn authorization_code_with_pkce_then_send() {
    let Some((oauth, smtp)) = xoauth2_peers("plain") else {
        return;
    };
    let profile = authorization_code_profile(&oauth);

    let token = authorize(&oauth, &profile, MAILBOX).await;

    let query = &oauth.stats().await["last_authorize"];
    assert_eq!(query["access_type"], "offline", "profile query kept");
    assert_eq!(query["prompt"], "consent", "profile query kept");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["login_hint"], MAILBOX);
    assert_eq!(
        query["scope"],
        "https://outlook.office.com/SMTP.Send offline_access"
    );
    assert!(
        token.refresh_token().is_some(),
        "authorization code flow issues a refresh token"
    );
    let tokens = ProfileTokens::new(profile, Some(token));
    let account = oauth_account("m365-user", smtp.port(), MAILBOX);
    send(&account, &code_mail(), &tokens)
        .await
        .expect("delivered");
    assert_eq!(tokens.renewals(), 0, "a fresh token is used as is");
    assert_eq!(smtp.records().len(), 1);
}

#[tokio::test]
async fn code_exchange_with_the_wrong_verifier_is_invalid_grant() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let profile = authorization_code_profile(&oauth);
    let request = profile.authorization_request_os(None).expect("request");
    let other = profile
        .authorization_request_os(None)
        .expect("another request");
    let location = oauth.follow_authorize(request.url().as_str()).await;
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    let err = token_client()
        .exchange_code(&profile, &code, other.pkce_verifier(), now())
        .await
        .expect_err("the peer checks the verifier");

    assert!(
        matches!(&err, OAuth2Error::InvalidGrant { description } if description.contains("code_verifier")),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_bound_to_another_mailbox_is_refused() {
    let Some((oauth, smtp)) = xoauth2_peers("plain") else {
        return;
    };
    let token = authorize(&oauth, &authorization_code_profile(&oauth), MAILBOX).await;
    let account = oauth_account("other-box", smtp.port(), "someone.else@sae.test");

    let err = send_mail(&account, &code_mail(), Some(token.access_token()))
        .await
        .expect_err("the token names another mailbox");

    assert!(err.is_authentication(), "{err}");
    assert!(smtp.records().is_empty());
}

#[tokio::test]
async fn expired_token_is_refreshed_before_sending() {
    let Some((oauth, smtp)) = xoauth2_peers("plain") else {
        return;
    };
    let profile = authorization_code_profile(&oauth);
    oauth.control(json!({"expires_in": 1})).await;
    let token = authorize(&oauth, &profile, MAILBOX).await;
    oauth.control(json!({"expires_in": 3600})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let account = oauth_account("m365-user", smtp.port(), MAILBOX);

    // The server really enforces the expiry…
    let err = send_mail(&account, &code_mail(), Some(token.access_token()))
        .await
        .expect_err("expired token refused");
    assert!(err.is_authentication(), "{err}");
    // …and the refresh rule catches it before use.
    assert!(needs_refresh(token.expires_at().expect("expiry"), now()));
    let old_refresh = token
        .refresh_token()
        .expect("refresh token")
        .expose()
        .to_owned();
    let tokens = ProfileTokens::new(profile, Some(token));

    let sent = send(&account, &code_mail(), &tokens)
        .await
        .expect("delivered");

    assert!(
        !sent.refreshed_token(),
        "refreshed before the first try, not after a refusal"
    );
    assert_eq!(tokens.renewals(), 1);
    assert_eq!(oauth.grants("refresh_token").await, 1);
    let renewed = tokens.token().await.expect("token");
    assert_eq!(
        renewed.refresh_token().map(|t| t.expose().to_owned()),
        Some(old_refresh),
        "without rotation the old refresh token is kept"
    );
    assert!(!renewed.needs_refresh(now()));
    assert_eq!(smtp.records().len(), 1);
}

#[tokio::test]
async fn revoked_token_is_refreshed_once_and_retried() {
    for style in ["plain", "challenge"] {
        let Some((oauth, smtp)) = xoauth2_peers(style) else {
            return;
        };
        let profile = authorization_code_profile(&oauth);
        let token = authorize(&oauth, &profile, MAILBOX).await;
        let old_refresh = token.refresh_token().expect("refresh").expose().to_owned();
        oauth
            .control(json!({"revoke": token.access_token().expose(), "rotate_refresh": true}))
            .await;
        let tokens = ProfileTokens::new(profile, Some(token));
        let account = oauth_account("m365-user", smtp.port(), MAILBOX);

        let sent = send(&account, &code_mail(), &tokens)
            .await
            .unwrap_or_else(|e| panic!("row {style}: {e}"));

        assert!(sent.refreshed_token(), "row {style}");
        assert_eq!(tokens.renewals(), 1, "row {style}: exactly one refresh");
        assert_eq!(oauth.grants("refresh_token").await, 1, "row {style}");
        let rotated = tokens.token().await.expect("token");
        let new_refresh = rotated.refresh_token().expect("rotated refresh").expose();
        assert_ne!(
            new_refresh, old_refresh,
            "row {style}: rotation replaces the refresh token"
        );
        assert_eq!(smtp.records().len(), 1, "row {style}");
    }
}

#[tokio::test]
async fn invalid_grant_is_its_own_error() {
    let Some((oauth, smtp)) = xoauth2_peers("plain") else {
        return;
    };
    let profile = authorization_code_profile(&oauth);
    let token = authorize(&oauth, &profile, MAILBOX).await;
    oauth
        .control(json!({"refresh_error": "invalid_grant"}))
        .await;

    let err = token_client()
        .refresh(&profile, &token, now())
        .await
        .expect_err("refused");
    assert!(matches!(err, OAuth2Error::InvalidGrant { .. }), "{err:?}");
    assert!(err.needs_reauthorization());
    assert!(!err.is_transient());

    // Through the dispatcher: the token is refused, the refresh fails with invalid_grant.
    oauth
        .control(json!({"revoke": token.access_token().expose()}))
        .await;
    let tokens = ProfileTokens::new(profile, Some(token));
    let account = oauth_account("m365-user", smtp.port(), MAILBOX);
    let err = send(&account, &code_mail(), &tokens)
        .await
        .expect_err("no usable token");
    // invalid_grant: no later attempt through this account will do better.
    assert_eq!(err.class(), ErrorClass::Permanent);
    let DispatchError::Token { source } = &err else {
        panic!("{err:?}")
    };
    let oauth_error = source
        .downcast_ref::<OAuth2Error>()
        .expect("the provider's error");
    assert!(oauth_error.needs_reauthorization(), "{oauth_error}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert!(smtp.records().is_empty());
}

#[tokio::test]
async fn provider_errors_keep_the_provider_text() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let settings = delivery::email::oauth2::ProfileSettings {
        authorization_url: None,
        token_url: oauth.url("/token"),
        redirect_url: None,
        client_id: crate::peers::CLIENT_ID.into(),
        client_secret: "wrong-secret".into(),
        scope: "x".into(),
        flow: delivery::email::oauth2::Flow::ClientCredentials,
    };
    let profile = delivery::email::oauth2::OAuth2Profile::new(settings).expect("valid");

    let err = token_client()
        .client_credentials(&profile, now())
        .await
        .expect_err("wrong secret");

    match &err {
        OAuth2Error::Provider {
            status,
            error,
            description,
        } => {
            assert_eq!((*status, error.as_str()), (401, "invalid_client"));
            assert!(description.contains("wrong secret"), "{description}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.needs_reauthorization());
}
