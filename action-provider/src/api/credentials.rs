//! A user's credentials: password set/change, unlock, and the AuthSys / claims / values tree.

use actix_web::{HttpRequest, HttpResponse, web};
use sae_core::acl::{Access, UserField};
use sae_core::lockout::Factor;
use sae_core::password::Verification;
use sae_core::rules::user_authsys::UserAuthsysList;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::types::{SecretString, check_login};
use crate::app::{AppState, blocking};
use crate::flows::lockout::{admit, clear_expired, record_failure};
use crate::flows::otp::Decision;
use crate::flows::password as pw;
use crate::metrics::Metrics;
use crate::store::models::user::User;
use crate::store::{NewAudit, Ops as _};
use crate::{with_conn, write_tx};

fn audit(
    actor: &str,
    action: &str,
    login: &str,
    source: Option<String>,
    outcome: String,
) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor: actor.to_owned(),
        action: action.into(),
        subject: Some(login.to_owned()),
        source,
        outcome,
        detail: None,
    }
}

async fn load_user(
    state: &web::Data<AppState>,
    login: &str,
) -> Result<(User, std::sync::Arc<crate::policies::Policies>), ApiError> {
    let st = state.clone();
    let login = login.to_owned();
    blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        let user = with_conn!(&mut conn, |c| c.user_by_login(&login))?;
        Ok((
            user.ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?,
            policies,
        ))
    })
    .await
}

/// `POST /v1/users/{login}/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password.
    pub password: SecretString,
    /// The current password (required unless the caller has the admin scope).
    pub current_password: Option<SecretString>,
}

/// Sets or changes a user's password under the effective policy (strength, reuse).
#[utoipa::path(post, path = "/v1/users/{login}/password", tag = "users", params(("login" = String, Path, description = "the user's login")),
    request_body = SetPassword,
    responses((status = 204, description = "password set"), (status = 400, body = super::error::Problem),
              (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn set_password(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    login: web::Path<String>,
    Json(body): Json<SetPassword>,
) -> Result<HttpResponse, ApiError> {
    let login = login.into_inner();
    check_login(&login)?;
    // An administrator (with `edit` on the password field) needs no current password.
    let is_admin = match caller.acl() {
        Ok(acl) => {
            acl.require(UserField::Password, Access::Edit)?;
            true
        }
        Err(_) => false,
    };
    let (user, policies) = load_user(&state, &login).await?;
    let names = pw::authsys_names(&user);
    let policy = policies.password_policy(&names).clone();
    if !is_admin {
        // An application changing a password must prove the current one (a password check,
        // under lockout and throttling like /v1/auth/password).
        let current = body.current_password.as_ref().ok_or_else(|| {
            ApiError::field(
                "current_password",
                "current_password: required with an otp-scope key",
            )
        })?;
        let d = check_password(&state, &caller, &req, &login, current).await?;
        if !d.valid && d.reason != Some("password_expired") {
            return Err(ApiError::Forbidden {
                detail: format!(
                    "current_password: not accepted ({})",
                    d.reason.unwrap_or("invalid")
                ),
                field: Some("current_password".into()),
            });
        }
    }
    let history: Vec<String> = serde_json::from_str(&user.password_history).unwrap_or_default();
    let hash = pw::hash_new(&state, &policy, &history, &body.password).await?;
    let new_history = pw::record_history(&policy, &history, &hash)?;
    let st = state.clone();
    let actor = caller.actor();
    let source = super::flows::source(&req);
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.user_set_password(user.id, &hash, &new_history, crate::now())?;
            c.audit_insert(&audit(
                &actor,
                "user.password.set",
                &login,
                source.clone(),
                "ok".into(),
            ))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lifts a lock and resets every failure counter.
#[utoipa::path(post, path = "/v1/users/{login}/unlock", tag = "users", params(("login" = String, Path, description = "the user's login")),
    responses((status = 200, body = super::users::UserView), (status = 404, body = super::error::Problem)))]
pub async fn unlock(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.check_update([UserField::Status])?;
    let login = login.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let actor = caller.actor();
    let subject = login.clone();
    let view = blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&subject)?
                .ok_or_else(|| ApiError::not_found(format!("no user {subject:?}")))?;
            c.user_unlock(user.id, crate::now())?;
            c.audit_insert(&audit(&actor, "user.unlock", &subject, None, "ok".into()))?;
            let user = c.user_by_login(&subject)?.ok_or(ApiError::Internal)?;
            let wallet = match user.wallet_id {
                Some(id) => c.wallet_name(id)?,
                None => None,
            };
            Ok::<_, ApiError>(super::users::view(user, wallet, &policies, crate::now()))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(acl.view::<UserField, _>(&view)?))
}

/// Reads a user's AuthSys / claims / values (values are credentials: admin scope only).
#[utoipa::path(get, path = "/v1/users/{login}/authsys", tag = "users", params(("login" = String, Path, description = "the user's login")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem)))]
pub async fn get_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.require(UserField::Authsys, Access::View)?;
    let login = login.into_inner();
    check_login(&login)?;
    let (user, _) = load_user(&state, &login).await?;
    let list = open_authsys(&state, &user)?;
    Ok(HttpResponse::Ok().json(list))
}

/// Decrypts a user's AuthSys tree.
pub fn open_authsys(state: &AppState, user: &User) -> Result<UserAuthsysList, ApiError> {
    match &user.authsys_enc {
        None => Ok(UserAuthsysList::default()),
        Some(sealed) => {
            let ring = state.keyring.read().map_err(ApiError::internal)?;
            let json = ring
                .open(&format!("authsys:{}", user.id), sealed)
                .map_err(ApiError::internal)?;
            serde_json::from_slice(&json).map_err(ApiError::internal)
        }
    }
}

/// Replaces a user's AuthSys / claims / values (the contents are encrypted at rest).
#[utoipa::path(put, path = "/v1/users/{login}/authsys", tag = "users", params(("login" = String, Path, description = "the user's login")),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn put_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
    Json(list): Json<UserAuthsysList>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_update([UserField::Authsys])?;
    let login = login.into_inner();
    check_login(&login)?;
    let names: Vec<&str> = list.names();
    let names_json = serde_json::to_string(&names).map_err(ApiError::internal)?;
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(&list).map_err(ApiError::internal)?);
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            let sealed = st
                .keyring
                .read()
                .map_err(ApiError::internal)?
                .seal(&format!("authsys:{}", user.id), &plain);
            c.user_set_authsys(user.id, &names_json, Some(&sealed), crate::now())?;
            c.audit_insert(&audit(
                &actor,
                "user.authsys.set",
                &login,
                None,
                "ok".into(),
            ))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /v1/auth/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAuth {
    /// The user's login.
    pub login: String,
    /// The presented password.
    pub password: SecretString,
}

/// One password check with lockout, throttling, expiry and rehash-on-success.
async fn check_password(
    state: &web::Data<AppState>,
    caller: &Caller,
    req: &HttpRequest,
    login: &str,
    password: &SecretString,
) -> Result<Decision, ApiError> {
    let now = crate::now();
    let st = state.clone();
    let l = login.to_owned();
    let (user, policies) = blocking(move || {
        let policies = st.policies.get(&st.pool)?;
        let mut conn = st.pool.get()?;
        Ok((with_conn!(&mut conn, |c| c.user_by_login(&l))?, policies))
    })
    .await?;
    let actor = caller.actor();
    let source = super::flows::source(req);
    let record = |d: Decision,
                  user: Option<User>,
                  factor_result: Option<bool>,
                  rehash: Option<(String, String)>| {
        let st = state.clone();
        let policies = policies.clone();
        let login = login.to_owned();
        let actor = actor.clone();
        let source = source.clone();
        blocking(move || {
            let mut conn = st.pool.get()?;
            write_tx!(&mut conn, |c| {
                let mut d = d.clone();
                if let Some(user) = &user {
                    match factor_result {
                        Some(true) => {
                            c.user_succeed(user.id, Factor::Password)?;
                            if let Some((old, new)) = &rehash {
                                c.user_rehash(user.id, old, new)?;
                            }
                        }
                        Some(false) => {
                            let f = record_failure(c, &policies, user, Factor::Password, now)?;
                            d = Decision::failed("invalid_code", f);
                        }
                        None => {}
                    }
                }
                c.audit_insert(&audit(
                    &actor,
                    "auth.password",
                    &login,
                    source.clone(),
                    d.outcome(),
                ))?;
                Ok::<_, ApiError>(d)
            })
        })
    };
    let Some(user) = user else {
        // Same work as for a real user, then a plain rejection.
        let _ = pw::verify(state, None, &policies.global, password).await?;
        return record(Decision::rejected("unknown_user"), None, None, None).await;
    };
    let expired_lock = match admit(&policies, &user, Factor::Password, now) {
        Ok(e) => e,
        Err(refused) => return record(Decision::refused(refused), None, None, None).await,
    };
    if expired_lock {
        let st = state.clone();
        let u = user.clone();
        blocking(move || {
            let mut conn = st.pool.get()?;
            write_tx!(&mut conn, |c| clear_expired(c, &u))?;
            Ok(())
        })
        .await?;
    }
    if user.disabled {
        return record(Decision::rejected("disabled"), None, None, None).await;
    }
    let names = pw::authsys_names(&user);
    let policy = policies.password_policy(&names).clone();
    let verdict = pw::verify(state, user.password_hash.clone(), &policy, password).await?;
    match verdict {
        Verification::Valid { needs_rehash } => {
            let rehash = if needs_rehash {
                let old = user.password_hash.clone().unwrap_or_default();
                let p = policy.clone();
                let secret = password.clone();
                let new = pw::with_hash_slot(state, move || {
                    p.hash()
                        .hash(secret.expose(), &mut crate::crypto::os_rng())
                        .map(|h| h.into_string())
                        .map_err(ApiError::internal)
                })
                .await?;
                Some((old, new))
            } else {
                None
            };
            let d = if pw::is_expired(&user, &policies, now) {
                Decision::rejected("password_expired")
            } else {
                Decision::accepted()
            };
            record(d, Some(user), Some(true), rehash).await
        }
        _ => {
            record(
                Decision::rejected("invalid_code"),
                Some(user),
                Some(false),
                None,
            )
            .await
        }
    }
}

/// Checks a first-factor password under the effective policy (expiry, lockout, throttling).
/// A correct but expired password answers `valid: false, reason: password_expired`.
#[utoipa::path(post, path = "/v1/auth/password", tag = "flows", request_body = PasswordAuth,
    responses((status = 200, body = Decision), (status = 400, body = super::error::Problem)))]
pub async fn auth_password(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    Json(body): Json<PasswordAuth>,
) -> Result<HttpResponse, ApiError> {
    check_login(&body.login)?;
    if body.password.expose().chars().count() > 1024 {
        return Err(ApiError::field(
            "password",
            "must be at most 1024 characters",
        ));
    }
    let d = check_password(&state, &caller, &req, &body.login, &body.password).await?;
    Metrics::inc(if d.valid {
        &state.metrics.password_accepted
    } else {
        &state.metrics.password_rejected
    });
    Ok(HttpResponse::Ok().json(d))
}

/// Registers the credential routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users/{login}/password", web::post().to(set_password))
        .route("/v1/users/{login}/unlock", web::post().to(unlock))
        .route("/v1/users/{login}/authsys", web::get().to(get_authsys))
        .route("/v1/users/{login}/authsys", web::put().to(put_authsys))
        .route("/v1/auth/password", web::post().to(auth_password));
}
