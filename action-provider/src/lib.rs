//! SAE's server as a library: [`build_app`] assembles the actix application over an
//! [`AppState`], [`serve`] runs it with its background tasks. The `sae` binary (`main.rs`)
//! only parses the command line; tests run the server in-process through this crate.
//!
//! Inside, three layers with arrows only downward: [`http`] (extract, call one service
//! function, respond) → [`service`] (the flows and every decision that needs the store) →
//! [`store`] (one façade over SQLite and PostgreSQL). The [`outbox`] sits between service
//! and store; [`cache`], [`clock`], [`config`], [`crypto`], [`metrics`], [`proxies`] and [`timefmt`]
//! are leaves any layer may use.

pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod proxies;
pub mod service;
pub mod store;
pub mod timefmt;

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};

pub use service::AppState;

use crate::http::{ApiError, ErrorCode};

/// Registers every route (API, docs, console) and the request-wide error handlers on an
/// actix `App`.
pub fn build_app(cfg: &mut web::ServiceConfig) {
    http::routes(cfg);
    admin_gui::configure(cfg);
}

/// The actix application over `state`: every route, the request-wide error handlers, the
/// NUL-refusing middleware and the 404/405 default.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(
            web::PathConfig::default().error_handler(|err, _| {
                ApiError::new(ErrorCode::InvalidPath, err.to_string()).into()
            }),
        )
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            let detail = err.to_string();
            let field = detail.split('`').nth(1).map(str::to_owned);
            let e = ApiError::new(ErrorCode::InvalidQuery, detail);
            match field {
                Some(f) => e.at(f),
                None => e,
            }
            .into()
        }))
        .configure(build_app)
        .wrap(actix_web::middleware::from_fn(
            http::extract::refuse_nul_in_uri,
        ))
        .wrap(actix_web::middleware::from_fn(
            http::extract::count_responses,
        ))
        .default_service(web::to(|req: actix_web::HttpRequest| async move {
            Err::<HttpResponse, _>(match http::docs::allowed_methods(req.path()) {
                Some(allow) => ApiError::method_not_allowed(allow),
                None => ApiError::not_found("no such route"),
            })
        }))
}

/// Runs the HTTP server and the background tasks (outbox worker, keyring reload,
/// retention) until the process is stopped.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listen = state.config.listen;
    let workers = state.config.workers;
    let public_url = state.config.public_url.clone();
    let state = web::Data::new(state);
    spawn_background(&state);
    let mut server = actix_web::HttpServer::new(move || app(state.clone())).bind(listen)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    tracing::info!(%listen, %public_url, "SAE listening");
    server.run().await
}

/// Starts the outbox worker, the keyring reload, the retention sweep, the import worker,
/// the inbound mail checks, the background OAuth2 token refresh and the notification sender.
pub fn spawn_background(state: &web::Data<AppState>) {
    let ctx = state.outbox();
    let mut router = outbox::router::Router::default()
        .with("sms", Arc::new(outbox::sms::SmsOutbox::new(ctx.clone())));
    match outbox::email::MailSender::new(ctx.clone()) {
        Ok(mail) => router = router.with("email", Arc::new(mail)),
        Err(e) => tracing::error!(error = %e, "the e-mail sender could not start"),
    }
    actix_web::rt::spawn(outbox::worker::run(
        ctx,
        Arc::new(router),
        Arc::clone(&state.outbox_notify),
        state.outbox_handoff.receiver(),
    ));
    actix_web::rt::spawn(crypto::reload_task(
        Arc::clone(&state.keyring),
        state.config.keyring.clone(),
        state.config.keyring_reload,
    ));
    actix_web::rt::spawn(service::retention::run(state.clone().into_inner()));
    actix_web::rt::spawn(service::import::worker::run(
        state.clone().into_inner(),
        Arc::clone(&state.jobs_notify),
    ));
    actix_web::rt::spawn(service::inbound::check::run(state.clone().into_inner()));
    actix_web::rt::spawn(service::oauth2_refresh::run(state.clone().into_inner()));
    match outbox::email::MailSender::new(state.outbox()) {
        Ok(mail) => {
            actix_web::rt::spawn(outbox::notify::run(state.outbox(), Arc::new(mail)));
        }
        Err(e) => tracing::error!(error = %e, "the notification sender could not start"),
    }
}
