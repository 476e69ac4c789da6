//! Administrator console sessions: `POST /v1/session` (password, then TOTP — enrolled at the
//! first login), `GET /v1/session`, `DELETE /v1/session`.
//!
//! The cookie `sae_session` is `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` when
//! `public_url` is `https://`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::Answer;
use crate::http::error::Problem;
use crate::http::extract::{Client, Json, SESSION_COOKIE, session_cookie};
use crate::service::admin_login::{self, LoginInput, LoginOutcome, SessionView};
use crate::service::caller::Caller;
use crate::service::{AppState, ServiceError};
use delivery::SecretString;

/// `POST /v1/session`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The administrator's login.
    #[schema(min_length = 1, max_length = 255)]
    pub login: String,
    /// The administrator's password.
    #[schema(value_type = String, max_length = 1024)]
    pub password: SecretString,
    /// The current code of the administrator's authenticator (TOTP, 6 digits).
    #[schema(value_type = Option<String>, max_length = 64)]
    pub otp: Option<SecretString>,
}

/// The answer to `POST /v1/session`. The session fields are present only with `ok`, the
/// enrolment fields only with `totp_enrolment`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct LoginAnswer {
    /// `ok` (session created, cookie set), `otp_required` (send the authenticator code
    /// too) or `totp_enrolment` (first login: add the secret to an authenticator, then send
    /// the password with its current code).
    pub status: &'static str,
    /// With `ok`: the administrator's login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// With `ok`: the administrator's group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// With `ok`: whether the group is the built-in System Administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_administrator: Option<bool>,
    /// With `ok`: send this in `X-CSRF-Token` with every request that is not GET or HEAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// With `ok`: the session ends after this many idle seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_s: Option<u32>,
    /// With `ok`: the group's ACL over users and wallets.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub acl: Option<serde_json::Value>,
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
            ..Self::default()
        }
    }

    fn session(view: SessionView) -> Self {
        Self {
            login: Some(view.login),
            group: Some(view.group),
            system_administrator: Some(view.system_administrator),
            csrf_token: Some(view.csrf_token),
            idle_timeout_s: Some(view.idle_timeout_s),
            acl: Some(view.acl),
            ..Self::status("ok")
        }
    }
}

fn session_cookie_of(state: &AppState, token: &str) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if state.config.public_url.starts_with("https://") {
        cookie.set_secure(true);
    }
    cookie
}

/// Logs an administrator in.
#[utoipa::path(post, path = "/v1/session", tag = "administration", request_body = Login,
    description = "Administrator login. Without `otp`: answers `otp_required`, or on the first \
                   login `totp_enrolment` with a new TOTP secret (and its QR) to add to an \
                   authenticator. With the current code: creates the session, sets the \
                   `sae_session` cookie (HttpOnly, SameSite=Strict; Secure when public_url is \
                   https) and answers the CSRF token to send in `X-CSRF-Token`. Until both \
                   factors are right every failure answers the same 401, and a password-only \
                   request answers `otp_required` whether the password was right or not.",
    responses(
        (status = 200, body = LoginAnswer, description = "ok (cookie set), otp_required or totp_enrolment"),
        (status = 400, body = Problem),
        (status = 401, body = Problem, description = "invalid_credentials: an unknown login, a \
            wrong password or code, a locked or throttled administrator all answer alike"),
        (status = 413, body = Problem)))]
pub async fn login(state: web::Data<AppState>, client: Client, Json(body): Json<Login>) -> Answer {
    let input = LoginInput {
        login: body.login,
        password: body.password,
        otp: body.otp,
    };
    Ok(
        match admin_login::login(&state, client.source, input).await? {
            LoginOutcome::OtpRequired => {
                HttpResponse::Ok().json(LoginAnswer::status("otp_required"))
            }
            LoginOutcome::Enrol(e) => HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(LoginAnswer {
                    otpauth_uri: Some(e.otpauth_uri),
                    secret_base32: Some(e.secret_base32),
                    qr_svg: Some(e.qr_svg),
                    ..LoginAnswer::status("totp_enrolment")
                }),
            LoginOutcome::Session { token, view } => HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .cookie(session_cookie_of(&state, &token))
                .json(LoginAnswer::session(view)),
        },
    )
}

/// The current session.
#[utoipa::path(get, path = "/v1/session", tag = "administration",
    responses((status = 200, body = SessionView), (status = 401, body = Problem)))]
pub async fn current(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> Answer {
    let token = session_cookie(&req).ok_or(ServiceError::Unauthenticated)?;
    let view = admin_login::current(&state, &caller, &token).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// Logs out (the `X-CSRF-Token` header is required).
#[utoipa::path(delete, path = "/v1/session", tag = "administration",
    responses((status = 204, description = "session ended, cookie cleared"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> Answer {
    let token = session_cookie(&req).ok_or(ServiceError::Unauthenticated)?;
    admin_login::logout(&state, &caller, &token).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .finish();
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
