//! Tests of the parent module.

use super::*;

fn body(v: serde_json::Value) -> AccountBody {
    serde_json::from_value(v).unwrap()
}

fn field_of(e: &ServiceError) -> Option<String> {
    match e {
        ServiceError::Invalid(list) => Some(list.first().field.clone()),
        _ => None,
    }
}

#[test]
fn account_checks_name_the_offending_field() {
    let base = serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h"});
    let rows: &[(&str, serde_json::Value, bool, Option<&str>)] = &[
        ("minimal", serde_json::json!({}), false, None),
        (
            "bad name",
            serde_json::json!({"name": " a"}),
            false,
            Some("name"),
        ),
        (
            "bad host",
            serde_json::json!({"host": "a b"}),
            false,
            Some("host"),
        ),
        (
            "port 0",
            serde_json::json!({"port": 0}),
            false,
            Some("port"),
        ),
        (
            "security",
            serde_json::json!({"security": "ssl"}),
            false,
            Some("security"),
        ),
        (
            "auth",
            serde_json::json!({"auth": "kerberos"}),
            false,
            Some("auth"),
        ),
        (
            "no password",
            serde_json::json!({"auth": "password", "username": "u"}),
            false,
            Some("password"),
        ),
        (
            "stored password",
            serde_json::json!({"auth": "password", "username": "u"}),
            true,
            None,
        ),
        (
            "no username",
            serde_json::json!({"auth": "password", "password": "p"}),
            false,
            Some("username"),
        ),
        (
            "no profile",
            serde_json::json!({"auth": "oauth2", "username": "u"}),
            false,
            Some("oauth2_profile"),
        ),
        (
            "stray profile",
            serde_json::json!({"oauth2_profile": 1}),
            false,
            Some("oauth2_profile"),
        ),
        (
            "reply_to",
            serde_json::json!({"reply_to": "nope"}),
            false,
            Some("reply_to"),
        ),
        (
            "confirmation",
            serde_json::json!({"confirmation_address": "nope"}),
            false,
            Some("confirmation_address"),
        ),
    ];
    for (name, patch, stored, want) in rows {
        let mut v = base.clone();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let got = check_account(body(v), *stored, UnixTime::from_secs(0));
        assert_eq!(
            got.as_ref().err().and_then(field_of).as_deref(),
            *want,
            "row {name:?}"
        );
    }
}

#[test]
fn account_ports_default_by_security_and_passwords_follow_auth() {
    let rows: &[(&str, i32)] = &[("none", 25), ("starttls", 587), ("tls", 465)];
    for (security, port) in rows {
        let b = body(
            serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h", "security": security}),
        );
        let (row, _) = check_account(b, false, UnixTime::from_secs(0)).unwrap();
        assert_eq!(row.port, *port, "row {security}");
    }
    // Switching away from password auth clears the stored password.
    let b = body(serde_json::json!({"name": "a", "sender": "a@b.c", "host": "h"}));
    let (_, action) = check_account(b, true, UnixTime::from_secs(0)).unwrap();
    assert!(matches!(action, Some(None)));
}
