//! `/v1/audit`: the audit log, filtered.

use actix_web::web;
use serde::Deserialize;

use crate::http::error::Problem;
use crate::http::extract::Query;
use crate::http::page::PageQuery;
use crate::http::settings::delivery::time_param;
use crate::http::{Answer, paged};
use crate::service::AppState;
use crate::service::audit::{self, AuditQuery};
use crate::service::caller::Caller;
use crate::service::page::TimeOrder;

/// Filters of `GET /v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// Exact actor (`apikey:<name>`, `system`).
    pub actor: Option<String>,
    /// Exact subject (a login).
    pub subject: Option<String>,
    /// Action (`otp.validate`), or a prefix ending in `.` (`config.`).
    pub action: Option<String>,
    /// Outcome (`ok`), or a prefix ending in `:` (`rejected:`).
    pub outcome: Option<String>,
    /// From (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Until (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// `-at` newest first (default), `at` oldest first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// Lists audit records, newest first unless `sort=at` (who, what, when, from where, outcome;
/// never secrets).
#[utoipa::path(get, operation_id = "audit_list", path = "/v1/audit", tag = "administration", params(Filters),
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn list(state: web::Data<AppState>, caller: Caller, Query(q): Query<Filters>) -> Answer {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = AuditQuery {
        order: q.sort,
        actor: q.actor,
        subject: q.subject,
        action: q.action,
        outcome: q.outcome,
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
    };
    paged(audit::list(&state, &caller, filter, page).await?)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/audit", web::get().to(list));
}
