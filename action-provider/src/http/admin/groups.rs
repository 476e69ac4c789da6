//! `/v1/admin-groups`: administrator groups with their ACL (System Administrator only).

use crate::http::bodies::GroupBody;
use actix_web::web;

use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::{PageQuery, Paged};
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::admins::{self, GroupView};
use crate::service::caller::Caller;

/// Creates an administrator group; omitted fields are `none`.
#[utoipa::path(post, operation_id = "group_create", path = "/v1/admin-groups", tag = "administration",
    request_body = crate::service::schemas::AdminGroup,
    responses((status = 201, body = GroupView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(GroupBody(body)): Json<GroupBody>,
) -> Answer {
    created(&admins::group_create(&state, &caller, body).await?)
}

/// Lists administrator groups, the built-in one first.
#[utoipa::path(get, operation_id = "group_list", path = "/v1/admin-groups", tag = "administration", params(PageQuery),
    responses((status = 200, body = Paged<GroupView>), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(admins::group_list(&state, &caller, page.request()?).await?)
}

/// Reads an administrator group.
#[utoipa::path(get, operation_id = "group_read", path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    responses((status = 200, body = GroupView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, name: web::Path<String>) -> Answer {
    ok(&admins::group_read(&state, &caller, name.into_inner()).await?)
}

/// Replaces a group's ACL (and name); applies to its sessions and keys at once (keys:
/// within 5 seconds on other nodes).
#[utoipa::path(put, operation_id = "group_update", path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    request_body = crate::service::schemas::AdminGroup,
    responses((status = 200, body = GroupView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    Json(GroupBody(body)): Json<GroupBody>,
) -> Answer {
    ok(&admins::group_update(&state, &caller, name.into_inner(), body).await?)
}

/// Deletes a group that no administrator or live API key uses.
#[utoipa::path(delete, operation_id = "group_delete", path = "/v1/admin-groups/{name}", tag = "administration",
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, name: web::Path<String>) -> Answer {
    admins::group_delete(&state, &caller, name.into_inner()).await?;
    no_content()
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/admin-groups")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/v1/admin-groups/{name}")
            .route(web::get().to(read))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}
