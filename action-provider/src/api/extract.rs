//! Request extractors: JSON bodies with field-named errors, and API-key authentication.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use sae_core::acl::{Access, AclError, AclField, AdminGroup};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::app::AppState;
use crate::store::apikeys::{self, ApiKey, Scope};

/// A JSON body: capped in size, and a bad field is named in the 400 answer (`field` is the
/// JSON path, e.g. `rules[2].hash`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.body_limit)
            .unwrap_or(64 * 1024);
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
                return Err(ApiError::BadRequest {
                    code: "unsupported_media_type",
                    field: None,
                    detail: "the body must be JSON (Content-Type: application/json)".into(),
                });
            }
            if declared_len.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::BadRequest {
                    code: "malformed_body",
                    field: None,
                    detail: "the request body could not be read".into(),
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
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
fn refuse_nul(body: &[u8]) -> Result<(), ApiError> {
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

/// The field path a validation message starts with (`claims[0].values[1].key: …`), if any.
fn relative_field(message: &str) -> Option<&str> {
    let (head, _) = message.split_once(": ")?;
    let first = head.chars().next()?;
    let well_formed = (first == '[' || first.is_ascii_lowercase())
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c));
    well_formed.then_some(head)
}

/// Parses a JSON document, naming the offending field on error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    refuse_nul(body)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let syntax = inner.is_syntax() || inner.is_eof();
        let message = inner.to_string();
        // A validation error raised inside a nested value names its own field first
        // ("values[1].key: …" at "[0].claims[0]"): the field is then the joined path.
        let field = (!syntax).then(|| match relative_field(&message) {
            Some(rel) if path == "." => Some(rel.to_owned()),
            Some(rel) if rel.starts_with('[') => Some(format!("{path}{rel}")),
            Some(rel) => Some(format!("{path}.{rel}")),
            None => (path != ".").then_some(path),
        });
        let field = field.flatten();
        ApiError::BadRequest {
            code: if syntax {
                "malformed_json"
            } else {
                "invalid_field"
            },
            field,
            detail: strip_position(&message),
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
        code: "malformed_json",
        field: None,
        detail: strip_position(&e.to_string()),
    })?;
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Who made a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An application or script with an `Api-Key` header.
    Key(ApiKey),
    /// An administrator with a console session.
    Admin {
        /// The administrator's row id.
        id: i64,
        /// The administrator's login.
        login: String,
    },
}

/// A caller authenticated by its `Api-Key` header or its administrator session cookie.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it is.
    pub principal: Principal,
    /// The administrator group that restricts it; `None`: unrestricted (System
    /// Administrator, or an `otp` key, which has no administration rights anyway).
    pub group: Option<Arc<AdminGroup>>,
}

impl Caller {
    /// Who to name in the audit log.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::Key(key) => format!("apikey:{}", key.name),
            Principal::Admin { login, .. } => format!("admin:{login}"),
        }
    }

    /// A number that identifies the caller for idempotency keys: the API key's id, or the
    /// negated administrator id.
    pub fn owner_id(&self) -> i64 {
        match &self.principal {
            Principal::Key(key) => key.id,
            Principal::Admin { id, .. } => -id,
        }
    }

    fn has_admin_scope(&self) -> bool {
        match &self.principal {
            Principal::Key(key) => Scope::parse(&key.scope) == Some(Scope::Admin),
            Principal::Admin { .. } => true,
        }
    }

    /// Requires the `admin` scope and the System Administrator group: everything that is
    /// not users and wallets (configuration, delivery, mail, administrators, keys, audit).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if !self.has_admin_scope() {
            return Err(ApiError::Forbidden {
                detail: "this operation needs an API key with scope admin".into(),
                field: None,
            });
        }
        match &self.group {
            Some(group) if !group.is_builtin() => Err(ApiError::Denied {
                code: "acl_denied",
                field: None,
                detail: format!(
                    "the administrator group {:?} may only manage users and wallets",
                    group.name()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Requires the `admin` scope and returns the ACL that applies to users and wallets.
    pub fn acl(&self) -> Result<Acl, ApiError> {
        if !self.has_admin_scope() {
            return Err(ApiError::Forbidden {
                detail: "this operation needs an API key with scope admin".into(),
                field: None,
            });
        }
        Ok(Acl(self.group.clone().filter(|g| !g.is_builtin())))
    }
}

/// The ACL of an administrator request over users and wallets (none: everything allowed).
#[derive(Debug, Clone)]
pub struct Acl(Option<Arc<AdminGroup>>);

fn acl_error(e: &AclError) -> ApiError {
    ApiError::Denied {
        code: "acl_denied",
        field: Some(e.field().to_owned()),
        detail: e.to_string(),
    }
}

impl Acl {
    /// Refuses an update touching `fields` unless each is editable.
    pub fn check_update<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), ApiError> {
        match &self.0 {
            Some(g) => g.check_update(fields).map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Refuses creating a resource with `fields` set unless allowed.
    pub fn check_create<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), ApiError> {
        match &self.0 {
            Some(g) => g.check_create(fields).map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Refuses deleting a resource of kind `F` unless allowed.
    pub fn check_delete<F: AclField>(&self) -> Result<(), ApiError> {
        match &self.0 {
            Some(g) => g.check_delete::<F>().map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Requires at least `access` on `field` (e.g. `view` on `tokens` to list a user's tokens).
    pub fn require<F: AclField>(&self, field: F, access: Access) -> Result<(), ApiError> {
        let Some(g) = &self.0 else { return Ok(()) };
        if g.access(field) >= access {
            return Ok(());
        }
        let e = if g.access(field) == Access::None {
            AclError::FieldHidden {
                resource: F::RESOURCE,
                field: field.as_str(),
            }
        } else {
            AclError::FieldReadOnly {
                resource: F::RESOURCE,
                field: field.as_str(),
            }
        };
        Err(acl_error(&e))
    }

    /// Requires that at least one field of `F` is visible (to read such resources at all).
    pub fn require_any_view<F: AclField>(&self) -> Result<(), ApiError> {
        match &self.0 {
            Some(g) if !g.may_view_any::<F>() => Err(ApiError::Denied {
                code: "acl_denied",
                field: Some(F::RESOURCE.as_str().to_owned()),
                detail: format!(
                    "{}: the administrator group {:?} may not see any field of them",
                    F::RESOURCE.as_str(),
                    g.name()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Serialises `value`, removing what the group may not see.
    pub fn view<F: AclField, T: serde::Serialize>(
        &self,
        value: &T,
    ) -> Result<serde_json::Value, ApiError> {
        let mut json = serde_json::to_value(value).map_err(ApiError::internal)?;
        if let Some(g) = &self.0 {
            if let Some(items) = json.get_mut("items") {
                g.filter_view::<F>(items);
            } else {
                g.filter_view::<F>(&mut json);
            }
        }
        Ok(json)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let session = if presented.is_none() {
            super::session::presented(req)
        } else {
            None
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            if let Some(session) = session {
                return super::session::authenticate(&state, session).await;
            }
            let presented = presented.ok_or(ApiError::Unauthenticated)?;
            let digest = apikeys::digest(&presented);
            if let Some((key, group)) = state.key_cache.get(&digest) {
                return Ok(Caller {
                    principal: Principal::Key(key),
                    group,
                });
            }
            let pool = state.pool.clone();
            let lookup = digest.clone();
            let found = web::block(move || -> Result<_, ApiError> {
                let mut conn = pool.get()?;
                let Some(key) = apikeys::find_live(&mut conn, &lookup)? else {
                    return Ok(None);
                };
                let group = match key.group_id {
                    Some(id) => Some(super::session::load_group(&mut conn, id)?),
                    None => None,
                };
                Ok(Some((key, group)))
            })
            .await
            .map_err(ApiError::internal)??;
            let (key, group) = found.ok_or(ApiError::Unauthenticated)?;
            state.key_cache.put(digest, (key.clone(), group.clone()));
            Ok(Caller {
                principal: Principal::Key(key),
                group,
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
                    ApiError::BadRequest {
                        code: "invalid_query",
                        field,
                        detail,
                    }
                }),
        )
    }
}
