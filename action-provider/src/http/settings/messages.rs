//! `/v1/messages`: message templates.

use crate::http::bodies::Change;
use actix_web::web;

use crate::http::error::Problem;
use crate::http::extract::Json;
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::messages::{self, TemplateBody, TemplateView};

/// Lists the templates.
#[utoipa::path(get, path = "/v1/messages", tag = "messages", responses((status = 200, body = serde_json::Value)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Answer {
    paged(messages::list(&state, &caller).await?)
}

/// Creates a template.
#[utoipa::path(post, path = "/v1/messages", tag = "messages", request_body = crate::service::schemas::TemplateNew,
    responses((status = 201, body = TemplateView), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<TemplateBody>,
) -> Answer {
    created(&messages::create(&state, &caller, body).await?)
}

/// Reads a template.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")),
    responses((status = 200, body = TemplateView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    ok(&messages::read(&state, &caller, id.into_inner()).await?)
}

/// Replaces a template.
#[utoipa::path(put, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")), request_body = crate::service::schemas::TemplateChange,
    responses((status = 200, body = TemplateView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the body's `id` is not the path's (`id_mismatch`)")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(Change(body)): Json<Change<TemplateBody>>,
) -> Answer {
    ok(&messages::update(&state, &caller, id.into_inner(), body).await?)
}

/// Deletes a template (not the default of a channel that has others).
#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path, description = "template id")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    messages::delete(&state, &caller, id.into_inner()).await?;
    no_content()
}

/// Registers the template routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/messages", web::get().to(list))
        .route("/v1/messages", web::post().to(create))
        .route("/v1/messages/{id}", web::get().to(read))
        .route("/v1/messages/{id}", web::put().to(update))
        .route("/v1/messages/{id}", web::delete().to(delete));
}
