//! The dashboard's figures, computed by the database: outbox counts, delivery attempts per
//! broker and hour, locked users, OAuth2 profiles needing attention, recent failures.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::attempts::AttemptRow;
use super::schema::{audit, delivery_attempts, oauth2_profiles, users};

/// Delivery attempts of one broker in one hour.
#[derive(Debug, Clone, QueryableByName)]
pub struct BrokerHour {
    /// `sms` or `email`.
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// Broker or account.
    #[diesel(sql_type = Text)]
    pub broker: String,
    /// Start of the hour (unix seconds).
    #[diesel(sql_type = BigInt)]
    pub hour: i64,
    /// Attempts in the hour.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    /// Of which delivered.
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    /// Sum of the attempts' latencies (ms).
    #[diesel(sql_type = BigInt)]
    pub latency_sum_ms: i64,
    /// Longest latency (ms).
    #[diesel(sql_type = BigInt)]
    pub latency_max_ms: i64,
}

/// Outbox jobs in one state.
#[derive(Debug, Clone, QueryableByName)]
pub struct OutboxCount {
    /// `queued`, `sending`, `sent`, `failed`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub jobs: i64,
    /// Of which already tried and failed at least once.
    #[diesel(sql_type = BigInt)]
    pub retried: i64,
    /// Creation time of the oldest (unix seconds).
    #[diesel(sql_type = BigInt)]
    pub oldest: i64,
}

/// A locked user.
#[derive(Debug, Clone, Queryable)]
pub struct LockedUser {
    /// Login.
    pub login: String,
    /// End of a temporary lock in Unix milliseconds (`None`: until unlocked).
    pub locked_until_ms: Option<i64>,
    /// The factor whose failures locked it.
    pub lock_factor: Option<String>,
}

/// An OAuth2 profile that needs an administrator.
#[derive(Debug, Clone, Queryable)]
pub struct ProfileAttention {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The refresh token was refused.
    pub needs_reauthorization: bool,
    /// Whether a token is held.
    pub has_token: bool,
    /// The last error.
    pub last_error: Option<String>,
}

/// A refused or failed action of the audit log.
#[derive(Debug, Clone, Queryable)]
pub struct AuditFailure {
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject: Option<String>,
    /// `rejected:<reason>` or `error:<code>`.
    pub outcome: String,
}

/// Queries of the dashboard.
pub trait Dashboard {
    /// Delivery attempts per channel, broker and hour from `since` to `until` (unix seconds).
    fn broker_hours(&mut self, since: i64, until: i64) -> QueryResult<Vec<BrokerHour>>;
    /// Outbox jobs per state.
    fn outbox_counts(&mut self) -> QueryResult<Vec<OutboxCount>>;
    /// How many users are locked at `now`, and the first `limit` of them (latest locks first).
    fn locked_users(&mut self, now_ms: i64, limit: i64) -> QueryResult<(i64, Vec<LockedUser>)>;
    /// OAuth2 profiles without a usable token (refused refresh, an error, or none yet).
    fn profiles_needing_attention(&mut self) -> QueryResult<Vec<ProfileAttention>>;
    /// The latest `limit` failed delivery attempts since `since`.
    fn recent_failed_attempts(&mut self, since: i64, limit: i64) -> QueryResult<Vec<AttemptRow>>;
    /// The latest `limit` refused or failed actions of the audit log since `since`.
    fn recent_audit_failures(&mut self, since: i64, limit: i64) -> QueryResult<Vec<AuditFailure>>;
}

/// The hourly aggregate. The bounds are integers the server computed (never client text),
/// written into the statement because SQLite and PostgreSQL spell bind markers differently.
fn broker_hours_sql(since: i64, until: i64) -> String {
    format!(
        "SELECT channel, broker, CAST((at / 3600) * 3600 AS BIGINT) AS hour, \
         CAST(COUNT(*) AS BIGINT) AS attempts, \
         CAST(SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END) AS BIGINT) AS delivered, \
         CAST(SUM(latency_ms) AS BIGINT) AS latency_sum_ms, \
         CAST(MAX(latency_ms) AS BIGINT) AS latency_max_ms \
         FROM delivery_attempts WHERE at >= {since} AND at < {until} \
         GROUP BY channel, broker, (at / 3600) * 3600 \
         ORDER BY channel, broker, hour"
    )
}

const OUTBOX_SQL: &str = "SELECT status, CAST(COUNT(*) AS BIGINT) AS jobs, \
     CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS retried, \
     CAST(MIN(created_at) AS BIGINT) AS oldest FROM outbox GROUP BY status ORDER BY status";

for_both_backends! {
    impl Dashboard {
        fn broker_hours(&mut self, since: i64, until: i64) -> QueryResult<Vec<BrokerHour>> {
            diesel::sql_query(broker_hours_sql(since, until)).load(self)
        }

        fn outbox_counts(&mut self) -> QueryResult<Vec<OutboxCount>> {
            diesel::sql_query(OUTBOX_SQL).load(self)
        }

        fn locked_users(&mut self, now_ms: i64, limit: i64) -> QueryResult<(i64, Vec<LockedUser>)> {
            let locked = users::locked_at_ms.is_not_null()
                .and(users::locked_until_ms.is_null().or(users::locked_until_ms.gt(now_ms)));
            let count = users::table.filter(locked).count().get_result(self)?;
            let first = users::table
                .filter(locked)
                .order((users::locked_at_ms.desc(), users::id.desc()))
                .select((users::login, users::locked_until_ms, users::lock_factor))
                .limit(limit)
                .load(self)?;
            Ok((count, first))
        }

        fn profiles_needing_attention(&mut self) -> QueryResult<Vec<ProfileAttention>> {
            oauth2_profiles::table
                .filter(
                    oauth2_profiles::needs_reauthorization
                        .or(oauth2_profiles::valid.eq(false))
                        .or(oauth2_profiles::last_error.is_not_null())
                        .or(oauth2_profiles::access_token_enc.is_null()),
                )
                .order(oauth2_profiles::name)
                .select((
                    oauth2_profiles::id,
                    oauth2_profiles::name,
                    oauth2_profiles::needs_reauthorization,
                    oauth2_profiles::access_token_enc.is_not_null(),
                    oauth2_profiles::last_error,
                ))
                .load(self)
        }

        fn recent_failed_attempts(&mut self, since: i64, limit: i64) -> QueryResult<Vec<AttemptRow>> {
            delivery_attempts::table
                .filter(delivery_attempts::outcome.ne("delivered"))
                .filter(delivery_attempts::at.ge(since))
                .order(delivery_attempts::id.desc())
                .select(AttemptRow::as_select())
                .limit(limit)
                .load(self)
        }

        fn recent_audit_failures(&mut self, since: i64, limit: i64) -> QueryResult<Vec<AuditFailure>> {
            audit::table
                // `ok`, and `ok; <note>` (e.g. `ok; totp enrolled`), are successes.
                .filter(audit::outcome.not_like("ok%"))
                .filter(audit::at.ge(since))
                .order(audit::id.desc())
                .select((audit::at, audit::actor, audit::action, audit::subject, audit::outcome))
                .limit(limit)
                .load(self)
        }
    }
}
