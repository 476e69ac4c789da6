//! A full queue holds up its callers, not the runtime's threads: the group commit's and the
//! group read's.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::sqlite::SqliteConnection;

use super::*;

/// Holds a committer or reader in its `open` until released.
pub(in crate::store) struct Gate(Mutex<std::sync::mpsc::Receiver<()>>, AtomicBool);

impl Gate {
    /// A gate and what releases it.
    pub(in crate::store) fn new() -> (Self, std::sync::mpsc::Sender<()>) {
        let (release, gate) = std::sync::mpsc::channel();
        (Self(Mutex::new(gate), AtomicBool::new(false)), release)
    }

    /// Waits until released (once released, every call passes).
    pub(in crate::store) fn wait(&self) {
        if self.1.load(Ordering::SeqCst) {
            return;
        }
        let _ = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(Duration::from_secs(120));
        self.1.store(true, Ordering::SeqCst);
    }
}

/// A caller's future: `true` when it was answered as expected.
pub(in crate::store) type Caller = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Spawns `callers` on a runtime of one thread while a gate holds what they queue for, lets
/// each run until it waits, then checks that the runtime's thread still runs other tasks,
/// releases the gate and awaits every caller. Returns whether the thread ran meanwhile and
/// how many callers were answered as expected. (The watchdog is a liveness bound only: if
/// the thread is held, nothing else releases the gate, and the first figure is `false`.)
pub(in crate::store) fn runs_while_stuck(
    release: &std::sync::mpsc::Sender<()>,
    callers: impl FnOnce() -> Vec<Caller>,
) -> (bool, usize) {
    let released = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    {
        let (release, released) = (release.clone(), Arc::clone(&released));
        std::thread::spawn(move || {
            if stopped.recv_timeout(Duration::from_secs(60)).is_err() {
                released.store(true, Ordering::SeqCst);
                let _ = release.send(());
            }
        });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let handles: Vec<_> = callers().into_iter().map(tokio::spawn).collect();
        // Every caller runs until it waits (the last ones for room in the queue).
        for _ in 0..handles.len() {
            tokio::task::yield_now().await;
        }
        let ran_meanwhile = !released.swap(true, Ordering::SeqCst);
        let _ = release.send(());
        let mut answered = 0;
        for h in handles {
            answered += usize::from(h.await.unwrap());
        }
        (ran_meanwhile, answered)
    });
    let _ = stop.send(());
    result
}

/// A committer stuck at its first batch (its connection does not open) while more writes
/// arrive than its queue holds: the writers beyond the queue wait as tasks, and the one
/// thread of a runtime goes on running other tasks meanwhile (a blocking send held it until
/// the committer moved). Once the committer goes on, every write is answered.
#[test]
fn writers_beyond_a_full_queue_wait_without_holding_a_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let (gate, release) = Gate::new();
    let group = Arc::new(
        GroupCommit::start(
            move || {
                gate.wait();
                Ok(super::tests::open(&path))
            },
            None,
            1,
        )
        .unwrap(),
    );
    // More than the queue and the batch the committer took before it stuck.
    let writes = MAX_BATCH * 4 + <SqliteConnection as BatchConn>::MAX_JOBS + 8;
    let (ran_meanwhile, answered) = runs_while_stuck(&release, || {
        (0..writes)
            .map(|i| {
                let group = Arc::clone(&group);
                let i = i64::try_from(i).unwrap();
                Box::pin(async move {
                    let body = move |_: &mut SqliteConnection| Ok::<_, StoreError>((i, None));
                    group.write_async(i, body).await.ok() == Some(i)
                }) as Caller
            })
            .collect()
    });
    assert!(
        ran_meanwhile,
        "the runtime's thread was held while the committer was stuck"
    );
    assert_eq!(answered, writes);
}
