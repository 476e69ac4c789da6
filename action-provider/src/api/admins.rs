//! `/v1/admins` (administrator accounts) and `/v1/admin-groups` (their ACL groups), for the
//! System Administrator group only.

use actix_web::{HttpResponse, web};
use sae_core::acl::{AdminGroup, SYSTEM_ADMINISTRATOR};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, Query};
use super::types::{Page, SecretString, check_login};
use crate::app::{AppState, blocking};
use crate::store::admins::{self, Admin, AdminChanges, AdminStoreError, GroupRow};
use crate::store::{DbConn, NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::write_tx;

impl From<AdminStoreError> for ApiError {
    fn from(e: AdminStoreError) -> Self {
        match e {
            AdminStoreError::Store(e) => e.into(),
            AdminStoreError::Duplicate => ApiError::Conflict {
                code: "duplicate",
                field: Some("name".into()),
                detail: "name: already taken".into(),
            },
            AdminStoreError::LastSystemAdministrator => ApiError::Conflict {
                code: "last_system_administrator",
                field: Some("group".into()),
                detail: e.to_string(),
            },
            AdminStoreError::GroupInUse(_) => ApiError::Conflict {
                code: "group_in_use",
                field: Some("name".into()),
                detail: e.to_string(),
            },
        }
    }
}

/// `POST /v1/admins`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdmin {
    /// Login (1..=255 characters).
    pub login: String,
    /// Password (12..=1024 characters).
    pub password: SecretString,
    /// Group name (default "System Administrator").
    pub group: Option<String>,
}

/// `PUT /v1/admins/{login}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdmin {
    /// New password (ends the administrator's sessions).
    pub password: Option<SecretString>,
    /// New group (ends the administrator's sessions).
    pub group: Option<String>,
    /// Forget the TOTP secret: the next login enrols a new one.
    #[serde(default)]
    pub reset_totp: bool,
}

/// An administrator as listed (never the password hash or the TOTP secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminView {
    /// Login.
    pub login: String,
    /// Group name.
    pub group: String,
    /// Whether a TOTP authenticator is enrolled.
    pub totp_enrolled: bool,
    /// Locked until (RFC 3339); `locked` without it means until unlocked.
    pub locked: bool,
    /// End of a temporary lock.
    pub locked_until: Option<String>,
    /// Consecutive failures (password, otp).
    pub failures: AdminFailures,
    /// Creation time.
    pub created_at: String,
    /// Last successful login.
    pub last_login_at: Option<String>,
}

/// Failure counters of an administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminFailures {
    /// Wrong passwords.
    pub password: i32,
    /// Wrong or replayed codes.
    pub otp: i32,
}

/// A page of administrators.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminList {
    /// The administrators.
    pub items: Vec<AdminView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

fn admin_view(a: Admin, group: String) -> AdminView {
    let now = crate::now();
    let locked = a
        .locked_at
        .is_some_and(|_| a.locked_until.is_none_or(|u| u > now));
    AdminView {
        login: a.login,
        group,
        totp_enrolled: a.totp_secret.is_some(),
        locked,
        locked_until: a.locked_until.filter(|_| locked).map(rfc3339),
        failures: AdminFailures {
            password: a.pwd_failures,
            otp: a.otp_failures,
        },
        created_at: rfc3339(a.created_at),
        last_login_at: a.last_login_at.map(rfc3339),
    }
}

fn group_name(conn: &mut DbConn, id: Option<i64>) -> Result<String, ApiError> {
    match id {
        None => Ok(SYSTEM_ADMINISTRATOR.to_owned()),
        Some(id) => Ok(admins::group_by_id(conn, id)?.map_or_else(|| format!("#{id}"), |g| g.name)),
    }
}

/// Resolves a group name to its id (`None` for the built-in group).
pub fn group_id(conn: &mut DbConn, name: &str, field: &str) -> Result<Option<i64>, ApiError> {
    if name.trim().eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR) {
        return Ok(None);
    }
    admins::group_by_name(conn, name)?
        .map(|g| Some(g.id))
        .ok_or_else(|| ApiError::field(field, format!("{field}: no administrator group {name:?}")))
}

fn audit(actor: String, action: &str, subject: &str) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor,
        action: action.into(),
        subject: Some(subject.to_owned()),
        source: None,
        outcome: "ok".into(),
        detail: None,
    }
}

fn write_audit(conn: &mut DbConn, entry: &NewAudit) -> Result<(), ApiError> {
    write_tx!(conn, |c| c.audit_insert(entry)).map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// Creates an administrator (the TOTP authenticator is enrolled at the first login).
#[utoipa::path(post, path = "/v1/admins", tag = "administration", request_body = CreateAdmin,
    responses((status = 201, body = AdminView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateAdmin>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    check_login(&body.login)?;
    let hash = super::session::hash_password(&state, &body.password).await?;
    let pool = state.pool.clone();
    let actor = caller.actor();
    let view = blocking(move || {
        let mut conn = pool.get()?;
        let gid = match &body.group {
            Some(g) => group_id(&mut conn, g, "group")?,
            None => None,
        };
        let admin = admins::create(&mut conn, &body.login, &hash, gid, crate::now()).map_err(
            |e| match e {
                AdminStoreError::Duplicate => ApiError::Conflict {
                    code: "duplicate",
                    field: Some("login".into()),
                    detail: "login: an administrator with this login exists".into(),
                },
                other => other.into(),
            },
        )?;
        write_audit(&mut conn, &audit(actor, "admin.create", &admin.login))?;
        let group = group_name(&mut conn, admin.group_id)?;
        Ok(admin_view(admin, group))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Lists administrators.
#[utoipa::path(get, path = "/v1/admins", tag = "administration", params(Page),
    responses((status = 200, body = AdminList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let pool = state.pool.clone();
    let answer = blocking(move || {
        let mut conn = pool.get()?;
        let rows = admins::list(&mut conn, cursor, limit + 1)?;
        let (rows, next_cursor) = super::types::cut_page(rows, limit, |a| a.id);
        let mut items = Vec::with_capacity(rows.len());
        for a in rows {
            let g = group_name(&mut conn, a.group_id)?;
            items.push(admin_view(a, g));
        }
        Ok(AdminList { items, next_cursor })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn find(state: &AppState, login: String) -> Result<Admin, ApiError> {
    let pool = state.pool.clone();
    blocking(move || {
        admins::find(&mut pool.get()?, &login)?
            .ok_or_else(|| ApiError::not_found(format!("no administrator {login:?}")))
    })
    .await
}

/// Reads an administrator.
#[utoipa::path(get, path = "/v1/admins/{login}", tag = "administration",
    params(("login" = String, Path)),
    responses((status = 200, body = AdminView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let admin = find(&state, login.into_inner()).await?;
    let pool = state.pool.clone();
    let gid = admin.group_id;
    let group = blocking(move || group_name(&mut pool.get()?, gid)).await?;
    Ok(HttpResponse::Ok().json(admin_view(admin, group)))
}

/// Changes an administrator's password, group or TOTP (each ends its sessions).
#[utoipa::path(put, path = "/v1/admins/{login}", tag = "administration",
    params(("login" = String, Path)), request_body = UpdateAdmin,
    responses((status = 200, body = AdminView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
    Json(body): Json<UpdateAdmin>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let admin = find(&state, login.into_inner()).await?;
    let password_hash = match &body.password {
        Some(p) => Some(super::session::hash_password(&state, p).await?),
        None => None,
    };
    let pool = state.pool.clone();
    let actor = caller.actor();
    let view = blocking(move || {
        let mut conn = pool.get()?;
        let group_id = match &body.group {
            Some(g) => Some(group_id(&mut conn, g, "group")?),
            None => None,
        };
        let changes = AdminChanges {
            password_hash,
            group_id,
            reset_totp: body.reset_totp,
        };
        let updated = admins::update(&mut conn, admin.id, &changes, crate::now())?;
        let mut entry = audit(actor, "admin.update", &updated.login);
        entry.detail = Some(
            serde_json::json!({
                "password": changes.password_hash.is_some(),
                "group": body.group,
                "reset_totp": changes.reset_totp,
            })
            .to_string(),
        );
        write_audit(&mut conn, &entry)?;
        let group = group_name(&mut conn, updated.group_id)?;
        Ok(admin_view(updated, group))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Deletes an administrator (not the last System Administrator).
#[utoipa::path(delete, path = "/v1/admins/{login}", tag = "administration",
    params(("login" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let admin = find(&state, login.into_inner()).await?;
    let pool = state.pool.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = pool.get()?;
        admins::delete(&mut conn, admin.id)?;
        write_audit(&mut conn, &audit(actor, "admin.delete", &admin.login))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lifts an administrator's lock and resets the failure counters.
#[utoipa::path(post, path = "/v1/admins/{login}/unlock", tag = "administration",
    params(("login" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn unlock(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let admin = find(&state, login.into_inner()).await?;
    let pool = state.pool.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = pool.get()?;
        admins::unlock(&mut conn, admin.id, crate::now())?;
        write_audit(&mut conn, &audit(actor, "admin.unlock", &admin.login))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An administrator group: `{name, builtin, may_modify, users: {field: access}, wallets:
/// {field: access}}` with every field listed (`none`, `view` or `edit`).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// Whether this is the built-in System Administrator group (immutable).
    pub builtin: bool,
    /// The ACL (name, may_modify, users, wallets).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub acl: serde_json::Value,
}

/// A page of groups.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    /// The groups (the built-in one first).
    pub items: Vec<GroupView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

fn group_view(group: &AdminGroup) -> Result<GroupView, ApiError> {
    Ok(GroupView {
        builtin: group.is_builtin(),
        acl: serde_json::to_value(group).map_err(ApiError::internal)?,
    })
}

fn parse_row(row: &GroupRow) -> Result<AdminGroup, ApiError> {
    serde_json::from_str(&row.acl).map_err(ApiError::internal)
}

/// Parses a group from a request body, naming the offending member.
fn parse_group(body: serde_json::Value) -> Result<AdminGroup, ApiError> {
    serde_path_to_error::deserialize::<_, AdminGroup>(body).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            inner
                .split(':')
                .next()
                .filter(|f| !f.contains(' '))
                .map_or_else(|| "name".to_owned(), str::to_owned)
        } else {
            path
        };
        ApiError::field(field, inner)
    })
}

/// Creates an administrator group; omitted fields are `none`.
#[utoipa::path(post, path = "/v1/admin-groups", tag = "administration",
    request_body(content = Object, description = "{name, may_modify?, users?: {field: none|view|edit}, wallets?: {...}}"),
    responses((status = 201, body = GroupView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn group_create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let group = parse_group(body)?;
    let acl = serde_json::to_string(&group).map_err(ApiError::internal)?;
    let pool = state.pool.clone();
    let actor = caller.actor();
    let name = group.name().to_owned();
    blocking(move || {
        let mut conn = pool.get()?;
        admins::group_create(&mut conn, &name, &acl, crate::now())?;
        let mut entry = audit(actor, "admin_group.create", &name);
        entry.detail = Some(acl);
        write_audit(&mut conn, &entry)
    })
    .await?;
    Ok(HttpResponse::Created().json(group_view(&group)?))
}

/// Lists administrator groups, the built-in one first.
#[utoipa::path(get, path = "/v1/admin-groups", tag = "administration", params(Page),
    responses((status = 200, body = GroupList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn group_list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let pool = state.pool.clone();
    let rows = blocking(move || Ok(admins::groups(&mut pool.get()?, cursor, limit + 1)?)).await?;
    let (rows, next_cursor) = super::types::cut_page(rows, limit, |g| g.id);
    let mut items = Vec::with_capacity(rows.len() + 1);
    if cursor == 0 {
        items.push(group_view(&AdminGroup::system_administrator())?);
    }
    for row in &rows {
        items.push(group_view(&parse_row(row)?)?);
    }
    Ok(HttpResponse::Ok().json(GroupList { items, next_cursor }))
}

async fn find_group(state: &AppState, name: String) -> Result<Option<GroupRow>, ApiError> {
    if name.trim().eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR) {
        return Ok(None);
    }
    let pool = state.pool.clone();
    blocking(move || {
        admins::group_by_name(&mut pool.get()?, &name)?
            .map(Some)
            .ok_or_else(|| ApiError::not_found(format!("no administrator group {name:?}")))
    })
    .await
}

fn builtin_immutable() -> ApiError {
    ApiError::Conflict {
        code: "builtin_group",
        field: Some("name".into()),
        detail: "name: the built-in \"System Administrator\" group cannot be changed".into(),
    }
}

/// Reads an administrator group.
#[utoipa::path(get, path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    responses((status = 200, body = GroupView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn group_read(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let group = match find_group(&state, name.into_inner()).await? {
        None => AdminGroup::system_administrator(),
        Some(row) => parse_row(&row)?,
    };
    Ok(HttpResponse::Ok().json(group_view(&group)?))
}

/// Replaces a group's ACL (and name); applies to its sessions and keys at once (keys:
/// within 5 seconds on other nodes).
#[utoipa::path(put, path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    request_body(content = Object, description = "{name, may_modify?, users?: {...}, wallets?: {...}}"),
    responses((status = 200, body = GroupView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn group_update(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let Some(row) = find_group(&state, name.into_inner()).await? else {
        return Err(builtin_immutable());
    };
    let group = parse_group(body)?;
    let acl = serde_json::to_string(&group).map_err(ApiError::internal)?;
    let pool = state.pool.clone();
    let actor = caller.actor();
    let new_name = group.name().to_owned();
    blocking(move || {
        let mut conn = pool.get()?;
        admins::group_update(&mut conn, row.id, &new_name, &acl, crate::now())?;
        let mut entry = audit(actor, "admin_group.update", &row.name);
        entry.detail = Some(acl);
        write_audit(&mut conn, &entry)
    })
    .await?;
    state.key_cache.clear();
    Ok(HttpResponse::Ok().json(group_view(&group)?))
}

/// Deletes a group that no administrator or live API key uses.
#[utoipa::path(delete, path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn group_delete(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let Some(row) = find_group(&state, name.into_inner()).await? else {
        return Err(builtin_immutable());
    };
    let pool = state.pool.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = pool.get()?;
        admins::group_delete(&mut conn, row.id)?;
        write_audit(&mut conn, &audit(actor, "admin_group.delete", &row.name))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/admins")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/v1/admins/{login}")
            .route(web::get().to(read))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    )
    .route("/v1/admins/{login}/unlock", web::post().to(unlock))
    .service(
        web::resource("/v1/admin-groups")
            .route(web::get().to(group_list))
            .route(web::post().to(group_create)),
    )
    .service(
        web::resource("/v1/admin-groups/{name}")
            .route(web::get().to(group_read))
            .route(web::put().to(group_update))
            .route(web::delete().to(group_delete)),
    );
}
