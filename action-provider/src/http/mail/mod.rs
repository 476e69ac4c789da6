//! Mail routes: `/v1/oauth2/*`, `/v1/smtp/accounts*` and `/v1/inbound/accounts*`.

pub mod inbound;
pub mod oauth2;
pub mod smtp;

use actix_web::web;

use super::error::ApiError;

/// The numeric id of a path (an unknown one is a 404, as before any lookup).
pub fn id_of(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no {what} {id:?}")))
}

/// Registers the mail routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    oauth2::routes(cfg);
    smtp::routes(cfg);
    inbound::routes(cfg);
}
