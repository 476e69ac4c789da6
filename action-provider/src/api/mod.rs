//! The JSON API under `/v1`.

pub mod admin;
pub mod admins;
pub mod config;
pub mod credentials;
pub mod delivery;
pub mod devices;
pub mod docs;
pub mod error;
pub mod extract;
pub mod flows;
pub mod mail;
pub mod messages;
pub mod policies;
pub mod session;
pub mod tokens;
pub mod types;
pub mod users;
pub mod wallets;

use actix_web::web;

/// Registers the `/v1` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    users::routes(cfg);
    config::routes(cfg);
    tokens::routes(cfg);
    flows::routes(cfg);
    credentials::routes(cfg);
    policies::routes(cfg);
    messages::routes(cfg);
    delivery::routes(cfg);
    admin::routes(cfg);
    wallets::routes(cfg);
    devices::routes(cfg);
    mail::routes(cfg);
    session::routes(cfg);
    admins::routes(cfg);
}
