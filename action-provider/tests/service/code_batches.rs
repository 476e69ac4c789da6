//! Code requests and their sends written together: on PostgreSQL a batch's code requests in
//! one statement (`IssueAll`), on both backends the records of many sends in one write (the
//! outbox worker's recorder). Each request and each send is still written exactly once,
//! with its own rows, whatever the batches.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use action_provider::outbox::worker;
use action_provider::outbox::{Payload, SendReport, Sender};
use action_provider::service::users;
use action_provider::store::StoreError;
use action_provider::store::attempts::AttemptFilter;
use action_provider::store::audit::{AuditFilter, NewAudit};
use action_provider::store::codes::NewIssuedCode;
use action_provider::store::outbox::{ClaimedJob, NewOutbox};
use tokio::sync::Notify;

use super::harness::{Database, Node, admin_caller, clock, each_backend};
use crate::support::Backend;

/// A broker that answers every send delivered (the worker records each).
struct Delivered;

impl Sender for Delivered {
    fn send<'a>(
        &'a self,
        _job: &'a ClaimedJob,
        _payload: &'a Payload,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async { super::outbox_worker::delivered() })
    }
}

async fn user(node: &Node, login: &str) -> i64 {
    let body: users::CreateUser =
        serde_json::from_value(serde_json::json!({"login": login, "mobile": "+5511912345678"}))
            .unwrap();
    users::create(&node.state, &admin_caller(), body)
        .await
        .unwrap();
    let login = login.to_owned();
    node.state
        .store
        .read(move |c| Ok::<_, StoreError>(c.user_by_login(&login)?.unwrap().id))
        .await
        .unwrap()
}

/// A burst of concurrent code requests on two users, sent by the node's worker as they are
/// handed over: every request answered 202 with its own request id, which has exactly one
/// issued code (its user's), one job (sent), one delivery attempt and one audit record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_code_requests_and_sends_is_written_once_each() {
    const N: usize = 48;
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        super::outbox_handoff::sms_user(&node).await;
        let bea = user(&node, "bea").await;
        let rx = node.state.outbox_handoff.receiver().unwrap();
        let sender: Arc<dyn Sender> = Arc::new(Delivered);
        let worker = tokio::spawn(worker::run(
            node.state.outbox(),
            sender,
            Arc::new(Notify::new()),
            Some(rx),
        ));
        let requests = (0..N).map(|i| {
            let state = node.state.clone();
            tokio::spawn(async move {
                let login = if i % 2 == 0 { "ana" } else { "bea" };
                let id = super::outbox_handoff::request_for(&state, login).await;
                (login, id)
            })
        });
        let mut answered = Vec::new();
        for r in futures_util::future::join_all(requests).await {
            answered.push(r.unwrap());
        }
        let ids: BTreeSet<String> = answered.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(ids.len(), N, "{backend:?}: one request id per request");
        // Liveness, not timing: a generous deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let counts = node
                .state
                .store
                .read(|c| Ok::<_, StoreError>(c.outbox_counts()?))
                .await
                .unwrap();
            let counts: Vec<(String, i64)> =
                counts.into_iter().map(|o| (o.status, o.jobs)).collect();
            if counts == [("sent".to_owned(), N as i64)] {
                break;
            }
            assert!(Instant::now() < deadline, "{backend:?}: {counts:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
        let (attempts, audit, codes) = node
            .state
            .store
            .read(move |c| {
                let attempts = c.attempts_page(&AttemptFilter::default(), false, 0, 1000)?;
                let filter = AuditFilter {
                    action: Some("otp.request".into()),
                    ..AuditFilter::default()
                };
                let audit = c.audit_page(&filter, false, 0, 1000)?;
                let mut codes = Vec::new();
                for (_, id) in &answered {
                    codes.push(
                        c.code_of_request(id)?
                            .map(|(code, user)| (code.request_id, user)),
                    );
                }
                Ok::<_, StoreError>((attempts, audit, (answered, codes)))
            })
            .await
            .unwrap();
        let sent: Vec<&str> = attempts.iter().map(|a| a.request_id.as_str()).collect();
        assert_eq!(sent.len(), N, "{backend:?}: one attempt per job");
        assert_eq!(
            sent.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
            ids
        );
        assert!(attempts.iter().all(|a| a.outcome == "delivered"));
        let audited: BTreeSet<String> = audit
            .iter()
            .map(|a| {
                let detail: serde_json::Value =
                    serde_json::from_str(a.detail.as_deref().unwrap()).unwrap();
                detail["request_id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(audit.len(), N, "{backend:?}: one record per request");
        assert_eq!(audited, ids, "{backend:?}");
        let (answered, codes) = codes;
        let ana = node
            .state
            .store
            .read(|c| Ok::<_, StoreError>(c.user_by_login("ana")?.unwrap().id))
            .await
            .unwrap();
        for ((login, id), code) in answered.iter().zip(codes) {
            let owner = if *login == "ana" { ana } else { bea };
            assert_eq!(code, Some((id.clone(), owner)), "{backend:?}");
        }
    }
}

fn rows(user_id: i64, n: usize) -> (NewIssuedCode, NewOutbox, NewAudit) {
    let request_id = format!("req-{user_id}-{n}");
    (
        NewIssuedCode {
            request_id: request_id.clone(),
            user_id,
            channel: "sms".into(),
            code_mac: format!("mac{n}"),
            key_id: "k".into(),
            created_at: 100,
            expires_at: 400,
        },
        NewOutbox {
            request_id: request_id.clone(),
            channel: "sms".into(),
            user_id: Some(user_id),
            payload_enc: Some(format!("sealed{n}")),
            status: "sending".into(),
            attempts: 1,
            next_attempt_at: 100,
            lease_until: Some(160),
            created_at: 100,
            updated_at: 100,
        },
        NewAudit {
            at: 100,
            actor: "apikey:app".into(),
            action: "otp.request".into(),
            subject: Some(format!("user{user_id}")),
            source: None,
            outcome: "ok".into(),
            detail: Some(format!("{{\"request_id\":\"{request_id}\"}}")),
        },
    )
}

/// PostgreSQL's statement for a batch's code requests: the jobs' ids in the rows' order,
/// each job with its own request's rows; all or nothing when one row cannot be written (a
/// user gone, a request id taken).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_code_requests_in_one_statement_is_all_or_nothing() {
    use action_provider::store::outbox::IssueAll as _;
    use diesel::prelude::*;

    if !crate::support::backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::fresh(Backend::Postgres);
    let node = db.node(&clock());
    let (ana, bea) = (user(&node, "ana").await, user(&node, "bea").await);
    let mut c = diesel::pg::PgConnection::establish(&db.url).unwrap();
    let batch = [rows(bea, 0), rows(ana, 1), rows(bea, 2)];
    let refs: Vec<_> = batch.iter().map(|(a, b, c)| (a, b, c)).collect();
    let ids = c.issue_all(&refs).unwrap();
    assert_eq!(ids.len(), 3);
    for (id, (code, job, _)) in ids.iter().zip(&batch) {
        let (rid, payload, status): (String, Option<String>, String) =
            diesel::sql_query("SELECT request_id, payload_enc, status FROM outbox WHERE id = $1")
                .bind::<diesel::sql_types::BigInt, _>(id)
                .get_result::<JobRow>(&mut c)
                .map(|r| (r.request_id, r.payload_enc, r.status))
                .unwrap();
        assert_eq!(
            (rid.as_str(), payload, status),
            (
                code.request_id.as_str(),
                job.payload_enc.clone(),
                "sending".to_owned()
            )
        );
    }
    let counts = |c: &mut diesel::pg::PgConnection| -> (i64, i64, i64) {
        let n = |sql: &str, c: &mut diesel::pg::PgConnection| {
            diesel::sql_query(sql).get_result::<Count>(c).unwrap().n
        };
        (
            n("SELECT count(*) AS n FROM issued_codes", c),
            n("SELECT count(*) AS n FROM outbox", c),
            n(
                "SELECT count(*) AS n FROM audit WHERE action = 'otp.request'",
                c,
            ),
        )
    };
    assert_eq!(counts(&mut c), (3, 3, 3));
    // A user that does not exist (deleted meanwhile), or a request id already taken: the
    // statement fails and writes nothing, the good rows with it.
    for bad in [rows(-5, 3), rows(ana, 1)] {
        let batch = [rows(ana, 10), bad, rows(bea, 11)];
        let refs: Vec<_> = batch.iter().map(|(a, b, c)| (a, b, c)).collect();
        assert!(c.issue_all(&refs).is_err());
        assert_eq!(counts(&mut c), (3, 3, 3));
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct JobRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    request_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    payload_enc: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}
