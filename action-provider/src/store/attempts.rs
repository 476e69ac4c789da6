//! The `delivery_attempts` table: one row per attempt to deliver a code, for reports.

use diesel::prelude::*;

use super::fixed::{Bind, Fixed};
use super::schema::delivery_attempts;

/// One delivery attempt, for reports (serialised as a row of `SENT_ALL`'s JSON).
#[derive(Debug, Clone, Insertable, serde::Serialize)]
#[diesel(table_name = delivery_attempts)]
pub struct NewAttempt {
    /// The job.
    pub outbox_id: i64,
    /// The request.
    pub request_id: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Which broker or account (`primary`, `secondary`, an account name).
    pub broker: String,
    /// Destination with most digits masked.
    pub destination_masked: String,
    /// `delivered`, `failed`, …
    pub outcome: String,
    /// HTTP status, when there was one.
    pub http_status: Option<i32>,
    /// Error or fault text (redacted).
    pub error: Option<String>,
    /// Milliseconds the attempt took.
    pub latency_ms: i64,
    /// Redacted excerpt of the answer.
    pub excerpt: Option<String>,
    /// When.
    pub at: i64,
    /// The Message-ID of a tracked mail.
    pub message_id: Option<String>,
}

/// Filters of the delivery report.
#[derive(Debug, Clone, Default)]
pub struct AttemptFilter {
    /// One request.
    pub request_id: Option<String>,
    /// From this time.
    pub since: Option<i64>,
    /// Until this time.
    pub until: Option<i64>,
    /// One channel (`sms`, `email`).
    pub channel: Option<String>,
    /// One broker or account.
    pub broker: Option<String>,
    /// One outcome (`delivered`, `failed`).
    pub outcome: Option<String>,
}

/// A delivery attempt as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delivery_attempts)]
pub struct AttemptRow {
    /// Row id.
    pub id: i64,
    /// The request.
    pub request_id: String,
    /// `sms` / `email`.
    pub channel: String,
    /// Broker or account.
    pub broker: String,
    /// Masked destination.
    pub destination_masked: String,
    /// `delivered` / `failed`.
    pub outcome: String,
    /// HTTP status.
    pub http_status: Option<i32>,
    /// Error or fault.
    pub error: Option<String>,
    /// Latency.
    pub latency_ms: i64,
    /// Redacted answer excerpt.
    pub excerpt: Option<String>,
    /// When.
    pub at: i64,
    /// The Message-ID of a tracked mail.
    pub message_id: Option<String>,
    /// The status code a bounce gave (RFC 3463, e.g. `5.1.1`).
    pub bounce_status: Option<String>,
    /// The bounce's diagnostic.
    pub bounce_diagnostic: Option<String>,
    /// When the bounce was read.
    pub bounced_at: Option<i64>,
}

/// What a bounce says about an attempt.
#[derive(Debug, Clone)]
pub struct BounceMark {
    /// `bounced` or `delayed`.
    pub outcome: &'static str,
    /// The status code.
    pub status: Option<String>,
    /// The diagnostic.
    pub diagnostic: Option<String>,
    /// When it was read.
    pub at: i64,
}

/// Queries of the delivery_attempts table.
pub trait Attempts {
    /// Records one delivery attempt.
    fn attempt_insert(&mut self, attempt: &NewAttempt) -> QueryResult<()>;
    /// Records a job's one attempt, which delivered it, and marks the job sent
    /// (`Outbox::outbox_sent`): on PostgreSQL in one statement (one round trip).
    fn attempt_insert_sent(&mut self, attempt: &NewAttempt, now: i64) -> QueryResult<()>;
    /// [`Self::attempt_insert_sent`] for several jobs, each marked sent at its attempt's
    /// time (`at`): on PostgreSQL in one statement, however many.
    fn attempts_insert_sent(&mut self, attempts: &[NewAttempt]) -> QueryResult<()>;
    /// A page of delivery attempts, filtered, oldest or newest first; keyset paging on the
    /// row id (`cursor` 0: from the start).
    fn attempts_page(
        &mut self,
        filter: &AttemptFilter,
        newest_first: bool,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<AttemptRow>>;
    /// The e-mail attempts of a request a bounce may be about: delivered, delayed or
    /// bounced, oldest first.
    fn attempts_bounceable(&mut self, request_id: &str) -> QueryResult<Vec<AttemptRow>>;
    /// Records what a bounce says about attempt `id`. A `bounced` attempt stays bounced (a
    /// later delay notice does not undo it). Returns whether the attempt changed to
    /// `mark.outcome` from another outcome.
    fn attempt_mark_bounce(&mut self, id: i64, mark: &BounceMark) -> QueryResult<bool>;
    /// How many e-mail attempts were marked bounced at or after `since`.
    fn attempts_bounced_since(&mut self, since: i64) -> QueryResult<i64>;
}

/// The insert of one attempt, up to its first value (twelve values follow, as
/// [`attempt_binds`] binds them).
macro_rules! insert_attempt {
    () => {
        "INSERT INTO delivery_attempts (outbox_id, request_id, channel, broker, \
         destination_masked, outcome, http_status, error, latency_ms, excerpt, at, \
         message_id) VALUES ("
    };
}

/// [`Attempts::attempts_insert_sent`] on PostgreSQL, with its one bind: the attempts as a
/// JSON array. Planned at each run, not kept prepared: the outbox grows under load, and a
/// generic plan made while it was small (a scan of the whole table, filtered) stayed cached
/// as it grew — measured at 4.5 ms and 1,200 pages per call at 30,000 jobs, against 0.4 ms
/// with the primary key's index. A plan of the moment costs less than a tenth of that, once
/// per batch of records.
const SENT_ALL: &str = "\
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS r(outbox_id int8, request_id text, channel text, broker text, destination_masked text,
         outcome text, http_status int4, error text, latency_ms int8, excerpt text, at int8,
         message_id text)),
a AS (
  INSERT INTO delivery_attempts (outbox_id, request_id, channel, broker, destination_masked,
                                 outcome, http_status, error, latency_ms, excerpt, at, message_id)
  SELECT outbox_id, request_id, channel, broker, destination_masked, outcome, http_status, error,
         latency_ms, excerpt, at, message_id FROM r)
UPDATE outbox SET status = 'sent', payload_enc = NULL, lease_until = NULL, last_error = NULL,
                  updated_at = r.at
  FROM r
 WHERE outbox.id = r.outbox_id AND outbox.id = ANY (ARRAY(SELECT outbox_id FROM r))";

/// The values of an attempt's insert, in [`insert_attempt`]'s order.
fn attempt_binds(a: &NewAttempt) -> [Bind<'_>; 12] {
    [
        Bind::Int(a.outbox_id),
        Bind::Text(&a.request_id),
        Bind::Text(&a.channel),
        Bind::Text(&a.broker),
        Bind::Text(&a.destination_masked),
        Bind::Text(&a.outcome),
        Bind::OptInt(a.http_status.map(i64::from)),
        Bind::OptText(a.error.as_deref()),
        Bind::Int(a.latency_ms),
        Bind::OptText(a.excerpt.as_deref()),
        Bind::Int(a.at),
        Bind::OptText(a.message_id.as_deref()),
    ]
}

for_both_backends! {
    impl Attempts {
        fn attempt_insert(&mut self, attempt: &NewAttempt) -> QueryResult<()> {
            // Fixed text, so the connection keeps it prepared (see `store::fixed`).
            let mut parts = [", "; 13];
            parts[0] = insert_attempt!();
            parts[12] = ")";
            Fixed::<()>::new(&parts, &attempt_binds(attempt)).execute(self).map(|_| ())
        }

        fn attempt_insert_sent(&mut self, attempt: &NewAttempt, now: i64) -> QueryResult<()> {
            if !<Self as super::StatementCost>::ROUND_TRIP {
                self.attempt_insert(attempt)?;
                return super::outbox::Outbox::outbox_sent(self, attempt.outbox_id, now);
            }
            // As `attempt_insert` then `outbox_sent`, in one statement (a data-modifying
            // WITH runs once whether or not the statement reads it).
            let mut parts = [", "; 15];
            parts[0] = concat!("WITH a AS (", insert_attempt!());
            parts[12] = ")) UPDATE outbox SET status = 'sent', payload_enc = NULL, \
                         lease_until = NULL, last_error = NULL, updated_at = ";
            parts[13] = " WHERE id = ";
            parts[14] = "";
            let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11] = attempt_binds(attempt);
            let binds = [
                b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11,
                Bind::Int(now),
                Bind::Int(attempt.outbox_id),
            ];
            Fixed::<()>::new(&parts, &binds).execute(self).map(|_| ())
        }

        fn attempts_insert_sent(&mut self, attempts: &[NewAttempt]) -> QueryResult<()> {
            match attempts {
                [] => Ok(()),
                [one] => self.attempt_insert_sent(one, one.at),
                // SQLite: a statement is a call, not a round trip.
                _ if !<Self as super::StatementCost>::ROUND_TRIP => {
                    attempts.iter().try_for_each(|a| self.attempt_insert_sent(a, a.at))
                }
                _ => {
                    let json = serde_json::to_string(attempts)
                        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                    diesel::sql_query(SENT_ALL)
                        .bind::<diesel::sql_types::Text, _>(json)
                        .execute(self)
                        .map(|_| ())
                }
            }
        }

        fn attempts_page(&mut self, filter: &AttemptFilter, newest_first: bool, cursor: i64, limit: i64) -> QueryResult<Vec<AttemptRow>> {
            let mut q = delivery_attempts::table.select(AttemptRow::as_select()).into_boxed();
            q = match (newest_first, cursor) {
                (_, 0) => q,
                (true, c) => q.filter(delivery_attempts::id.lt(c)),
                (false, c) => q.filter(delivery_attempts::id.gt(c)),
            };
            if let Some(v) = &filter.channel {
                q = q.filter(delivery_attempts::channel.eq(v.clone()));
            }
            if let Some(v) = &filter.broker {
                q = q.filter(delivery_attempts::broker.eq(v.clone()));
            }
            if let Some(v) = &filter.outcome {
                q = q.filter(delivery_attempts::outcome.eq(v.clone()));
            }
            if let Some(r) = &filter.request_id {
                q = q.filter(delivery_attempts::request_id.eq(r.clone()));
            }
            if let Some(t) = filter.since {
                q = q.filter(delivery_attempts::at.ge(t));
            }
            if let Some(t) = filter.until {
                q = q.filter(delivery_attempts::at.le(t));
            }
            if newest_first {
                q = q.order(delivery_attempts::id.desc());
            } else {
                q = q.order(delivery_attempts::id.asc());
            }
            q.limit(limit).load(self)
        }

        fn attempts_bounceable(&mut self, request_id: &str) -> QueryResult<Vec<AttemptRow>> {
            delivery_attempts::table
                .filter(delivery_attempts::request_id.eq(request_id))
                .filter(delivery_attempts::channel.eq("email"))
                .filter(delivery_attempts::outcome.eq_any(["delivered", "delayed", "bounced"]))
                .order(delivery_attempts::id)
                .select(AttemptRow::as_select())
                .load(self)
        }

        fn attempt_mark_bounce(&mut self, id: i64, mark: &BounceMark) -> QueryResult<bool> {
            let target = delivery_attempts::table
                .filter(delivery_attempts::id.eq(id))
                .filter(delivery_attempts::outcome.ne("bounced"));
            let before: Option<String> = target.select(delivery_attempts::outcome).first(self).optional()?;
            let Some(before) = before else {
                return Ok(false);
            };
            diesel::update(target)
                .set((
                    delivery_attempts::outcome.eq(mark.outcome),
                    delivery_attempts::bounce_status.eq(mark.status.as_deref()),
                    delivery_attempts::bounce_diagnostic.eq(mark.diagnostic.as_deref()),
                    delivery_attempts::bounced_at.eq(mark.at),
                ))
                .execute(self)?;
            Ok(before != mark.outcome)
        }

        fn attempts_bounced_since(&mut self, since: i64) -> QueryResult<i64> {
            delivery_attempts::table
                .filter(delivery_attempts::bounced_at.ge(since))
                .filter(delivery_attempts::outcome.eq("bounced"))
                .count()
                .get_result(self)
        }

    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::Connection;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness as _;

    use super::{Attempts as _, NewAttempt};
    use crate::store::outbox::{NewOutbox, Outbox as _};
    use crate::store::schema::{delivery_attempts, outbox};

    fn job(n: i64) -> NewOutbox {
        NewOutbox {
            request_id: format!("r{n}"),
            channel: "sms".into(),
            user_id: None,
            payload_enc: Some(format!("sealed{n}")),
            status: "sending".into(),
            attempts: 1,
            next_attempt_at: 100,
            lease_until: Some(160),
            created_at: 100,
            updated_at: 100,
        }
    }

    fn attempt(outbox_id: i64, n: i64) -> NewAttempt {
        NewAttempt {
            outbox_id,
            request_id: format!("r{n}"),
            channel: "sms".into(),
            broker: "primary".into(),
            destination_masked: format!("*****{n}"),
            outcome: "delivered".into(),
            // Odd rows carry NULLs, even rows values: both must come through the JSON.
            http_status: (n % 2 == 0).then_some(200),
            error: None,
            latency_ms: 10 + n,
            excerpt: (n % 2 == 0).then(|| format!("ok {n} \"quoted\" é")),
            at: 200 + n,
            message_id: (n % 2 == 0).then(|| format!("<m{n}@sae>")),
        }
    }

    type Row = (
        i64,
        String,
        String,
        Option<i32>,
        i64,
        Option<String>,
        i64,
        Option<String>,
    );

    /// Several jobs' records written at once: every attempt stored as given (NULLs and
    /// values alike), every job marked sent at its own attempt's time with its payload
    /// scrubbed, and a job not named left alone.
    macro_rules! records_several {
        ($c:expr) => {{
            let c = $c;
            let ids: Vec<i64> = (0..5).map(|n| c.outbox_insert(&job(n)).unwrap()).collect();
            let attempts: Vec<NewAttempt> = ids[..4]
                .iter()
                .zip(0..)
                .map(|(&id, n)| attempt(id, n))
                .collect();
            c.attempts_insert_sent(&attempts).unwrap();
            c.attempts_insert_sent(&[]).unwrap();
            let stored: Vec<Row> = delivery_attempts::table
                .order(delivery_attempts::outbox_id)
                .select((
                    delivery_attempts::outbox_id,
                    delivery_attempts::request_id,
                    delivery_attempts::destination_masked,
                    delivery_attempts::http_status,
                    delivery_attempts::latency_ms,
                    delivery_attempts::excerpt,
                    delivery_attempts::at,
                    delivery_attempts::message_id,
                ))
                .load(c)
                .unwrap();
            let expected: Vec<Row> = attempts
                .iter()
                .map(|a| {
                    (
                        a.outbox_id,
                        a.request_id.clone(),
                        a.destination_masked.clone(),
                        a.http_status,
                        a.latency_ms,
                        a.excerpt.clone(),
                        a.at,
                        a.message_id.clone(),
                    )
                })
                .collect();
            assert_eq!(stored, expected);
            let jobs: Vec<(i64, String, Option<String>, Option<i64>, i64)> = outbox::table
                .order(outbox::id)
                .select((
                    outbox::id,
                    outbox::status,
                    outbox::payload_enc,
                    outbox::lease_until,
                    outbox::updated_at,
                ))
                .load(c)
                .unwrap();
            for (n, (id, status, payload, lease, updated)) in jobs.into_iter().enumerate() {
                let n = i64::try_from(n).unwrap();
                assert_eq!(id, ids[usize::try_from(n).unwrap()]);
                if n < 4 {
                    assert_eq!(
                        (status.as_str(), payload, lease, updated),
                        ("sent", None, None, 200 + n)
                    );
                } else {
                    assert_eq!(
                        (status.as_str(), payload, lease, updated),
                        ("sending", Some("sealed4".to_owned()), Some(160), 100)
                    );
                }
            }
        }};
    }

    #[test]
    fn several_records_at_once_on_sqlite() {
        let mut c = SqliteConnection::establish(":memory:").expect("an in-memory database");
        c.run_pending_migrations(crate::store::pool::SQLITE_MIGRATIONS)
            .expect("migrations");
        records_several!(&mut c);
    }

    /// On PostgreSQL the records are one statement whatever their number, planned at each
    /// run (never kept prepared with a plan made for a smaller outbox: see `SENT_ALL`).
    #[test]
    fn several_records_at_once_on_postgresql_in_one_statement_planned_each_time() {
        let Some(url) = crate::store::group_commit::tests::fresh_pg() else {
            return;
        };
        crate::store::Store::open(&url, 1)
            .unwrap()
            .migrate()
            .unwrap();
        let mut c = diesel::pg::PgConnection::establish(&url).unwrap();
        records_several!(&mut c);
        for n in 10..13 {
            let ids: Vec<i64> = (0..n).map(|k| c.outbox_insert(&job(k)).unwrap()).collect();
            let attempts: Vec<NewAttempt> =
                ids.iter().zip(0..).map(|(&id, k)| attempt(id, k)).collect();
            c.attempts_insert_sent(&attempts).unwrap();
        }
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let prepared: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'WITH r AS%'",
        )
        .get_result(&mut c)
        .unwrap();
        assert_eq!(prepared.n, 0);
        let sent: i64 = outbox::table
            .filter(outbox::status.eq("sent"))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(sent, 4 + 10 + 11 + 12);
    }
}
