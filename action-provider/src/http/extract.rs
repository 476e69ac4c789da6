//! Request extractors: JSON bodies and query strings with field-named errors, the caller
//! (API key or administrator session) and the client address.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use serde::Deserialize as _;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::body_check::{self, Body};
use super::error::{ApiError, ErrorCode};
use crate::service::AppState;
use crate::service::auth::{self, PresentedSession};
use crate::service::caller::Caller;
use crate::service::error::{FieldError, FieldErrors, Rule};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sae_session";
/// The CSRF header's name.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A JSON body: capped in size, and a bad field is named in the 400 answer (`field` is the
/// JSON path, e.g. `rules[2].hash`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: Body> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(64 * 1024, |s| s.config.body_limit);
        let json_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                ct == "application/json" || ct.ends_with("+json")
            });
        let declared_len = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if json_type == Some(false) {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "the body must be JSON (Content-Type: application/json)",
                ));
            }
            if declared_len.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::new(
                        ErrorCode::MalformedBody,
                        "the request body could not be read",
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// The NUL character is refused in every string of the API (JSON bodies, path, query):
/// PostgreSQL cannot store it in text, and SQLite would, so refusing it everywhere keeps both
/// backends alike and answers 400 instead of a database error.
const NUL_DETAIL: &str = "must not contain the NUL character (U+0000)";

/// The JSON path (`a.b[2]`) of the first string or key holding a NUL, if any.
fn nul_path(value: &serde_json::Value, path: &mut String) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = nul_path(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(k, v)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&k.replace('\0', "\\u0000"));
            let found = k.contains('\0') || nul_path(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

/// Refuses a body with a NUL in a string (written `\u0000`: a raw NUL is not JSON), naming
/// the field.
pub(crate) fn refuse_nul(body: &[u8]) -> Result<(), ApiError> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        // Not JSON: the typed parse below names the syntax error.
        return Ok(());
    };
    let mut path = String::new();
    if nul_path(&value, &mut path) {
        return Err(ApiError::field(
            if path.is_empty() { "." } else { &path },
            NUL_DETAIL,
        ));
    }
    Ok(())
}

/// Middleware: refuses a request whose path or query string holds a NUL (`%00`), naming the
/// query parameter (or `path`).
pub async fn refuse_nul_in_uri(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.uri().path().contains("%00") {
        return Err(ApiError::field("path", NUL_DETAIL).into());
    }
    if req.query_string().contains("%00") {
        let field = form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map_or_else(|| "query".to_owned(), |(k, _)| k.replace('\0', "%00"));
        return Err(ApiError::field(field, NUL_DETAIL).into());
    }
    next.call(req).await
}

/// Middleware: counts every response by status class for `/metrics`.
pub async fn count_responses(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await;
    if let Some(state) = state {
        let status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        state.metrics.response(status);
    }
    res
}

/// Parses a JSON body: checks it against its documented schema, naming every offending
/// field at once, then deserialises it (see [`body_check`]).
pub fn parse_json<T: Body>(body: &[u8]) -> Result<T, ApiError> {
    refuse_nul(body)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_json::Value::deserialize(&mut de)
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, strip_position(&e.to_string())))?;
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, strip_position(&e.to_string())))?;
    let mut value = value;
    body_check::whole_numbers(&mut value);
    if let Some(schema) = T::schema()
        && let Some(list) = FieldErrors::many(body_check::check(schema, &value))
    {
        return Err(ApiError::fields(list));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = strip_position(&e.into_inner().to_string());
        ApiError::fields(FieldErrors::one(serde_problem(&path, &message)))
    })
}

/// A serde error as a field problem in words: `missing field `name`` at `.` becomes
/// `name: required`, `invalid type: integer `5`, expected a string` becomes `must be a
/// string`; a validation message of a nested value (`values[1].key: …`) names its field.
fn serde_problem(path: &str, message: &str) -> FieldError {
    let at = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    if let Some(name) = message
        .strip_prefix("missing field ")
        .and_then(|_| quoted(message))
    {
        return FieldError::new(at(&name), "required").with_rule(Rule::Required);
    }
    if let Some(name) = message
        .strip_prefix("unknown field ")
        .and_then(|_| quoted(message))
    {
        return FieldError::new(at(&name), "is not a field of this request")
            .with_rule(Rule::UnknownField);
    }
    let field = crate::service::input::error_field(path, message).unwrap_or_else(|| ".".into());
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        return FieldError::new(field, format!("must be {expected}"));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        return FieldError::new(field, format!("must be {expected}"));
    }
    FieldError::new(field, message)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The client address for the audit log: the peer, or what a trusted proxy forwarded.
pub fn source(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map_or(&[][..], |s| s.config.trusted_proxies.as_slice());
    let header = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(crate::proxies::client_address(trusted, peer, header).to_string())
}

/// An anonymous client: only its address (the console login).
#[derive(Debug, Clone)]
pub struct Client {
    /// The client address.
    pub source: Option<String>,
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self {
            source: source(req),
        }))
    }
}

/// The session cookie of a request, if any.
pub fn session_cookie(req: &HttpRequest) -> Option<Zeroizing<String>> {
    req.cookie(SESSION_COOKIE)
        .map(|c| Zeroizing::new(c.value().to_owned()))
}

/// The caller: by its `Api-Key` header, else by its administrator session cookie.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let source = source(req);
        let key = req
            .headers()
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(|k| Zeroizing::new(k.to_owned()));
        let session = match (&key, session_cookie(req)) {
            (None, Some(token)) => Some(PresentedSession {
                token,
                unsafe_method: !matches!(*req.method(), Method::GET | Method::HEAD),
                csrf: req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            }),
            _ => None,
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(&"app state missing"))?;
            Ok(match (key, session) {
                (Some(key), _) => auth::api_key(&state, &key, source).await?,
                (None, Some(session)) => auth::session(&state, session, source).await?,
                (None, None) => return Err(crate::service::ServiceError::Unauthenticated.into()),
            })
        })
    }
}

/// A query string, with the offending parameter named on error.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let detail = e.into_inner().to_string();
                    let field = if path == "." {
                        detail.split('`').nth(1).map(str::to_owned)
                    } else {
                        Some(path)
                    };
                    let e = ApiError::new(ErrorCode::InvalidQuery, detail);
                    match field {
                        Some(f) => e.at(f),
                        None => e,
                    }
                }),
        )
    }
}
