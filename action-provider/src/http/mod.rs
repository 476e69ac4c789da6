//! The HTTP layer: each handler extracts its input, calls one service function and answers.
//! No transaction, no policy and no store access here; errors become problem documents in
//! one place ([`error`]).
//!
//! Adding a route: put the request and answer types in the service (they are its input and
//! output), write the service function, then a handler here that only extracts and answers,
//! annotate it with `#[utoipa::path]`, list it in [`docs::ApiDoc`] and register it in the
//! resource's `routes`.

pub mod admin;
pub mod auth;
pub mod bodies;
pub mod body_check;
pub mod dashboard;
pub mod devices;
pub mod docs;
pub mod error;
pub mod extract;
pub mod imports;
pub mod inventory;
pub mod mail;
pub mod otp;
pub mod page;
pub mod settings;
pub mod tokens;
pub mod users;
pub mod wallets;

use actix_web::{HttpResponse, web};
use serde::Serialize;

pub use error::{ApiError, ErrorCode};

/// The result of a handler.
pub type Answer = Result<HttpResponse, ApiError>;

/// 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> Answer {
    Ok(HttpResponse::Ok().json(body))
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(body: &T) -> Answer {
    Ok(HttpResponse::Created().json(body))
}

/// 200 with a page of a list.
pub fn paged<T: Serialize>(page: crate::service::page::Page<T>) -> Answer {
    ok(&page::Paged::from(page))
}

/// 204.
pub fn no_content() -> Answer {
    Ok(HttpResponse::NoContent().finish())
}

/// Registers every API route (`/v1/…`, `/healthz`, `/openapi.json`, `/docs`, `/metrics`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    // actix tries the routes in this order until one matches, running the regular
    // expression (with its captures) of each one with a path parameter. The applications'
    // calls come first (no other route's path can match theirs), then the fixed paths (a
    // pattern such as `/v1/users/{login}` would also match `/v1/users/export`), then the
    // users' routes, the most frequent reads, ahead of every other pattern (three patterns
    // ahead of `/v1/users/{login}` were 5 % of a user read's CPU).
    otp::routes(cfg);
    docs::routes(cfg);
    dashboard::routes(cfg);
    imports::routes(cfg);
    users::routes(cfg);
    imports::job_routes(cfg);
    docs::viewer_routes(cfg);
    tokens::routes(cfg);
    inventory::routes(cfg);
    devices::routes(cfg);
    wallets::routes(cfg);
    auth::routes(cfg);
    settings::routes(cfg);
    mail::routes(cfg);
    admin::routes(cfg);
}
