//! Configuration routes: `/v1/config/*`, `/v1/policies/*`, `/v1/messages`, `/v1/delivery/*`,
//! `/v1/notifications` and the delivery reports.

pub mod config;
pub mod delivery;
pub mod messages;
pub mod notifications;
pub mod policies;

use actix_web::web;

/// Registers the configuration routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    config::routes(cfg);
    policies::routes(cfg);
    messages::routes(cfg);
    delivery::routes(cfg);
    notifications::routes(cfg);
}
