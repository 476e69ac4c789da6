//! Administrators of the console (`/v1/admins`, `sae admin …`) and their groups
//! (`/v1/admin-groups`), for the System Administrator group only. The built-in group is not
//! stored (`group_id` NULL) and cannot be changed; the last System Administrator cannot be
//! removed or moved.

use sae_core::acl::{AdminGroup, SYSTEM_ADMINISTRATOR};
use sae_core::password::StoredHash;
use sae_core::password::hash_params::HashPolicy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::error::{Conflict, ServiceError, unique};
use super::gate;
use super::input::Login;
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::store::admin_groups::GroupRow;
use crate::store::admins::{Admin, NewAdmin};
use crate::store::prelude::*;
use delivery::SecretString;

/// `POST /v1/admins`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdmin {
    /// Login (1..=255 characters).
    pub login: Login,
    /// Password (12..=1024 characters).
    #[schema(value_type = String, min_length = 12, max_length = 1024)]
    pub password: SecretString,
    /// Group name (default "System Administrator").
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
    pub group: Option<String>,
}

/// `PUT /v1/admins/{login}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdmin {
    /// New password (ends the administrator's sessions).
    #[schema(value_type = Option<String>, min_length = 12, max_length = 1024)]
    pub password: Option<SecretString>,
    /// New group (ends the administrator's sessions).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    )]
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

/// The listing of one administrator; `group` is its group's name (`None`: built-in).
pub fn admin_view(a: Admin, group: Option<String>, now: UnixTime) -> AdminView {
    let locked = gate::is_locked(&gate::admin_state(&a), now);
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    AdminView {
        group: match (a.group_id, group) {
            (None, _) => SYSTEM_ADMINISTRATOR.to_owned(),
            (Some(_), Some(name)) => name,
            (Some(id), None) => format!("#{id}"),
        },
        login: a.login,
        totp_enrolled: a.totp_secret.is_some(),
        locked,
        locked_until: a
            .locked_until_ms
            .filter(|_| locked)
            .map(|t| UnixTime::from_millis(t).rfc3339()),
        failures: AdminFailures {
            password: a.pwd_failures,
            otp: a.otp_failures,
        },
        created_at: time(a.created_at),
        last_login_at: a.last_login_at.map(time),
    }
}

/// Resolves a group name to its id (`None` for the built-in group), naming `field` when
/// there is no such group.
pub fn group_id(c: &mut dyn Conn, name: &str, field: &str) -> Result<Option<i64>, ServiceError> {
    if name.trim().eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR) {
        return Ok(None);
    }
    c.group_by_name(name)?
        .map(|g| Some(g.id))
        .ok_or_else(|| ServiceError::missing(field, format!("no administrator group {name:?}")))
}

fn group_name(c: &mut dyn Conn, id: Option<i64>) -> Result<Option<String>, ServiceError> {
    Ok(match id {
        None => None,
        Some(id) => c.group_by_id(id)?.map(|g| g.name),
    })
}

/// Checks an administrator password (12..=1024 characters) and hashes it with the default
/// policy (argon2id). Blocking: the CLI calls it directly, the server through
/// [`hash_password`].
pub fn hash_password_blocking(password: &str) -> Result<String, ServiceError> {
    let n = password.chars().count();
    if !(12..=1024).contains(&n) {
        return Err(ServiceError::field(
            "password",
            "password: an administrator password has 12 to 1024 characters",
        ));
    }
    HashPolicy::default()
        .hash(password, &mut crate::crypto::os_rng())
        .map(StoredHash::into_string)
        .map_err(|e| ServiceError::internal("hashing an administrator password", e))
}

/// [`hash_password_blocking`] on the hashing pool.
pub async fn hash_password(
    state: &AppState,
    password: &SecretString,
) -> Result<String, ServiceError> {
    let n = password.expose().chars().count();
    if !(12..=1024).contains(&n) {
        return Err(ServiceError::field(
            "password",
            "password: an administrator password has 12 to 1024 characters",
        ));
    }
    let password = password.clone();
    state
        .hashing(move || hash_password_blocking(password.expose()))
        .await
}

/// Inserts an administrator (inside the caller's transaction), refusing a taken login.
pub fn insert(
    c: &mut dyn Conn,
    login: &str,
    hash: &str,
    group_id: Option<i64>,
    now: UnixTime,
) -> Result<Admin, ServiceError> {
    super::logins::claim(c, crate::store::logins::LoginTable::Admins, login, "login")?;
    c.admin_insert(&NewAdmin {
        login,
        password_hash: hash,
        group_id,
        created_at: now.secs(),
        updated_at: now.secs(),
    })
    .map_err(|e| unique(e, "login", "login: an administrator with this login exists"))
}

fn no_admin(login: &str) -> ServiceError {
    ServiceError::not_found(format!("no administrator {login:?}"))
}

fn last_sysadmin() -> ServiceError {
    ServiceError::conflict(
        Conflict::LastSystemAdministrator,
        Some("group"),
        "the last System Administrator cannot be removed or moved to another group",
    )
}

/// Creates an administrator (the TOTP authenticator is enrolled at the first login).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: CreateAdmin,
) -> Result<AdminView, ServiceError> {
    caller.require_admin()?;
    let hash = hash_password(state, &body.password).await?;
    let now = state.now();
    let audit = caller
        .audit("admin.create", now)
        .subject(body.login.to_string());
    state
        .store
        .write(move |c| {
            let gid = body
                .group
                .as_deref()
                .map(|g| group_id(c, g, "group"))
                .transpose()?
                .flatten();
            let admin = insert(c, body.login.as_str(), &hash, gid, now)?;
            audit.write(c)?;
            let group = group_name(c, admin.group_id)?;
            Ok(admin_view(admin, group, now))
        })
        .await
}

/// Lists administrators with their group names (one query per page).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<AdminView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.admins_page(page.cursor, page.fetch())?))
        .await?;
    let now = state.now();
    Ok(Page::cut(rows, page, |(a, _)| a.id).map(|(a, g)| admin_view(a, g, now)))
}

/// Reads an administrator.
pub async fn read(
    state: &AppState,
    caller: &Caller,
    login: String,
) -> Result<AdminView, ServiceError> {
    caller.require_admin()?;
    let now = state.now();
    state
        .store
        .read(move |c| {
            let admin = c.admin_by_login(&login)?.ok_or_else(|| no_admin(&login))?;
            let group = group_name(c, admin.group_id)?;
            Ok(admin_view(admin, group, now))
        })
        .await
}

/// Changes an administrator's password, group or TOTP (each ends its sessions).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    login: String,
    body: UpdateAdmin,
) -> Result<AdminView, ServiceError> {
    caller.require_admin()?;
    let password_hash = match &body.password {
        Some(p) => Some(hash_password(state, p).await?),
        None => None,
    };
    let now = state.now();
    let audit = caller
        .audit("admin.update", now)
        .subject(login.clone())
        .detail(serde_json::json!({
            "password": password_hash.is_some(),
            "group": body.group,
            "reset_totp": body.reset_totp,
        }));
    state
        .store
        .write(move |c| {
            let admin = c.admin_by_login(&login)?.ok_or_else(|| no_admin(&login))?;
            let id = admin.id;
            if let Some(g) = &body.group {
                let gid = group_id(c, g, "group")?;
                if gid.is_some() && admin.group_id.is_none() && c.sysadmins_except(id)? == 0 {
                    return Err(last_sysadmin());
                }
                c.admin_set_group(id, gid, now.secs())?;
            }
            if let Some(hash) = &password_hash {
                c.admin_set_password(id, hash, now.secs())?;
            }
            if body.reset_totp {
                c.admin_reset_totp(id, now.secs())?;
            }
            if password_hash.is_some() || body.reset_totp || body.group.is_some() {
                c.sessions_end_of(id)?;
            }
            audit.write(c)?;
            let admin = c.admin_by_id(id)?.ok_or_else(|| no_admin(&login))?;
            let group = group_name(c, admin.group_id)?;
            Ok(admin_view(admin, group, now))
        })
        .await
}

/// Deletes an administrator (not the last System Administrator).
pub async fn delete(state: &AppState, caller: &Caller, login: String) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let audit = caller
        .audit("admin.delete", state.now())
        .subject(login.clone());
    state
        .store
        .write(move |c| {
            let admin = c.admin_by_login(&login)?.ok_or_else(|| no_admin(&login))?;
            if admin.group_id.is_none() && c.sysadmins_except(admin.id)? == 0 {
                return Err(last_sysadmin());
            }
            c.admin_delete(admin.id)?;
            audit.write(c)?;
            Ok(())
        })
        .await
}

/// Lifts an administrator's lock and resets the failure counters.
pub async fn unlock(state: &AppState, caller: &Caller, login: String) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let now = state.now();
    let audit = caller.audit("admin.unlock", now).subject(login.clone());
    state
        .store
        .write(move |c| {
            let admin = c.admin_by_login(&login)?.ok_or_else(|| no_admin(&login))?;
            c.admin_unlock(admin.id, now.secs())?;
            audit.write(c)?;
            Ok(())
        })
        .await
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

fn group_view(group: &AdminGroup) -> Result<GroupView, ServiceError> {
    Ok(GroupView {
        builtin: group.is_builtin(),
        acl: serde_json::to_value(group).map_err(|e| ServiceError::internal("a group's ACL", e))?,
    })
}

fn parse_row(row: &GroupRow) -> Result<AdminGroup, ServiceError> {
    serde_json::from_str(&row.acl)
        .map_err(|e| ServiceError::corrupt(format!("admin_groups.acl of {:?}", row.name), e))
}

/// Parses a group from a request body, naming the offending member.
fn parse_group(body: serde_json::Value) -> Result<AdminGroup, ServiceError> {
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
        ServiceError::field(field, inner)
    })
}

fn builtin_immutable() -> ServiceError {
    ServiceError::conflict(
        Conflict::BuiltinGroup,
        Some("name"),
        "name: the built-in \"System Administrator\" group cannot be changed",
    )
}

/// The stored group named `name`; `None` for the built-in group.
async fn find_group(state: &AppState, name: String) -> Result<Option<GroupRow>, ServiceError> {
    if name.trim().eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR) {
        return Ok(None);
    }
    state
        .store
        .read(move |c| {
            c.group_by_name(&name)?
                .map(Some)
                .ok_or_else(|| ServiceError::not_found(format!("no administrator group {name:?}")))
        })
        .await
}

/// Creates an administrator group; omitted fields are `none`.
pub async fn group_create(
    state: &AppState,
    caller: &Caller,
    body: serde_json::Value,
) -> Result<GroupView, ServiceError> {
    caller.require_admin()?;
    let group = parse_group(body)?;
    let acl =
        serde_json::to_string(&group).map_err(|e| ServiceError::internal("a group's ACL", e))?;
    let now = state.now();
    let name = group.name().to_owned();
    let audit = caller
        .audit("admin_group.create", now)
        .subject(name.clone());
    state
        .store
        .write(move |c| {
            c.group_insert(&name, &acl, now.secs())
                .map_err(|e| unique(e, "name", "name: already taken"))?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    group_view(&group)
}

/// Lists administrator groups, the built-in one first.
pub async fn group_list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<GroupView>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.groups_page(page.cursor, page.fetch())?))
        .await?;
    let rows = Page::cut(rows, page, |g| g.id);
    let mut items = Vec::with_capacity(rows.items.len() + 1);
    if page.cursor == 0 {
        items.push(group_view(&AdminGroup::system_administrator())?);
    }
    for row in &rows.items {
        items.push(group_view(&parse_row(row)?)?);
    }
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}

/// Reads an administrator group.
pub async fn group_read(
    state: &AppState,
    caller: &Caller,
    name: String,
) -> Result<GroupView, ServiceError> {
    caller.require_admin()?;
    let group = match find_group(state, name).await? {
        None => AdminGroup::system_administrator(),
        Some(row) => parse_row(&row)?,
    };
    group_view(&group)
}

/// Replaces a group's ACL (and name); applies to its sessions and keys at once (keys:
/// within 5 seconds on other nodes).
pub async fn group_update(
    state: &AppState,
    caller: &Caller,
    name: String,
    body: serde_json::Value,
) -> Result<GroupView, ServiceError> {
    caller.require_admin()?;
    let row = find_group(state, name)
        .await?
        .ok_or_else(builtin_immutable)?;
    let group = parse_group(body)?;
    let acl =
        serde_json::to_string(&group).map_err(|e| ServiceError::internal("a group's ACL", e))?;
    let now = state.now();
    let new_name = group.name().to_owned();
    let audit = caller
        .audit("admin_group.update", now)
        .subject(row.name.clone());
    state
        .store
        .write(move |c| {
            c.group_update(row.id, &new_name, &acl, now.secs())
                .map_err(|e| unique(e, "name", "name: already taken"))?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    state.key_cache.clear();
    group_view(&group)
}

/// Deletes a group that no administrator or live API key uses.
pub async fn group_delete(
    state: &AppState,
    caller: &Caller,
    name: String,
) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let row = find_group(state, name)
        .await?
        .ok_or_else(builtin_immutable)?;
    let audit = caller
        .audit("admin_group.delete", state.now())
        .subject(row.name.clone());
    state
        .store
        .write(move |c| {
            let in_use = |what: String| {
                ServiceError::conflict(
                    Conflict::GroupInUse,
                    Some("name"),
                    format!("the group is still used by {what}"),
                )
            };
            let members = c.admins_in_group(row.id)?;
            if members > 0 {
                return Err(in_use(format!("{members} administrator(s)")));
            }
            let keys = c.group_live_keys(row.id)?;
            if keys > 0 {
                return Err(in_use(format!("{keys} API key(s)")));
            }
            c.group_delete(row.id)?;
            audit.write(c)?;
            Ok(())
        })
        .await
}
