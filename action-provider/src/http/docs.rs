//! `/openapi.json` (OpenAPI 3, generated from the handlers' annotations), the offline docs
//! page at `/docs`, and `/metrics`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::service::AppState;

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
        health, super::dashboard::get,
        super::users::create, super::users::list, super::users::read, super::users::update, super::users::delete,
        super::users::set_password, super::users::unlock, super::users::get_authsys, super::users::put_authsys,
        super::auth::password, super::auth::hash,
        super::tokens::enrol, super::tokens::list, super::tokens::challenge, super::tokens::delete,
        super::tokens::resync,
        super::inventory::list, super::inventory::assign, super::inventory::unassign, super::inventory::delete,
        super::imports::import_tokens, super::imports::import_users, super::imports::job,
        super::imports::skipped, super::imports::export_users,
        super::otp::validate, super::otp::request,
        super::settings::config::get_retention, super::settings::config::put_retention,
        super::settings::config::get_im, super::settings::config::put_im,
        super::settings::config::get_lockout, super::settings::config::put_lockout,
        super::settings::config::get_admin_lockout, super::settings::config::put_admin_lockout,
        super::settings::policies::get_global, super::settings::policies::put_global,
        super::settings::policies::get_authsys, super::settings::policies::put_authsys,
        super::settings::policies::get_mfa, super::settings::policies::put_mfa,
        super::settings::policies::password_test,
        super::settings::delivery::get_sms, super::settings::delivery::put_sms,
        super::settings::delivery::test_sms, super::settings::delivery::get_voice,
        super::settings::delivery::put_voice, super::settings::delivery::report,
        super::settings::delivery::get_email, super::settings::delivery::put_email,
        super::settings::notifications::get, super::settings::notifications::put,
        super::admin::apikeys::create, super::admin::apikeys::list, super::admin::apikeys::revoke,
        super::admin::audit::list,
        super::wallets::create, super::wallets::list, super::wallets::read, super::wallets::update, super::wallets::delete,
        super::devices::create, super::devices::list, super::devices::delete,
        super::settings::messages::list, super::settings::messages::create, super::settings::messages::read,
        super::settings::messages::update, super::settings::messages::delete,
        super::mail::oauth2::presets, super::mail::oauth2::create, super::mail::oauth2::list,
        super::mail::oauth2::read, super::mail::oauth2::update, super::mail::oauth2::delete,
        super::mail::oauth2::authorize, super::mail::oauth2::callback,
        super::mail::smtp::create, super::mail::smtp::list, super::mail::smtp::read,
        super::mail::smtp::update, super::mail::smtp::delete, super::mail::smtp::test,
        super::mail::inbound::create, super::mail::inbound::list, super::mail::inbound::read,
        super::mail::inbound::update, super::mail::inbound::delete, super::mail::inbound::test,
        super::mail::inbound::check_now,
        super::admin::session::login, super::admin::session::current, super::admin::session::logout,
        super::admin::admins::create, super::admin::admins::list, super::admin::admins::read,
        super::admin::admins::update, super::admin::admins::delete, super::admin::admins::unlock,
        super::admin::groups::create, super::admin::groups::list, super::admin::groups::read,
        super::admin::groups::update, super::admin::groups::delete,
    ),
    components(schemas(super::error::Problem)),
    modifiers(&SecuritySchemes, &ErrorResponses, &UniqueOperationIds),
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
/// tests/api/abuse.rs):
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

/// Operation ids come from handler names, which repeat across resources (`create`, `list`):
/// a repeated one gets its tag in front (`users_create`, `wallets_create`), so every id is
/// unique as OpenAPI requires and generated clients get distinct method names.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for item in openapi.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                if let Some(id) = &op.operation_id {
                    *seen.entry(id.clone()).or_default() += 1;
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(id), Some(tag)) = (&mut op.operation_id, tag)
                    && seen.get(id.as_str()).is_some_and(|n| *n > 1)
                {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

/// The documented path templates, split into segments, with their methods.
fn templates() -> &'static [(Vec<String>, Vec<&'static str>)] {
    /// The part of the document read here: each path's members (its methods, and maybe
    /// `parameters`), nothing else parsed into memory.
    #[derive(serde::Deserialize)]
    struct Paths {
        paths: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, serde::de::IgnoredAny>,
        >,
    }
    static TABLE: OnceLock<Vec<(Vec<String>, Vec<&'static str>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let paths = serde_json::from_str::<Paths>(document())
            .map(|d| d.paths)
            .unwrap_or_default();
        paths
            .iter()
            .map(|(path, item)| {
                let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
                    .into_iter()
                    .filter(|m| item.contains_key(&m.to_ascii_lowercase()))
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
    // Every template the path fits, with how many of its segments are literal: the most
    // literal ones name the resource (`/v1/users/import` is not `/v1/users/{login}`).
    let matching: Vec<(usize, &[&'static str])> = templates()
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
        .map(|(template, methods)| {
            let literal = template.iter().filter(|t| !t.starts_with('{')).count();
            (literal, methods.as_slice())
        })
        .collect();
    let best = matching.iter().map(|(literal, _)| *literal).max()?;
    let mut allowed: Vec<&'static str> = matching
        .iter()
        .filter(|(literal, _)| *literal == best)
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    (!allowed.is_empty()).then(|| allowed.join(", "))
}

/// The OpenAPI document as JSON text: `action-provider/openapi.json`, compiled into the
/// binary. It is generated from the handlers' annotations ([`generate`]) and committed; a unit
/// test fails when the file differs from what the code generates (`SAE_UPDATE_OPENAPI=1 cargo
/// test -p action-provider --lib openapi` rewrites it). Serving the committed text means the
/// server never builds utoipa's tree at run time, which left about 8 MiB of freed but
/// unreturned memory behind in the first request's allocator arena.
pub(crate) fn document() -> &'static str {
    include_str!("../../openapi.json")
}

/// The OpenAPI document as the code describes it: utoipa's, with the JSON Schemas of the
/// documentation types of `service::schemas` put into its components, pretty-printed.
#[cfg(test)]
pub(crate) fn generate() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(components) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (name, schema) in crate::service::schemas::raw() {
            components.insert(name.to_owned(), schema);
        }
    }
    no_nul(&mut doc);
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Says on every string schema without a pattern, format, enum or constant that it holds no
/// NUL character: the server refuses one in every string it reads (`http::extract`).
#[cfg(test)]
fn no_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(m) => {
            let string = match m.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            let shaped = ["pattern", "format", "enum", "const", "allOf"]
                .iter()
                .any(|k| m.contains_key(*k));
            if string && !shaped {
                m.insert(
                    "pattern".into(),
                    crate::service::input::patterns::NO_NUL.into(),
                );
            }
            m.values_mut().for_each(no_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul),
        _ => {}
    }
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

/// `/docs` → `/docs/`, where Swagger UI (vendored, served from the binary) reads
/// `/openapi.json`.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
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
    if let Some(backend) = state.health().await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "backend": backend}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"}))
    }
}

async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, super::ApiError> {
    let text = crate::service::metrics::render(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

/// Registers `/healthz`, `/openapi.json`, `/docs` and `/metrics` (fixed paths).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health))
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_redirect))
        .route("/metrics", web::get().to(metrics));
}

/// Registers the API viewer's files, `/docs/…` (a path pattern).
pub fn viewer_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::from("/openapi.json")),
    );
}

#[cfg(test)]
mod tests {
    /// The committed `openapi.json` is what the code generates. `SAE_UPDATE_OPENAPI=1`
    /// rewrites it instead of failing.
    #[test]
    fn committed_openapi_document_is_current() {
        let generated = super::generate();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("SAE_UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "action-provider/openapi.json is not what the code generates: run \
             `SAE_UPDATE_OPENAPI=1 cargo test -p action-provider --lib openapi` and commit it"
        );
    }

    /// The path table comes from the committed document.
    #[test]
    fn allowed_methods_come_from_the_document() {
        assert_eq!(
            super::allowed_methods("/v1/users/alice").as_deref(),
            Some("DELETE, GET, PATCH")
        );
        assert_eq!(super::allowed_methods("/v1/nowhere/at/all"), None);
    }
}
