//! The `jobs`, `job_chunks` and `job_skips` tables: background imports with their uploaded
//! file (sealed, in chunks), their progress and their per-item report.

use diesel::prelude::*;

use super::schema::{job_chunks, job_skips, jobs};

/// The seal context of a job's PSK or password.
pub fn key_context(job_id: &str) -> String {
    format!("job-key:{job_id}")
}

/// The seal context of a chunk of an uploaded file (by the chunk's row id, so a chunk moved
/// to another row or job does not open).
pub fn chunk_context(chunk_id: &str) -> String {
    format!("job-chunk:{chunk_id}")
}

/// A job as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct Job {
    /// Random id (hex).
    pub id: String,
    /// `tokens_import` or `users_import`.
    pub kind: String,
    /// `receiving`, `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// JSON of the job's options (never a secret).
    pub params: String,
    /// Sealed PSK or password while the job needs it.
    pub key_enc: Option<String>,
    /// `api` (the file is in `job_chunks`) or `cli` (the file is the CLI's).
    pub origin: String,
    /// Who started it (audit actor).
    pub actor: String,
    /// Client address.
    pub client: Option<String>,
    /// Size of the file.
    pub bytes_total: i64,
    /// Bytes read so far.
    pub bytes_done: i64,
    /// Items in the file, once known.
    pub total: Option<i64>,
    /// Items processed.
    pub done: i64,
    /// Items imported (or, in a dry run, importable).
    pub imported: i64,
    /// Items skipped.
    pub skipped: i64,
    /// Why the job failed.
    pub error: Option<String>,
    /// The claim that runs it.
    pub owner: Option<String>,
    /// The claim holds until then.
    pub lease_until: Option<i64>,
    /// How many times it was claimed.
    pub claims: i32,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// End time.
    pub finished_at: Option<i64>,
}

impl Job {
    /// A new job of `kind` started from `origin` by `actor` at `now`, in `state`, with no
    /// progress yet, leased until `lease_until`.
    pub fn new(
        id: String,
        kind: &str,
        state: &str,
        origin: &str,
        actor: String,
        now: i64,
        lease_until: i64,
    ) -> Self {
        Self {
            id,
            kind: kind.to_owned(),
            state: state.to_owned(),
            params: "{}".into(),
            key_enc: None,
            origin: origin.to_owned(),
            actor,
            client: None,
            bytes_total: 0,
            bytes_done: 0,
            total: None,
            done: 0,
            imported: 0,
            skipped: 0,
            error: None,
            owner: None,
            lease_until: Some(lease_until),
            claims: 0,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }
}

/// A skipped item.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_skips)]
pub struct Skip {
    /// Row id (cursor of the report's pages).
    pub id: i64,
    /// Package number or spreadsheet row.
    pub position: i64,
    /// Serial or login, when the file named one.
    pub item: Option<String>,
    /// Stable reason code.
    pub reason: String,
    /// The reason in words (never a value from the file but names and positions).
    pub detail: String,
}

/// A skipped item to record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = job_skips)]
pub struct NewSkip {
    /// The job.
    pub job_id: String,
    /// Package number or spreadsheet row.
    pub position: i64,
    /// Serial or login.
    pub item: Option<String>,
    /// Stable reason code.
    pub reason: String,
    /// The reason in words.
    pub detail: String,
}

/// Counters written with each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Items processed.
    pub done: i64,
    /// Items imported.
    pub imported: i64,
    /// Items skipped.
    pub skipped: i64,
    /// Bytes of the file read.
    pub bytes_done: i64,
    /// Items in the file, once known.
    pub total: Option<i64>,
}

/// Queries of the job tables.
pub trait Jobs {
    /// Inserts a job.
    fn job_insert(&mut self, job: &Job) -> QueryResult<()>;
    /// One job.
    fn job_get(&mut self, id: &str) -> QueryResult<Option<Job>>;
    /// Appends a sealed chunk of the uploaded file.
    fn job_chunk_insert(&mut self, job: &str, seq: i32, sealed: &str) -> QueryResult<()>;
    /// An upload goes on: its size so far, and the lease that keeps it from being swept.
    fn job_received(
        &mut self,
        id: &str,
        bytes: i64,
        lease_until: i64,
        now: i64,
    ) -> QueryResult<bool>;
    /// Sets a chunk's sealed bytes (sealed under its own row id).
    fn job_chunk_seal(&mut self, chunk_id: i64, sealed: &str) -> QueryResult<()>;
    /// Chunk `seq` of a job's file: its row id (the seal context) and sealed bytes.
    fn job_chunk(&mut self, job: &str, seq: i32) -> QueryResult<Option<(i64, String)>>;
    /// The upload is complete: the job is queued with its options and sealed key.
    fn job_queue(
        &mut self,
        id: &str,
        params: &str,
        key_enc: Option<&str>,
        bytes_total: i64,
        now: i64,
    ) -> QueryResult<bool>;
    /// Claims the oldest runnable job (queued, or running under an expired lease with its
    /// file in the database) for `owner` until `lease_until`.
    fn job_claim(&mut self, now: i64, owner: &str, lease_until: i64) -> QueryResult<Option<Job>>;
    /// Jobs whose lease expired that cannot be resumed (an upload cut short, a CLI import).
    fn jobs_abandoned(&mut self, now: i64) -> QueryResult<Vec<Job>>;
    /// Fails a job whose lease expired (still expired at this write); returns whether it did.
    fn job_abandon(&mut self, id: &str, now: i64, why: &str) -> QueryResult<bool>;
    /// Writes a batch's counters and renews the lease, if `owner` still holds the job.
    fn job_progress(
        &mut self,
        id: &str,
        owner: &str,
        progress: &Progress,
        lease_until: i64,
        now: i64,
    ) -> QueryResult<bool>;
    /// Records skipped items.
    fn job_skips_insert(&mut self, skips: &[NewSkip]) -> QueryResult<()>;
    /// A page of a job's skipped items by id after `cursor`.
    fn job_skips(&mut self, job: &str, cursor: i64, limit: i64) -> QueryResult<Vec<Skip>>;
    /// Starts a job's report over (a dry run resumed from the start).
    fn job_restart(&mut self, id: &str, owner: &str) -> QueryResult<bool>;
    /// Ends a job: state, error, no key, no file, no lease. `owner` (when given) must still
    /// hold it.
    fn job_finish(
        &mut self,
        id: &str,
        owner: Option<&str>,
        state: &str,
        error: Option<&str>,
        now: i64,
    ) -> QueryResult<bool>;
}

/// The claim's row selection differs per backend (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
trait ClaimSql {
    fn claimable(&mut self, now: i64) -> QueryResult<Option<String>>;
}

impl ClaimSql for diesel::pg::PgConnection {
    fn claimable(&mut self, now: i64) -> QueryResult<Option<String>> {
        jobs::table
            .filter(
                jobs::state.eq("queued").or(jobs::state
                    .eq("running")
                    .and(jobs::origin.eq("api"))
                    .and(jobs::lease_until.lt(now))),
            )
            .order(jobs::created_at)
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(self)
            .optional()
    }
}

impl ClaimSql for diesel::sqlite::SqliteConnection {
    fn claimable(&mut self, now: i64) -> QueryResult<Option<String>> {
        // The write transaction (BEGIN IMMEDIATE) already excludes every other writer.
        jobs::table
            .filter(
                jobs::state.eq("queued").or(jobs::state
                    .eq("running")
                    .and(jobs::origin.eq("api"))
                    .and(jobs::lease_until.lt(now))),
            )
            .order(jobs::created_at)
            .select(jobs::id)
            .first(self)
            .optional()
    }
}

for_both_backends! {
    impl Jobs {
        fn job_insert(&mut self, job: &Job) -> QueryResult<()> {
            diesel::insert_into(jobs::table).values(job).execute(self).map(|_| ())
        }

        fn job_get(&mut self, id: &str) -> QueryResult<Option<Job>> {
            jobs::table.filter(jobs::id.eq(id)).select(Job::as_select()).first(self).optional()
        }

        fn job_chunk_insert(&mut self, job: &str, seq: i32, sealed: &str) -> QueryResult<()> {
            diesel::insert_into(job_chunks::table)
                .values((job_chunks::job_id.eq(job), job_chunks::seq.eq(seq), job_chunks::data_enc.eq(sealed)))
                .execute(self)
                .map(|_| ())
        }

        fn job_received(&mut self, id: &str, bytes: i64, lease_until: i64, now: i64) -> QueryResult<bool> {
            diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::state.eq("receiving")))
                .set((jobs::bytes_total.eq(bytes), jobs::lease_until.eq(lease_until), jobs::updated_at.eq(now)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn job_chunk_seal(&mut self, chunk_id: i64, sealed: &str) -> QueryResult<()> {
            diesel::update(job_chunks::table.filter(job_chunks::id.eq(chunk_id)))
                .set(job_chunks::data_enc.eq(sealed))
                .execute(self)
                .map(|_| ())
        }

        fn job_chunk(&mut self, job: &str, seq: i32) -> QueryResult<Option<(i64, String)>> {
            job_chunks::table
                .filter(job_chunks::job_id.eq(job))
                .filter(job_chunks::seq.eq(seq))
                .select((job_chunks::id, job_chunks::data_enc))
                .first(self)
                .optional()
        }

        fn job_queue(&mut self, id: &str, params: &str, key_enc: Option<&str>, bytes_total: i64, now: i64) -> QueryResult<bool> {
            diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::state.eq("receiving")))
                .set((
                    jobs::state.eq("queued"),
                    jobs::params.eq(params),
                    jobs::key_enc.eq(key_enc),
                    jobs::bytes_total.eq(bytes_total),
                    jobs::lease_until.eq(None::<i64>),
                    jobs::updated_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn job_claim(&mut self, now: i64, owner: &str, lease_until: i64) -> QueryResult<Option<Job>> {
            let Some(id) = ClaimSql::claimable(self, now)? else {
                return Ok(None);
            };
            diesel::update(jobs::table.filter(jobs::id.eq(&id)))
                .set((
                    jobs::state.eq("running"),
                    jobs::owner.eq(owner),
                    jobs::lease_until.eq(lease_until),
                    jobs::claims.eq(jobs::claims + 1),
                    jobs::updated_at.eq(now),
                ))
                .returning(Job::as_returning())
                .get_result(self)
                .optional()
        }

        fn jobs_abandoned(&mut self, now: i64) -> QueryResult<Vec<Job>> {
            jobs::table
                .filter(jobs::lease_until.lt(now))
                .filter(
                    jobs::state.eq("receiving").or(jobs::state.eq("running").and(jobs::origin.ne("api"))),
                )
                .select(Job::as_select())
                .load(self)
        }

        fn job_abandon(&mut self, id: &str, now: i64, why: &str) -> QueryResult<bool> {
            let n = diesel::update(
                jobs::table
                    .filter(jobs::id.eq(id))
                    .filter(jobs::lease_until.lt(now))
                    .filter(jobs::state.eq("receiving").or(jobs::state.eq("running"))),
            )
            .set((
                jobs::state.eq("failed"),
                jobs::error.eq(why),
                jobs::key_enc.eq(None::<String>),
                jobs::owner.eq(None::<String>),
                jobs::lease_until.eq(None::<i64>),
                jobs::updated_at.eq(now),
                jobs::finished_at.eq(now),
            ))
            .execute(self)?;
            if n == 1 {
                diesel::delete(job_chunks::table.filter(job_chunks::job_id.eq(id))).execute(self)?;
            }
            Ok(n == 1)
        }

        fn job_progress(&mut self, id: &str, owner: &str, p: &Progress, lease_until: i64, now: i64) -> QueryResult<bool> {
            diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::owner.eq(owner)))
                .set((
                    jobs::done.eq(p.done),
                    jobs::imported.eq(p.imported),
                    jobs::skipped.eq(p.skipped),
                    jobs::bytes_done.eq(p.bytes_done),
                    jobs::total.eq(p.total),
                    jobs::lease_until.eq(lease_until),
                    jobs::updated_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn job_skips_insert(&mut self, skips: &[NewSkip]) -> QueryResult<()> {
            if skips.is_empty() {
                return Ok(());
            }
            diesel::insert_into(job_skips::table).values(skips).execute(self).map(|_| ())
        }

        fn job_skips(&mut self, job: &str, cursor: i64, limit: i64) -> QueryResult<Vec<Skip>> {
            job_skips::table
                .filter(job_skips::job_id.eq(job))
                .filter(job_skips::id.gt(cursor))
                .order(job_skips::id)
                .limit(limit)
                .select(Skip::as_select())
                .load(self)
        }

        fn job_restart(&mut self, id: &str, owner: &str) -> QueryResult<bool> {
            diesel::delete(job_skips::table.filter(job_skips::job_id.eq(id))).execute(self)?;
            diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::owner.eq(owner)))
                .set((
                    jobs::done.eq(0),
                    jobs::imported.eq(0),
                    jobs::skipped.eq(0),
                    jobs::bytes_done.eq(0),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn job_finish(&mut self, id: &str, owner: Option<&str>, state: &str, error: Option<&str>, now: i64) -> QueryResult<bool> {
            let mut target = jobs::table.filter(jobs::id.eq(id)).into_boxed();
            if let Some(o) = owner {
                target = target.filter(jobs::owner.eq(o));
            }
            let ids: Vec<String> = target.select(jobs::id).load(self)?;
            if ids.is_empty() {
                return Ok(false);
            }
            diesel::delete(job_chunks::table.filter(job_chunks::job_id.eq(id))).execute(self)?;
            diesel::update(jobs::table.filter(jobs::id.eq(id)))
                .set((
                    jobs::state.eq(state),
                    jobs::error.eq(error),
                    jobs::key_enc.eq(None::<String>),
                    jobs::owner.eq(None::<String>),
                    jobs::lease_until.eq(None::<i64>),
                    jobs::updated_at.eq(now),
                    jobs::finished_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }
    }
}
