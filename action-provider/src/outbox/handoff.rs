//! Jobs handed from a code request straight to this node's outbox worker.
//!
//! A code request on a node whose worker has room inserts its job already claimed by that
//! worker (`sending`, attempt 1, leased for [`LEASE_S`](super::worker::LEASE_S)) and, once
//! the transaction committed, passes it to the worker in memory. The common case then
//! needs no claim at all: no second write transaction, no update of the queued row, no
//! `FOR UPDATE SKIP LOCKED` scan shared with the other nodes' workers.
//!
//! Nothing is lost if the node dies with jobs handed over but not sent: they are leased
//! like claimed jobs, and any node's worker claims them again once the lease expires
//! (delivery stays at-least-once). A request finds no room (and queues its job as before)
//! when the worker is not running on this node or already has [`CAPACITY`] jobs handed
//! over and waiting; a handed-over job that waited past half its lease is left to that
//! expiry rather than sent late (see [`Handed::fresh`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::worker::LEASE_S;
use crate::store::outbox::ClaimedJob;

/// Jobs handed over and not yet taken by the worker, at most.
pub const CAPACITY: usize = 128;

/// A job handed over, with the lease it was inserted with.
#[derive(Debug)]
pub struct Handed {
    /// The job, as a claim would have returned it.
    pub job: ClaimedJob,
    /// Its lease, unix seconds.
    pub lease_until: i64,
}

impl Handed {
    /// Whether the job may still be sent at `now`: more than half of its lease is left, so
    /// the send (failover included) ends well before another node may claim it.
    pub fn fresh(&self, now: i64) -> bool {
        now < self.lease_until - LEASE_S / 2
    }
}

/// The channel between the code requests and the worker of one node.
#[derive(Debug)]
pub struct Handoff {
    tx: mpsc::Sender<Handed>,
    rx: Mutex<Option<mpsc::Receiver<Handed>>>,
    /// Set once a worker took the receiving end: before that, nothing is handed over.
    taken: AtomicBool,
}

impl Default for Handoff {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            taken: AtomicBool::new(false),
        }
    }
}

impl Handoff {
    /// A place for one job, if this node's worker runs and has room for it. Taken before
    /// the request's write (which then inserts the job `sending`), used after its commit
    /// ([`Slot::hand`]), given back if dropped unused (the write failed).
    pub fn reserve(&self) -> Option<Slot> {
        if !self.taken.load(Ordering::Acquire) {
            return None;
        }
        self.tx.clone().try_reserve_owned().ok().map(Slot)
    }

    /// The receiving end, for the worker (once: `None` afterwards).
    pub fn receiver(&self) -> Option<mpsc::Receiver<Handed>> {
        let rx = self
            .rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if rx.is_some() {
            self.taken.store(true, Ordering::Release);
        }
        rx
    }
}

/// A place reserved for one job in the worker's channel.
#[derive(Debug)]
pub struct Slot(mpsc::OwnedPermit<Handed>);

impl Slot {
    /// Hands the committed job to the worker.
    pub fn hand(self, job: ClaimedJob, lease_until: i64) {
        self.0.send(Handed { job, lease_until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: i64) -> ClaimedJob {
        ClaimedJob {
            id: n,
            request_id: format!("r{n}"),
            channel: "sms".into(),
            payload_enc: Some("sealed".into()),
            attempts: 1,
        }
    }

    #[test]
    fn nothing_is_handed_over_before_a_worker_takes_the_receiver() {
        let h = Handoff::default();
        assert!(h.reserve().is_none());
        let mut rx = h.receiver().expect("the receiver, once");
        assert!(h.receiver().is_none());
        h.reserve().expect("room").hand(job(1), 160);
        let got = rx.try_recv().expect("the handed job");
        assert_eq!((got.job.id, got.lease_until), (1, 160));
    }

    #[test]
    fn a_full_channel_or_a_gone_worker_means_no_room() {
        let h = Handoff::default();
        let rx = h.receiver().unwrap();
        let slots: Vec<Slot> = (0..CAPACITY).map(|_| h.reserve().unwrap()).collect();
        assert!(h.reserve().is_none(), "every place reserved");
        // A reservation dropped unused (its write failed) gives its place back.
        drop(slots);
        assert!(h.reserve().is_some());
        drop(rx);
        assert!(h.reserve().is_none(), "the worker is gone");
    }

    #[test]
    fn a_job_is_sent_only_with_more_than_half_its_lease_left() {
        let h = Handed {
            job: job(1),
            lease_until: 1000 + LEASE_S,
        };
        assert!(h.fresh(1000));
        assert!(h.fresh(1000 + LEASE_S / 2 - 1));
        assert!(!h.fresh(1000 + LEASE_S / 2));
        assert!(!h.fresh(1000 + LEASE_S));
    }
}
