//! The audit helper: one way to build and write an audit record. Who did what to whom, from
//! where, with what outcome — never a secret. Configuration changes record the names of
//! the fields that changed, never their values.

use super::page::TimeOrder;
use crate::clock::UnixTime;
use crate::store::audit::NewAudit;
use crate::store::prelude::*;

/// An audit record being built.
#[derive(Debug, Clone)]
pub struct Audit(NewAudit);

impl Audit {
    /// A record of `actor` doing `action` at `at`, outcome `ok` unless said otherwise.
    pub fn new(actor: impl Into<String>, action: &str, at: UnixTime) -> Self {
        Self(NewAudit {
            at: at.secs(),
            actor: actor.into(),
            action: action.to_owned(),
            subject: None,
            source: None,
            outcome: "ok".into(),
            detail: None,
        })
    }

    /// Whom or what it concerned.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.0.subject = Some(subject.into());
        self
    }

    /// The client address (as believed under `trusted_proxies`).
    pub fn source(mut self, source: Option<&str>) -> Self {
        self.0.source = source.map(str::to_owned);
        self
    }

    /// The outcome (`ok`, `rejected:<reason>`, …).
    pub fn outcome(mut self, outcome: impl Into<String>) -> Self {
        self.0.outcome = outcome.into();
        self
    }

    /// Extra facts, as JSON (never secrets).
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.0.detail = Some(detail.to_string());
        self
    }

    /// Writes the record (inside the caller's transaction).
    pub fn write(&self, c: &mut dyn Conn) -> diesel::QueryResult<()> {
        c.audit_insert(&self.0)
    }

    /// The record, for a write that hands it to the store to insert
    /// ([`Store::write_batched_audited`](crate::store::Store::write_batched_audited)).
    pub fn into_record(self) -> NewAudit {
        self.0
    }

    /// Writes the record on its own (batched with concurrent writes where the store can).
    pub async fn record(self, state: &super::AppState) -> Result<(), super::ServiceError> {
        state
            .store
            .write_batched_audited(0, None, move |_| {
                Ok::<_, super::ServiceError>(((), self.into_record()))
            })
            .await
    }
}

/// The dotted names of the fields that differ between two JSON documents (objects are
/// compared member by member, anything else as a whole): what a configuration change
/// records, never the values.
pub fn changed_fields(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    fn walk(path: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (a, b) if a != b => out.push(if path.is_empty() {
                ".".into()
            } else {
                path.to_owned()
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

/// An audit record as listed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    /// When (RFC 3339).
    pub at: String,
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
    /// Extra facts.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The order (default: newest first).
    pub order: Option<TimeOrder>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact subject.
    pub subject: Option<String>,
    /// Action, or an action prefix ending in `.` (e.g. `config.`).
    pub action: Option<String>,
    /// Outcome, or an outcome prefix ending in `:` (e.g. `rejected:`).
    pub outcome: Option<String>,
    /// From this time.
    pub since: Option<UnixTime>,
    /// Until this time.
    pub until: Option<UnixTime>,
}

/// Lists audit records, newest first unless asked otherwise (who, what, when, from where,
/// outcome; never secrets), a page at a time (keyset paging on the row id).
pub async fn list(
    state: &super::AppState,
    caller: &super::caller::Caller,
    q: AuditQuery,
    page: super::page::PageRequest,
) -> Result<super::page::Page<AuditItem>, super::ServiceError> {
    caller.require_admin()?;
    let filter = crate::store::audit::AuditFilter {
        actor: q.actor,
        subject: q.subject,
        action: q.action,
        outcome: q.outcome,
        since: q.since.map(UnixTime::secs),
        until: q.until.map(UnixTime::secs),
    };
    let newest_first = q.order.unwrap_or(TimeOrder::NewestFirst) == TimeOrder::NewestFirst;
    let rows = state
        .store
        .read(move |c| {
            Ok::<_, super::ServiceError>(c.audit_page(
                &filter,
                newest_first,
                page.cursor,
                page.fetch(),
            )?)
        })
        .await?;
    Ok(
        super::page::Page::cut(rows, page, |r| r.id).map(|r| AuditItem {
            at: UnixTime::from_secs(r.at).rfc3339(),
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            source: r.source,
            outcome: r.outcome,
            detail: r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }),
    )
}
