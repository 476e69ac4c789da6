//! A code request hands its job to its node's outbox worker: the job is inserted already
//! leased (no claim), comes to the worker in memory, and is claimed by any node only once
//! the lease expires — or queued as before when the node has no worker with room.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use action_provider::outbox::handoff::Handed;
use action_provider::outbox::worker::{self, LEASE_S};
use action_provider::outbox::{Payload, SendReport, Sender, payload_context};
use action_provider::service::otp_request::{self, RequestInput};
use action_provider::service::{AppState, delivery, users};
use action_provider::store::StoreError;
use action_provider::store::outbox::ClaimedJob;
use sae_core::template::Channel;
use tokio::sync::Notify;

use super::harness::{Database, Node, admin_caller, app_caller, clock, each_backend};

/// An SMS broker configuration (never called: the tests' worker sends to [`Broker`]) and
/// a user with a mobile number.
pub(super) async fn sms_user(node: &Node) {
    let config = serde_json::json!({
        "primary": {"kind": "rest", "url": "http://127.0.0.1:9/sms", "method": "POST",
                    "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}",
                    "timeout_ms": 1000},
    });
    delivery::put(
        &node.state,
        &admin_caller(),
        delivery::Channel::Sms,
        config.to_string().as_bytes(),
    )
    .await
    .unwrap();
    let body: users::CreateUser =
        serde_json::from_value(serde_json::json!({"login": "ana", "mobile": "+5511912345678"}))
            .unwrap();
    users::create(&node.state, &admin_caller(), body)
        .await
        .unwrap();
}

/// Requests an SMS code for ana; returns the request id.
async fn request(node: &Node) -> String {
    request_for(&node.state, "ana").await
}

/// Requests an SMS code for `login`, which must be accepted; returns the request id.
pub(super) async fn request_for(state: &AppState, login: &str) -> String {
    let answer = otp_request::request(
        state,
        &app_caller(),
        RequestInput {
            login: login.into(),
            channel: Channel::Sms,
            template: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    body["request_id"].as_str().unwrap().to_owned()
}

/// Jobs per outbox status.
async fn statuses(node: &Node) -> Vec<(String, i64)> {
    node.state
        .store
        .read(|c| Ok::<_, StoreError>(c.outbox_counts()?))
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.status, o.jobs))
        .collect()
}

/// A claim by some node's worker at `at`.
async fn claim_at(node: &Node, at: i64) -> Vec<ClaimedJob> {
    node.state
        .store
        .write(move |c| Ok::<_, StoreError>(c.outbox_claim(at, at + LEASE_S, 64)?))
        .await
        .unwrap()
}

/// The handed-over job comes in memory, already claimed (attempt 1, leased): no worker can
/// claim it from the table while the lease runs. If the node dies before sending it, any
/// node claims it once the lease expires, with the same payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_job_is_leased_and_claimed_elsewhere_only_after_its_lease() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let time = clock();
        let node = db.node(&time);
        let other = db.node(&time);
        sms_user(&node).await;
        let now = node.state.clock.now().secs();
        let mut rx = node.state.outbox_handoff.receiver().expect("the receiver");
        let rid = request(&node).await;

        let Handed { job, lease_until } = rx.try_recv().expect("the job, handed over");
        assert_eq!(job.request_id, rid, "{backend:?}");
        assert_eq!(
            (job.attempts, lease_until),
            (1, now + LEASE_S),
            "{backend:?}"
        );
        let payload: serde_json::Value = {
            let ring = action_provider::crypto::read(&node.state.keyring).unwrap();
            let sealed = job.payload_enc.as_deref().unwrap();
            serde_json::from_slice(&ring.open(&payload_context(&rid), sealed).unwrap()).unwrap()
        };
        assert_eq!(payload["to"], "5511912345678", "{backend:?}");
        assert_eq!(
            statuses(&node).await,
            [("sending".to_owned(), 1)],
            "{backend:?}: inserted claimed, never queued"
        );
        assert!(
            claim_at(&other, now).await.is_empty(),
            "{backend:?}: not claimable while leased"
        );
        assert!(claim_at(&other, now + LEASE_S - 1).await.is_empty());

        // The node "dies" with the job handed over but unsent: the lease runs out.
        drop(rx);
        let again = claim_at(&other, now + LEASE_S + 1).await;
        assert_eq!(again.len(), 1, "{backend:?}: claimed after the lease");
        assert_eq!(
            (again[0].id, &again[0].request_id, again[0].attempts),
            (job.id, &rid, 2),
            "{backend:?}"
        );
        assert_eq!(again[0].payload_enc, job.payload_enc, "{backend:?}");
    }
}

/// Without a worker on the node (or with its channel full), the job is queued as before
/// and the first claim takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_room_at_the_worker_the_job_is_queued() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        sms_user(&node).await;
        let now = node.state.clock.now().secs();
        // No worker took the receiver: nothing is handed over.
        let first = request(&node).await;
        assert_eq!(statuses(&node).await, [("queued".to_owned(), 1)]);
        // A worker whose channel is full.
        let _rx = node.state.outbox_handoff.receiver().unwrap();
        let full: Vec<_> = (0..action_provider::outbox::handoff::CAPACITY)
            .map(|_| node.state.outbox_handoff.reserve().unwrap())
            .collect();
        let second = request(&node).await;
        assert_eq!(statuses(&node).await, [("queued".to_owned(), 2)]);
        drop(full);
        let claimed: BTreeSet<String> = claim_at(&node, now)
            .await
            .into_iter()
            .map(|j| {
                assert_eq!(j.attempts, 1, "{backend:?}");
                j.request_id
            })
            .collect();
        assert_eq!(claimed, BTreeSet::from([first, second]), "{backend:?}");
    }
}

/// A broker that records what it is sent.
#[derive(Default)]
struct Broker {
    sent: Mutex<Vec<String>>,
}

impl Sender for Broker {
    fn send<'a>(
        &'a self,
        job: &'a ClaimedJob,
        _payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            self.sent.lock().unwrap().push(job.request_id.clone());
            super::outbox_worker::delivered()
        })
    }
}

/// The worker sends what is handed over and records it sent; a job that waited past half
/// its lease in the channel is not sent late (it is left to the lease's expiry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_sends_handed_jobs_unless_they_waited_too_long() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let time = clock();
        let node = db.node(&time);
        sms_user(&node).await;
        let start = node.state.clock.now().secs();
        let rx = node.state.outbox_handoff.receiver().unwrap();
        let stale = request(&node).await;
        // The stale job waited in the channel while the clock moved past half its lease.
        time.advance(Duration::from_secs(u64::try_from(LEASE_S / 2).unwrap()));
        let fresh = request(&node).await;
        let broker = Arc::new(Broker::default());
        let worker = tokio::spawn(worker::run(
            node.state.outbox(),
            Arc::clone(&broker) as Arc<dyn Sender>,
            Arc::new(Notify::new()),
            Some(rx),
        ));
        // Liveness, not timing: a generous deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        while statuses(&node).await != [("sending".to_owned(), 1), ("sent".to_owned(), 1)] {
            assert!(
                Instant::now() < deadline,
                "{backend:?}: the fresh job never sent"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
        assert_eq!(*broker.sent.lock().unwrap(), [fresh], "{backend:?}");
        // The stale one is still leased from its request, and claimable once that ends.
        let again = claim_at(&node, start + LEASE_S + 1).await;
        assert_eq!(again.len(), 1, "{backend:?}");
        assert_eq!(again[0].request_id, stale, "{backend:?}");
    }
}
