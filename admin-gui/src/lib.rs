//! SAE web administration.
//!
//! The console is plain HTML, CSS and JavaScript modules under `assets/`, embedded in the
//! binary with rust-embed and served under `/admin` by [`configure`]. It is a client of the
//! JSON API like any other: it signs in with `POST /v1/session` and sends the session's CSRF
//! token on every state-changing request.
#![forbid(unsafe_code)]

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

/// The embedded assets.
#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// The Content-Security-Policy of every console response: only this origin's scripts,
/// styles and API, no inline script or style, images from this origin or `data:` (the
/// enrolment QR codes), no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Mounts the console at `/admin` (and redirects `/admin` to `/admin/`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(redirect))
        .route("/admin/{path:.*}", web::get().to(asset))
        .route("/admin/{path:.*}", web::head().to(asset));
}

async fn redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/admin/"))
        .finish()
}

/// Serves one asset; a path without a file extension that is not an asset gets
/// `index.html` (client-side routes), anything else unknown a 404.
async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let wanted = if path.is_empty() { "index.html" } else { &path };
    let file = match Assets::get(wanted) {
        Some(f) => f,
        None if !last_segment_has_extension(wanted) => match Assets::get("index.html") {
            Some(f) => f,
            None => return not_found(),
        },
        None => return not_found(),
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // Revalidate every time: the assets change with the binary and the ETag makes the
    // check cheap; the HTML entry point must never be served stale.
    resp.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CONTENT_TYPE, content_type));
    security_headers(&mut resp);
    if not_modified || req.method() == "HEAD" {
        return resp.finish();
    }
    resp.body(file.data.into_owned())
}

fn security_headers(resp: &mut actix_web::HttpResponseBuilder) {
    resp.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::REFERRER_POLICY, "no-referrer"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

fn not_found() -> HttpResponse {
    let mut resp = HttpResponse::NotFound();
    security_headers(&mut resp);
    resp.content_type("application/problem+json").body(
        r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"no such file in the administration console"}"#,
    )
}

fn last_segment_has_extension(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|s| s.contains('.'))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Names of every embedded asset (for tests and diagnostics).
pub fn asset_names() -> Vec<String> {
    Assets::iter().map(|n| n.into_owned()).collect()
}

#[cfg(test)]
mod catalogue_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::App;
    use actix_web::test as atest;

    #[actix_web::test]
    async fn serves_index_with_csp_and_falls_back_for_routes() {
        let app = atest::init_service(App::new().configure(configure)).await;
        for uri in ["/admin/", "/admin/users/alice"] {
            let resp =
                atest::call_service(&app, atest::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(resp.status(), 200, "{uri}");
            let csp = resp
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            assert_eq!(csp.as_deref(), Some(CSP));
            assert_eq!(
                resp.headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some("text/html; charset=utf-8")
            );
            let body = atest::read_body(resp).await;
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("<script type=\"module\" src=\"/admin/js/app.js\">"));
            // No inline scripts: every <script> has a src.
            assert_eq!(
                text.matches("<script").count(),
                text.matches("<script type=\"module\" src=").count()
            );
        }
    }

    #[actix_web::test]
    async fn javascript_content_type_etag_and_404() {
        let app = atest::init_service(App::new().configure(configure)).await;
        let resp = atest::call_service(
            &app,
            atest::TestRequest::get()
                .uri("/admin/js/app.js")
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.contains("javascript"), "{ct}");
        let etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(etag.starts_with('"'));
        let resp = atest::call_service(
            &app,
            atest::TestRequest::get()
                .uri("/admin/js/app.js")
                .insert_header((header::IF_NONE_MATCH, etag))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 304);
        let resp = atest::call_service(
            &app,
            atest::TestRequest::get()
                .uri("/admin/js/nope.js")
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 404);
        let resp =
            atest::call_service(&app, atest::TestRequest::get().uri("/admin").to_request()).await;
        assert_eq!(resp.status(), 301);
    }

    #[test]
    fn every_asset_is_referenced_without_inline_handlers() {
        for name in asset_names() {
            let Some(file) = Assets::get(&name) else {
                continue;
            };
            let text = String::from_utf8_lossy(&file.data);
            if name.ends_with(".html") || name.ends_with(".js") {
                for attr in [" onclick=", " onload=", " onerror=", "javascript:"] {
                    assert!(!text.contains(attr), "{name} contains {attr}");
                }
            }
        }
    }
}
