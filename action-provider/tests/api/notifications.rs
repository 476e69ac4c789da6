//! Notifications over HTTP: a locked user is mailed to the recipients through the default
//! account (an aiosmtpd peer), with `Disposition-Notification-To` because the account asks
//! for read confirmation, at most once per interval per user.

use serde_json::json;

use super::mail_peers::SmtpPeer;
use crate::support::{Server, backends};

/// Locks `login` with two wrong passwords (the tests set lockout after two attempts) and
/// checks the user is locked.
pub(super) fn lock(s: &Server, login: &str) {
    for _ in 0..2 {
        let r = s.admin(
            "POST",
            "/v1/auth/password",
            Some(&json!({"login": login, "password": "wrong password 1"})),
        );
        assert_eq!(r.json()["valid"], json!(false), "{}", r.body);
    }
    let u = s.admin("GET", &format!("/v1/users/{login}"), None).json();
    assert_eq!(u["status"], json!("locked"), "{u}");
}

#[test]
fn a_locked_user_is_notified_once_per_interval_with_a_read_receipt_request() {
    let Some(smtp) = SmtpPeer::open() else { return };
    for backend in backends() {
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/smtp/accounts",
            Some(&json!({"name": "out", "default": true, "sender": "sae@example.com",
                         "confirmation_address": "receipts@example.com", "read_confirmation": true,
                         "host": "127.0.0.1", "port": smtp.peer.port, "security": "none", "auth": "none"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let ops = format!("ops-{backend:?}@example.com").to_lowercase();
        for (body, field) in [
            (
                json!({"recipients": ["not an address"], "events": ["user_locked"], "min_interval_s": 3600}),
                "recipients[0]",
            ),
            (
                json!({"recipients": [ops], "events": ["user_locked"], "min_interval_s": 5}),
                "min_interval_s",
            ),
        ] {
            let r = s.admin("PUT", "/v1/notifications", Some(&body));
            assert_eq!(r.status, 400, "{}", r.body);
            assert_eq!(r.json()["field"], json!(field), "{}", r.body);
        }
        let r = s.admin(
            "PUT",
            "/v1/notifications",
            Some(&json!({"recipients": [ops], "events": ["user_locked"], "min_interval_s": 3600})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = s.admin(
            "PUT",
            "/v1/config/lockout",
            Some(
                &json!({"enabled": true, "attempts": 2, "block_type": "permanent",
                         "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}}),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        for login in ["ana", "bia"] {
            let r = s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": login, "password": "Correct horse 9 battery"})),
            );
            assert_eq!(r.status, 201, "{}", r.body);
        }
        lock(&s, "ana");
        let mail = smtp.wait_for(&ops);
        assert!(mail["subject"].as_str().unwrap().contains("ana"), "{mail}");
        assert!(mail["body"].as_str().unwrap().contains("locked"), "{mail}");
        assert_eq!(
            mail["headers"]["disposition-notification-to"],
            json!("<receipts@example.com>"),
            "{mail}"
        );
        // Locked again within the interval: not notified again. Then another user is;
        // notifications go out in order, so once bia's has arrived, a second one for ana
        // would have too.
        let r = s.admin("POST", "/v1/users/ana/unlock", None);
        assert!(r.status < 300, "{}", r.body);
        lock(&s, "ana");
        lock(&s, "bia");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let to_ops = loop {
            let to_ops: Vec<_> = smtp
                .records()
                .into_iter()
                .filter(|r| {
                    r["rcpt_tos"]
                        .as_array()
                        .is_some_and(|a| a.contains(&json!(ops)))
                })
                .collect();
            if to_ops
                .iter()
                .any(|r| r["subject"].as_str().unwrap().contains("bia"))
            {
                break to_ops;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no notification for bia"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let about_ana = to_ops
            .iter()
            .filter(|r| r["subject"].as_str().unwrap().contains("ana"))
            .count();
        assert_eq!(about_ana, 1, "{to_ops:?}");
    }
}
