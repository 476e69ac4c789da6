//! The bounce storm notification: with `bounce_storm` asked for and a threshold of two,
//! two code mails whose real RFC 3464 bounces land in a Dovecot mailbox make one check
//! queue a notification, which the notification sender mails to the recipient through the
//! default account (an aiosmtpd peer) with the count in its text; a third bounce within the
//! interval is not mailed again.

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
                &json!({"recipients": [ops], "events": ["bounce_storm", "user_locked"], "min_interval_s": 3600,
                         "bounce_storm_count": 2, "bounce_storm_window_s": 600}),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        for n in 0..2 {
            bounce_a_code(&s, &smtp, &dovecot, &format!("storm{n}-{backend:?}"));
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
        // A third bounce within the interval: still a storm, but not mailed again. Then a
        // user is locked; notifications go out in order, so once that mail has arrived, a
        // second storm mail would have too.
        bounce_a_code(&s, &smtp, &dovecot, &format!("storm2-{backend:?}"));
        let r = s.admin(
            "POST",
            &format!("/v1/inbound/accounts/{inbound}/check"),
            None,
        );
        assert_eq!(r.json()["bounces"], json!(1), "{}", r.body);
        lock_a_user(&s, &format!("locked-{backend:?}").to_lowercase());
        let to_ops = |needle: &str| {
            smtp.records()
                .into_iter()
                .filter(|r| {
                    r["rcpt_tos"]
                        .as_array()
                        .is_some_and(|a| a.contains(&json!(ops)))
                        && r["subject"].as_str().unwrap_or("").contains(needle)
                })
                .count()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while to_ops("locked-") == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no notification for the locked user: {:?}",
                smtp.records()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(to_ops("bounce storm"), 1, "one storm mail per interval");
    }
}

/// A user `login` gets an e-mail code whose real RFC 3464 bounce lands in the mailbox.
fn bounce_a_code(s: &Server, smtp: &SmtpPeer, dovecot: &Dovecot, login: &str) {
    let login = login.to_lowercase();
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
        s,
        &format!("/v1/reports/deliveries?request_id={rid}"),
        |v| v["items"][0]["outcome"] == json!("delivered"),
    );
    dovecot.deliver(MAILBOX.name, &dsn(&verp, &email, &message_id));
}

/// Locks a new user `login` with two wrong passwords (lockout after two attempts).
fn lock_a_user(s: &Server, login: &str) {
    let r = s.admin(
        "PUT",
        "/v1/config/lockout",
        Some(
            &json!({"enabled": true, "attempts": 2, "block_type": "permanent",
                     "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.admin(
        "POST",
        "/v1/users",
        Some(&json!({"login": login, "password": "Correct horse 9 battery"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    super::notifications::lock(s, login);
}
