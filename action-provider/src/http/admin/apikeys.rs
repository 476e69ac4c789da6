//! `/v1/apikeys`: create (the key is shown once), list, revoke.

use actix_web::web;

use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::PageQuery;
use crate::http::{Answer, created, no_content, paged};
use crate::service::AppState;
use crate::service::apikeys::{self, CreateKey, KeyView};
use crate::service::caller::Caller;

/// Creates an API key; the key is in this answer only.
#[utoipa::path(post, operation_id = "apikeys_create", path = "/v1/apikeys", tag = "administration", request_body = CreateKey,
    responses((status = 201, body = KeyView), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "`group` names no administrator group")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<CreateKey>,
) -> Answer {
    created(&apikeys::create(&state, &caller, body).await?)
}

/// Lists API keys (never the keys themselves).
#[utoipa::path(get, operation_id = "apikeys_list", path = "/v1/apikeys", tag = "administration", params(PageQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(apikeys::list(&state, &caller, page.request()?).await?)
}

/// Revokes an API key (every node stops accepting it within 5 seconds).
#[utoipa::path(delete, path = "/v1/apikeys/{id}", tag = "administration", params(("id" = i64, Path, description = "key id")),
    responses((status = 204, description = "revoked"), (status = 404, body = Problem)))]
pub async fn revoke(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Answer {
    apikeys::revoke(&state, &caller, id.into_inner()).await?;
    no_content()
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/apikeys", web::post().to(create))
        .route("/v1/apikeys", web::get().to(list))
        .route("/v1/apikeys/{id}", web::delete().to(revoke));
}
