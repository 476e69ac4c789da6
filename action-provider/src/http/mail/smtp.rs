//! `/v1/smtp/accounts*`: SMTP accounts and "test configuration".

use crate::http::bodies::Change;
use actix_web::web;

use super::id_of;
use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::PageQuery;
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::smtp::{self, AccountBody, AccountView, TestBody, TestResult};

const ACCOUNT: &str = "SMTP account";

/// Creates an SMTP account.
#[utoipa::path(post, operation_id = "create_account", path = "/v1/smtp/accounts", tag = "mail", request_body = crate::service::schemas::AccountNew,
    responses((status = 201, body = AccountView), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "the OAuth2 profile named by `oauth2_profile` does not exist"),
        (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<AccountBody>,
) -> Answer {
    created(&smtp::create(&state, &caller, body).await?)
}

/// Lists SMTP accounts.
#[utoipa::path(get, operation_id = "list_accounts", path = "/v1/smtp/accounts", tag = "mail", params(PageQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(smtp::list(&state, &caller, page.request()?).await?)
}

/// Reads an SMTP account.
#[utoipa::path(get, operation_id = "read_account", path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    ok(&smtp::read(&state, &caller, id_of(&id, ACCOUNT)?).await?)
}

/// Replaces an SMTP account (the stored password is kept when none is sent).
#[utoipa::path(put, operation_id = "update_account", path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")), request_body = crate::service::schemas::AccountChange,
    responses((status = 200, body = AccountView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "another account has the name (`duplicate`)")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(Change(body)): Json<Change<AccountBody>>,
) -> Answer {
    ok(&smtp::update(&state, &caller, id_of(&id, ACCOUNT)?, body).await?)
}

/// Deletes an SMTP account.
#[utoipa::path(delete, operation_id = "delete_account", path = "/v1/smtp/accounts/{id}", tag = "mail", params(("id" = i64, Path, description = "account id")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    smtp::delete(&state, &caller, id_of(&id, ACCOUNT)?).await?;
    no_content()
}

/// "Test configuration": sends a test mail through the account. Answers 200 with
/// `{ok: true}` or `{ok: false, error}` (the SMTP error text).
#[utoipa::path(post, operation_id = "test_account", path = "/v1/smtp/accounts/{id}/test", tag = "mail", params(("id" = i64, Path, description = "account id")), request_body = TestBody,
    responses((status = 200, body = TestResult), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(body): Json<TestBody>,
) -> Answer {
    ok(&smtp::test(&state, &caller, id_of(&id, ACCOUNT)?, body).await?)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/smtp/accounts", web::get().to(list))
        .route("/v1/smtp/accounts", web::post().to(create))
        .route("/v1/smtp/accounts/{id}", web::get().to(read))
        .route("/v1/smtp/accounts/{id}", web::put().to(update))
        .route("/v1/smtp/accounts/{id}", web::delete().to(delete))
        .route("/v1/smtp/accounts/{id}/test", web::post().to(test));
}
