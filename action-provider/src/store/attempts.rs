//! The `delivery_attempts` table: one row per attempt to deliver a code, for reports.

use diesel::prelude::*;

use super::fixed::{Bind, Fixed};
use super::schema::delivery_attempts;

/// One delivery attempt, for reports.
#[derive(Debug, Clone, Insertable)]
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
