//! `/openapi.json` (OpenAPI 3, generated from the handlers' annotations), the offline docs
//! page at `/docs`, and `/metrics`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;

/// The OpenAPI document of every route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SAE — strong authentication engine",
        description = "JSON API of SAE. Authenticate with the `Api-Key` header (scopes `otp` and `admin`). \
The web console uses an administrator session instead (`POST /v1/session`, cookie `sae_session`, \
and the `X-CSRF-Token` header on every request other than GET/HEAD). \
Errors are `application/problem+json` (RFC 9457) with a stable `code` and, for input errors, the offending `field`.",
        version = "1"
    ),
    paths(
        health,
        super::users::create, super::users::list, super::users::read, super::users::update, super::users::delete,
        super::credentials::set_password, super::credentials::unlock, super::credentials::get_authsys,
        super::credentials::put_authsys, super::credentials::auth_password,
        super::tokens::enrol, super::tokens::list, super::tokens::challenge, super::tokens::delete,
        super::flows::validate, super::flows::request, super::flows::hash,
        super::config::get_retention, super::config::put_retention,
        super::config::get_im, super::config::put_im, super::config::get_lockout, super::config::put_lockout,
        super::policies::get_global, super::policies::put_global, super::policies::get_authsys,
        super::policies::put_authsys, super::policies::get_mfa, super::policies::put_mfa, super::policies::password_test,
        super::delivery::get_sms, super::delivery::put_sms, super::delivery::test_sms, super::delivery::get_voice,
        super::delivery::put_voice, super::delivery::report,
        super::admin::create, super::admin::list, super::admin::revoke, super::admin::audit_list,
        super::wallets::create, super::wallets::list, super::wallets::read, super::wallets::update, super::wallets::delete,
        super::devices::create, super::devices::list, super::devices::delete,
        super::messages::list, super::messages::create, super::messages::read, super::messages::update, super::messages::delete,
        super::mail::presets, super::mail::create_profile, super::mail::list_profiles, super::mail::read_profile,
        super::mail::update_profile, super::mail::delete_profile, super::mail::authorize, super::mail::callback,
        super::mail::create_account, super::mail::list_accounts, super::mail::read_account, super::mail::update_account,
        super::mail::delete_account, super::mail::test_account,
        super::session::login, super::session::current, super::session::logout,
        super::admins::create, super::admins::list, super::admins::read, super::admins::update,
        super::admins::delete, super::admins::unlock,
        super::admins::group_create, super::admins::group_list, super::admins::group_read,
        super::admins::group_update, super::admins::group_delete,
    ),
    components(schemas(super::error::Problem)),
    modifiers(&SecuritySchemes, &ErrorResponses),
    security(("api_key" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Api-Key"))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("sae_session"))),
        );
    }
}

/// The error answers every operation shares, added to each operation's own list so the
/// document names every status a client can get (schemathesis checks this in CI:
/// tests/api/openapi_fuzz.rs):
/// - 401 and 403 on operations that need a key (no or unknown key; a key whose scope or
///   session whose rights do not allow the operation);
/// - 400 on operations with parameters or a body (malformed JSON, a bad field, a bad path or
///   query parameter), 413 on those with a body;
/// - 404 on operations with path parameters (no such resource);
/// - 500 everywhere (an internal failure; the cause is logged, never answered).
///
/// An operation that documents its own answer for one of these statuses keeps it, and the
/// problem document is added as a second media type.
///
/// It also gives every problem document its real media type, `application/problem+json`
/// (utoipa would say `application/json`).
struct ErrorResponses;

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    let schema = utoipa::openapi::Ref::from_schema_name("Problem");
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            utoipa::openapi::Content::new(Some(schema)),
        )
        .build()
        .into()
}

fn is_problem(content: &utoipa::openapi::RefOr<utoipa::openapi::Content>) -> bool {
    use utoipa::openapi::RefOr;
    matches!(content, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")))
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        let globally_secured = openapi.security.as_ref().is_some_and(|s| !s.is_empty());
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let secured = match &op.security {
                    // `security(())` is one empty requirement: no key needed.
                    Some(reqs) => !reqs
                        .iter()
                        .any(|r| *r == utoipa::openapi::security::SecurityRequirement::default()),
                    None => globally_secured,
                };
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_path = params.iter().any(
                    |p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Path)),
                );
                let has_body = op.request_body.is_some();
                let mut shared: Vec<(&str, &str)> = Vec::new();
                if has_body || !params.is_empty() {
                    shared.push((
                        "400",
                        "The request is malformed or a field is invalid (`field` names it)",
                    ));
                }
                if secured {
                    shared.push((
                        "401",
                        "No or an unknown `Api-Key` (or administrator session)",
                    ));
                    shared.push((
                        "403",
                        "The key's scope or the session's rights do not allow this operation",
                    ));
                }
                if has_path {
                    shared.push(("404", "No such resource"));
                }
                if has_body {
                    shared.push(("413", "The body is larger than the configured limit"));
                }
                shared.push(("500", "The server failed; the cause is in its log"));
                let responses = &mut op.responses.responses;
                for (status, description) in shared {
                    match responses.get_mut(status) {
                        None => {
                            responses.insert(status.to_owned(), problem_response(description));
                        }
                        // An operation documenting its own answer for this status (e.g. an
                        // HTML page) can still get the shared problem document from the
                        // extractors and middleware.
                        Some(RefOr::T(own)) if !own.content.values().any(is_problem) => {
                            if let RefOr::T(shared) = problem_response(description) {
                                own.content.extend(shared.content);
                            }
                        }
                        Some(_) => {}
                    }
                }
                for response in responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let json_problem = response
                        .content
                        .get("application/json")
                        .is_some_and(is_problem);
                    if json_problem
                        && let Some(c) = response.content.shift_remove("application/json")
                    {
                        response
                            .content
                            .insert("application/problem+json".to_owned(), c);
                    }
                }
            }
        }
    }
}

/// The documented path templates, split into segments, with their methods.
fn templates() -> &'static [(Vec<String>, Vec<&'static str>)] {
    static TABLE: OnceLock<Vec<(Vec<String>, Vec<&'static str>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (path.split('/').map(str::to_owned).collect(), methods)
            })
            .collect()
    })
}

/// The methods the API has for a request path, as an `Allow` header value, when the path is
/// an API route (so a wrong method is a 405, not a 404).
pub fn allowed_methods(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut allowed: Vec<&'static str> = templates()
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    (!allowed.is_empty()).then(|| allowed.join(", "))
}

fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"))
        .body(include_str!("../../assets/docs.html"))
}

/// Health of the node and its database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The node and its database answer", body = serde_json::Value),
        (status = 503, description = "The database does not answer", body = serde_json::Value)
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || pool.get().map(|_| ()))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false);
    if ok {
        HttpResponse::Ok()
            .json(serde_json::json!({"status": "ok", "backend": state.pool.backend()}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"}))
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Registers `/healthz`, `/openapi.json`, `/docs` and `/metrics`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health))
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_page))
        .route("/metrics", web::get().to(metrics));
}
