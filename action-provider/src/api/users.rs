//! `/v1/users`: create, read, update, delete and list users.

use actix_web::{HttpResponse, web};
use sae_core::acl::{Access, UserField};
use sae_core::config::{ConfigError, normalize_document, normalize_email, normalize_mobile};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::types::{Page, SecretString, check_login, double_option};
use crate::app::{AppState, blocking};
use crate::policies::Policies;
use crate::store::models::user::{NewUser, User, UserChanges};
use crate::store::{BackendOps as _, NewAudit, Ops as _, UserFilter};
use crate::timefmt::rfc3339;
use crate::write_tx;

/// `POST /v1/users`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique login, 1..=255 characters (an e-mail address when `login_is_email` is on).
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address (codes by e-mail go here).
    pub email: Option<String>,
    /// National id (CPF, …); unique when `unique_document` is on.
    pub document: Option<String>,
    /// Mobile number, any common notation; unique when `unique_mobile` is on.
    pub mobile: Option<String>,
    /// Name of an existing wallet.
    pub wallet: Option<String>,
    /// Initial password (checked against the password policy).
    pub password: Option<SecretString>,
    /// Imported password hash of a migrated user (PHC string, or a salted legacy hash).
    pub password_hash: Option<String>,
}

/// `PATCH /v1/users/{login}`: members present are changed; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Display name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// E-mail address.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// National id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub document: Option<Option<String>>,
    /// Mobile number.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
    /// Wallet name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub wallet: Option<Option<String>>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
}

/// A user as answered (never the password hash or AuthValue contents).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// National id.
    pub document: Option<String>,
    /// Mobile number as given.
    pub mobile: Option<String>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// `active`, `disabled`, `locked` or `password_expired`.
    pub status: &'static str,
    /// End of a temporary lock (RFC 3339); absent for permanent locks and unlocked users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Which factor's failures caused the lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_factor: Option<String>,
    /// Consecutive failures per factor.
    pub failures: Failures,
    /// Whether a password is set.
    pub has_password: bool,
    /// When the password was last set (RFC 3339).
    pub password_changed_at: Option<String>,
    /// The user's AuthSys names, in order.
    pub authsys: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// Consecutive failures per factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct Failures {
    /// Password failures.
    pub password: i32,
    /// OTP failures.
    pub otp: i32,
    /// Hash failures.
    pub hash: i32,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// The users.
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Items per page, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Logins starting with this text.
    pub login_prefix: Option<String>,
    /// E-mail address (compared normalised).
    pub email: Option<String>,
    /// Mobile number (compared as E.164 digits).
    pub mobile: Option<String>,
    /// Document (compared as digits).
    pub document: Option<String>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// `active`, `disabled` or `locked`.
    pub status: Option<String>,
}

pub(crate) fn config_error(e: &ConfigError) -> ApiError {
    ApiError::field(e.field(), e.to_string())
}

/// Whether the stored lock holds at `now`.
pub(crate) fn is_locked(user: &User, now: i64) -> bool {
    user.locked_at.is_some() && user.locked_until.is_none_or(|until| now < until)
}

/// The answer for one user.
pub(crate) fn view(user: User, wallet: Option<String>, policies: &Policies, now: i64) -> UserView {
    let locked = is_locked(&user, now);
    let expired = crate::flows::password::is_expired(&user, policies, now);
    let status = if user.disabled {
        "disabled"
    } else if locked {
        "locked"
    } else if expired {
        "password_expired"
    } else {
        "active"
    };
    UserView {
        status,
        locked_until: if locked {
            user.locked_until.map(rfc3339)
        } else {
            None
        },
        lock_factor: if locked {
            user.lock_factor.clone()
        } else {
            None
        },
        failures: Failures {
            password: user.pwd_failures,
            otp: user.otp_failures,
            hash: user.hash_failures,
        },
        has_password: user.password_hash.is_some(),
        password_changed_at: user.password_changed_at.map(rfc3339),
        authsys: serde_json::from_str(&user.authsys_names).unwrap_or_default(),
        created_at: rfc3339(user.created_at),
        updated_at: rfc3339(user.updated_at),
        login: user.login,
        name: user.name,
        email: user.email,
        document: user.document,
        mobile: user.mobile,
        wallet,
    }
}

fn opt_trim(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Normalised forms of the identity fields, or the field-named error.
struct Identity {
    email: Option<(String, String)>,
    document: Option<(String, String)>,
    mobile: Option<(String, String)>,
}

fn normalise(
    email: Option<String>,
    document: Option<String>,
    mobile: Option<String>,
) -> Result<Identity, ApiError> {
    let email = match opt_trim(email) {
        Some(e) => Some((normalize_email(&e).map_err(|e| config_error(&e))?, e)),
        None => None,
    };
    let document = match opt_trim(document) {
        Some(d) => Some((normalize_document(&d).map_err(|e| config_error(&e))?, d)),
        None => None,
    };
    let mobile = match opt_trim(mobile) {
        Some(m) => Some((normalize_mobile(&m).map_err(|e| config_error(&e))?, m)),
        None => None,
    };
    Ok(Identity {
        email,
        document,
        mobile,
    })
}

/// Refuses a value another user holds, when its uniqueness switch is on.
fn check_unique<C: crate::store::Ops + crate::store::BackendOps>(
    c: &mut C,
    policies: &Policies,
    identity: &Identity,
    except: Option<i64>,
) -> Result<(), ApiError> {
    let checks = [
        (
            policies.im.unique_mobile(),
            "mobile",
            "mobile_norm",
            identity.mobile.as_ref(),
        ),
        (
            policies.im.unique_document(),
            "document",
            "document_norm",
            identity.document.as_ref(),
        ),
    ];
    for (on, field, column, value) in checks {
        if let (true, Some((norm, _))) = (on, value) {
            c.lock_key(&format!("{column}:{norm}"))?;
            if c.user_holding(column, norm, except)?.is_some() {
                return Err(ApiError::Conflict {
                    code: "duplicate",
                    field: Some(field.into()),
                    detail: format!(
                        "{field}: another user already has this {field} ({field} must be unique)"
                    ),
                });
            }
        }
    }
    Ok(())
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::internal(e)
    }
}

/// Creates a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 400, body = super::error::Problem),
              (status = 409, body = super::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.check_create(
        [
            Some(UserField::Login),
            body.name.as_ref().map(|_| UserField::Name),
            body.email.as_ref().map(|_| UserField::Email),
            body.document.as_ref().map(|_| UserField::Document),
            body.mobile.as_ref().map(|_| UserField::Mobile),
            body.wallet.as_ref().map(|_| UserField::Wallet),
            (body.password.is_some() || body.password_hash.is_some())
                .then_some(UserField::Password),
        ]
        .into_iter()
        .flatten(),
    )?;
    check_login(&body.login)?;
    let st = state.clone();
    let policies = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    policies
        .im
        .check_login(&body.login)
        .map_err(|e| ApiError::field("login", e.to_string()))?;
    let identity = normalise(body.email, body.document, body.mobile)?;
    let password_hash = match (&body.password, body.password_hash) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "password_hash",
                "give either password or password_hash, not both",
            ));
        }
        (Some(pw), None) => {
            let policy = policies.password_policy::<&str>(&[]);
            Some(crate::flows::password::hash_new(&state, policy, &[], pw).await?)
        }
        (None, Some(imported)) => Some(crate::flows::password::check_import(&imported)?),
        (None, None) => None,
    };
    let now = crate::now();
    let login = body.login;
    let name = opt_trim(body.name);
    let wallet = opt_trim(body.wallet);
    let actor = caller.actor();
    let st = state.clone();
    let (user, wallet_name) = blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let wallet_id =
                match &wallet {
                    Some(w) => Some(c.wallet_id(w)?.ok_or_else(|| {
                        ApiError::field("wallet", format!("no wallet named {w:?}"))
                    })?),
                    None => None,
                };
            c.lock_key(&format!("login:{login}"))?;
            if c.user_by_login(&login)?.is_some() {
                return Err(ApiError::Conflict {
                    code: "duplicate",
                    field: Some("login".into()),
                    detail: "login: a user with this login exists".into(),
                });
            }
            check_unique(c, &policies, &identity, None)?;
            let new = NewUser {
                login: login.clone(),
                name: name.clone(),
                email: identity.email.as_ref().map(|(_, raw)| raw.clone()),
                email_norm: identity.email.as_ref().map(|(n, _)| n.clone()),
                document: identity.document.as_ref().map(|(_, raw)| raw.clone()),
                document_norm: identity.document.as_ref().map(|(n, _)| n.clone()),
                mobile: identity.mobile.as_ref().map(|(_, raw)| raw.clone()),
                mobile_norm: identity.mobile.as_ref().map(|(n, _)| n.clone()),
                wallet_id,
                password_changed_at: password_hash.as_ref().map(|_| now),
                password_history: match &password_hash {
                    Some(h) => serde_json::to_string(&[h]).map_err(ApiError::internal)?,
                    None => "[]".into(),
                },
                password_hash: password_hash.clone(),
                created_at: now,
                updated_at: now,
            };
            c.user_insert(&new)?;
            c.audit_insert(&NewAudit {
                at: now,
                actor: actor.clone(),
                action: "user.create".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            let user = c.user_by_login(&login)?.ok_or(ApiError::Internal)?;
            Ok::<_, ApiError>((user, wallet))
        })
    })
    .await?;
    let st = state.clone();
    let policies = blocking(move || Ok(st.policies.get(&st.pool)?)).await?;
    Ok(HttpResponse::Created().json(acl.view::<UserField, _>(&view(
        user,
        wallet_name,
        &policies,
        now,
    ))?))
}

async fn load_view(state: &web::Data<AppState>, login: String) -> Result<UserView, ApiError> {
    let st = state.clone();
    blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        crate::with_conn!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            let wallet = match user.wallet_id {
                Some(id) => c.wallet_name(id)?,
                None => None,
            };
            Ok(view(user, wallet, &policies, crate::now()))
        })
    })
    .await
}

/// Reads a user.
#[utoipa::path(get, path = "/v1/users/{login}", tag = "users", params(("login" = String, Path, description = "the user's login")),
    responses((status = 200, body = UserView), (status = 404, body = super::error::Problem)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.require_any_view::<UserField>()?;
    let login = login.into_inner();
    check_login(&login)?;
    Ok(HttpResponse::Ok().json(acl.view::<UserField, _>(&load_view(&state, login).await?)?))
}

/// Changes a user's profile.
#[utoipa::path(patch, path = "/v1/users/{login}", tag = "users", params(("login" = String, Path, description = "the user's login")),
    request_body = UpdateUser,
    responses((status = 200, body = UserView), (status = 400, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
    Json(body): Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.check_update(
        [
            body.name.as_ref().map(|_| UserField::Name),
            body.email.as_ref().map(|_| UserField::Email),
            body.document.as_ref().map(|_| UserField::Document),
            body.mobile.as_ref().map(|_| UserField::Mobile),
            body.wallet.as_ref().map(|_| UserField::Wallet),
            body.disabled.map(|_| UserField::Status),
        ]
        .into_iter()
        .flatten(),
    )?;
    let login = login.into_inner();
    check_login(&login)?;
    let one = |v: &Option<Option<String>>| v.clone().flatten();
    let identity = normalise(one(&body.email), one(&body.document), one(&body.mobile))?;
    let now = crate::now();
    let actor = caller.actor();
    let st = state.clone();
    let subject = login.clone();
    blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&subject)?
                .ok_or_else(|| ApiError::not_found(format!("no user {subject:?}")))?;
            check_unique(c, &policies, &identity, Some(user.id))?;
            let wallet_id =
                match &body.wallet {
                    Some(Some(w)) => Some(Some(c.wallet_id(w)?.ok_or_else(|| {
                        ApiError::field("wallet", format!("no wallet named {w:?}"))
                    })?)),
                    Some(None) => Some(None),
                    None => None,
                };
            let pair = |present: &Option<Option<String>>,
                        v: &Option<(String, String)>|
             -> (Option<Option<String>>, Option<Option<String>>) {
                match present {
                    None => (None, None),
                    Some(_) => (
                        Some(v.as_ref().map(|(_, raw)| raw.clone())),
                        Some(v.as_ref().map(|(n, _)| n.clone())),
                    ),
                }
            };
            let (email, email_norm) = pair(&body.email, &identity.email);
            let (document, document_norm) = pair(&body.document, &identity.document);
            let (mobile, mobile_norm) = pair(&body.mobile, &identity.mobile);
            let changes = UserChanges {
                name: body.name.clone().map(opt_trim),
                email,
                email_norm,
                document,
                document_norm,
                mobile,
                mobile_norm,
                wallet_id,
                disabled: body.disabled,
                updated_at: Some(now),
            };
            c.user_update(user.id, &changes)?;
            c.audit_insert(&NewAudit {
                at: now,
                actor: actor.clone(),
                action: "user.update".into(),
                subject: Some(subject.clone()),
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(acl.view::<UserField, _>(&load_view(&state, login).await?)?))
}

/// Deletes a user with its tokens and issued codes.
#[utoipa::path(delete, path = "/v1/users/{login}", tag = "users", params(("login" = String, Path, description = "the user's login")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_delete::<UserField>()?;
    let login = login.into_inner();
    check_login(&login)?;
    let actor = caller.actor();
    let st = state.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            c.user_delete(user.id)?;
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: "user.delete".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists users, filtered, a page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListQuery),
    responses((status = 200, body = UserList), (status = 400, body = super::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    super::extract::Query(q): super::extract::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.require_any_view::<UserField>()?;
    // Filtering on a field the group may not see would reveal it.
    for (present, field) in [
        (q.login_prefix.is_some(), UserField::Login),
        (q.email.is_some(), UserField::Email),
        (q.mobile.is_some(), UserField::Mobile),
        (q.document.is_some(), UserField::Document),
        (q.wallet.is_some(), UserField::Wallet),
        (q.status.is_some(), UserField::Status),
    ] {
        if present {
            acl.require(field, Access::View)?;
        }
    }
    let page = Page {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let mut filter = UserFilter {
        login_prefix: q.login_prefix.clone(),
        ..Default::default()
    };
    if let Some(e) = &q.email {
        filter.email_norm = Some(normalize_email(e).map_err(|e| config_error(&e))?);
    }
    if let Some(m) = &q.mobile {
        filter.mobile_norm = Some(normalize_mobile(m).map_err(|e| config_error(&e))?);
    }
    if let Some(d) = &q.document {
        filter.document_norm = Some(normalize_document(d).map_err(|e| config_error(&e))?);
    }
    match q.status.as_deref() {
        None => {}
        Some("active") => {
            filter.disabled = Some(false);
            filter.locked = Some(false);
        }
        Some("disabled") => filter.disabled = Some(true),
        Some("locked") => filter.locked = Some(true),
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "must be active, disabled or locked",
            ));
        }
    }
    let st = state.clone();
    let wallet = q.wallet.clone();
    let list = blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        crate::with_conn!(&mut conn, |c| {
            if let Some(w) = &wallet {
                filter.wallet_id = Some(c.wallet_id(w)?.unwrap_or(-1));
            }
            let rows = c.users_page(&filter, cursor, limit + 1)?;
            let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            let now = crate::now();
            let mut items = Vec::with_capacity(rows.len());
            let mut last = None;
            for user in rows
                .into_iter()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
            {
                last = Some(user.id);
                let wallet = match user.wallet_id {
                    Some(id) => c.wallet_name(id)?,
                    None => None,
                };
                items.push(view(user, wallet, &policies, now));
            }
            Ok::<_, ApiError>(UserList {
                items,
                next_cursor: if more {
                    last.map(|id| id.to_string())
                } else {
                    None
                },
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(acl.view::<UserField, _>(&list)?))
}

/// Registers the user routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users", web::post().to(create))
        .route("/v1/users", web::get().to(list))
        .route("/v1/users/{login}", web::get().to(read))
        .route("/v1/users/{login}", web::patch().to(update))
        .route("/v1/users/{login}", web::delete().to(delete));
}
