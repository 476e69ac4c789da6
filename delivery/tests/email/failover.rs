//! Failover across accounts, with attempt records.

use delivery::email::{
    AccountRole, ErrorClass, MailKind, NoOAuth2, Outcome, OutgoingMail, SmtpAccount,
    failover_order, send_with_failover,
};
use serde_json::json;

use crate::peers::{OAuthPeer, SmtpPeer};
use crate::ports::closed_port;
use crate::support::{
    MAILBOX, ProfileTokens, authorization_code_profile, authorize, oauth_account, plain_account,
};

fn mail() -> OutgoingMail {
    OutgoingMail::new(
        "user@example.org",
        "Code",
        "Your code is 112233",
        MailKind::Code,
    )
    .expect("valid")
}

#[tokio::test]
async fn default_account_down_the_next_active_one_delivers() {
    let Some(smtp) = SmtpPeer::start(&["--auth", "none"]) else {
        return;
    };
    // (account, active, default) as the server would load them.
    let accounts = [
        (
            SmtpAccount::new(plain_account("backup", smtp.port())).expect("valid"),
            true,
            false,
        ),
        (
            SmtpAccount::new(plain_account("disabled", smtp.port())).expect("valid"),
            false,
            false,
        ),
        (
            SmtpAccount::new(plain_account("primary", closed_port())).expect("valid"),
            true,
            true,
        ),
    ];
    let order = failover_order(&accounts, |(_, active, default)| AccountRole {
        active: *active,
        default: *default,
        forced: false,
    });

    let report = send_with_failover(order.into_iter().map(|(a, _, _)| a), &mail(), &NoOAuth2).await;

    let attempts = report.attempts();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].account(), "primary");
    assert_eq!(
        attempts[0].outcome(),
        Outcome::Failed(ErrorClass::Transient)
    );
    let error = attempts[0].error().expect("error text");
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
    assert_eq!(attempts[1].account(), "backup");
    assert_eq!(attempts[1].outcome(), Outcome::Delivered);
    assert!(attempts[1].reply().is_some_and(|r| r.starts_with("250")));
    assert!(attempts.iter().all(|a| !a.latency().is_zero()));
    assert_eq!(report.delivered_by(), Some("backup"));
    assert_eq!(report.final_failure(), None);
    assert_eq!(smtp.records().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_refused_recipient_stops_failover() {
    let Some(refusing) = SmtpPeer::start(&["--auth", "none", "--reject-rcpt", "user@example.org"])
    else {
        return;
    };
    let Some(other) = SmtpPeer::start(&["--auth", "none"]) else {
        return;
    };
    let accounts = [
        SmtpAccount::new(plain_account("first", refusing.port())).expect("valid"),
        SmtpAccount::new(plain_account("second", other.port())).expect("valid"),
    ];

    let report = send_with_failover(&accounts, &mail(), &NoOAuth2).await;

    assert_eq!(report.attempts().len(), 1, "{:?}", report.attempts());
    assert_eq!(report.final_failure(), Some(ErrorClass::Recipient));
    assert!(other.records().is_empty());
}

#[tokio::test]
async fn oauth2_account_needing_reauthorization_fails_over_to_a_password_less_relay() {
    let Some(oauth) = OAuthPeer::start() else {
        return;
    };
    let introspect = oauth.url("/introspect");
    let Some(xoauth) = SmtpPeer::start(&["--auth", "xoauth2", "--introspect", &introspect]) else {
        return;
    };
    let Some(relay) = SmtpPeer::start(&["--auth", "none"]) else {
        return;
    };
    let profile = authorization_code_profile(&oauth);
    let token = authorize(&oauth, &profile, MAILBOX).await;
    oauth
        .control(json!({"revoke": token.access_token().expose(), "refresh_error": "invalid_grant"}))
        .await;
    let tokens = ProfileTokens::new(profile, Some(token));
    let accounts = [
        oauth_account("m365", xoauth.port(), MAILBOX),
        SmtpAccount::new(plain_account("relay", relay.port())).expect("valid"),
    ];

    let report = send_with_failover(&accounts, &mail(), &tokens).await;

    let attempts = report.attempts();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        attempts[0].outcome(),
        Outcome::Failed(ErrorClass::Permanent),
        "invalid_grant: the token cannot come back without an administrator"
    );
    assert!(
        attempts[0]
            .error()
            .is_some_and(|e| e.contains("invalid_grant")),
        "{attempts:?}"
    );
    assert_eq!(report.delivered_by(), Some("relay"));
    assert_eq!(relay.records().len(), 1);
    assert!(xoauth.records().is_empty());
}
