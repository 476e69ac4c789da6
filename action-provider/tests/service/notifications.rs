//! Notifications are queued at most once per kind, subject and interval — also when two
//! nodes notice the same event at the same moment (the slot is taken in one statement, so
//! the second transaction waits for the first and then finds the slot taken).

use std::process::Command;
use std::sync::mpsc;

use action_provider::store::{Store, StoreError};

use super::harness::{Database, each_backend};
use crate::support::Backend;

const HOUR: i64 = 3600;

fn queue(store: &Store, subject: &str, now: i64) -> bool {
    store
        .write_blocking(|c| {
            c.notification_queue("user_locked", subject, "locked", now, now - HOUR)
                .map_err(StoreError::from)
        })
        .unwrap()
}

#[test]
fn one_notification_per_kind_subject_and_interval() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let store = Store::open(&db.url, 2).unwrap();
        let t = 1_800_000_000;
        assert!(queue(&store, "ana", t), "{backend:?}: the first");
        assert!(
            !queue(&store, "ana", t + 10),
            "{backend:?}: within the hour"
        );
        assert!(queue(&store, "bia", t + 10), "{backend:?}: another subject");
        assert!(
            !queue(&store, "ana", t + HOUR - 1),
            "{backend:?}: within the hour"
        );
        assert!(queue(&store, "ana", t + HOUR), "{backend:?}: an hour later");
        let due = store
            .read_blocking(|c| c.notifications_due(t + HOUR, 10).map_err(StoreError::from))
            .unwrap();
        let subjects: Vec<&str> = due.iter().map(|n| n.subject.as_str()).collect();
        assert_eq!(subjects, ["ana", "bia", "ana"], "{backend:?}");
    }
}

/// Waits until a session of `url`'s database waits for a lock, or `done` says the other
/// transaction has finished without waiting.
fn wait_for_lock_wait_or(url: &str, done: &mpsc::Receiver<bool>) -> Option<bool> {
    loop {
        if let Ok(took) = done.try_recv() {
            return Some(took);
        }
        let out = Command::new("psql")
            .arg(url)
            .args([
                "-tAc",
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ])
            .output()
            .expect("psql runs");
        if String::from_utf8_lossy(&out.stdout).trim() != "0" {
            return None;
        }
        std::thread::yield_now();
    }
}

#[test]
fn two_nodes_noticing_one_event_at_once_queue_one_notification() {
    if !each_backend().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::fresh(Backend::Postgres);
    let (a, b) = (
        Store::open(&db.url, 2).unwrap(),
        Store::open(&db.url, 2).unwrap(),
    );
    let now = 1_800_000_000;
    let (took_a, took_a_rx) = mpsc::channel();
    let (commit_a, commit_a_rx) = mpsc::channel::<()>();
    // Node A queues inside a transaction that stays open until told to commit.
    let node_a = std::thread::spawn(move || {
        a.write_blocking(|c| {
            let took = c
                .notification_queue("user_locked", "ana", "locked", now, now - HOUR)
                .map_err(StoreError::from)?;
            took_a.send(took).unwrap();
            commit_a_rx.recv().unwrap();
            Ok::<_, StoreError>(took)
        })
        .unwrap()
    });
    assert!(took_a_rx.recv().unwrap(), "node A takes the slot");
    // Node B notices the same event while A's transaction is open.
    let (done_b, done_b_rx) = mpsc::channel();
    let node_b = std::thread::spawn(move || {
        let took = queue(&b, "ana", now + 1);
        done_b.send(took).unwrap();
        took
    });
    if let Some(took) = wait_for_lock_wait_or(&db.url, &done_b_rx) {
        commit_a.send(()).unwrap();
        node_a.join().unwrap();
        panic!("node B decided ({took}) without waiting for node A's open transaction");
    }
    commit_a.send(()).unwrap();
    assert!(node_a.join().unwrap());
    assert!(!node_b.join().unwrap(), "node B finds the slot taken");
    let store = Store::open(&db.url, 1).unwrap();
    let due = store
        .read_blocking(|c| c.notifications_due(now + 2, 10).map_err(StoreError::from))
        .unwrap();
    assert_eq!(due.len(), 1, "one notification, not two");
}
