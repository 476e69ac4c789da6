//! `/v1/oauth2/*`: presets, profiles, "renew authorization" and the provider's callback.

use crate::http::bodies::Change;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::id_of;
use crate::http::error::Problem;
use crate::http::extract::{Json, Query};
use crate::http::page::PageQuery;
use crate::http::{Answer, created, no_content, ok, paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::oauth2::{self, Authorization, CallbackQuery, ProfileBody, ProfileView};

const PROFILE: &str = "OAuth2 profile";

/// Lists the read-only OAuth2 presets.
#[utoipa::path(get, path = "/v1/oauth2/presets", tag = "mail",
    responses((status = 200, body = serde_json::Value)))]
pub async fn presets(caller: Caller) -> Answer {
    paged(oauth2::presets(&caller)?)
}

/// Creates an OAuth2 profile.
#[utoipa::path(post, operation_id = "create_profile", path = "/v1/oauth2/profiles", tag = "mail", request_body = crate::service::schemas::ProfileNew,
    responses((status = 201, body = ProfileView), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<ProfileBody>,
) -> Answer {
    created(&oauth2::create(&state, &caller, body).await?)
}

/// Lists OAuth2 profiles.
#[utoipa::path(get, operation_id = "list_profiles", path = "/v1/oauth2/profiles", tag = "mail", params(PageQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Answer {
    paged(oauth2::list(&state, &caller, page.request()?).await?)
}

/// Reads an OAuth2 profile and its token status.
#[utoipa::path(get, operation_id = "read_profile", path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")),
    responses((status = 200, body = ProfileView), (status = 404, body = Problem)))]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    ok(&oauth2::read(&state, &caller, id_of(&id, PROFILE)?).await?)
}

/// Replaces an OAuth2 profile's settings (the stored secret is kept when none is sent).
#[utoipa::path(put, operation_id = "update_profile", path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")), request_body = crate::service::schemas::ProfileChange,
    responses((status = 200, body = ProfileView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "another profile has the name (`duplicate`)")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Json(Change(body)): Json<Change<ProfileBody>>,
) -> Answer {
    ok(&oauth2::update(&state, &caller, id_of(&id, PROFILE)?, body).await?)
}

/// Deletes an OAuth2 profile that no SMTP account uses.
#[utoipa::path(delete, operation_id = "delete_profile", path = "/v1/oauth2/profiles/{id}", tag = "mail", params(("id" = i64, Path, description = "profile id")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    oauth2::delete(&state, &caller, id_of(&id, PROFILE)?).await?;
    no_content()
}

/// `?login_hint=` of "renew authorization".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeQuery {
    /// The mailbox to authorise (default: the username of the first OAuth2 SMTP account
    /// using the profile).
    pub login_hint: Option<String>,
}

/// "Renew authorization": for authorization_code, the provider URL to open (the state and
/// PKCE verifier are kept 10 minutes); for client_credentials, fetches a token now and
/// answers the profile's status.
#[utoipa::path(post, path = "/v1/oauth2/profiles/{id}/authorize", tag = "mail",
    params(("id" = i64, Path, description = "profile id"), AuthorizeQuery),
    responses((status = 200, body = Authorization), (status = 404, body = Problem)))]
pub async fn authorize(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Query(q): Query<AuthorizeQuery>,
) -> Answer {
    ok(&oauth2::authorize(&state, &caller, id_of(&id, PROFILE)?, q.login_hint).await?)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(ok: bool, text: &str, public_url: &str) -> HttpResponse {
    let title = if ok {
        "Authorization complete"
    } else {
        "Authorization failed"
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{}</p>\
         <p><a href=\"{}/admin/#/mail\">Back to the mail settings of the console</a></p></body></html>",
        escape_html(text),
        escape_html(public_url)
    );
    let mut resp = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::BadRequest()
    };
    resp.content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'none'"))
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// The OAuth2 provider redirects the administrator's browser here. No API key: the
/// one-time `state` authenticates the call. Exchanges the code, stores the tokens sealed.
#[utoipa::path(get, path = "/v1/oauth2/callback", tag = "mail", security(()), params(CallbackQuery),
    responses((status = 200, description = "HTML page: authorised", content_type = "text/html"),
              (status = 400, description = "HTML page: the error", content_type = "text/html")))]
pub async fn callback(state: web::Data<AppState>, Query(query): Query<CallbackQuery>) -> Answer {
    let outcome = oauth2::callback(&state, query).await?;
    Ok(page(outcome.ok, &outcome.text, &state.config.public_url))
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/oauth2/presets", web::get().to(presets))
        .route("/v1/oauth2/profiles", web::get().to(list))
        .route("/v1/oauth2/profiles", web::post().to(create))
        .route("/v1/oauth2/profiles/{id}", web::get().to(read))
        .route("/v1/oauth2/profiles/{id}", web::put().to(update))
        .route("/v1/oauth2/profiles/{id}", web::delete().to(delete))
        .route(
            "/v1/oauth2/profiles/{id}/authorize",
            web::post().to(authorize),
        )
        .route("/v1/oauth2/callback", web::get().to(callback));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_pages_escape_provider_text() {
        assert_eq!(
            escape_html("<script>\"x\" & y</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; y&lt;/script&gt;"
        );
    }
}
