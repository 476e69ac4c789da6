//! `/v1/tokens`: the token inventory — list and filter, assign, unassign, delete.

use actix_web::web;

use super::Answer;
use super::error::Problem;
use super::extract::{Json, Query};
use super::page::{PageQuery, Paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::inventory::{self, Assign, InventoryFilter};
use crate::service::tokens::TokenView;

/// `GET /v1/tokens` query: filters and the page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryQuery {
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Serials starting with this text.
    pub serial: Option<String>,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    #[param(rename = "type", inline, value_type = Option<crate::service::input::words::TokenType>)]
    pub kind: Option<String>,
    /// Only assigned (`true`) or only unassigned (`false`) tokens.
    pub assigned: Option<bool>,
    /// Only the tokens of the user with this login.
    pub login: Option<String>,
}

/// Lists the token inventory (never a secret), filtered, a page at a time.
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", params(InventoryQuery),
    responses((status = 200, body = Paged<TokenView>), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "`login` names no user")))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<InventoryQuery>,
) -> Answer {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = InventoryFilter {
        serial: q.serial,
        kind: q.kind,
        assigned: q.assigned,
        login: q.login,
    };
    super::paged(inventory::list(&state, &caller, filter, page).await?)
}

/// Assigns an unassigned token to a user (the token's replay state is kept).
#[utoipa::path(post, path = "/v1/tokens/{serial}/assign", tag = "tokens",
    params(("serial" = String, Path, description = "the token's serial")), request_body = Assign,
    responses((status = 200, body = TokenView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn assign(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Json(body): Json<Assign>,
) -> Answer {
    super::ok(&inventory::assign(&state, &caller, path.into_inner(), body).await?)
}

/// Takes a token back from its user into the inventory (replay state kept).
#[utoipa::path(post, path = "/v1/tokens/{serial}/unassign", tag = "tokens",
    params(("serial" = String, Path, description = "the token's serial")),
    responses((status = 200, body = TokenView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn unassign(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Answer {
    super::ok(&inventory::unassign(&state, &caller, path.into_inner()).await?)
}

/// Deletes a token, assigned or not.
#[utoipa::path(delete, path = "/v1/tokens/{serial}", tag = "tokens",
    params(("serial" = String, Path, description = "the token's serial")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    inventory::delete(&state, &caller, path.into_inner()).await?;
    super::no_content()
}

/// Registers the inventory routes (`/v1/tokens/import` is registered first, in `imports`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/tokens", web::get().to(list))
        .route("/v1/tokens/{serial}/assign", web::post().to(assign))
        .route("/v1/tokens/{serial}/unassign", web::post().to(unassign))
        .route("/v1/tokens/{serial}", web::delete().to(delete));
}
