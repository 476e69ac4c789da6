//! The `outbox` table: deliveries queued in the transaction that accepted the request,
//! claimed and sent by the workers.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use std::sync::LazyLock;

use super::fixed::{Bind, Fixed, FixedRows, Numbered};
use super::schema::{delivery_attempts, outbox};

/// A delivery job to queue.
#[derive(Debug, Clone, Insertable)]
// NULL is bound for `None`: one statement text, cached prepared (see `NewAudit`).
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct NewOutbox {
    /// The request it delivers.
    pub request_id: String,
    /// `sms` or `email`.
    pub channel: String,
    /// The user, if any.
    pub user_id: Option<i64>,
    /// Sealed JSON payload.
    pub payload_enc: Option<String>,
    /// `queued`, or `sending` for a job handed to this node's worker at once (see
    /// `outbox::handoff`).
    pub status: String,
    /// Attempts so far: 0 for a queued job, 1 for a job handed over (its attempt begins).
    pub attempts: i32,
    /// When the first attempt is due.
    pub next_attempt_at: i64,
    /// The lease of a job handed over (`None` for a queued one).
    pub lease_until: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Same.
    pub updated_at: i64,
}

/// An outbox job claimed by a worker.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedJob {
    /// Row id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The request it delivers.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub request_id: String,
    /// `sms` or `email`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub channel: String,
    /// Sealed payload (None if already scrubbed).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub payload_enc: Option<String>,
    /// Attempts so far, this one included.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
}

/// Queries of the outbox table (claiming jobs is in [`Outbox::outbox_claim`], whose SQL differs per backend).
pub trait Outbox {
    /// Queues a delivery job.
    fn outbox_insert(&mut self, job: &NewOutbox) -> QueryResult<i64>;
    /// Stores an issued code and queues its delivery job (a code request's two rows): on
    /// PostgreSQL in one statement (one round trip), on SQLite as the two inserts. Returns
    /// the job's id.
    fn outbox_insert_with_code(
        &mut self,
        code: &super::codes::NewIssuedCode,
        job: &NewOutbox,
    ) -> QueryResult<i64>;
    /// Marks a job delivered and scrubs its payload.
    fn outbox_sent(&mut self, id: i64, now: i64) -> QueryResult<()>;
    /// Puts a job back in the queue for `next_attempt_at`.
    fn outbox_retry(
        &mut self,
        id: i64,
        next_attempt_at: i64,
        error: &str,
        now: i64,
    ) -> QueryResult<()>;
    /// Gives up on a job and scrubs its payload.
    fn outbox_failed(&mut self, id: i64, error: &str, now: i64) -> QueryResult<()>;
    /// Deletes delivery attempts older than `before`, and finished outbox jobs with them.
    fn deliveries_purge(&mut self, before: i64) -> QueryResult<usize>;
    /// Jobs waiting to be delivered (queued or being sent) and the creation time of the
    /// oldest, unix seconds.
    fn outbox_backlog(&mut self) -> QueryResult<(i64, Option<i64>)>;
    /// Claims up to `limit` due jobs (queued and due, or sending with an expired lease),
    /// marking them `sending` with a lease until `lease_until`. On PostgreSQL with `FOR
    /// UPDATE SKIP LOCKED` (nodes never claim the same job); on SQLite inside the writer's
    /// `BEGIN IMMEDIATE`.
    fn outbox_claim(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> QueryResult<Vec<ClaimedJob>>;
}

for_both_backends! {
    impl Outbox {
        fn outbox_backlog(&mut self) -> QueryResult<(i64, Option<i64>)> {
            outbox::table
                .filter(outbox::status.eq_any(["queued", "sending"]))
                .select((diesel::dsl::count_star(), diesel::dsl::min(outbox::created_at)))
                .first(self)
        }

        fn outbox_claim(&mut self, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<ClaimedJob>> {
            ClaimSql::claim(self, now, lease_until, limit)
        }

        fn outbox_insert(&mut self, job: &NewOutbox) -> QueryResult<i64> {
            diesel::insert_into(outbox::table).values(job).returning(outbox::id).get_result(self)
        }

        fn outbox_insert_with_code(&mut self, code: &super::codes::NewIssuedCode, job: &NewOutbox) -> QueryResult<i64> {
            if !<Self as super::StatementCost>::ROUND_TRIP {
                // The code's id is not needed: its insert returns nothing (no row to read).
                let mut parts = [", "; 8];
                parts[0] = super::codes::CODE_INSERT;
                parts[7] = ")";
                Fixed::<()>::new(&parts, &super::codes::code_binds(code)).execute(self)?;
                return self.outbox_insert(job);
            }
            // Fixed text, so the connection keeps it prepared (see `store::fixed`). A
            // data-modifying WITH runs once whether or not the statement reads it.
            static FIRST: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| format!("WITH c AS ({}", super::codes::CODE_INSERT));
            let mut parts = [", "; 18];
            parts[0] = FIRST.as_str();
            parts[7] = ")) INSERT INTO outbox (request_id, channel, user_id, payload_enc, status, \
                        attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES (";
            parts[17] = ") RETURNING id";
            let [c0, c1, c2, c3, c4, c5, c6] = super::codes::code_binds(code);
            let binds = [
                c0, c1, c2, c3, c4, c5, c6,
                Bind::Text(&job.request_id),
                Bind::Text(&job.channel),
                Bind::OptInt(job.user_id),
                Bind::OptText(job.payload_enc.as_deref()),
                Bind::Text(&job.status),
                // An int8 parameter into the int4 column: PostgreSQL casts on assignment.
                Bind::Int(i64::from(job.attempts)),
                Bind::Int(job.next_attempt_at),
                Bind::OptInt(job.lease_until),
                Bind::Int(job.created_at),
                Bind::Int(job.updated_at),
            ];
            Fixed::<diesel::sql_types::BigInt>::new(&parts, &binds).get_result(self)
        }

        fn outbox_sent(&mut self, id: i64, now: i64) -> QueryResult<()> {
            // Fixed text, so the connection keeps it prepared (see `store::fixed`).
            let parts = [
                "UPDATE outbox SET status = 'sent', payload_enc = NULL, lease_until = NULL, \
                 last_error = NULL, updated_at = ",
                " WHERE id = ",
                "",
            ];
            Fixed::<()>::new(&parts, &[Bind::Int(now), Bind::Int(id)]).execute(self).map(|_| ())
        }

        fn outbox_retry(&mut self, id: i64, next_attempt_at: i64, error: &str, now: i64) -> QueryResult<()> {
            diesel::update(outbox::table.filter(outbox::id.eq(id)))
                .set((
                    outbox::status.eq("queued"),
                    outbox::next_attempt_at.eq(next_attempt_at),
                    outbox::lease_until.eq(None::<i64>),
                    outbox::last_error.eq(error),
                    outbox::updated_at.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn outbox_failed(&mut self, id: i64, error: &str, now: i64) -> QueryResult<()> {
            diesel::update(outbox::table.filter(outbox::id.eq(id)))
                .set((
                    outbox::status.eq("failed"),
                    outbox::payload_enc.eq(None::<String>),
                    outbox::lease_until.eq(None::<i64>),
                    outbox::last_error.eq(error),
                    outbox::updated_at.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn deliveries_purge(&mut self, before: i64) -> QueryResult<usize> {
            let n = diesel::delete(delivery_attempts::table.filter(delivery_attempts::at.lt(before))).execute(self)?;
            diesel::delete(
                outbox::table.filter(outbox::status.eq_any(["sent", "failed"])).filter(outbox::updated_at.lt(before)),
            )
            .execute(self)?;
            Ok(n)
        }

    }
}

/// Several code requests' rows in one statement, on its own (outside any transaction: one
/// round trip and one commit for all of them, on PostgreSQL).
pub trait IssueAll {
    /// Inserts each request's issued code, delivery job and audit record, as
    /// [`Outbox::outbox_insert_with_code`] and the audit insert would in one transaction;
    /// returns the jobs' ids in `rows`' order. All or nothing: on an error (a user deleted
    /// meanwhile, say) nothing was written.
    fn issue_all(
        &mut self,
        rows: &[(
            &super::codes::NewIssuedCode,
            &NewOutbox,
            &super::audit::NewAudit,
        )],
    ) -> QueryResult<Vec<i64>>;
}

/// [`IssueAll`] on PostgreSQL, around its one bind: the rows as JSON (one text whatever
/// their number, so the connection keeps one prepared statement and one generic plan; see
/// `store::locks::ACCEPT_ALL_AS_READ`). The jobs' ids come back joined to their rows by
/// request id (unique: the issued codes' constraint), in the rows' order.
const ISSUE_ALL: [&str; 2] = [
    "\
WITH r AS (
  SELECT * FROM jsonb_to_recordset(",
    "::jsonb)
    AS r(ord int8, request_id text, user_id int8, channel text, code_mac text, key_id text,
         created_at int8, expires_at int8, job_request_id text, job_channel text,
         job_user_id int8, payload_enc text, status text, attempts int4, next_attempt_at int8,
         lease_until int8, job_created_at int8, job_updated_at int8, at int8, actor text,
         action text, subject text, source text, outcome text, detail text)),
c AS (
  INSERT INTO issued_codes (request_id, user_id, channel, code_mac, key_id, created_at, expires_at)
  SELECT request_id, user_id, channel, code_mac, key_id, created_at, expires_at
    FROM r ORDER BY ord),
o AS (
  INSERT INTO outbox (request_id, channel, user_id, payload_enc, status, attempts,
                      next_attempt_at, lease_until, created_at, updated_at)
  SELECT job_request_id, job_channel, job_user_id, payload_enc, status, attempts,
         next_attempt_at, lease_until, job_created_at, job_updated_at
    FROM r ORDER BY ord
  RETURNING id, request_id),
a AS (
  INSERT INTO audit (at, actor, action, subject, source, outcome, detail)
  SELECT at, actor, action, subject, source, outcome, detail FROM r ORDER BY ord)
SELECT o.id FROM o JOIN r ON r.job_request_id = o.request_id ORDER BY r.ord",
];

/// One row of [`ISSUE_ALL`]'s JSON.
#[derive(serde::Serialize)]
struct IssueRow<'a> {
    ord: usize,
    request_id: &'a str,
    user_id: i64,
    channel: &'a str,
    code_mac: &'a str,
    key_id: &'a str,
    created_at: i64,
    expires_at: i64,
    job_request_id: &'a str,
    job_channel: &'a str,
    job_user_id: Option<i64>,
    payload_enc: Option<&'a str>,
    status: &'a str,
    attempts: i32,
    next_attempt_at: i64,
    lease_until: Option<i64>,
    job_created_at: i64,
    job_updated_at: i64,
    #[serde(flatten)]
    audit: &'a super::audit::NewAudit,
}

impl IssueAll for PgConnection {
    fn issue_all(
        &mut self,
        rows: &[(
            &super::codes::NewIssuedCode,
            &NewOutbox,
            &super::audit::NewAudit,
        )],
    ) -> QueryResult<Vec<i64>> {
        let json: Vec<IssueRow<'_>> = rows
            .iter()
            .enumerate()
            .map(|(ord, (code, job, a))| IssueRow {
                ord,
                request_id: &code.request_id,
                user_id: code.user_id,
                channel: &code.channel,
                code_mac: &code.code_mac,
                key_id: &code.key_id,
                created_at: code.created_at,
                expires_at: code.expires_at,
                job_request_id: &job.request_id,
                job_channel: &job.channel,
                job_user_id: job.user_id,
                payload_enc: job.payload_enc.as_deref(),
                status: &job.status,
                attempts: job.attempts,
                next_attempt_at: job.next_attempt_at,
                lease_until: job.lease_until,
                job_created_at: job.created_at,
                job_updated_at: job.updated_at,
                audit: a,
            })
            .collect();
        let json = serde_json::to_string(&json)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let ids: Vec<i64> =
            Fixed::<diesel::sql_types::BigInt>::new(&ISSUE_ALL, &[Bind::Text(&json)]).load(self)?;
        if ids.len() != rows.len() {
            // Cannot happen (each row inserts one job, joined back by its unique request
            // id); answered as an error rather than misattributed.
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "{} jobs inserted for {} code requests",
                    ids.len(),
                    rows.len()
                )
                .into(),
            ));
        }
        Ok(ids)
    }
}

/// The claim: expired leases first, then the jobs due soonest, `$3` in all. Each part is
/// read in the order of the `outbox_due (status, next_attempt_at)` index and stops after
/// `$3` rows, so a claim costs the same with ten queued jobs or a backlog of a million. (One
/// `WHERE (queued AND due) OR (sending AND expired) ORDER BY id LIMIT $3` sorted every due
/// job at every claim: a burst of code requests made each claim slower than the last.)
const CLAIM_SQL: &str = "UPDATE outbox SET status = 'sending', lease_until = $2, attempts = attempts + 1, updated_at = $1 \
     WHERE id IN (SELECT id FROM (SELECT id FROM outbox WHERE status = 'sending' AND lease_until < $1 \
                                  ORDER BY next_attempt_at LIMIT $3 @LOCK@) AS expired \
                  UNION ALL \
                  SELECT id FROM (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1 \
                                  ORDER BY next_attempt_at LIMIT $3 @LOCK@) AS due \
                  LIMIT $3) \
     RETURNING id, request_id, channel, payload_enc, attempts";

trait ClaimSql {
    fn claim(&mut self, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<ClaimedJob>>;
}

// Fixed text with one bind per use of a parameter, so each connection keeps the claim
// prepared (see `store::fixed`).
impl ClaimSql for PgConnection {
    fn claim(&mut self, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<ClaimedJob>> {
        static SQL: LazyLock<Numbered> =
            LazyLock::new(|| Numbered::new(&CLAIM_SQL.replace("@LOCK@", "FOR UPDATE SKIP LOCKED")));
        let (parts, binds) = SQL.with([now, lease_until, limit]);
        FixedRows(Fixed::new(&parts, &binds)).load(self)
    }
}

impl ClaimSql for SqliteConnection {
    fn claim(&mut self, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<ClaimedJob>> {
        // The claim runs inside BEGIN IMMEDIATE, which serialises claimers.
        static SQL: LazyLock<Numbered> =
            LazyLock::new(|| Numbered::new(&CLAIM_SQL.replace("@LOCK@", "")));
        let (parts, binds) = SQL.with([now, lease_until, limit]);
        FixedRows(Fixed::new(&parts, &binds)).load(self)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness as _;

    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    /// The claim is a statement the connection keeps prepared: PostgreSQL lists one
    /// prepared claim after three claims (a `sql_query` was parsed and planned each time),
    /// and the jobs come back whole.
    #[test]
    fn the_claim_stays_prepared_on_postgresql() {
        use super::{ClaimSql as _, NewOutbox, Outbox as _};
        let Some(url) = super::super::group_commit::tests::fresh_pg() else {
            return;
        };
        super::super::Store::open(&url, 1)
            .unwrap()
            .migrate()
            .unwrap();
        let mut c = diesel::pg::PgConnection::establish(&url).unwrap();
        for n in 0..3 {
            let job = NewOutbox {
                request_id: format!("r{n}"),
                channel: "sms".into(),
                user_id: None,
                payload_enc: Some(format!("sealed{n}")),
                status: "queued".into(),
                attempts: 0,
                next_attempt_at: 100,
                lease_until: None,
                created_at: 100,
                updated_at: 100,
            };
            c.outbox_insert(&job).unwrap();
            let claimed = c.claim(200, 300, 8).unwrap();
            assert_eq!(claimed.len(), 1, "the one due job, claimed once");
            assert_eq!(claimed[0].request_id, format!("r{n}"));
            assert_eq!(
                claimed[0].payload_enc.as_deref(),
                Some(&*format!("sealed{n}"))
            );
            assert_eq!(claimed[0].attempts, 1);
        }
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let prepared: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements \
              WHERE statement LIKE 'UPDATE outbox SET status = ''sending''%'",
        )
        .get_result(&mut c)
        .unwrap();
        assert_eq!(prepared.n, 1);
    }

    /// SQLite's plan of the claim reads the index in order and sorts nothing: its cost does
    /// not grow with the backlog.
    #[test]
    fn the_claim_reads_the_due_index_in_order_and_sorts_nothing() {
        let mut c = SqliteConnection::establish(":memory:").expect("an in-memory database");
        c.run_pending_migrations(super::super::pool::SQLITE_MIGRATIONS)
            .expect("migrations");
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            super::CLAIM_SQL.replace("@LOCK@", "").replace('$', "?")
        );
        let plan: Vec<String> = diesel::sql_query(sql)
            .bind::<diesel::sql_types::BigInt, _>(0)
            .bind::<diesel::sql_types::BigInt, _>(0)
            .bind::<diesel::sql_types::BigInt, _>(32)
            .load::<Step>(&mut c)
            .expect("the plan")
            .into_iter()
            .map(|s| s.detail)
            .collect();
        assert!(
            plan.iter()
                .all(|d| !d.contains("TEMP B-TREE") && !d.starts_with("SCAN outbox")),
            "{plan:#?}"
        );
        assert_eq!(
            plan.iter()
                .filter(|d| d.contains("USING COVERING INDEX outbox_due")
                    || d.contains("USING INDEX outbox_due"))
                .count(),
            2,
            "{plan:#?}"
        );
    }
}
