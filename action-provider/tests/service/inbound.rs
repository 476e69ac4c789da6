//! Inbound accounts in-process: sealed passwords bound to their endpoint, and checks of a
//! real Dovecot (IMAP and POP3, keep copy on and off) by two nodes sharing one database —
//! each message processed exactly once, across a node that died holding the check slot,
//! and automatic checks at their interval, taken by one node at a time. Time is the
//! manual clock's.

use std::time::Duration;

use action_provider::service::ServiceError;
use action_provider::service::error::Rule;
use action_provider::service::inbound::check::{self, CheckResult};
use action_provider::service::inbound::{self, InboundBody, InboundView};
use serde_json::{Value, json};

use super::harness::{Database, Node, admin_caller, clock, each_backend};
use crate::dovecot::{Dovecot, User};
use crate::support::Backend;

const MAILBOX: User = User {
    name: "bounces@example.com",
    password: "imap-SECRET-pw",
};

fn body(v: Value) -> InboundBody {
    serde_json::from_value(v).unwrap()
}

fn account(port: u16, protocol: &str, keep_copy: bool) -> Value {
    json!({
        "name": format!("{protocol}-{keep_copy}"), "protocol": protocol, "host": "127.0.0.1",
        "port": port, "security": "none", "username": MAILBOX.name, "password": MAILBOX.password,
        "keep_copy": keep_copy,
    })
}

async fn create(node: &Node, v: Value) -> InboundView {
    inbound::create(&node.state, &admin_caller(), body(v))
        .await
        .unwrap()
}

async fn check_now(node: &Node, id: i64) -> Result<CheckResult, ServiceError> {
    check::check_now(&node.state, &admin_caller(), id).await
}

fn field_of(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid(list) => list.first().field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// A plain message (not a bounce) numbered `n`.
fn plain(n: u32) -> Vec<u8> {
    format!(
        "From: someone@example.org\r\nTo: {}\r\nSubject: note {n}\r\nMessage-ID: <note{n}@example.org>\r\n\r\nhello {n}\r\n",
        MAILBOX.name
    )
    .into_bytes()
}

#[actix_web::test]
async fn inbound_passwords_are_sealed_and_bound_to_their_endpoint() {
    let clock = clock();
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock);
        let base = account(1143, "imap", true);
        let created = create(&node, base.clone()).await;
        let shown = serde_json::to_string(&created).unwrap();
        assert!(created.password_set);
        assert!(!shown.contains(MAILBOX.password), "{shown}");
        assert_eq!(created.folder, "INBOX");
        assert_eq!(created.next_check_at, None, "manual by default");
        if backend == Backend::Sqlite {
            for file in ["sae.db", "sae.db-wal"] {
                let bytes = std::fs::read(db.dir.path().join(file)).unwrap_or_default();
                assert!(
                    !bytes
                        .windows(MAILBOX.password.len())
                        .any(|w| w == MAILBOX.password.as_bytes()),
                    "{file} holds the password in clear"
                );
            }
        }
        let admin = admin_caller();
        let put = |v: Value| inbound::update(&node.state, &admin, created.id, body(v));
        // Another port without the password again: refused, naming the password.
        let mut moved = base.clone();
        moved["port"] = json!(1144);
        moved.as_object_mut().unwrap().remove("password");
        assert_eq!(field_of(put(moved.clone()).await.unwrap_err()), "password");
        // The same endpoint without the password keeps it.
        let mut renamed = base.clone();
        renamed["name"] = json!("renamed");
        renamed["password"] = Value::Null;
        let kept = put(renamed).await.unwrap();
        assert!(kept.password_set);
        assert_eq!(kept.name, "renamed");
        // The new endpoint with the password is accepted.
        moved["password"] = json!("another-pw");
        assert_eq!(put(moved).await.unwrap().port, 1144);
        // Bad input names its field.
        for (edit, field) in [
            (json!({"protocol": "smtp"}), "protocol"),
            (json!({"security": "ssl"}), "security"),
            (json!({"check_every_s": 5}), "check_every_s"),
            (json!({"timeout_s": 0}), "timeout_s"),
            (json!({"protocol": "pop3", "folder": "Bounces"}), "folder"),
            (json!({"auth": "oauth2"}), "oauth2_profile"),
            (
                json!({"auth": "oauth2", "oauth2_profile": 999}),
                "oauth2_profile",
            ),
            (json!({"mechanism": "plain"}), "mechanism"),
            (json!({"host": "imaps://x"}), "host"),
            (json!({"name": "other", "password": ""}), "password"),
        ] {
            let mut v = base.clone();
            v["name"] = json!("bad");
            for (k, value) in edit.as_object().unwrap() {
                v[k] = value.clone();
            }
            let e = inbound::create(&node.state, &admin_caller(), body(v))
                .await
                .unwrap_err();
            assert_eq!(field_of(e), field, "{edit}");
        }
        // A profile that does not exist is a missing reference (404), as for SMTP accounts.
        let mut v = base.clone();
        v["name"] = json!("bad");
        v["auth"] = json!("oauth2");
        v["oauth2_profile"] = json!(999);
        match inbound::create(&node.state, &admin_caller(), body(v)).await {
            Err(ServiceError::Invalid(list)) => {
                assert_eq!(list.first().rule, Some(Rule::Exists), "{list}");
            }
            other => panic!("expected a missing reference, got {other:?}"),
        }
    }
}

#[actix_web::test]
async fn each_message_is_processed_once_across_nodes_and_a_dead_node() {
    let Some(dovecot) = Dovecot::start(&[MAILBOX], None) else {
        return;
    };
    let clock = clock();
    let mut n = 0;
    for backend in each_backend() {
        for (protocol, port) in [("imap", dovecot.ports.imap), ("pop3", dovecot.ports.pop3)] {
            for keep_copy in [true, false] {
                let db = Database::fresh(backend);
                let (a, b) = (db.node(&clock), db.node(&clock));
                // Start from an empty mailbox: a first check takes what earlier rounds left.
                let id = create(&a, account(port, protocol, false)).await.id;
                check_now(&a, id).await.unwrap();
                check_now(&a, id).await.unwrap();
                let put = body(account(port, protocol, keep_copy));
                inbound::update(&a.state, &admin_caller(), id, put)
                    .await
                    .unwrap();
                let case = format!("{backend:?} {protocol} keep_copy={keep_copy}");
                let admin = admin_caller();
                let base = inbound::read(&a.state, &admin, id)
                    .await
                    .unwrap()
                    .fetched_total;
                for _ in 0..3 {
                    n += 1;
                    dovecot.deliver(MAILBOX.name, &plain(n));
                }
                let first = check_now(&a, id).await.unwrap();
                assert!(first.ok, "{case}: {first:?}");
                assert_eq!((first.fetched, first.ignored), (3, 3), "{case}");
                assert_eq!(check_now(&b, id).await.unwrap().fetched, 0, "{case}");

                // A node dies holding the slot: nobody else checks until its lease ends.
                let now = i64::try_from(clock.now_secs()).unwrap();
                let taken = a
                    .state
                    .store
                    .write(move |c| {
                        Ok::<_, ServiceError>(c.inbound_take(id, "dead", now, now + 300, false)?)
                    })
                    .await
                    .unwrap();
                assert!(taken, "{case}");
                for _ in 0..2 {
                    n += 1;
                    dovecot.deliver(MAILBOX.name, &plain(n));
                }
                let busy = check_now(&b, id).await.unwrap_err();
                assert!(
                    matches!(busy, ServiceError::Conflict { .. }),
                    "{case}: {busy:?}"
                );
                let shown = inbound::read(&b.state, &admin_caller(), id).await.unwrap();
                assert!(shown.checking, "{case}");
                clock.advance(Duration::from_secs(301));
                let second = check_now(&b, id).await.unwrap();
                assert_eq!(second.fetched, 2, "{case}: {second:?}");
                assert_eq!(check_now(&a, id).await.unwrap().fetched, 0, "{case}");

                let status = check::test(&a.state, &admin_caller(), id).await.unwrap();
                assert!(status.ok, "{case}: {status:?}");
                // Keep copy off deletes what an earlier check committed, at the next check.
                let left = status.messages.unwrap();
                assert_eq!(left, if keep_copy { 5 } else { 0 }, "{case}");
                let shown = inbound::read(&b.state, &admin_caller(), id).await.unwrap();
                assert_eq!(shown.fetched_total - base, 5, "{case}");
                assert!(!shown.checking && shown.last_error.is_none(), "{case}");
                inbound::delete(&a.state, &admin_caller(), id)
                    .await
                    .unwrap();
            }
        }
    }
}

#[actix_web::test]
async fn automatic_checks_run_at_their_interval_on_one_node() {
    let Some(dovecot) = Dovecot::start(&[MAILBOX], None) else {
        return;
    };
    let clock = clock();
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let (a, b) = (db.node(&clock), db.node(&clock));
        let mut v = account(dovecot.ports.imap, "imap", true);
        v["check_every_s"] = json!(60);
        let id = create(&a, v).await.id;
        // Due at once: one node of the two takes it.
        let both = futures_util::future::join_all([
            check::check_due(&a.state),
            check::check_due(&b.state),
        ])
        .await;
        let checked: usize = both.into_iter().map(Result::unwrap).sum();
        assert_eq!(checked, 1, "{backend:?}");
        assert_eq!(check::check_due(&a.state).await.unwrap(), 0, "not due yet");
        let shown = inbound::read(&a.state, &admin_caller(), id).await.unwrap();
        assert!(shown.last_check_at.is_some() && shown.last_error.is_none());
        clock.advance(Duration::from_secs(60));
        assert_eq!(check::check_due(&b.state).await.unwrap(), 1, "{backend:?}");
        // A wrong password: the check records the server's error and stays scheduled.
        let mut bad = account(dovecot.ports.imap, "imap", true);
        bad["check_every_s"] = json!(60);
        bad["password"] = json!("wrong");
        inbound::update(&a.state, &admin_caller(), id, body(bad))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(60));
        assert_eq!(check::check_due(&a.state).await.unwrap(), 1);
        let shown = inbound::read(&a.state, &admin_caller(), id).await.unwrap();
        let error = shown.last_error.unwrap_or_default();
        assert!(
            error.to_lowercase().contains("authentication failed"),
            "{error}"
        );
        assert!(!error.contains("wrong"), "{error}");
        let test = check::test(&a.state, &admin_caller(), id).await.unwrap();
        assert!(!test.ok && test.error.is_some(), "{test:?}");
    }
}
