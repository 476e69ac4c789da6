//! The bounce storm notification: with `bounce_storm` asked for and a threshold of two,
//! two code mails whose real RFC 3464 bounces land in a Dovecot mailbox make one check
//! queue a notification, which the notification sender mails to the recipient through the
//! default account (an aiosmtpd peer) with the count in its text.

use serde_json::json;

use super::inbound::{MAILBOX, configure, dsn, wait_for};
use super::mail_peers::SmtpPeer;
use crate::dovecot::Dovecot;
use crate::support::{Peer, Server, backends, python};

#[test]
fn two_bounces_within_the_window_notify_a_bounce_storm() {
    let Some(py) = python() else { return };
    let Some(dovecot) = Dovecot::start(&[MAILBOX], None) else {
        return;
    };
    let Some(smtp) = SmtpPeer::open() else { return };
    for backend in backends() {
        let sms = Peer::start(&py, "rest_peer.py", &[]);
        let s = Server::start(backend);
        let inbound = configure(&s, &smtp, &sms, &dovecot);
        let ops = format!("storm-ops-{backend:?}@example.com").to_lowercase();
        for (body, field) in [
            (json!({"bounce_storm_count": 1}), "bounce_storm_count"),
            (
                json!({"bounce_storm_window_s": 86_401}),
                "bounce_storm_window_s",
            ),
        ] {
            let mut settings = json!({"recipients": [ops], "events": ["bounce_storm"],
                                      "min_interval_s": 3600});
            settings
                .as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            let r = s.admin("PUT", "/v1/notifications", Some(&settings));
            assert_eq!(r.status, 400, "{}", r.body);
            assert_eq!(r.json()["field"], json!(field), "{}", r.body);
        }
        let r = s.admin("GET", "/v1/notifications", None).json();
        assert_eq!(
            (&r["bounce_storm_count"], &r["bounce_storm_window_s"]),
            (&json!(10), &json!(600)),
            "the documented defaults: {r}"
        );
        let r = s.admin(
            "PUT",
            "/v1/notifications",
            Some(
                &json!({"recipients": [ops], "events": ["bounce_storm"], "min_interval_s": 3600,
                         "bounce_storm_count": 2, "bounce_storm_window_s": 600}),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        for n in 0..2 {
            let login = format!("storm{n}-{backend:?}").to_lowercase();
            let email = format!("{login}@example.net");
            let r = s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": login, "email": email})),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            let r = s.admin(
                "POST",
                "/v1/otp/request",
                Some(&json!({"login": login, "channel": "email"})),
            );
            assert_eq!(r.status, 202, "{}", r.body);
            let rid = r.json()["request_id"].as_str().unwrap().to_owned();
            let mail = smtp.wait_for(&email);
            let message_id = mail["headers"]["message-id"].as_str().unwrap().to_owned();
            let verp = mail["mail_from"].as_str().unwrap().to_owned();
            wait_for(
                &s,
                &format!("/v1/reports/deliveries?request_id={rid}"),
                |v| v["items"][0]["outcome"] == json!("delivered"),
            );
            dovecot.deliver(MAILBOX.name, &dsn(&verp, &email, &message_id));
        }
        let r = s.admin(
            "POST",
            &format!("/v1/inbound/accounts/{inbound}/check"),
            None,
        );
        assert_eq!(r.json()["bounces"], json!(2), "{}", r.body);
        let mail = smtp.wait_for(&ops);
        let subject = mail["subject"].as_str().unwrap();
        assert!(subject.contains("bounce storm"), "{mail}");
        let body = mail["body"].as_str().unwrap();
        assert!(
            body.contains("2 e-mail codes bounced in the last 600 seconds"),
            "{mail}"
        );
    }
}
