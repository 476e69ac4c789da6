//! `/v1/inbound/accounts*`: IMAP/POP3 accounts read for bounces, with "test" and "check now".

use actix_web::web;

use super::id_of;
use crate::http::bodies::Change;
use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::PageQuery;
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::inbound::check::{self, CheckResult, TestResult};
use crate::service::inbound::{self, InboundBody, InboundView};

const ACCOUNT: &str = "inbound account";

/// Creates an inbound account.
#[utoipa::path(post, operation_id = "create_inbound_account", path = "/v1/inbound/accounts", tag = "mail", request_body = crate::service::schemas::InboundNew,
    responses((status = 201, body = InboundView), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "the OAuth2 profile named by `oauth2_profile` does not exist"),
        (status = 409, body = Problem, description = "another inbound account has the name (`duplicate`)")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<InboundBody>,
) -> Answer {
    created(&inbound::create(&state, &caller, body).await?)
}

/// Lists inbound accounts.
#[utoipa::path(get, operation_id = "list_inbound_accounts", path = "/v1/inbound/accounts", tag = "mail", params(PageQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(inbound::list(&state, &caller, page.request()?).await?)
}

/// Reads an inbound account (its last check, never the password).
#[utoipa::path(get, operation_id = "read_inbound_account", path = "/v1/inbound/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = InboundView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    ok(&inbound::read(&state, &caller, id_of(&id, ACCOUNT)?).await?)
}

/// Replaces an inbound account (the stored password is kept when none is sent and the
/// server is unchanged).
#[utoipa::path(put, operation_id = "update_inbound_account", path = "/v1/inbound/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")), request_body = crate::service::schemas::InboundChange,
    responses((status = 200, body = InboundView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "another inbound account has the name (`duplicate`)")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(Change(body)): Json<Change<InboundBody>>,
) -> Answer {
    ok(&inbound::update(&state, &caller, id_of(&id, ACCOUNT)?, body).await?)
}

/// Deletes an inbound account.
#[utoipa::path(delete, operation_id = "delete_inbound_account", path = "/v1/inbound/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    inbound::delete(&state, &caller, id_of(&id, ACCOUNT)?).await?;
    no_content()
}

/// "Test": logs in and opens the folder. Answers 200 with the counts, or `{ok: false,
/// error}` with the server's own words.
#[utoipa::path(post, operation_id = "test_inbound_account", path = "/v1/inbound/accounts/{id}/test", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = TestResult), (status = 404, body = Problem)))]
pub async fn test(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    ok(&check::test(&state, &caller, id_of(&id, ACCOUNT)?).await?)
}

/// "Check now": reads the new messages and applies the bounces among them. 409
/// `check_running` while a check of the account runs (on any node).
#[utoipa::path(post, operation_id = "check_inbound_account", path = "/v1/inbound/accounts/{id}/check", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = CheckResult), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "a check of the account is running (`check_running`)")))]
pub async fn check_now(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Answer {
    ok(&check::check_now(&state, &caller, id_of(&id, ACCOUNT)?).await?)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/inbound/accounts", web::get().to(list))
        .route("/v1/inbound/accounts", web::post().to(create))
        .route("/v1/inbound/accounts/{id}", web::get().to(read))
        .route("/v1/inbound/accounts/{id}", web::put().to(update))
        .route("/v1/inbound/accounts/{id}", web::delete().to(delete))
        .route("/v1/inbound/accounts/{id}/test", web::post().to(test))
        .route("/v1/inbound/accounts/{id}/check", web::post().to(check_now));
}
