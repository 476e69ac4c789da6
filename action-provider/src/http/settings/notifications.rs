//! `/v1/notifications`: recipients, events and the minimum interval of administrator
//! notifications.

use actix_web::web;

use crate::http::error::Problem;
use crate::http::extract::Json;
use crate::http::{Answer, ok};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::notifications::{self, NotificationSettings};

/// Reads the notification settings.
#[utoipa::path(get, path = "/v1/notifications", tag = "delivery",
    responses((status = 200, body = NotificationSettings)))]
pub async fn get(state: web::Data<AppState>, caller: Caller) -> Answer {
    ok(&notifications::get(&state, &caller).await?)
}

/// Replaces the notification settings.
#[utoipa::path(put, path = "/v1/notifications", tag = "delivery", request_body = crate::service::schemas::Notifications,
    responses((status = 200, body = NotificationSettings), (status = 400, body = Problem)))]
pub async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<NotificationSettings>,
) -> Answer {
    ok(&notifications::put(&state, &caller, body).await?)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/notifications", web::get().to(get))
        .route("/v1/notifications", web::put().to(put));
}
