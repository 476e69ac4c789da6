//! `/v1/users`: users and their credentials (password, unlock, AuthSys tree).

use actix_web::web;
use sae_core::rules::user_authsys::UserAuthsysList;

use super::Answer;
use super::error::{ApiError, Problem};
use super::extract::{Json, Query};
use super::page::PageQuery;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::credentials::{self, SetPassword};
use crate::service::input::Login;
use crate::service::users::{self, CreateUser, ListFilter, UpdateUser, UserSort, UserView};

/// The login of a path, checked like a body's.
pub fn login(path: String) -> Result<Login, ApiError> {
    Ok(Login::parse(path)?)
}

/// Creates a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "the wallet named by `wallet` does not exist"),
        (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> Answer {
    super::created(&users::create(&state, &caller, body).await?)
}

/// Reads a user.
#[utoipa::path(get, path = "/v1/users/{login}", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    super::ok(&users::read(&state, &caller, login(path.into_inner())?).await?)
}

/// Changes a user's profile.
#[utoipa::path(patch, path = "/v1/users/{login}", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    request_body = UpdateUser,
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(body): Json<UpdateUser>,
) -> Answer {
    super::ok(&users::update(&state, &caller, login(path.into_inner())?, body).await?)
}

/// Deletes a user with its tokens and issued codes.
#[utoipa::path(delete, path = "/v1/users/{login}", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    users::delete(&state, &caller, login(path.into_inner())?).await?;
    super::no_content()
}

/// `GET /v1/users` query: filters and the page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (valid with the same `sort` and filters).
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Any unique key: users whose login starts with it (compared case-insensitively, as
    /// logins are), or whose e-mail, document or mobile (compared normalised) is it.
    pub q: Option<String>,
    /// The order: `created` (default), `login`, `name`, `email`, `wallet`; `-` in front
    /// for descending (`-created`: newest first). Users without the value come last
    /// (first with `-`); ties go by creation.
    #[param(inline)]
    pub sort: Option<UserSort>,
    /// Logins starting with this text (compared case-insensitively, as logins are).
    pub login_prefix: Option<String>,
    /// E-mail address (compared normalised).
    #[param(
        max_length = 254,
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@.\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub email: Option<String>,
    /// Mobile number (compared as E.164 digits).
    #[param(
        pattern = r"^(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*\+(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){8,15}|[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*(?:[1-9](?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){7,14}|0[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[1-9](?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){6,13}|0[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*0(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){8,15}))[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*$"
    )]
    pub mobile: Option<String>,
    /// Document (compared as digits).
    #[param(max_length = 64, pattern = r"^[^\x00]*[0-9][^\x00]*$")]
    pub document: Option<String>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// `active`, `disabled` or `locked`.
    #[param(inline, value_type = Option<crate::service::input::words::UserStatus>)]
    pub status: Option<String>,
}

/// Lists users, filtered, a page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "`cursor` names a user deleted since (with a sort other than `created`): start from the first page")))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Answer {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = ListFilter {
        q: q.q,
        sort: q.sort,
        login_prefix: q.login_prefix,
        email: q.email,
        mobile: q.mobile,
        document: q.document,
        wallet: q.wallet,
        status: q.status,
    };
    super::paged(users::list(&state, &caller, filter, page).await?)
}

/// Sets or changes a user's password under the effective policy (strength, reuse).
#[utoipa::path(post, path = "/v1/users/{login}/password", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    request_body = SetPassword,
    responses((status = 204, description = "password set"), (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn set_password(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(body): Json<SetPassword>,
) -> Answer {
    credentials::set_password(&state, &caller, login(path.into_inner())?, body).await?;
    super::no_content()
}

/// Lifts a lock and resets every failure counter.
#[utoipa::path(post, path = "/v1/users/{login}/unlock", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn unlock(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    super::ok(&credentials::unlock(&state, &caller, login(path.into_inner())?).await?)
}

/// Reads a user's AuthSys / claims / values (values are credentials: admin scope only).
#[utoipa::path(get, path = "/v1/users/{login}/authsys", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = Problem)))]
pub async fn get_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Answer {
    super::ok(&credentials::get_authsys(&state, &caller, login(path.into_inner())?).await?)
}

/// Replaces a user's AuthSys / claims / values (the contents are encrypted at rest).
#[utoipa::path(put, path = "/v1/users/{login}/authsys", tag = "users", params(("login" = Login, Path, description = "the user's login")),
    request_body = crate::service::schemas::UserAuthsys,
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn put_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(list): Json<UserAuthsysList>,
) -> Answer {
    super::ok(&credentials::put_authsys(&state, &caller, login(path.into_inner())?, list).await?)
}

/// Registers the user routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users", web::post().to(create))
        .route("/v1/users", web::get().to(list))
        .route("/v1/users/{login}", web::get().to(read))
        .route("/v1/users/{login}", web::patch().to(update))
        .route("/v1/users/{login}", web::delete().to(delete))
        .route("/v1/users/{login}/password", web::post().to(set_password))
        .route("/v1/users/{login}/unlock", web::post().to(unlock))
        .route("/v1/users/{login}/authsys", web::get().to(get_authsys))
        .route("/v1/users/{login}/authsys", web::put().to(put_authsys));
}
