//! Administration routes: console sessions, administrators and their groups, API keys and
//! the audit log.

pub mod admins;
pub mod apikeys;
pub mod audit;
pub mod groups;
pub mod session;

use actix_web::web;

/// Registers the administration routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    session::routes(cfg);
    admins::routes(cfg);
    groups::routes(cfg);
    apikeys::routes(cfg);
    audit::routes(cfg);
}
