//! SQLite's WAL checkpoints, off the commit path.
//!
//! In WAL mode a commit appends pages to the log; a checkpoint copies them back into the
//! database file and syncs it. By default SQLite checkpoints inside the COMMIT that takes
//! the log past `wal_autocheckpoint` pages, so that commit — and, with group commit, every
//! request of its batch and of the batches queued behind it — waits for the copy and the
//! database file's fsync. The bigger the store, the more distinct pages a batch dirties
//! (users and tokens spread over the file instead of a few hot pages), so the log fills
//! faster and each copy is longer: at 20,000 users validate's p99 was three times that at
//! 1,000, in both cases from those stalls (benches/README.md, "A million users").
//!
//! Here a thread with a connection of its own checkpoints every [`EVERY`] instead, in
//! `PASSIVE` mode: it copies what no reader still needs, never waits for readers or
//! writers, and never blocks them. With nothing new in the log it costs a look at the
//! log's index, no I/O. The connections keep the automatic checkpoint only as a backstop
//! ([`BACKSTOP_PAGES`], far above what the thread lets the log reach under load), so the
//! log stays bounded even if the thread cannot open its connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Integer;
use diesel::sqlite::SqliteConnection;

/// How often the thread checkpoints.
const EVERY: Duration = Duration::from_millis(100);

/// The automatic checkpoint every connection keeps as a backstop, in pages (32 MiB of log
/// with SQLite's 4 KiB pages; SQLite's default is 1,000).
pub(super) const BACKSTOP_PAGES: u32 = 8_192;

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = Integer)]
    busy: i32,
    #[diesel(sql_type = Integer)]
    log: i32,
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

/// What the thread has done, for tests and diagnostics.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Checkpoints that found frames to copy.
    pub(super) runs: AtomicU64,
    /// Runs that copied the whole log (nothing left for the next writer to wait on).
    pub(super) complete: AtomicU64,
}

/// The checkpoint thread of one SQLite store; stopped (and joined) when dropped.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    progress: Arc<Progress>,
}

impl Checkpointer {
    /// Starts the thread; it opens its connection with `open`.
    pub(super) fn start(
        open: impl FnOnce() -> Result<SqliteConnection, String> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(open, &stopped, &shared))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
            progress,
        })
    }

    /// What the thread has done so far.
    #[cfg(test)]
    pub(super) fn progress(&self) -> &Progress {
        &self.progress
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    open: impl FnOnce() -> Result<SqliteConnection, String>,
    stopped: &mpsc::Receiver<()>,
    progress: &Progress,
) {
    let mut conn = match open() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "the SQLite checkpoint thread cannot open the database; \
                           commits checkpoint the log themselves");
            return;
        }
    };
    let mut failing = false;
    loop {
        match stopped.recv_timeout(EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Outcome>(&mut conn) {
            Ok(o) => {
                failing = false;
                if o.log > 0 && o.checkpointed > 0 {
                    progress.runs.fetch_add(1, Ordering::Relaxed);
                    if o.busy == 0 && o.checkpointed == o.log {
                        progress.complete.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            // Logged once per failing spell, not every tick.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "a SQLite checkpoint failed");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use diesel::connection::SimpleConnection as _;

    use super::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    #[test]
    fn the_thread_copies_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("sae.db");
        let url = db.to_string_lossy().into_owned();
        let mut writer = SqliteConnection::establish(&url).expect("open");
        // No automatic checkpoint: only the thread can copy the log.
        writer
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x INTEGER NOT NULL);",
            )
            .expect("set up");
        let opened = url.clone();
        let checkpointer = Checkpointer::start(move || {
            SqliteConnection::establish(&opened).map_err(|e| e.to_string())
        })
        .expect("start the thread");
        for i in 0..200 {
            writer
                .batch_execute(&format!("INSERT INTO t (x) VALUES ({i})"))
                .expect("insert");
        }
        // Wait for two more complete checkpoints: one may have begun before the last insert
        // (on a slow machine the thread runs between inserts); the second began after the
        // first ended, so after every insert. However slow the machine: the deadline only
        // stops a broken thread from hanging the suite.
        let complete = || checkpointer.progress().complete.load(Ordering::Relaxed);
        let target = complete() + 2;
        let deadline = Instant::now() + Duration::from_secs(120);
        while complete() < target {
            assert!(Instant::now() < deadline, "no complete checkpoint");
            std::thread::sleep(Duration::from_millis(20));
        }
        let runs = checkpointer.progress().runs.load(Ordering::Relaxed);
        assert!(runs >= 1);
        // The database file alone, without its log, holds every row.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&db, &copy).expect("copy the database file");
        let mut alone = SqliteConnection::establish(&copy.to_string_lossy()).expect("open");
        let n = diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result::<Count>(&mut alone)
            .expect("count")
            .n;
        assert_eq!(n, 200);
        drop(checkpointer);
    }
}
