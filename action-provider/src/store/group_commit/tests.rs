//! Tests of the group commit: SQLite, and PostgreSQL when `SAE_TEST_PG_URL` is set.

use super::*;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

diesel::table! {
    t (id) {
        id -> BigInt,
        v -> BigInt,
    }
}

pub(super) fn open(dir: &std::path::Path) -> SqliteConnection {
    let url = dir.join("g.db").display().to_string();
    let mut c = SqliteConnection::establish(&url).unwrap();
    c.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;
         CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BIGINT NOT NULL);
         INSERT OR IGNORE INTO t VALUES (-1, 0);",
    )
    .unwrap();
    c
}

/// Whether job `i` of a wave fails (and is never acknowledged): by its own `Err` (every 7th),
/// after a statement the database refused (every 11th: a duplicate key, which on PostgreSQL
/// leaves the transaction failed until the savepoint is rolled back), or by a panic (50).
fn fails(i: i64) -> bool {
    i % 7 == 0 || i % 11 == 0 || i == 50
}

/// Job `i`: stores row `i`, then fails as [`fails`] says.
fn job<C: BatchConn>(c: &mut C, i: i64) -> Result<i64, StoreError> {
    c.batch_execute(&format!("INSERT INTO t (id, v) VALUES ({i}, {i})"))?;
    if i % 7 == 0 {
        return Err(StoreError::from(diesel::result::Error::RollbackTransaction));
    }
    if i % 11 == 0 {
        c.batch_execute("INSERT INTO t (id, v) VALUES (-1, 0)")?;
    }
    assert!(i != 50, "job {i} panics after its insert");
    Ok(i)
}

/// Submits the jobs `ids` concurrently; returns the acknowledged ones, sorted.
fn wave<C: BatchConn>(group: &Arc<GroupCommit<C>>, ids: std::ops::Range<i64>) -> Vec<i64> {
    let handles: Vec<_> = ids
        .map(|i| {
            let group = Arc::clone(group);
            std::thread::spawn(move || group.write(i, move |c: &mut C| job(c, i)))
        })
        .collect();
    let mut ok: Vec<i64> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().ok())
        .collect();
    ok.sort_unstable();
    ok
}

/// Two waves: no failing job is acknowledged; after the panic of the first (its batch rolled
/// back, the committer's connection reopened) every job of the second that does not fail is.
/// Returns every acknowledged id.
fn two_waves<C: BatchConn>(group: &Arc<GroupCommit<C>>) -> Vec<i64> {
    let first = wave(group, 0..100);
    assert!(
        first.iter().all(|i| !fails(*i)),
        "failed or panicked jobs are never acknowledged: {first:?}"
    );
    let second = wave(group, 100..200);
    let expected: Vec<i64> = (100..200).filter(|i| !fails(*i)).collect();
    assert_eq!(second, expected);
    first.into_iter().chain(second).collect()
}

#[test]
fn failing_jobs_roll_back_alone_and_a_panic_rolls_back_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut reader = open(dir.path());
    let path = dir.path().to_owned();
    let group =
        Arc::new(GroupCommit::start(move || Ok(open(&path)), Some(Arc::default()), 1).unwrap());
    let acknowledged = two_waves(&group);
    // Exactly the acknowledged writes are in the database.
    let stored: Vec<i64> = t::table
        .filter(t::id.ge(0))
        .select(t::id)
        .order(t::id)
        .load(&mut reader)
        .unwrap();
    assert_eq!(stored, acknowledged, "rows");
}

#[test]
fn a_failed_commit_acknowledges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut reader = open(dir.path());
    let path = dir.path().to_owned();
    let group = GroupCommit::start(move || Ok(open(&path)), Some(Arc::default()), 1).unwrap();
    // A deferred foreign key violation fails only at COMMIT.
    reader
        .batch_execute(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE ch (id INTEGER PRIMARY KEY,
                p BIGINT REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
    let r: Result<(), StoreError> = group.write(0, |c: &mut SqliteConnection| {
        c.batch_execute("PRAGMA foreign_keys = ON")?;
        Ok(())
    });
    r.unwrap();
    let r: Result<i32, StoreError> = group.write(0, |c: &mut SqliteConnection| {
        c.batch_execute("INSERT INTO ch (id, p) VALUES (1, 42)")?;
        Ok(1)
    });
    assert!(
        r.is_err(),
        "the commit failed, so the job must not be acknowledged"
    );
    let n: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT COUNT(*) FROM ch)",
    ))
    .get_result(&mut reader)
    .unwrap();
    assert_eq!(n, 0);
}

/// A fresh PostgreSQL database on the cluster of `SAE_TEST_PG_URL`, or `None` (skipped)
/// when it is not set.
pub(crate) fn fresh_pg() -> Option<String> {
    use diesel::pg::PgConnection;
    let Ok(base) = std::env::var("SAE_TEST_PG_URL") else {
        assert!(
            std::env::var("SAE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "SAE_TEST_PG_URL is not set but SAE_REQUIRE_PEERS=1"
        );
        eprintln!("skipped: no PostgreSQL (set SAE_TEST_PG_URL)");
        return None;
    };
    // One database per call: the tests of this process run at the same time.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("sae_gc_{}_{n}", std::process::id());
    let mut admin = PgConnection::establish(&base).unwrap();
    // Separate statements: a multi-statement string is one implicit transaction, in
    // which PostgreSQL refuses CREATE/DROP DATABASE.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

/// A fresh PostgreSQL database holding table `t` with its row `-1`, then `more` SQL: a
/// connection to it and its URL (`None`: no PostgreSQL, see [`fresh_pg`]).
fn pg_with_t(more: &str) -> Option<(diesel::pg::PgConnection, String)> {
    let url = fresh_pg()?;
    let mut c = diesel::pg::PgConnection::establish(&url).unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL);
         INSERT INTO t VALUES (-1, 0);
         {more}"
    ))
    .unwrap();
    Some((c, url))
}

/// A fresh PostgreSQL database whose row `-1` of `t` the returned `holder` keeps locked (in
/// an open transaction), a `watcher` connection to it, and a group commit with one
/// committer on it (`None`: no PostgreSQL).
fn pg_with_a_held_row() -> Option<(
    diesel::pg::PgConnection,
    diesel::pg::PgConnection,
    GroupCommit<diesel::pg::PgConnection>,
)> {
    use diesel::pg::PgConnection;
    let (mut holder, url) = pg_with_t("")?;
    holder
        .batch_execute("BEGIN; SELECT v FROM t WHERE id = -1 FOR UPDATE;")
        .unwrap();
    let watcher = PgConnection::establish(&url).unwrap();
    let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
    Some((holder, watcher, GroupCommit::start(open, None, 1).unwrap()))
}

/// Waits (for a condition, not a time) until a session of the watched database waits for a
/// lock.
fn wait_for_a_lock_waiter(watcher: &mut diesel::pg::PgConnection) {
    let waiting = |watcher: &mut diesel::pg::PgConnection| {
        diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .get_result::<i64>(watcher)
        .unwrap()
    };
    while waiting(watcher) == 0 {
        std::thread::yield_now();
    }
}

/// On PostgreSQL a job's savepoint is managed by hand (one round trip per job): a job
/// that fails — by its own `Err`, or after a statement the server refused, which leaves
/// the transaction failed until the savepoint is rolled back — is rolled back alone; a
/// panic rolls back its batch; every acknowledged write, and only those, is stored.
#[test]
fn postgres_jobs_fail_alone_in_their_savepoints() {
    use diesel::pg::PgConnection;
    let Some((mut reader, url)) = pg_with_t("") else {
        return;
    };
    let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
    let group = Arc::new(GroupCommit::start(open, None, 2).unwrap());
    let acknowledged = two_waves(&group);
    let stored: Vec<i64> = t::table
        .filter(t::id.ge(0))
        .select(t::id)
        .order(t::id)
        .load(&mut reader)
        .unwrap();
    assert_eq!(stored, acknowledged, "rows");
}

#[test]
fn batches_of_two_postgres_nodes_never_deadlock_and_every_acknowledged_write_holds() {
    use diesel::pg::PgConnection;
    let Some(url) = fresh_pg() else { return };
    const KEYS: i64 = 8;
    let mut reader = PgConnection::establish(&url).unwrap();
    reader
        .batch_execute(&format!(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL);
             INSERT INTO t SELECT g, 0 FROM generate_series(0, {}) g;",
            KEYS - 1
        ))
        .unwrap();
    // Two "nodes", each with two committers, on the one database.
    let nodes: Vec<Arc<GroupCommit<PgConnection>>> = (0..2)
        .map(|_| {
            let url = url.clone();
            let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
            Arc::new(GroupCommit::start(open, None, 2).unwrap())
        })
        .collect();
    // Each job locks its key's row and increments it; concurrent batches hold several
    // rows each, so without the key order two batches would deadlock.
    let handles: Vec<_> = (0..32i64)
        .map(|w| {
            let node = Arc::clone(&nodes[usize::try_from(w % 2).unwrap()]);
            std::thread::spawn(move || {
                let mut done = vec![0i64; usize::try_from(KEYS).unwrap()];
                for j in 0..30i64 {
                    let key = (w * 5 + j * 3) % KEYS;
                    let r: Result<(), StoreError> = node.write(key, move |c| {
                        let v: i64 = t::table
                            .filter(t::id.eq(key))
                            .select(t::v)
                            .for_update()
                            .get_result(c)?;
                        diesel::update(t::table.filter(t::id.eq(key)))
                            .set(t::v.eq(v + 1))
                            .execute(c)?;
                        Ok(())
                    });
                    r.unwrap();
                    done[usize::try_from(key).unwrap()] += 1;
                }
                done
            })
        })
        .collect();
    let mut expected = vec![0i64; usize::try_from(KEYS).unwrap()];
    for h in handles {
        for (e, d) in expected.iter_mut().zip(h.join().unwrap()) {
            *e += d;
        }
    }
    let stored: Vec<i64> = t::table
        .select(t::v)
        .order(t::id)
        .load(&mut reader)
        .unwrap();
    assert_eq!(stored, expected);
}

/// A PostgreSQL batch holds at most [`BatchConn::MAX_JOBS`] jobs — one without a savepoint,
/// then one savepoint (a subtransaction that writes) each — so no batch transaction overflows
/// a backend's cache of 64 subtransaction ids. 300 jobs pile up behind a first one that waits
/// for a row lock the test holds; each job stores its batch transaction's id.
#[test]
fn a_postgres_batch_stays_within_the_cached_subtransaction_ids() {
    use diesel::pg::PgConnection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some((mut holder, mut watcher, group)) = pg_with_a_held_row() else {
        return;
    };
    let group = Arc::new(group);
    // The first job waits for the row the test holds.
    let first = {
        let group = Arc::clone(&group);
        std::thread::spawn(move || {
            group.write(0, |c: &mut PgConnection| {
                c.batch_execute(
                    "UPDATE t SET v = v + 1 WHERE id = -1;
                     INSERT INTO t (id, v) VALUES (0, txid_current());",
                )?;
                Ok::<_, StoreError>(())
            })
        })
    };
    let mut handles = vec![first];
    wait_for_a_lock_waiter(&mut watcher);
    let started = Arc::new(AtomicUsize::new(0));
    for i in 1..=300i64 {
        let started = Arc::clone(&started);
        let group = Arc::clone(&group);
        handles.push(std::thread::spawn(move || {
            started.fetch_add(1, Ordering::SeqCst);
            group.write(i, move |c: &mut PgConnection| {
                c.batch_execute(&format!(
                    "INSERT INTO t (id, v) VALUES ({i}, txid_current())"
                ))?;
                Ok::<_, StoreError>(())
            })
        }));
    }
    while started.load(Ordering::SeqCst) < 300 {
        std::thread::yield_now();
    }
    holder.batch_execute("COMMIT").unwrap();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let per_transaction: Vec<i64> = diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "SELECT count(*) FROM t WHERE id >= 0 GROUP BY v ORDER BY count(*) DESC",
    )
    .load(&mut watcher)
    .unwrap();
    assert_eq!(per_transaction.iter().sum::<i64>(), 301, "every job stored");
    // 64 = PostgreSQL's PGPROC_MAX_CACHED_SUBXIDS: one unprotected job and 63 savepoints.
    assert_eq!(
        per_transaction.first().copied(),
        Some(64),
        "the jobs that piled up fill batches of 64 jobs, never more: {per_transaction:?}"
    );
}

/// Job `i`'s audit record.
fn record(i: i64) -> crate::store::audit::NewAudit {
    crate::store::audit::NewAudit {
        at: i,
        actor: "test".into(),
        action: "job".into(),
        subject: Some(i.to_string()),
        source: None,
        outcome: "ok".into(),
        detail: None,
    }
}

/// The audit records of a batch's jobs are inserted together before its COMMIT: exactly
/// those of the jobs that were acknowledged, none of a failed or panicked job's.
fn audited_waves<C: BatchConn>(group: &Arc<GroupCommit<C>>) -> Vec<i64> {
    let handles: Vec<_> = (0..100i64)
        .map(|i| {
            let group = Arc::clone(group);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(group.write_async(i, move |c: &mut C| {
                    let value = job(c, i)?;
                    Ok::<_, StoreError>((value, Some(record(i))))
                }))
            })
        })
        .collect();
    let mut ok: Vec<i64> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().ok())
        .collect();
    ok.sort_unstable();
    assert!(ok.iter().all(|i| !fails(*i)), "{ok:?}");
    ok
}

const AUDIT_TABLE: &str = "CREATE TABLE audit (id BIGINT PRIMARY KEY, at BIGINT NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT, source TEXT, outcome TEXT NOT NULL,
    detail TEXT)";

#[test]
fn a_batch_inserts_the_audit_records_of_its_acknowledged_jobs_only() {
    use crate::store::schema::audit;
    let dir = tempfile::tempdir().unwrap();
    let mut reader = open(dir.path());
    reader
        .batch_execute(&AUDIT_TABLE.replace("id BIGINT PRIMARY KEY", "id INTEGER PRIMARY KEY"))
        .unwrap();
    let path = dir.path().to_owned();
    let group =
        Arc::new(GroupCommit::start(move || Ok(open(&path)), Some(Arc::default()), 1).unwrap());
    let acknowledged = audited_waves(&group);
    let mut recorded: Vec<i64> = audit::table.select(audit::at).load(&mut reader).unwrap();
    recorded.sort_unstable();
    assert_eq!(recorded, acknowledged);

    use diesel::pg::PgConnection;
    let audit_table = AUDIT_TABLE.replace("id BIGINT PRIMARY KEY", "id BIGSERIAL PRIMARY KEY");
    let Some((mut reader, url)) = pg_with_t(&audit_table) else {
        return;
    };
    let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
    let group = Arc::new(GroupCommit::start(open, None, 2).unwrap());
    let acknowledged = audited_waves(&group);
    let mut recorded: Vec<i64> = audit::table.select(audit::at).load(&mut reader).unwrap();
    recorded.sort_unstable();
    assert_eq!(recorded, acknowledged);
}

/// A job that swallows the error of a statement the server refused and answers `Ok` leaves
/// the transaction failed, and PostgreSQL's COMMIT of a failed transaction rolls back without
/// an error: the batch notices before it (the audit insert, or a savepoint statement), so
/// such a job is never acknowledged, whether it ran alone in its batch (the first job runs
/// without a savepoint) or after others, with or without an audit record.
#[test]
fn a_job_hiding_a_refused_statement_is_never_acknowledged_on_postgres() {
    use crate::store::schema::audit;
    use diesel::pg::PgConnection;
    let audit_table = AUDIT_TABLE.replace("id BIGINT PRIMARY KEY", "id BIGSERIAL PRIMARY KEY");
    let Some((mut reader, url)) = pg_with_t(&audit_table) else {
        return;
    };
    let open = move || PgConnection::establish(&url).map_err(|e| e.to_string());
    let group = Arc::new(GroupCommit::start(open, None, 1).unwrap());
    let hiding = |c: &mut PgConnection, i: i64| -> Result<i64, StoreError> {
        c.batch_execute(&format!("INSERT INTO t (id, v) VALUES ({i}, {i})"))?;
        let refused = c.batch_execute("INSERT INTO t (id, v) VALUES (-1, 0)");
        assert!(refused.is_err(), "the duplicate key is refused");
        Ok(i)
    };
    let good = |c: &mut PgConnection, i: i64| -> Result<i64, StoreError> {
        c.batch_execute(&format!("INSERT INTO t (id, v) VALUES ({i}, {i})"))?;
        Ok(i)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let audited = |i: i64, hide: bool| {
        runtime.block_on(group.write_async(i, move |c: &mut PgConnection| {
            let value = if hide { hiding(c, i) } else { good(c, i) }?;
            Ok::<_, StoreError>((value, Some(record(i))))
        }))
    };
    // Alone in its batch: without, then with an audit record.
    assert!(group.write(1, move |c| hiding(c, 1)).is_err());
    assert!(audited(2, true).is_err());
    // The committer goes on with a fresh connection.
    assert_eq!(group.write(3, move |c| good(c, 3)).unwrap(), 3);
    assert_eq!(audited(4, false).unwrap(), 4);
    // In waves (some after other jobs of their batch, in a savepoint): every 5th job hides.
    let handles: Vec<_> = (10..60i64)
        .map(|i| {
            let group = Arc::clone(&group);
            std::thread::spawn(move || {
                group.write(
                    i,
                    move |c: &mut PgConnection| {
                        if i % 5 == 0 { hiding(c, i) } else { good(c, i) }
                    },
                )
            })
        })
        .collect();
    let mut acknowledged: Vec<i64> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().ok())
        .collect();
    acknowledged.sort_unstable();
    assert!(acknowledged.iter().all(|i| i % 5 != 0), "{acknowledged:?}");
    let stored: Vec<i64> = t::table
        .filter(t::id.ge(0))
        .select(t::id)
        .order(t::id)
        .load(&mut reader)
        .unwrap();
    let expected: Vec<i64> = [3, 4].into_iter().chain(acknowledged).collect();
    assert_eq!(stored, expected);
    let recorded: Vec<i64> = audit::table.select(audit::at).load(&mut reader).unwrap();
    assert_eq!(recorded, vec![4]);
}

/// Repeatable jobs on PostgreSQL run without savepoints while every job before them in the
/// transaction is repeatable: when one fails, the jobs before it are answered `Again`
/// (nothing of them written, their callers run them again), the failed one its own error,
/// and the rest runs in a new transaction; after a job that is not repeatable, savepoints
/// again. Each job answers how many transaction ids its backend holds locks on after its
/// write: the top-level one only without a savepoint, one more per written savepoint.
#[test]
fn repeatable_postgres_jobs_need_no_savepoints_and_a_failure_voids_the_ones_before_it() {
    use diesel::pg::PgConnection;
    let Some((mut holder, mut watcher, group)) = pg_with_a_held_row() else {
        return;
    };
    let answers: Vec<_> = (0..=20i64)
        .map(|_| sync_channel::<Answer<i64, StoreError>>(1))
        .collect();
    let (senders, receivers): (Vec<_>, Vec<_>) = answers.into_iter().unzip();
    let mut senders = senders.into_iter();
    // Job 0, alone in the first batch, waits for the row the test holds; meanwhile every
    // other job is queued (`submit` returns once it is), so they make up the next batch.
    let reply = senders.next().unwrap();
    group
        .submit(
            0,
            true,
            None,
            |c: &mut PgConnection| {
                c.batch_execute("UPDATE t SET v = v + 1 WHERE id = -1")?;
                Ok::<_, StoreError>((0, None))
            },
            Box::new(move |a| {
                let _ = reply.send(a);
            }),
        )
        .unwrap();
    wait_for_a_lock_waiter(&mut watcher);
    for (i, reply) in (1..=20i64).zip(senders) {
        group
            .submit(
                i,
                i != 15,
                None,
                move |c: &mut PgConnection| {
                    c.batch_execute(&format!("INSERT INTO t (id, v) VALUES ({i}, {i})"))?;
                    if i == 10 {
                        return Err(StoreError::from(diesel::result::Error::RollbackTransaction));
                    }
                    // After the insert, which took the (sub)transaction id it wrote with.
                    let locks = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "SELECT count(*) FROM pg_locks
                         WHERE locktype = 'transactionid' AND pid = pg_backend_pid()",
                    )
                    .get_result::<i64>(c)?;
                    Ok::<_, StoreError>((locks, None))
                },
                Box::new(move |a| {
                    let _ = reply.send(a);
                }),
            )
            .unwrap();
    }
    holder.batch_execute("COMMIT").unwrap();
    let answers: Vec<Answer<i64, StoreError>> =
        receivers.into_iter().map(|r| r.recv().unwrap()).collect();
    for (i, answer) in answers.iter().enumerate() {
        match (i, answer) {
            (0, Answer::Done(Ok(0))) | (1..=9, Answer::Again) | (10, Answer::Done(Err(_))) => {}
            // No savepoint: the top-level transaction id only.
            (11..=14, Answer::Done(Ok(1))) => {}
            // Job 15 is not repeatable: it and every job after it get a savepoint.
            (15..=20, Answer::Done(Ok(locks))) if *locks >= 2 => {}
            (i, Answer::Done(r)) => panic!("job {i}: {r:?}"),
            (i, Answer::Again) => panic!("job {i}: again"),
        }
    }
    let stored: Vec<i64> = t::table
        .filter(t::id.ge(0))
        .select(t::id)
        .order(t::id)
        .load(&mut watcher)
        .unwrap();
    assert_eq!(stored, (11..=20).collect::<Vec<i64>>());
}
