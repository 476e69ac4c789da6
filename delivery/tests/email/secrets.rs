//! `Debug` of configurations, tokens, requests, errors and reports never shows a secret.

use delivery::email::oauth2::{OAuth2Profile, ProfileSettings, Token};
use delivery::email::{
    MailKind, NoOAuth2, OutgoingMail, SmtpAccount, SmtpAuth, send, send_with_failover,
};
use serde_json::json;

use crate::peers::{CLIENT_SECRET, OAuthPeer, SmtpPeer};
use crate::support::{
    MAILBOX, ProfileTokens, authorization_code_profile, authorize, oauth_account, plain_account,
};

const PASSWORD: &str = "smtp-PASSWORD-do-not-print";

fn assert_hidden(shown: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !shown.contains(secret),
            "secret {secret:?} leaked in:\n{shown}"
        );
    }
}

#[tokio::test]
async fn debug_output_never_contains_secrets() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let introspect = oauth.url("/introspect");
    let Some(smtp) = SmtpPeer::start(&["--auth", "xoauth2", "--introspect", &introspect]) else {
        return;
    };
    let profile = authorization_code_profile(&oauth);
    let request = profile
        .authorization_request_os(Some(MAILBOX))
        .expect("request");
    let token = authorize(&oauth, &profile, MAILBOX).await;
    let access = token.access_token().expose().to_owned();
    let refresh = token.refresh_token().expect("refresh").expose().to_owned();
    let verifier = request.pkce_verifier().expose().to_owned();
    let secrets = [
        CLIENT_SECRET,
        access.as_str(),
        refresh.as_str(),
        verifier.as_str(),
        PASSWORD,
    ];

    let settings = ProfileSettings {
        authorization_url: profile.authorization_url().map(ToString::to_string),
        token_url: profile.token_url().to_string(),
        redirect_url: profile.redirect_url().map(ToString::to_string),
        client_id: profile.client_id().into(),
        client_secret: CLIENT_SECRET.into(),
        scope: profile.scope(),
        flow: profile.flow(),
    };
    let rebuilt = Token::new(
        token.access_token().clone(),
        token.refresh_token().cloned(),
        token.expires_at(),
    );
    let mut password_settings = plain_account("relay", smtp.port());
    password_settings.auth = SmtpAuth::Password {
        username: "u".into(),
        password: PASSWORD.into(),
    };
    let password_account = SmtpAccount::new(password_settings.clone()).expect("valid");
    let mail =
        OutgoingMail::new("user@example.org", "s", "code 777111", MailKind::Code).expect("valid");

    // Errors that pass secrets around: the server refuses the password account (XOAUTH2 only),
    // and a revoked token whose refresh fails.
    let password_error = send(&password_account, &mail, &NoOAuth2)
        .await
        .expect_err("no PLAIN offered");
    oauth
        .control(json!({"revoke": access, "refresh_error": "invalid_grant"}))
        .await;
    let tokens = ProfileTokens::new(
        OAuth2Profile::new(settings.clone()).expect("valid"),
        Some(token.clone()),
    );
    let accounts = [
        oauth_account("m365", smtp.port(), MAILBOX),
        password_account.clone(),
    ];
    let report = send_with_failover(&accounts, &mail, &tokens).await;
    assert_eq!(report.attempts().len(), 2);

    let shown = format!(
        "{settings:?}\n{profile:?}\n{request:?}\n{token:?}\n{rebuilt:#?}\n{password_settings:?}\n\
         {password_account:#?}\n{mail:?}\n{password_error:?} {password_error}\n{report:#?}"
    );
    assert_hidden(&shown, &secrets);
    assert!(
        !shown.contains("777111"),
        "a code mail body leaked:\n{shown}"
    );
    // The output is not empty-handed: it does show the non-secret fields.
    assert!(shown.contains(crate::peers::CLIENT_ID) && shown.contains("<redacted>"));
}
