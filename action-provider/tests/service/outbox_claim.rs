//! The outbox claim: which jobs a worker takes, on every backend.

use action_provider::store::StoreError;
use action_provider::store::outbox::NewOutbox;

use super::harness::{Database, clock, each_backend};

fn job(n: usize, next_attempt_at: i64) -> NewOutbox {
    NewOutbox {
        request_id: format!("r{n:04}"),
        channel: "sms".into(),
        user_id: None,
        payload_enc: Some("sealed".into()),
        status: "queued".into(),
        attempts: 0,
        lease_until: None,
        next_attempt_at,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

/// A claim takes the jobs whose lease expired, then the queued jobs due soonest, never more
/// than its limit, never a job not yet due, a job still leased or a finished one; and with a
/// backlog of thousands it takes the same jobs as with a handful.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_takes_expired_leases_then_the_jobs_due_soonest() {
    const NOW: i64 = 10_000;
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        let claimed = node
            .state
            .store
            .write(move |c| {
                // A backlog of 3,000 due jobs queued in the reverse order of their due
                // times, 5 not due yet, 100 sent, one leased until later and one whose
                // lease expired.
                let mut ids = Vec::new();
                for n in 0..3_000 {
                    ids.push(c.outbox_insert(&job(n, NOW - 1 - i64::try_from(n).unwrap()))?);
                }
                for n in 3_000..3_005 {
                    c.outbox_insert(&job(n, NOW + 60))?;
                }
                for n in 3_005..3_105 {
                    let id = c.outbox_insert(&job(n, NOW - 5_000))?;
                    c.outbox_sent(id, NOW - 10)?;
                }
                let leased = c.outbox_claim(NOW - 20, NOW + 100, 1)?;
                let expired = c.outbox_claim(NOW - 20, NOW - 1, 1)?;
                assert_eq!(leased[0].id, ids[2_999], "{backend:?}: the one due soonest");
                assert_eq!(expired[0].id, ids[2_998], "{backend:?}");
                let first = c.outbox_claim(NOW, NOW + 60, 5)?;
                let second = c.outbox_claim(NOW, NOW + 60, 2_000)?;
                let third = c.outbox_claim(NOW, NOW + 60, 2_000)?;
                let fourth = c.outbox_claim(NOW, NOW + 60, 2_000)?;
                Ok::<_, StoreError>((ids, [first, second, third, fourth]))
            })
            .await
            .unwrap();
        let (ids, [first, second, third, fourth]) = claimed;
        // A claim's rows come back in no particular order: compare sets of ids.
        let set = |jobs: &[action_provider::store::outbox::ClaimedJob]| {
            jobs.iter()
                .map(|j| j.id)
                .collect::<std::collections::BTreeSet<i64>>()
        };
        let due = |range: std::ops::RangeInclusive<usize>| {
            range
                .map(|n| ids[n])
                .collect::<std::collections::BTreeSet<i64>>()
        };
        // The expired lease (its second attempt), then the four due soonest.
        let mut expected = due(2_994..=2_997);
        expected.insert(ids[2_998]);
        assert_eq!(set(&first), expected, "{backend:?}");
        for j in &first {
            let attempts = if j.id == ids[2_998] { 2 } else { 1 };
            assert_eq!(j.attempts, attempts, "{backend:?}");
        }
        assert_eq!(set(&second), due(994..=2_993), "{backend:?}");
        // What is left: 994 due jobs; the five not due and the leased one stay.
        assert_eq!(set(&third), due(0..=993), "{backend:?}");
        assert!(fourth.is_empty(), "{backend:?}: {fourth:?}");
    }
}

/// A code request's two rows (`outbox_insert_with_code`: one statement on PostgreSQL) are
/// written together or not at all, and a send's one attempt with the job marked sent
/// (`attempt_insert_sent`: one statement on PostgreSQL) leaves what the separate statements
/// leave: the attempt recorded, the job no longer queued nor claimable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_s_rows_and_a_send_s_record_are_written_whole() {
    use action_provider::store::attempts::{AttemptFilter, NewAttempt};
    use action_provider::store::codes::NewIssuedCode;
    const NOW: i64 = 10_000;
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        super::gate::user_with_totp(&node, "ana").await;
        let code = |user_id: i64, rid: &str| NewIssuedCode {
            request_id: rid.into(),
            user_id,
            channel: "sms".into(),
            code_mac: "mac".into(),
            key_id: "k".into(),
            created_at: NOW,
            expires_at: NOW + 300,
        };
        let outbox = |user_id: i64, rid: &str| NewOutbox {
            user_id: Some(user_id),
            request_id: rid.into(),
            ..job(0, NOW)
        };
        let (user, recent, backlog, attempts) = node
            .state
            .store
            .write(move |c| {
                let user = c.user_by_login("ana")?.unwrap().id;
                c.outbox_insert_with_code(&code(user, "r-ok"), &outbox(user, "r-ok"))?;
                let claimed = c.outbox_claim(NOW, NOW + 60, 10)?;
                assert_eq!(claimed.len(), 1, "{backend:?}: the job is queued");
                assert_eq!(claimed[0].request_id, "r-ok");
                c.attempt_insert_sent(
                    &NewAttempt {
                        outbox_id: claimed[0].id,
                        request_id: "r-ok".into(),
                        channel: "sms".into(),
                        broker: "b1".into(),
                        destination_masked: "****1234".into(),
                        outcome: "delivered".into(),
                        http_status: Some(200),
                        error: None,
                        latency_ms: 12,
                        excerpt: None,
                        at: NOW,
                        message_id: Some("m1".into()),
                    },
                    NOW,
                )?;
                assert!(
                    c.outbox_claim(NOW + 120, NOW + 180, 10)?.is_empty(),
                    "{backend:?}: a sent job is never claimed again"
                );
                let recent = c.codes_recent(user, 10)?;
                let backlog = c.outbox_backlog()?;
                let filter = AttemptFilter {
                    request_id: Some("r-ok".into()),
                    ..AttemptFilter::default()
                };
                let attempts = c.attempts_page(&filter, false, 0, 10)?;
                Ok::<_, StoreError>((user, recent, backlog, attempts))
            })
            .await
            .unwrap();
        // A user that does not exist: the code's row is refused, and the job's with it.
        let refused = node
            .state
            .store
            .write(move |c| {
                c.outbox_insert_with_code(&code(user + 1_000, "r-bad"), &outbox(user, "r-bad"))
                    .map_err(StoreError::from)
            })
            .await;
        assert!(
            refused.is_err(),
            "{backend:?}: a code for no user is refused"
        );
        let after = node
            .state
            .store
            .read(move |c| {
                let claimable = c.outbox_claim(NOW + 120, NOW + 180, 10)?.len();
                Ok::<_, StoreError>((c.codes_recent(user + 1_000, 10)?.len(), claimable))
            })
            .await
            .unwrap();
        assert_eq!(
            after,
            (0, 0),
            "{backend:?}: neither row of the refused request"
        );
        assert_eq!(recent.len(), 1, "{backend:?}");
        assert_eq!(recent[0].request_id, "r-ok");
        assert_eq!(
            backlog,
            (0, None),
            "{backend:?}: nothing queued or being sent"
        );
        assert_eq!(attempts.len(), 1, "{backend:?}");
        assert_eq!(attempts[0].outcome, "delivered");
        assert_eq!(attempts[0].broker, "b1");
    }
}
