//! SMTP authentication and TLS modes against the aiosmtpd peer.

use delivery::email::smtp::send_mail;
use delivery::email::{
    Classified as _, DispatchError, ErrorClass, MailKind, NoOAuth2, OutgoingMail, Security,
    SendError, SmtpAccount, SmtpAuth, send, send_test_mail,
};

use crate::peers::SmtpPeer;
use crate::support::plain_account;

const USER: &str = "relay-user";
const PASSWORD: &str = "relay-PASSWORD-42";

fn password_peer() -> Option<SmtpPeer> {
    SmtpPeer::start(&["--auth", "password", "--user", USER, "--password", PASSWORD])
}

fn password_account(port: u16, password: &str) -> SmtpAccount {
    let mut s = plain_account("relay", port);
    s.auth = SmtpAuth::Password {
        username: USER.into(),
        password: password.into(),
    };
    SmtpAccount::new(s).expect("valid account")
}

fn mail(kind: MailKind) -> OutgoingMail {
    OutgoingMail::new(
        "user@example.org",
        "Subject ✓",
        "Body line\r\ncode 604221",
        kind,
    )
    .expect("valid")
}

#[tokio::test]
async fn password_auth_sends_and_a_wrong_password_is_an_authentication_error() {
    let Some(smtp) = password_peer() else { return };

    let sent = send(
        &password_account(smtp.port(), PASSWORD),
        &mail(MailKind::Code),
        &NoOAuth2,
    )
    .await
    .expect("delivered");
    let err = send_mail(
        &password_account(smtp.port(), "wrong"),
        &mail(MailKind::Code),
        None,
    )
    .await
    .expect_err("wrong password");

    assert!(
        sent.reply().starts_with("250 OK queued"),
        "{}",
        sent.reply()
    );
    assert!(err.is_authentication(), "{err}");
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("535"), "{err}");
    let records = smtp.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["auth_user"], USER);
    assert_eq!(records[0]["subject"], "Subject ✓");
    assert!(records[0]["body"].as_str().unwrap().contains("code 604221"));
}

#[tokio::test]
async fn no_auth_sends_with_headers_and_read_receipts_only_on_notifications() {
    let Some(smtp) = SmtpPeer::start(&["--auth", "none"]) else {
        return;
    };
    let mut s = plain_account("relay", smtp.port());
    s.reply_to = Some("Help Desk <help@sae.test>".into());
    s.return_path = Some("bounces@sae.test".into());
    s.read_receipt_to = Some("receipts@sae.test".into());
    let account = SmtpAccount::new(s).expect("valid");

    send(&account, &mail(MailKind::Code), &NoOAuth2)
        .await
        .expect("code mail");
    send(&account, &mail(MailKind::Notification), &NoOAuth2)
        .await
        .expect("notification");

    let records = smtp.records();
    assert_eq!(records.len(), 2);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(
            record["mail_from"], "bounces@sae.test",
            "row {i}: return path"
        );
        assert_eq!(record["rcpt_tos"][0], "user@example.org", "row {i}");
        assert_eq!(record["headers"]["from"], "SAE <sae@sae.test>", "row {i}");
        assert_eq!(
            record["headers"]["reply-to"], "Help Desk <help@sae.test>",
            "row {i}"
        );
        assert_eq!(record["auth_user"], serde_json::Value::Null, "row {i}");
        assert_eq!(record["tls"], false, "row {i}");
    }
    assert!(
        records[0]["headers"]
            .get("disposition-notification-to")
            .is_none(),
        "a code mail never asks for a read receipt: {}",
        records[0]["headers"]
    );
    assert_eq!(
        records[1]["headers"]["disposition-notification-to"],
        "<receipts@sae.test>"
    );
}

#[tokio::test]
async fn tls_modes_refuse_a_self_signed_certificate_unless_told_to_ignore_it() {
    for (tls, security) in [
        ("starttls", Security::StartTls),
        ("implicit", Security::Tls),
    ] {
        let Some(smtp) = SmtpPeer::start(&["--auth", "none", "--tls", tls]) else {
            return;
        };
        let mut s = plain_account("tls-relay", smtp.port());
        s.security = security;

        let strict = SmtpAccount::new(s.clone()).expect("valid");
        let err = send(&strict, &mail(MailKind::Code), &NoOAuth2)
            .await
            .expect_err("untrusted cert");
        assert!(
            matches!(&err, DispatchError::Send(SendError::Tls { .. })),
            "row {tls}: {err}"
        );
        assert_eq!(err.class(), ErrorClass::Permanent, "row {tls}: {err}");
        assert!(
            err.to_string().contains("invalid peer certificate"),
            "row {tls}: {err}"
        );
        assert!(smtp.records().is_empty(), "row {tls}");

        s.ignore_cert_errors = true;
        let lax = SmtpAccount::new(s).expect("valid");
        send(&lax, &mail(MailKind::Code), &NoOAuth2)
            .await
            .unwrap_or_else(|e| panic!("row {tls}: {e}"));
        let records = smtp.records();
        assert_eq!(records.len(), 1, "row {tls}");
        assert_eq!(records[0]["tls"], true, "row {tls}: the mail went over TLS");
    }
}

#[tokio::test]
async fn required_starttls_is_never_skipped() {
    let Some(smtp) = SmtpPeer::start(&["--auth", "none"]) else {
        return;
    };
    let mut s = plain_account("relay", smtp.port());
    s.security = Security::StartTls;

    let err = send(
        &SmtpAccount::new(s).expect("valid"),
        &mail(MailKind::Code),
        &NoOAuth2,
    )
    .await
    .expect_err("the server offers no STARTTLS");

    assert!(
        matches!(&err, DispatchError::Send(SendError::Tls { .. })),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    assert!(smtp.records().is_empty());
}

#[tokio::test]
async fn test_configuration_reports_success_or_the_smtp_error() {
    let Some(smtp) = password_peer() else { return };

    let ok = send_test_mail(
        &password_account(smtp.port(), PASSWORD),
        "admin@sae.test",
        &NoOAuth2,
    )
    .await;
    let bad = send_test_mail(
        &password_account(smtp.port(), "nope"),
        "admin@sae.test",
        &NoOAuth2,
    )
    .await;

    assert!(ok.is_ok(), "{ok:?}");
    let text = bad.expect_err("wrong password").to_string();
    assert!(
        text.contains("535") && text.contains("Authentication"),
        "{text}"
    );
    let records = smtp.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["subject"], "SAE test mail (relay)");
    assert_eq!(records[0]["to"], "admin@sae.test");
}

#[tokio::test]
async fn a_refused_recipient_is_classified_as_such() {
    let Some(smtp) = SmtpPeer::start(&["--auth", "none", "--reject-rcpt", "user@example.org"])
    else {
        return;
    };
    let account = SmtpAccount::new(plain_account("relay", smtp.port())).expect("valid");

    let err = send(&account, &mail(MailKind::Code), &NoOAuth2)
        .await
        .expect_err("refused");

    assert_eq!(err.class(), ErrorClass::Recipient, "{err}");
    assert!(err.to_string().contains("5.1.1"), "{err}");
}

#[tokio::test]
async fn a_silent_server_is_given_up_on_after_the_timeout() {
    // A listener that accepts and never greets (no peer needed), for 30 s. Without the send
    // timeout the attempt would wait all that time; with it, it ends long before. This is a
    // liveness check with a wide margin, not a timing measurement.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().expect("accept");
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(socket);
    });
    let mut s = plain_account("silent", port);
    s.timeout = std::time::Duration::from_millis(300);
    let account = SmtpAccount::new(s).expect("valid");
    let started = std::time::Instant::now();

    let err = send(&account, &mail(MailKind::Code), &NoOAuth2)
        .await
        .expect_err("no greeting");

    assert_eq!(err.class(), ErrorClass::Timeout, "{err}");
    assert!(err.is_timeout() && err.is_transient(), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the send waited for the silent server instead of timing out: {:?}",
        started.elapsed()
    );
}
