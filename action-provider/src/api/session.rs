//! Administrator console sessions: `POST /v1/session` (password, then TOTP — enrolled at the
//! first login), `GET /v1/session`, `DELETE /v1/session`.
//!
//! - The cookie `sae_session` holds 32 random bytes (base32); the database keeps only their
//!   SHA-256. It is `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` when `public_url`
//!   is `https://`.
//! - CSRF: a request authenticated by the cookie with a method other than GET/HEAD must send
//!   `X-CSRF-Token`, a value derived from the cookie (SHA-256 under a separate label) that
//!   the page learns from the login answer or `GET /v1/session`. Another site can make the
//!   browser send the cookie (it cannot with SameSite=Strict, but older browsers) but cannot
//!   read the token.
//! - A session ends after `session_idle_s` idle seconds (default 900), after 12 hours in all,
//!   on logout, when the administrator's password, group or TOTP changes, and when the
//!   administrator gets locked.
//! - Lockout and throttling: the lockout configuration of users (`/v1/config/lockout`) applies,
//!   with wrong passwords counted as the password factor and wrong or replayed TOTP codes as
//!   the OTP factor.

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use rand::Rng as _;
use sae_core::acl::AdminGroup;
use sae_core::lockout::{Factor, FactorCounter, Gate, Lock, LockState, gate};
use sae_core::otp::totp::{TimeStep, Totp, TotpWindow};
use sae_core::otp::uri::{OtpAuthUri, OtpKind};
use sae_core::otp::{Algorithm, Code, Digits, OtpError};
use sae_core::password::hash_params::HashPolicy;
use sae_core::password::{StoredHash, Verification};
use sae_core::secret::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, Principal};
use super::types::SecretString;
use crate::app::{AppState, blocking};
use crate::store::admins::{self, Admin, LoginFailure};
use crate::store::{NewAudit, counter_from_db, counter_to_db};

/// The session cookie's name.
pub const COOKIE: &str = "sae_session";
/// The CSRF header's name.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends this long after login, however active.
const MAX_LIFETIME_S: i64 = 12 * 3600;
/// The idle clock is written at most this often per session.
const TOUCH_EVERY_S: i64 = 15;
/// TOTP parameters of administrators: what every authenticator app supports.
const TOTP_DIGITS: u8 = 6;
const TOTP_PERIOD: u64 = 30;
/// Issuer shown in authenticator apps.
const ISSUER: &str = "SAE console";

/// The cookie and CSRF header of a request, when it has a session cookie.
#[derive(Debug)]
pub struct Presented {
    token: Zeroizing<String>,
    unsafe_method: bool,
    csrf: Option<String>,
}

/// Reads the session cookie (and the CSRF header) of a request.
pub fn presented(req: &HttpRequest) -> Option<Presented> {
    let cookie = req.cookie(COOKIE)?;
    Some(Presented {
        token: Zeroizing::new(cookie.value().to_owned()),
        unsafe_method: !matches!(*req.method(), Method::GET | Method::HEAD),
        csrf: req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

/// The CSRF token that goes with a session token.
fn csrf_for(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sae-csrf\0");
    h.update(token.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// Loads an administrator group by id.
pub fn load_group(conn: &mut crate::store::DbConn, id: i64) -> Result<Arc<AdminGroup>, ApiError> {
    let row = admins::group_by_id(conn, id)?
        .ok_or_else(|| ApiError::internal(format!("administrator group {id} is missing")))?;
    let group: AdminGroup = serde_json::from_str(&row.acl).map_err(ApiError::internal)?;
    Ok(Arc::new(group))
}

/// Authenticates a request by its session cookie.
pub async fn authenticate(state: &AppState, p: Presented) -> Result<Caller, ApiError> {
    let digest = crate::store::apikeys::digest(&p.token);
    if p.unsafe_method {
        let expected = csrf_for(&p.token);
        let ok = p
            .csrf
            .as_deref()
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
        if !ok {
            return Err(ApiError::Denied {
                code: "csrf",
                field: None,
                detail: "requests with a session cookie must send the X-CSRF-Token header \
                         given at login"
                    .into(),
            });
        }
    }
    let pool = state.pool.clone();
    let idle = i64::from(state.config.session_idle_s);
    blocking(move || {
        let mut conn = pool.get()?;
        let now = crate::now();
        let Some((created_at, last_seen, admin)) = admins::session(&mut conn, &digest)? else {
            return Err(ApiError::Unauthenticated);
        };
        if now - last_seen > idle || now - created_at > MAX_LIFETIME_S {
            admins::end_session(&mut conn, &digest)?;
            return Err(ApiError::Unauthenticated);
        }
        if now - last_seen >= TOUCH_EVERY_S.min(idle / 2) {
            admins::touch_session(&mut conn, &digest, now)?;
        }
        let group = match admin.group_id {
            Some(id) => Some(load_group(&mut conn, id)?),
            None => None,
        };
        Ok(Caller {
            principal: Principal::Admin {
                id: admin.id,
                login: admin.login,
            },
            group,
        })
    })
    .await
}

/// `POST /v1/session`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The administrator's login.
    pub login: String,
    /// The administrator's password.
    pub password: SecretString,
    /// The current code of the administrator's authenticator (TOTP, 6 digits).
    pub otp: Option<SecretString>,
}

/// The session as the console sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The administrator's login.
    pub login: String,
    /// The administrator's group.
    pub group: String,
    /// Whether the group is the built-in System Administrator.
    pub system_administrator: bool,
    /// Send this in `X-CSRF-Token` with every request that is not GET or HEAD.
    pub csrf_token: String,
    /// The session ends after this many idle seconds.
    pub idle_timeout_s: u32,
    /// The group's ACL over users and wallets.
    #[schema(value_type = Object)]
    pub acl: serde_json::Value,
}

/// The answer to `POST /v1/session`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAnswer {
    /// `ok` (session created, cookie set), `otp_required` (send the authenticator code
    /// too) or `totp_enrolment` (first login: add the secret to an authenticator, then send
    /// the password with its current code).
    pub status: &'static str,
    /// With `ok`: the session.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
    /// With `totp_enrolment`: the otpauth URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// With `totp_enrolment`: the secret in base32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_base32: Option<String>,
    /// With `totp_enrolment`: a QR code of the URI (SVG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

impl LoginAnswer {
    fn status(status: &'static str) -> Self {
        Self {
            status,
            session: None,
            otpauth_uri: None,
            secret_base32: None,
            qr_svg: None,
        }
    }
}

fn lock_state(admin: &Admin) -> LockState {
    let secs = |t: Option<i64>| t.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    let counters = [
        FactorCounter::new(count(admin.pwd_failures), secs(admin.pwd_last_failure)),
        FactorCounter::new(count(admin.otp_failures), secs(admin.otp_last_failure)),
        FactorCounter::new(0, 0),
    ];
    let lock = admin.locked_at.map(|since| {
        let factor = crate::flows::lockout::factor_from(admin.lock_factor.as_deref());
        match admin.locked_until {
            None => Lock::permanent(factor, secs(Some(since))),
            Some(until) => Lock::temporary(factor, secs(Some(since)), secs(Some(until))),
        }
    });
    LockState::from_parts(counters, lock)
}

fn totp_of(secret: &Secret) -> Result<Totp, ApiError> {
    let digits = Digits::new(TOTP_DIGITS).map_err(ApiError::internal)?;
    let step = TimeStep::new(TOTP_PERIOD).map_err(ApiError::internal)?;
    Ok(Totp::new(secret, Algorithm::Sha1, digits, step, 0))
}

fn seal_context(admin: &Admin) -> String {
    format!("admin-totp:{}", admin.id)
}

/// Hashes a new administrator password (argon2id, OWASP parameters) after checking it is
/// 12..=1024 characters.
pub async fn hash_password(state: &AppState, password: &SecretString) -> Result<String, ApiError> {
    let n = password.expose().chars().count();
    if !(12..=1024).contains(&n) {
        return Err(ApiError::field(
            "password",
            "password: an administrator password has 12 to 1024 characters",
        ));
    }
    let password = password.clone();
    crate::flows::password::with_hash_slot(state, move || {
        HashPolicy::default()
            .hash(password.expose(), &mut crate::crypto::os_rng())
            .map(StoredHash::into_string)
            .map_err(ApiError::internal)
    })
    .await
}

/// Logs an administrator in.
#[utoipa::path(post, path = "/v1/session", tag = "administration", request_body = Login,
    description = "Administrator login. Without `otp`: answers `otp_required`, or on the first \
                   login `totp_enrolment` with a new TOTP secret (and its QR) to add to an \
                   authenticator. With the current code: creates the session, sets the \
                   `sae_session` cookie (HttpOnly, SameSite=Strict; Secure when public_url is \
                   https) and answers the CSRF token to send in `X-CSRF-Token`.",
    responses(
        (status = 200, body = LoginAnswer, description = "ok (cookie set), otp_required or totp_enrolment"),
        (status = 400, body = Problem),
        (status = 401, body = Problem, description = "invalid_credentials (`field` is `otp` when the code was wrong)"),
        (status = 403, body = Problem, description = "locked (with locked_until)"),
        (status = 413, body = Problem),
        (status = 429, body = Problem, description = "throttled (with retry_after)")))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<Login>,
) -> Result<HttpResponse, ApiError> {
    let source = super::flows::source(&req);
    let now = crate::now();
    let login = body.login.clone();
    if login.is_empty() || login.chars().count() > 255 {
        return Err(ApiError::field("login", "login: 1 to 255 characters"));
    }
    let audit = |outcome: &str| NewAudit {
        at: now,
        actor: format!("admin:{login}"),
        action: "admin.login".into(),
        subject: Some(login.clone()),
        source: source.clone(),
        outcome: outcome.into(),
        detail: None,
    };
    let pool = state.pool.clone();
    let lookup = login.clone();
    let admin = blocking(move || Ok(admins::find(&mut pool.get()?, &lookup)?)).await?;
    let policies = state.policies.get(&state.pool)?;

    // Locked, then throttled (for the factor about to be checked), then the check.
    if let Some(admin) = &admin {
        let factor = if body.otp.is_some() {
            Factor::Otp
        } else {
            Factor::Password
        };
        match gate(
            &policies.lockout,
            &lock_state(admin),
            factor,
            u64::try_from(now).unwrap_or(0),
        ) {
            Gate::Allowed { expired_lock } => {
                if expired_lock {
                    let pool = state.pool.clone();
                    let a = admin.clone();
                    blocking(move || Ok(admins::clear_expired_lock(&mut pool.get()?, &a)?)).await?;
                }
            }
            Gate::Locked(lock) => {
                write_audit(&state, audit("rejected:locked")).await?;
                return Err(ApiError::Locked {
                    locked_until: lock
                        .unlock_at()
                        .map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
                });
            }
            Gate::Throttled { retry_after } => {
                write_audit(&state, audit("rejected:throttled")).await?;
                return Err(ApiError::Throttled { retry_after });
            }
        }
    }

    // The password (against a dummy hash for an unknown login, so both take as long).
    let stored = admin.as_ref().map(|a| a.password_hash.clone());
    let password = body.password.clone();
    let verdict = crate::flows::password::with_hash_slot(&state, move || {
        let policy = HashPolicy::default();
        let real = stored.is_some();
        let hash = match stored {
            Some(s) => StoredHash::parse(&s).map_err(ApiError::internal)?,
            None => policy
                .hash("sae-dummy-password", &mut crate::crypto::os_rng())
                .map_err(ApiError::internal)?,
        };
        let v = hash
            .verify(password.expose(), &policy)
            .map_err(ApiError::internal)?;
        Ok(real && matches!(v, Verification::Valid { .. }))
    })
    .await?;
    let Some(admin) = admin else {
        write_audit(&state, audit("rejected:unknown_login")).await?;
        return Err(ApiError::InvalidCredentials { field: None });
    };
    if !verdict {
        fail(
            &state,
            &admin,
            Factor::Password,
            &policies,
            audit("rejected:invalid_password"),
        )
        .await?;
        return Err(ApiError::InvalidCredentials { field: None });
    }

    // The second factor: the enrolled secret, or the one offered at first login.
    let keyring = Arc::clone(&state.keyring);
    let (sealed, enrolling) = match (&admin.totp_secret, &admin.totp_pending) {
        (Some(s), _) => (s.clone(), false),
        (None, Some(p)) => (p.clone(), true),
        (None, None) => {
            let secret = Secret::generate(&mut crate::crypto::os_rng(), Algorithm::Sha1)
                .map_err(ApiError::internal)?;
            let sealed = keyring
                .read()
                .map_err(ApiError::internal)?
                .seal(&seal_context(&admin), secret.expose_bytes());
            let pool = state.pool.clone();
            let (id, l) = (admin.id, admin.login.clone());
            // Compare-and-set: a concurrent first login may have stored its own; use that.
            let stored = blocking(move || {
                let mut conn = pool.get()?;
                admins::set_pending_totp(&mut conn, id, &sealed)?;
                Ok(admins::find(&mut conn, &l)?.and_then(|a| a.totp_pending))
            })
            .await?
            .ok_or_else(|| ApiError::internal("pending TOTP secret vanished"))?;
            (stored, true)
        }
    };
    let secret = {
        let bytes = keyring
            .read()
            .map_err(ApiError::internal)?
            .open(&seal_context(&admin), &sealed)
            .map_err(ApiError::internal)?;
        Secret::from_bytes(&bytes).map_err(ApiError::internal)?
    };
    let totp = totp_of(&secret)?;

    let Some(otp) = &body.otp else {
        if !enrolling {
            return Ok(HttpResponse::Ok().json(LoginAnswer::status("otp_required")));
        }
        let digits = Digits::new(TOTP_DIGITS).map_err(ApiError::internal)?;
        let step = TimeStep::new(TOTP_PERIOD).map_err(ApiError::internal)?;
        let uri = OtpAuthUri::new(
            OtpKind::Totp { period: step },
            secret,
            Some(ISSUER),
            admin.login.replace(':', "_").trim(),
        )
        .map_err(ApiError::internal)?
        .with_algorithm(Algorithm::Sha1)
        .with_digits(digits);
        let qr = sae_core::otp::qr::qr_svg(&uri).map_err(ApiError::internal)?;
        let mut answer = LoginAnswer::status("totp_enrolment");
        answer.secret_base32 = Some(uri.secret().to_base32().to_string());
        answer.otpauth_uri = Some(uri.to_uri().to_string());
        answer.qr_svg = Some(qr.to_string());
        return Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(answer));
    };

    let last = admin.totp_last_counter.map(counter_from_db);
    let window = TotpWindow::new(1, 1).map_err(ApiError::internal)?;
    let digits = Digits::new(TOTP_DIGITS).map_err(ApiError::internal)?;
    let checked = Code::parse(otp.expose(), digits)
        .and_then(|code| totp.verify(&code, u64::try_from(now).unwrap_or(0), last, window));
    let counter = match checked {
        Ok(v) => v.counter(),
        Err(e) => {
            let reason = if e == OtpError::CodeReused {
                "rejected:replayed"
            } else {
                "rejected:invalid_otp"
            };
            fail(&state, &admin, Factor::Otp, &policies, audit(reason)).await?;
            return Err(ApiError::InvalidCredentials {
                field: Some("otp".into()),
            });
        }
    };

    // Success: the session, in the same transaction as the counter's compare-and-set.
    let mut raw = Zeroizing::new([0u8; 32]);
    crate::crypto::os_rng().fill_bytes(raw.as_mut());
    let token = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(raw.as_ref()));
    let digest = crate::store::apikeys::digest(&token);
    let pool = state.pool.clone();
    let a = admin.clone();
    let ok_audit = audit(if enrolling { "ok; totp enrolled" } else { "ok" });
    let enrol = enrolling.then_some(sealed);
    let accepted = blocking(move || {
        Ok(admins::complete_login(
            &mut pool.get()?,
            &a,
            counter_to_db(counter),
            enrol.as_deref(),
            &digest,
            &ok_audit,
        )?)
    })
    .await?;
    if !accepted {
        fail(
            &state,
            &admin,
            Factor::Otp,
            &policies,
            audit("rejected:replayed"),
        )
        .await?;
        return Err(ApiError::InvalidCredentials {
            field: Some("otp".into()),
        });
    }
    let view = session_view(&state, &admin, &token).await?;
    let mut cookie = Cookie::build(COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if state.config.public_url.starts_with("https://") {
        cookie.set_secure(true);
    }
    let mut answer = LoginAnswer::status("ok");
    answer.session = Some(view);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .cookie(cookie)
        .json(answer))
}

async fn write_audit(state: &AppState, entry: NewAudit) -> Result<(), ApiError> {
    use crate::store::Ops as _;
    let pool = state.pool.clone();
    blocking(move || {
        let mut conn = pool.get()?;
        crate::write_tx!(&mut conn, |c| c.audit_insert(&entry))
            .map_err(crate::store::StoreError::from)?;
        Ok(())
    })
    .await
}

async fn fail(
    state: &AppState,
    admin: &Admin,
    factor: Factor,
    policies: &crate::policies::Policies,
    entry: NewAudit,
) -> Result<(), ApiError> {
    let pool = state.pool.clone();
    let a = admin.clone();
    let policy = *policies.lockout.lockout();
    let result = blocking(move || {
        Ok(admins::record_failure(
            &mut pool.get()?,
            &a,
            factor,
            &policy,
            entry,
        )?)
    })
    .await?;
    if let LoginFailure::Counted {
        locked: true,
        locked_until,
    } = result
    {
        tracing::warn!(login = %admin.login, ?locked_until, "administrator locked");
    }
    Ok(())
}

async fn session_view(
    state: &AppState,
    admin: &Admin,
    token: &str,
) -> Result<SessionView, ApiError> {
    let group = match admin.group_id {
        Some(id) => {
            let pool = state.pool.clone();
            Some(blocking(move || load_group(&mut pool.get()?, id)).await?)
        }
        None => None,
    };
    let group = group.unwrap_or_else(|| Arc::new(AdminGroup::system_administrator()));
    Ok(SessionView {
        login: admin.login.clone(),
        group: group.name().to_owned(),
        system_administrator: group.is_builtin(),
        csrf_token: csrf_for(token),
        idle_timeout_s: state.config.session_idle_s,
        acl: serde_json::to_value(&*group).map_err(ApiError::internal)?,
    })
}

/// The current session.
#[utoipa::path(get, path = "/v1/session", tag = "administration",
    responses((status = 200, body = SessionView), (status = 401, body = Problem)))]
pub async fn current(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let Principal::Admin { login, .. } = &caller.principal else {
        return Err(ApiError::Unauthenticated);
    };
    let token = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ApiError::Unauthenticated)?;
    let pool = state.pool.clone();
    let l = login.clone();
    let admin = blocking(move || Ok(admins::find(&mut pool.get()?, &l)?))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let view = session_view(&state, &admin, &token).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// Logs out (the `X-CSRF-Token` header is required).
#[utoipa::path(delete, path = "/v1/session", tag = "administration",
    responses((status = 204, description = "session ended, cookie cleared"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    if !matches!(caller.principal, Principal::Admin { .. }) {
        return Err(ApiError::Unauthenticated);
    }
    let token = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ApiError::Unauthenticated)?;
    let digest = crate::store::apikeys::digest(&token);
    let pool = state.pool.clone();
    let entry = NewAudit {
        at: crate::now(),
        actor: caller.actor(),
        action: "admin.logout".into(),
        subject: None,
        source: super::flows::source(&req),
        outcome: "ok".into(),
        detail: None,
    };
    blocking(move || {
        use crate::store::Ops as _;
        let mut conn = pool.get()?;
        admins::end_session(&mut conn, &digest)?;
        crate::write_tx!(&mut conn, |c| c.audit_insert(&entry))
            .map_err(crate::store::StoreError::from)?;
        Ok(())
    })
    .await?;
    let mut gone = Cookie::build(COOKIE, "").path("/").http_only(true).finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// Registers the session routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/session")
            .route(web::post().to(login))
            .route(web::get().to(current))
            .route(web::delete().to(logout)),
    );
}
