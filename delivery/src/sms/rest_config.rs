//! A validated REST broker configuration (`kind: "rest"`).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::sms::config::{
    ConfigError, KeyPath, Timeouts, is_sensitive_name, join, parse_template, parse_url, refuse,
    sample_values,
};
use crate::sms::doc::{BrokerDoc, SecretField};
use crate::template::Template;

/// The default `Content-Type` of POST bodies.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "application/json; charset=utf-8";

const NOT_REST: &str = "not a field of a rest broker";

/// The HTTP method of a REST broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HttpMethod {
    /// `GET`: parameters in the `query` map.
    #[serde(rename = "GET")]
    Get,
    /// `POST`: the `body` template.
    #[serde(rename = "POST")]
    Post,
}

/// How a REST broker authenticates requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Authorization {
    /// No authentication.
    #[default]
    None,
    /// HTTP Basic (RFC 7617) with `username` / `password`.
    Basic,
    /// HTTP Digest (RFC 7616: MD5, SHA-256, and their `-sess` variants, qop `auth`).
    Digest,
    /// OAuth 1.0a HMAC-SHA1 request signing (RFC 5849) with `key`, `secret`, `token`,
    /// `token_secret` (token optional: two-legged).
    Oauth,
}

/// How tag values are escaped in a POST body, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    /// `…json…`: JSON string escaping.
    Json,
    /// `application/x-www-form-urlencoded`: percent-encoding.
    Form,
    /// Anything else: values as they are.
    Plain,
}

/// Credentials of a REST broker.
#[derive(Clone)]
pub(crate) enum Credentials {
    None,
    Basic {
        username: String,
        password: Zeroizing<String>,
    },
    Digest {
        username: String,
        password: Zeroizing<String>,
    },
    OAuth(OAuthCredentials),
}

/// OAuth 1.0a client credentials.
#[derive(Clone)]
pub(crate) struct OAuthCredentials {
    pub key: String,
    pub secret: Zeroizing<String>,
    pub token: Option<Zeroizing<String>>,
    pub token_secret: Option<Zeroizing<String>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => write!(f, "Basic({username:?}, <redacted>)"),
            Self::Digest { username, .. } => write!(f, "Digest({username:?}, <redacted>)"),
            Self::OAuth(credentials) => write!(f, "OAuth({:?}, <redacted>)", credentials.key),
        }
    }
}

/// A validated REST broker. `Debug` hides credentials and sensitive header / query values.
#[derive(Clone)]
pub struct RestConfig {
    pub(crate) url: Url,
    pub(crate) method: HttpMethod,
    pub(crate) credentials: Credentials,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) query: Vec<(String, Template)>,
    pub(crate) body: Option<(Template, BodyEncoding)>,
    pub(crate) return_keys: Vec<KeyPath>,
    pub(crate) check_each_call: bool,
    pub(crate) timeouts: Timeouts,
}

impl fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(name, template)| {
                let shown = if is_sensitive_name(name) {
                    "<redacted>"
                } else {
                    template.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("RestConfig")
            .field("url", &self.url.as_str())
            .field("method", &self.method)
            .field("credentials", &self.credentials)
            .field("headers", &self.headers)
            .field("query", &query)
            .field(
                "body",
                &self
                    .body
                    .as_ref()
                    .map(|(template, encoding)| (template.as_str(), encoding)),
            )
            .field("return_keys", &self.return_keys)
            .field("check_each_call", &self.check_each_call)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl RestConfig {
    /// The broker URL (before the query parameters are added).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The HTTP method.
    pub fn method(&self) -> HttpMethod {
        self.method
    }

    /// The authorization scheme.
    pub fn authorization(&self) -> Authorization {
        match self.credentials {
            Credentials::None => Authorization::None,
            Credentials::Basic { .. } => Authorization::Basic,
            Credentials::Digest { .. } => Authorization::Digest,
            Credentials::OAuth(_) => Authorization::Oauth,
        }
    }

    /// The total timeout of one call.
    pub fn timeout(&self) -> Duration {
        self.timeouts.total
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.timeouts.connect
    }

    pub(crate) fn from_doc(path: &str, doc: &BrokerDoc) -> Result<Self, ConfigError> {
        refuse(path, "wsdl_url", &doc.wsdl_url, NOT_REST)?;
        refuse(path, "soap_type", &doc.soap_type, NOT_REST)?;
        refuse(path, "call", &doc.call, NOT_REST)?;
        refuse(path, "options", &doc.options, NOT_REST)?;
        refuse(path, "attributes", &doc.attributes, NOT_REST)?;
        refuse(path, "request", &doc.request, NOT_REST)?;
        refuse(path, "response", &doc.response, NOT_REST)?;
        refuse(path, "message", &doc.message, NOT_REST)?;
        refuse(path, "variables", &doc.variables, NOT_REST)?;

        let url = parse_url(&join(path, "url"), doc.url.as_ref())?;
        let method = doc.method.ok_or_else(|| ConfigError::Missing {
            path: join(path, "method"),
            reason: "required: GET or POST",
        })?;
        let credentials = credentials(path, doc)?;
        let headers = headers(path, doc, method, &credentials)?;
        let query = match &doc.query {
            Some(query) => query
                .0
                .iter()
                .map(|(name, value)| {
                    let field = format!("{path}.query.{name}");
                    if name.is_empty() {
                        return Err(ConfigError::InvalidName {
                            path: field,
                            reason: "a query parameter needs a name".into(),
                        });
                    }
                    let value = value.as_deref().ok_or_else(|| missing_kept(&field))?;
                    Ok((name.clone(), parse_template(&field, "query", value)?))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let body = body(path, doc, method, &headers)?;
        Ok(Self {
            url,
            method,
            credentials,
            headers,
            query,
            body,
            return_keys: KeyPath::parse_list(&join(path, "return_keys"), doc.return_keys.as_ref())?,
            check_each_call: doc.check_each_call.unwrap_or(false),
            timeouts: Timeouts::from_ms(
                doc.timeout_ms.map(|ms| (join(path, "timeout_ms"), ms)),
                doc.connect_timeout_ms
                    .map(|ms| (join(path, "connect_timeout_ms"), ms)),
            )?,
        })
    }
}

fn missing_kept(path: &str) -> ConfigError {
    ConfigError::Missing {
        path: path.to_owned(),
        reason: "null keeps the stored value, but none is stored for this broker URL",
    }
}

fn secret(
    path: &str,
    field: &str,
    value: &SecretField,
    reason: &'static str,
) -> Result<Zeroizing<String>, ConfigError> {
    value.value().cloned().ok_or_else(|| ConfigError::Missing {
        path: join(path, field),
        reason,
    })
}

fn credentials(path: &str, doc: &BrokerDoc) -> Result<Credentials, ConfigError> {
    let authorization = doc.authorization.unwrap_or_default();
    let uses_password = matches!(authorization, Authorization::Basic | Authorization::Digest);
    let uses_oauth = authorization == Authorization::Oauth;
    let only = |field: &str, set: bool, used: bool, reason: &'static str| {
        if set && !used {
            Err(ConfigError::FieldNotAllowed {
                path: join(path, field),
                reason,
            })
        } else {
            Ok(())
        }
    };
    const PASSWORD_ONLY: &str = "only used with authorization basic or digest";
    const OAUTH_ONLY: &str = "only used with authorization oauth";
    only(
        "username",
        doc.username.is_some(),
        uses_password,
        PASSWORD_ONLY,
    )?;
    only(
        "password",
        doc.password.value().is_some(),
        uses_password,
        PASSWORD_ONLY,
    )?;
    only("key", doc.key.is_some(), uses_oauth, OAUTH_ONLY)?;
    only(
        "secret",
        doc.secret.value().is_some(),
        uses_oauth,
        OAUTH_ONLY,
    )?;
    only("token", doc.token.value().is_some(), uses_oauth, OAUTH_ONLY)?;
    only(
        "token_secret",
        doc.token_secret.value().is_some(),
        uses_oauth,
        OAUTH_ONLY,
    )?;

    const FOR_PASSWORD: &str = "required for authorization basic or digest (a stored password is kept only while the URL's scheme, host and port stay the same)";
    let username = || {
        doc.username
            .clone()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ConfigError::Missing {
                path: join(path, "username"),
                reason: "required for authorization basic or digest",
            })
    };
    Ok(match authorization {
        Authorization::None => Credentials::None,
        Authorization::Basic => {
            let username = username()?;
            if username.contains(':') {
                return Err(ConfigError::InvalidName {
                    path: join(path, "username"),
                    reason: "a Basic user name must not contain ':'".into(),
                });
            }
            Credentials::Basic {
                username,
                password: secret(path, "password", &doc.password, FOR_PASSWORD)?,
            }
        }
        Authorization::Digest => Credentials::Digest {
            username: username()?,
            password: secret(path, "password", &doc.password, FOR_PASSWORD)?,
        },
        Authorization::Oauth => {
            let key = doc
                .key
                .clone()
                .filter(|key| !key.is_empty())
                .ok_or_else(|| ConfigError::Missing {
                    path: join(path, "key"),
                    reason: "required for authorization oauth",
                })?;
            let token = doc.token.value().cloned();
            let token_secret = doc.token_secret.value().cloned();
            if token.is_none() && token_secret.is_some() {
                return Err(ConfigError::Missing {
                    path: join(path, "token"),
                    reason: "required when token_secret is set",
                });
            }
            Credentials::OAuth(OAuthCredentials {
                key,
                secret: secret(
                    path,
                    "secret",
                    &doc.secret,
                    "required for authorization oauth (a stored secret is kept only while the URL's scheme, host and port stay the same)",
                )?,
                token,
                token_secret,
            })
        }
    })
}

fn headers(
    path: &str,
    doc: &BrokerDoc,
    method: HttpMethod,
    credentials: &Credentials,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (name, value) in doc.headers.iter().flat_map(|map| map.0.iter()) {
        let field = format!("{path}.headers.{name}");
        let invalid = |reason: String| ConfigError::InvalidName {
            path: field.clone(),
            reason,
        };
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("not a valid HTTP header name".into()))?;
        let value = value.as_deref().ok_or_else(|| missing_kept(&field))?;
        let mut header_value = HeaderValue::from_str(value)
            .map_err(|_| invalid("the value has characters not allowed in a header (line breaks, control characters)".into()))?;
        header_value.set_sensitive(is_sensitive_name(name));
        if headers.iter().any(|(seen, _)| *seen == header_name) {
            return Err(invalid(
                "the header is given twice (names are case-insensitive)".into(),
            ));
        }
        if [
            header::HOST,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ]
        .contains(&header_name)
        {
            return Err(ConfigError::FieldNotAllowed {
                path: field,
                reason: "set by the HTTP client",
            });
        }
        if header_name == header::AUTHORIZATION && !matches!(credentials, Credentials::None) {
            return Err(ConfigError::FieldNotAllowed {
                path: field,
                reason: "set by the authorization field; remove this header",
            });
        }
        headers.push((header_name, header_value));
    }
    if method == HttpMethod::Post
        && !headers
            .iter()
            .any(|(name, _)| *name == header::CONTENT_TYPE)
    {
        headers.push((
            header::CONTENT_TYPE,
            HeaderValue::from_static(DEFAULT_CONTENT_TYPE),
        ));
    }
    Ok(headers)
}

fn body(
    path: &str,
    doc: &BrokerDoc,
    method: HttpMethod,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Option<(Template, BodyEncoding)>, ConfigError> {
    let field = join(path, "body");
    let text = match (method, &doc.body) {
        (HttpMethod::Get, None) => return Ok(None),
        (HttpMethod::Get, Some(_)) => {
            return Err(ConfigError::FieldNotAllowed {
                path: field,
                reason: "GET requests carry no body; use query",
            });
        }
        (HttpMethod::Post, None) => {
            return Err(ConfigError::Missing {
                path: field,
                reason: "required for POST",
            });
        }
        (HttpMethod::Post, Some(text)) => text,
    };
    let content_type = headers
        .iter()
        .find(|(name, _)| *name == header::CONTENT_TYPE)
        .and_then(|(_, value)| value.to_str().ok())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_ascii_lowercase();
    let encoding = if content_type.contains("json") {
        BodyEncoding::Json
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        BodyEncoding::Form
    } else {
        BodyEncoding::Plain
    };
    let template = parse_template(&field, "body", text)?;
    if encoding == BodyEncoding::Json {
        let sample = template.render_json(&sample_values());
        serde_json::from_str::<serde::de::IgnoredAny>(&sample).map_err(|error| {
            ConfigError::InvalidJsonBody {
                path: field.clone(),
                reason: error.to_string(),
            }
        })?;
    }
    Ok(Some((template, encoding)))
}
