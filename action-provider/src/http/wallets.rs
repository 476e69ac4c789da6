//! `/v1/wallets`: named portfolios of users ("carteiras").

use actix_web::web;

use super::Answer;
use super::error::Problem;
use super::extract::{Json, Query};
use super::page::PageQuery;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::wallets::{self, WalletBody, WalletView};

/// Creates a wallet.
#[utoipa::path(post, path = "/v1/wallets", tag = "wallets", request_body = WalletBody,
    responses((status = 201, body = WalletView), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<WalletBody>,
) -> Answer {
    super::created(&wallets::create(&state, &caller, body).await?)
}

/// Lists wallets.
#[utoipa::path(get, path = "/v1/wallets", tag = "wallets", params(PageQuery),
    responses((status = 200, body = serde_json::Value), (status = 400, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    super::paged(wallets::list(&state, &caller, page.request()?).await?)
}

/// Reads a wallet.
#[utoipa::path(get, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")),
    responses((status = 200, body = WalletView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, name: web::Path<String>) -> Answer {
    super::ok(&wallets::read(&state, &caller, name.into_inner()).await?)
}

/// Renames or re-describes a wallet.
#[utoipa::path(put, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")), request_body = WalletBody,
    responses((status = 200, body = WalletView), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    Json(body): Json<WalletBody>,
) -> Answer {
    super::ok(&wallets::update(&state, &caller, name.into_inner(), body).await?)
}

/// Deletes an empty wallet (a wallet with users is refused: 409).
#[utoipa::path(delete, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, name: web::Path<String>) -> Answer {
    wallets::delete(&state, &caller, name.into_inner()).await?;
    super::no_content()
}

/// Registers the wallet routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/wallets", web::post().to(create))
        .route("/v1/wallets", web::get().to(list))
        .route("/v1/wallets/{name}", web::get().to(read))
        .route("/v1/wallets/{name}", web::put().to(update))
        .route("/v1/wallets/{name}", web::delete().to(delete));
}
