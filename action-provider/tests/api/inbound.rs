//! The bounce path end to end, with peers nobody here wrote: a code mail goes out through
//! an aiosmtpd SMTP server with SAE's tracked Message-ID and VERP return path; the test
//! delivers the RFC 3464 report a Postfix would write into a real Dovecot mailbox; "check
//! now" over IMAP reads it; the delivery report says `bounced` with the status and
//! diagnostic, the user's address is flagged, and — fallback on — the code arrives by SMS at
//! a real HTTP broker and validates once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::mail_peers::SmtpPeer;
use crate::dovecot::{Dovecot, User};
use crate::support::{Peer, Server, backends, python};

pub(super) const MAILBOX: User = User {
    name: "bounces@example.com",
    password: "imap-SECRET-pw",
};

/// A Postfix-style RFC 3464 report: `recipient` failed with 5.1.1; the original's headers
/// (with its Message-ID) follow; addressed to the VERP return path `to`.
pub(super) fn dsn(to: &str, recipient: &str, message_id: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\n\
         From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
         To: {to}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Auto-Submitted: auto-replied\r\n\
         Message-ID: <dsn.{n}@mx.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B0UND\"\r\n\
         \r\n\
         --B0UND\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         I'm sorry to have to inform you that your message could not be delivered.\r\n\
         <{recipient}>: host mx.example.net said: 550 5.1.1 <{recipient}>: Recipient\r\n\
         \x20   address rejected: User unknown in virtual mailbox table\r\n\
         \r\n\
         --B0UND\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         \r\n\
         Final-Recipient: rfc822; {recipient}\r\n\
         Original-Recipient: rfc822;{recipient}\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Remote-MTA: dns; mx.example.net\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:\r\n\
         \x20   User unknown in virtual mailbox table\r\n\
         \r\n\
         --B0UND\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         From: sae@example.com\r\n\
         To: {recipient}\r\n\
         Subject: Your verification code\r\n\
         Message-ID: {message_id}\r\n\
         \r\n\
         --B0UND--\r\n",
        n = message_id.len() + recipient.len(),
    )
    .into_bytes()
}

/// GETs `path` until `done` holds (30 s at most); returns the last answer.
pub(super) fn wait_for(s: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = s.admin("GET", path, None).json();
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path}: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn code_of(call: &Value) -> String {
    let body: Value = serde_json::from_str(call["body"].as_str().unwrap()).unwrap();
    let text = body["text"].as_str().unwrap();
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(runs.len(), 1, "one run of digits in {text:?}");
    runs[0].to_owned()
}

pub(super) fn configure(s: &Server, smtp: &SmtpPeer, sms: &Peer, dovecot: &Dovecot) -> i64 {
    let broker = json!({
        "primary": {"kind": "rest", "url": format!("http://127.0.0.1:{}/none/ok", sms.port),
                    "method": "POST", "authorization": "none",
                    "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 3000},
        "broker2": {"mode": "none"}
    });
    let r = s.admin("PUT", "/v1/delivery/sms", Some(&broker));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.admin(
        "POST",
        "/v1/smtp/accounts",
        Some(
            &json!({"name": "out", "default": true, "sender": "sae@example.com",
                     "return_path": "bounces+sae@example.com", "host": "127.0.0.1",
                     "port": smtp.peer.port, "security": "none", "auth": "none"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.admin(
        "POST",
        "/v1/inbound/accounts",
        Some(
            &json!({"name": "bounces", "protocol": "imap", "host": "127.0.0.1",
                     "port": dovecot.ports.imap, "security": "none",
                     "username": MAILBOX.name, "password": MAILBOX.password}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.contains(MAILBOX.password), "{}", r.body);
    let r = s.admin(
        "PUT",
        "/v1/delivery/email",
        Some(&json!({"fallback_to_sms": true})),
    );
    assert_eq!(r.json(), json!({"fallback_to_sms": true}));
    s.admin("GET", "/v1/inbound/accounts", None).json()["items"][0]["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_bounce_in_dovecot_flips_the_report_and_the_code_arrives_by_sms() {
    let Some(py) = python() else { return };
    let Some(dovecot) = Dovecot::start(&[MAILBOX], None) else {
        return;
    };
    let Some(smtp) = SmtpPeer::open() else { return };
    for backend in backends() {
        let sms = Peer::start(&py, "rest_peer.py", &[]);
        let s = Server::start(backend);
        let inbound = configure(&s, &smtp, &sms, &dovecot);
        let login = format!("bouncer-{backend:?}").to_lowercase();
        let email = format!("{login}@example.net");
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": login, "email": email, "mobile": "+55 11 91234-5678"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": login, "channel": "email"})),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let rid = r.json()["request_id"].as_str().unwrap().to_owned();

        // The code mail carries the request in its Message-ID and VERP return path.
        let mail = smtp.wait_for(&email);
        let message_id = mail["headers"]["message-id"].as_str().unwrap().to_owned();
        assert!(
            message_id.starts_with(&format!("<sae.{rid}.1.")),
            "{message_id}"
        );
        let verp = format!("bounces+sae={rid}=1@example.com");
        assert_eq!(mail["mail_from"], json!(verp));
        let report = format!("/v1/reports/deliveries?request_id={rid}");
        wait_for(&s, &report, |v| {
            v["items"][0]["outcome"] == json!("delivered")
        });

        dovecot.deliver(MAILBOX.name, &dsn(&verp, &email, &message_id));
        let path = format!("/v1/inbound/accounts/{inbound}/check");
        let r = s.admin("POST", &path, None);
        assert_eq!(r.status, 200, "{}", r.body);
        let checked = r.json();
        assert_eq!(checked["ok"], json!(true), "{checked}");
        assert_eq!(checked["bounces"], json!(1), "{checked}");
        assert_eq!(checked["sms_fallbacks"], json!(1), "{checked}");

        let rep = s.admin("GET", &report, None).json();
        let mailed = &rep["items"][0];
        assert_eq!(mailed["channel"], json!("email"), "{rep}");
        assert_eq!(mailed["outcome"], json!("bounced"), "{rep}");
        assert_eq!(mailed["bounce_status"], json!("5.1.1"), "{rep}");
        let diagnostic = mailed["bounce_diagnostic"].as_str().unwrap();
        assert!(diagnostic.contains("User unknown"), "{diagnostic}");
        let user = s.admin("GET", &format!("/v1/users/{login}"), None).json();
        assert_eq!(user["email_bouncing"]["status"], json!("5.1.1"), "{user}");

        // The same request's code, by SMS; it validates once.
        let deadline = Instant::now() + Duration::from_secs(30);
        let call = loop {
            let calls = sms.get("/_calls").as_array().cloned().unwrap_or_default();
            if let Some(c) = calls
                .into_iter()
                .find(|c| c["body"].as_str().unwrap_or("").contains("5511912345678"))
            {
                break c;
            }
            assert!(Instant::now() < deadline, "no SMS arrived");
            std::thread::sleep(Duration::from_millis(50));
        };
        let code = code_of(&call);
        let body = json!({"login": login, "code": code, "request_id": rid});
        let v = s.admin("POST", "/v1/otp/validate", Some(&body));
        assert_eq!(v.json(), json!({"valid": true}), "{backend:?}");
        let v = s.admin("POST", "/v1/otp/validate", Some(&body)).json();
        assert_eq!(v["valid"], json!(false), "used once: {v}");
        let rep = wait_for(&s, &report, |v| {
            v["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|a| a["channel"] == json!("sms")))
        });
        assert!(
            !rep.to_string().contains(&code),
            "reports never show the code"
        );

        // Processed once: the next check finds nothing new.
        let again = s.admin("POST", &path, None).json();
        assert_eq!(again["fetched"], json!(0), "{again}");
        // A new address is not bouncing.
        let r = s.admin(
            "PATCH",
            &format!("/v1/users/{login}"),
            Some(&json!({"email": format!("new-{email}")})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.json().get("email_bouncing").is_none(), "{}", r.body);
        let shown = s.admin("GET", &format!("/v1/inbound/accounts/{inbound}"), None);
        assert!(!shown.body.contains(MAILBOX.password), "{}", shown.body);
    }
}
