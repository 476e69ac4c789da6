//! `/v1/admins`: administrator accounts (System Administrator group only).

use actix_web::web;

use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::{PageQuery, Paged};
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::admins::{self, AdminView, CreateAdmin, UpdateAdmin};
use crate::service::caller::Caller;

/// Creates an administrator (the TOTP authenticator is enrolled at the first login).
#[utoipa::path(post, operation_id = "admins_create", path = "/v1/admins", tag = "administration", request_body = CreateAdmin,
    responses((status = 201, body = AdminView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "the group named by `group` does not exist"),
        (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateAdmin>,
) -> Answer {
    created(&admins::create(&state, &caller, body).await?)
}

/// Lists administrators.
#[utoipa::path(get, operation_id = "admins_list", path = "/v1/admins", tag = "administration", params(PageQuery),
    responses((status = 200, body = Paged<AdminView>), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(admins::list(&state, &caller, page.request()?).await?)
}

/// Reads an administrator.
#[utoipa::path(get, path = "/v1/admins/{login}", tag = "administration",
    params(("login" = String, Path)),
    responses((status = 200, body = AdminView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, login: web::Path<String>) -> Answer {
    ok(&admins::read(&state, &caller, login.into_inner()).await?)
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
) -> Answer {
    ok(&admins::update(&state, &caller, login.into_inner(), body).await?)
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
) -> Answer {
    admins::delete(&state, &caller, login.into_inner()).await?;
    no_content()
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
) -> Answer {
    admins::unlock(&state, &caller, login.into_inner()).await?;
    no_content()
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
    .route("/v1/admins/{login}/unlock", web::post().to(unlock));
}
