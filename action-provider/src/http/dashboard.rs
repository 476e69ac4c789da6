//! `/v1/dashboard`: the console's first screen, computed by the database.

use actix_web::web;

use super::Answer;
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::dashboard::{self, DashboardView};

/// Health, the outbox, delivery success and latency per broker over the last 24 hours (hour
/// by hour), locked users, OAuth2 profiles needing attention and recent failures.
#[utoipa::path(get, path = "/v1/dashboard", tag = "administration",
    responses((status = 200, body = DashboardView, description = "The dashboard's figures")))]
pub async fn get(state: web::Data<AppState>, caller: Caller) -> Answer {
    super::ok(&dashboard::dashboard(&state, &caller).await?)
}

/// Registers the route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/dashboard", web::get().to(get));
}
