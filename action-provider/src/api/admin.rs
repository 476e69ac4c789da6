//! `/v1/apikeys` (create shows the key once, list, revoke) and `/v1/audit` (filtered).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json, Query};
use super::types::Page;
use crate::app::{AppState, blocking};
use crate::store::apikeys::{self, ApiKey, Scope};
use crate::store::{AuditFilter, NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

/// `POST /v1/apikeys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name to recognise the key by (1..=100 characters).
    pub name: String,
    /// `otp` (applications) or `admin` (configuration).
    pub scope: String,
    /// For an `admin` key: the administrator group whose ACL it acts with (default: System
    /// Administrator).
    pub group: Option<String>,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Id (for revocation).
    pub id: i64,
    /// Name.
    pub name: String,
    /// `otp` or `admin`.
    pub scope: String,
    /// First characters of the key.
    pub prefix: String,
    /// Administrator group of an `admin` key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// The key: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn view(k: ApiKey, key: Option<String>, group: Option<String>) -> KeyView {
    KeyView {
        group,
        id: k.id,
        name: k.name,
        scope: k.scope,
        prefix: k.prefix,
        created_at: rfc3339(k.created_at),
        revoked_at: k.revoked_at.map(rfc3339),
        key,
    }
}

fn group_name(conn: &mut crate::store::DbConn, id: Option<i64>) -> Result<String, ApiError> {
    match id {
        None => Ok(sae_core::acl::SYSTEM_ADMINISTRATOR.to_owned()),
        Some(id) => Ok(crate::store::admins::group_by_id(conn, id)?
            .map_or_else(|| format!("#{id}"), |g| g.name)),
    }
}

fn audit(actor: String, action: &str, subject: String) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor,
        action: action.into(),
        subject: Some(subject),
        source: None,
        outcome: "ok".into(),
        detail: None,
    }
}

/// Creates an API key; the key is in this answer only.
#[utoipa::path(post, path = "/v1/apikeys", tag = "administration", request_body = CreateKey,
    responses((status = 201, body = KeyView), (status = 400, body = super::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "name: 1 to 100 printable characters",
        ));
    }
    let scope =
        Scope::parse(&body.scope).ok_or_else(|| ApiError::field("scope", "scope: otp or admin"))?;
    let st = state.clone();
    let actor = caller.actor();
    let answer = blocking(move || {
        let mut conn = st.pool.get()?;
        let group_id = match &body.group {
            Some(_) if scope != Scope::Admin => {
                return Err(ApiError::field(
                    "group",
                    "group: only admin keys act for a group",
                ));
            }
            Some(g) => super::admins::group_id(&mut conn, g, "group")?,
            None => None,
        };
        let group = body
            .group
            .as_ref()
            .map(|_| group_name(&mut conn, group_id))
            .transpose()?;
        let (row, key) = apikeys::create(&mut conn, &name, scope, group_id, crate::now())?;
        write_tx!(&mut conn, |c| c.audit_insert(&audit(
            actor.clone(),
            "apikey.create",
            format!("apikey:{}", row.name)
        )))?;
        Ok(view(row, Some(key.to_string()), group))
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// Lists API keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/apikeys", tag = "administration", params(Page),
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let st = state.clone();
    let rows = blocking(move || {
        let mut conn = st.pool.get()?;
        Ok(apikeys::list(&mut conn, cursor, limit + 1)?)
    })
    .await?;
    let (rows, next) = super::types::cut_page(rows, limit, |k| k.id);
    let st = state.clone();
    let items = blocking(move || {
        let mut conn = st.pool.get()?;
        rows.into_iter()
            .map(|k| {
                let group = match k.group_id {
                    Some(_) => Some(group_name(&mut conn, k.group_id)?),
                    None => None,
                };
                Ok(view(k, None, group))
            })
            .collect::<Result<Vec<KeyView>, ApiError>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// Revokes an API key (every node stops accepting it within 5 seconds).
#[utoipa::path(delete, path = "/v1/apikeys/{id}", tag = "administration", params(("id" = i64, Path, description = "key id")),
    responses((status = 204, description = "revoked"), (status = 404, body = super::error::Problem)))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = id.into_inner();
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        if !apikeys::revoke(&mut conn, id, crate::now())? {
            return Err(ApiError::not_found(format!("no live API key {id}")));
        }
        write_tx!(&mut conn, |c| c.audit_insert(&audit(
            actor.clone(),
            "apikey.revoke",
            format!("apikey-id:{id}")
        )))?;
        Ok(())
    })
    .await?;
    state.key_cache.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// Filters of `GET /v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Exact actor (`apikey:<name>`, `system`).
    pub actor: Option<String>,
    /// Exact subject (a login).
    pub subject: Option<String>,
    /// Action (`otp.validate`), or a prefix ending in `.` (`config.`).
    pub action: Option<String>,
    /// Outcome (`ok`), or a prefix ending in `:` (`rejected:`).
    pub outcome: Option<String>,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// Until (RFC 3339).
    pub until: Option<String>,
    /// Items per page, 1..=500.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists audit records, oldest first (who, what, when, from where, outcome; never secrets).
#[utoipa::path(get, path = "/v1/audit", tag = "administration", params(AuditQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn audit_list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let page = Page {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let filter = AuditFilter {
        actor: q.actor,
        subject: q.subject,
        action: q.action,
        outcome: q.outcome,
        since: super::types::time_param("since", q.since.as_deref())?,
        until: super::types::time_param("until", q.until.as_deref())?,
    };
    let st = state.clone();
    let rows = blocking(move || {
        let mut conn = st.pool.get()?;
        Ok(with_conn!(&mut conn, |c| c.audit_page(
            &filter,
            cursor,
            limit + 1
        ))?)
    })
    .await?;
    let (rows, next) = super::types::cut_page(rows, limit, |r| r.id);
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            let detail = r.detail.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
            serde_json::json!({"at": rfc3339(r.at), "actor": r.actor, "action": r.action, "subject": r.subject, "source": r.source, "outcome": r.outcome, "detail": detail})
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next})))
}

/// Registers the administration routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/apikeys", web::post().to(create))
        .route("/v1/apikeys", web::get().to(list))
        .route("/v1/apikeys/{id}", web::delete().to(revoke))
        .route("/v1/audit", web::get().to(audit_list));
}
