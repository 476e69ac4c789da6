//! The outbox worker keeps its sends flowing: a job that hangs holds its own slot only.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use action_provider::outbox::{
    AttemptReport, Payload, SendReport, Sender, payload_context, worker,
};
use action_provider::store::StoreError;
use action_provider::store::outbox::{ClaimedJob, NewOutbox};
use tokio::sync::Notify;

use super::harness::{Database, clock, each_backend};

/// A broker that answers at once, except for one request, which it holds until released.
struct Broker {
    held: String,
    release: Notify,
    sent: Mutex<BTreeSet<String>>,
}

impl Sender for Broker {
    fn send<'a>(
        &'a self,
        job: &'a ClaimedJob,
        _payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            if job.request_id == self.held {
                self.release.notified().await;
            }
            self.sent.lock().unwrap().insert(job.request_id.clone());
            delivered()
        })
    }
}

/// What a broker that delivered at once reports.
pub fn delivered() -> SendReport {
    SendReport {
        attempts: vec![AttemptReport {
            broker: "test".into(),
            delivered: true,
            http_status: Some(200),
            error: None,
            latency_ms: 0,
            excerpt: None,
            message_id: None,
        }],
        delivered: true,
        retryable: false,
        error: None,
    }
}

/// Waits (polling, with a generous deadline: a liveness check, not a timing) until `done`.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// 80 jobs queued, the first one claimed hanging at its broker: the 79 others are all sent
/// while it hangs (a worker that waited for a whole claimed batch to finish would stop after
/// the first batch); released, it is sent too, and every job ends `sent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_send_holds_up_no_other_job() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        let ctx = node.state.outbox();
        let now = node.state.clock.now().secs();
        let ids: Vec<String> = (0..80).map(|n| format!("req{n:03}")).collect();
        let sealed: Vec<String> = {
            let ring = action_provider::crypto::read(&ctx.keyring).unwrap();
            ids.iter()
                .map(|id| {
                    let payload = serde_json::json!({
                        "to": "5511999990000", "text": "code 123456", "subject": null,
                        "otp": "123456", "login": "ana", "name": "Ana",
                    });
                    ring.seal(&payload_context(id), payload.to_string().as_bytes())
                })
                .collect()
        };
        let jobs: Vec<NewOutbox> = ids
            .iter()
            .zip(sealed)
            .enumerate()
            .map(|(n, (id, sealed))| NewOutbox {
                request_id: id.clone(),
                channel: "sms".into(),
                user_id: None,
                payload_enc: Some(sealed),
                status: "queued".into(),
                attempts: 0,
                lease_until: None,
                // req000 is due first, so it is in the first claim.
                next_attempt_at: now - 100 + i64::try_from(n).unwrap(),
                created_at: now,
                updated_at: now,
            })
            .collect();
        ctx.store
            .write(move |c| {
                for job in &jobs {
                    c.outbox_insert(job)?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let broker = Arc::new(Broker {
            held: ids[0].clone(),
            release: Notify::new(),
            sent: Mutex::new(BTreeSet::new()),
        });
        let worker = tokio::spawn(worker::run(
            ctx.clone(),
            Arc::clone(&broker) as Arc<dyn Sender>,
            Arc::new(Notify::new()),
            None,
        ));
        wait_until("the 79 other jobs sent while the first one hangs", || {
            broker.sent.lock().unwrap().len() == 79
        })
        .await;
        assert!(
            !broker.sent.lock().unwrap().contains(&ids[0]),
            "{backend:?}"
        );
        broker.release.notify_one();
        wait_until("the held job sent once released", || {
            broker.sent.lock().unwrap().len() == 80
        })
        .await;
        let store = ctx.store.clone();
        let mut statuses = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (backlog, _) = store
                .read(|c| Ok::<_, StoreError>(c.outbox_backlog()?))
                .await
                .unwrap();
            statuses.push(backlog);
            if backlog == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{backend:?}: {statuses:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
    }
}
