//! The `audit` table: who did what to whom, from where, with what outcome. Never secrets.

use diesel::prelude::*;

use super::schema::audit;

/// One audit record: who did what to whom, from where, with what outcome. Never secrets.
// Serialize: a row of the JSON that PostgreSQL's combined statements insert from.
#[derive(Debug, Clone, Insertable, serde::Serialize)]
// NULL is bound for `None` (no column is left out), so the statement text is the same
// for every row and SQLite caches the prepared statement.
#[diesel(table_name = audit, treat_none_as_default_value = false)]
pub struct NewAudit {
    /// Time, unix seconds.
    pub at: i64,
    /// Who acted (`apikey:<name>`, `admin:<login>`, `system`).
    pub actor: String,
    /// What was done (`user.create`, `otp.validate`, `config.im.update`, …).
    pub action: String,
    /// Whom or what it concerned (a login, a setting name).
    pub subject: Option<String>,
    /// Client address, as believed under `trusted_proxies`.
    pub source: Option<String>,
    /// `ok`, `rejected:<reason>`, `error:<code>`.
    pub outcome: String,
    /// Extra JSON (never secrets).
    pub detail: Option<String>,
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact subject.
    pub subject: Option<String>,
    /// Action, or an action prefix ending in `.` (e.g. `config.`).
    pub action: Option<String>,
    /// Outcome, or an outcome prefix ending in `:` (e.g. `rejected:`).
    pub outcome: Option<String>,
    /// From this time.
    pub since: Option<i64>,
    /// Until this time.
    pub until: Option<i64>,
}

/// An audit record as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct AuditRow {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject: Option<String>,
    /// From where.
    pub source: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Extra JSON.
    pub detail: Option<String>,
}

/// Queries of the audit table.
pub trait AuditLog {
    /// Appends an audit record.
    fn audit_insert(&mut self, entry: &NewAudit) -> QueryResult<()>;
    /// Appends audit records, in their order (none: no statement): in one statement where a
    /// statement is a round trip (PostgreSQL), else one prepared one-row insert each.
    fn audit_insert_all(&mut self, entries: &[NewAudit]) -> QueryResult<()>;
    /// A page of audit records, filtered, newest first (or oldest first); keyset paging on
    /// the row id (`cursor` 0: from the start).
    fn audit_page(
        &mut self,
        filter: &AuditFilter,
        newest_first: bool,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<AuditRow>>;
    /// Deletes audit records older than `before`; returns how many.
    fn audit_purge(&mut self, before: i64) -> QueryResult<usize>;
}

for_both_backends! {
    impl AuditLog {
        fn audit_insert(&mut self, entry: &NewAudit) -> QueryResult<()> {
            diesel::insert_into(audit::table).values(entry).execute(self).map(|_| ())
        }

        fn audit_insert_all(&mut self, entries: &[NewAudit]) -> QueryResult<()> {
            // A many-row insert's text varies with its length, so diesel prepares it anew
            // each time; the one-row insert stays prepared on the connection. On SQLite a
            // statement is a call, not a round trip: the rows go one by one through the
            // prepared insert (a batch's many-row insert was 17 % of the group committer's
            // samples under validate). On PostgreSQL the round trip costs more than the
            // parse, so a batch's records still go in one statement.
            match entries {
                [] => Ok(()),
                [one] => self.audit_insert(one),
                _ if !<Self as super::StatementCost>::ROUND_TRIP => {
                    entries.iter().try_for_each(|e| self.audit_insert(e))
                }
                _ => diesel::insert_into(audit::table).values(entries).execute(self).map(|_| ()),
            }
        }

        fn audit_page(&mut self, filter: &AuditFilter, newest_first: bool, cursor: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
            let like = |p: &str| format!("{}%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let mut q = audit::table.select(AuditRow::as_select()).into_boxed();
            q = match (newest_first, cursor) {
                (_, 0) => q,
                (true, c) => q.filter(audit::id.lt(c)),
                (false, c) => q.filter(audit::id.gt(c)),
            };
            if let Some(v) = &filter.actor {
                q = q.filter(audit::actor.eq(v.clone()));
            }
            if let Some(v) = &filter.subject {
                q = q.filter(audit::subject.eq(v.clone()));
            }
            match &filter.action {
                Some(v) if v.ends_with('.') => q = q.filter(audit::action.like(like(v)).escape('\\')),
                Some(v) => q = q.filter(audit::action.eq(v.clone())),
                None => {}
            }
            match &filter.outcome {
                Some(v) if v.ends_with(':') => q = q.filter(audit::outcome.like(like(v)).escape('\\')),
                Some(v) => q = q.filter(audit::outcome.eq(v.clone())),
                None => {}
            }
            if let Some(t) = filter.since {
                q = q.filter(audit::at.ge(t));
            }
            if let Some(t) = filter.until {
                q = q.filter(audit::at.le(t));
            }
            if newest_first {
                q = q.order(audit::id.desc());
            } else {
                q = q.order(audit::id.asc());
            }
            q.limit(limit).load(self)
        }

        fn audit_purge(&mut self, before: i64) -> QueryResult<usize> {
            diesel::delete(audit::table.filter(audit::at.lt(before))).execute(self)
        }

    }
}
