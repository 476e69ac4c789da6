//! A validated REST broker configuration (`kind: "rest"`).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::SecretString;
use crate::sms::config::{
    ConfigError, KeyPath, Timeouts, is_sensitive_name, join, parse_template, parse_url, refuse,
    sample_values,
};
use crate::sms::doc::{BrokerDoc, SecretField};
use crate::sms::login::Login;
use crate::sms::secrets::BrokerSecrets;
use crate::sms::xml_body::{check_well_formed, push_xml_escaped};
use crate::template::{Tag, TagValues, Template};

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

/// How tag values are escaped in a POST body, from its `Content-Type`; any other type is
/// refused at save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    /// `application/json`, `*/*+json`: JSON string escaping.
    Json,
    /// `application/x-www-form-urlencoded`: percent-encoding.
    Form,
    /// `application/xml`, `text/xml`, `*/*+xml`: XML escaping.
    Xml,
}

impl BodyEncoding {
    /// The encoding of a `Content-Type` value (parameters ignored, case-insensitive).
    pub(crate) fn of(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/')?;
        let token = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        if !token(kind) || !token(subtype) {
            return None;
        }
        match (kind, subtype) {
            ("application", "json") => Some(Self::Json),
            ("application", "x-www-form-urlencoded") => Some(Self::Form),
            ("application" | "text", "xml") => Some(Self::Xml),
            (_, subtype) if subtype.ends_with("+json") => Some(Self::Json),
            (_, subtype) if subtype.ends_with("+xml") => Some(Self::Xml),
            _ => None,
        }
    }
}

/// Credentials of a REST broker.
#[derive(Clone)]
pub(crate) enum Credentials {
    None,
    Basic(Login),
    Digest(Login),
    OAuth(OAuthCredentials),
}

/// OAuth 1.0a client credentials.
#[derive(Clone)]
pub(crate) struct OAuthCredentials {
    pub key: String,
    pub secret: SecretString,
    pub token: Option<SecretString>,
    pub token_secret: Option<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic(login) => write!(f, "Basic({login:?})"),
            Self::Digest(login) => write!(f, "Digest({login:?})"),
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
    pub(crate) secrets: BrokerSecrets,
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
            .field("secrets", &self.secrets)
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
            Credentials::Basic(_) => Authorization::Basic,
            Credentials::Digest(_) => Authorization::Digest,
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

    /// Every secret value the broker holds (`secrets`, passwords, OAuth secrets and tokens,
    /// sensitive header values), to hide from excerpts of its answers.
    pub(crate) fn hidden_values(&self) -> Vec<&str> {
        let mut hidden: Vec<&str> = self.secrets.values().collect();
        match &self.credentials {
            Credentials::None => {}
            Credentials::Basic(login) | Credentials::Digest(login) => {
                hidden.push(login.password.expose());
            }
            Credentials::OAuth(oauth) => {
                hidden.push(oauth.secret.expose());
                hidden.extend(
                    [&oauth.token, &oauth.token_secret]
                        .into_iter()
                        .flatten()
                        .map(SecretString::expose),
                );
            }
        }
        hidden.extend(
            self.headers
                .iter()
                .filter(|(_, value)| value.is_sensitive())
                .filter_map(|(_, value)| value.to_str().ok()),
        );
        hidden
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
        let secrets = BrokerSecrets::from_doc(path, doc.secrets.as_ref())?;
        let credentials = credentials(path, doc)?;
        let headers = headers(path, doc, method, &credentials, &secrets)?;
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
                    Ok((
                        name.clone(),
                        parse_template(&field, "query", value, &secrets)?,
                    ))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let body = body(path, doc, method, &headers, &secrets)?;
        Ok(Self {
            url,
            method,
            credentials,
            headers,
            query,
            body,
            secrets,
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
) -> Result<SecretString, ConfigError> {
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
            Credentials::Basic(Login {
                username,
                password: secret(path, "password", &doc.password, FOR_PASSWORD)?,
            })
        }
        Authorization::Digest => Credentials::Digest(Login {
            username: username()?,
            password: secret(path, "password", &doc.password, FOR_PASSWORD)?,
        }),
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
    secrets: &BrokerSecrets,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let secret_values = secrets.pairs();
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
        // A header value is fixed text and `{secret.NAME}` tags, rendered once here.
        let template = parse_template(&field, "headers", value, secrets)?;
        if let Some(tag) = Tag::ALL.into_iter().find(|tag| template.uses(*tag)) {
            return Err(ConfigError::TagNotInHeader {
                path: field,
                tag: tag.name(),
            });
        }
        let uses_secret = template.secret_names().next().is_some();
        let rendered = template.render(&TagValues {
            secrets: &secret_values,
            ..TagValues::default()
        });
        let mut header_value = HeaderValue::from_str(&rendered)
            .map_err(|_| invalid("the value has characters not allowed in a header (line breaks, control characters), secrets inserted".into()))?;
        header_value.set_sensitive(uses_secret || is_sensitive_name(name));
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
    secrets: &BrokerSecrets,
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
    let template = parse_template(&field, "body", text, secrets)?;
    let content_type = headers
        .iter()
        .find(|(name, _)| *name == header::CONTENT_TYPE)
        .map_or(Some(DEFAULT_CONTENT_TYPE), |(_, value)| value.to_str().ok());
    let encoding = content_type.and_then(BodyEncoding::of).ok_or_else(|| {
        ConfigError::UnsupportedContentType {
            path: content_type_field(path, doc),
            content_type: content_type.unwrap_or_default().to_owned(),
        }
    })?;
    match encoding {
        BodyEncoding::Json => {
            let secret_values = secrets.pairs();
            let sample = template.render_json(&sample_values(&secret_values));
            serde_json::from_str::<serde::de::IgnoredAny>(&sample).map_err(|error| {
                ConfigError::InvalidJsonBody {
                    path: field.clone(),
                    reason: error.to_string(),
                }
            })?;
        }
        BodyEncoding::Xml => {
            // Secret values are XML-escaped like any value, so samples stand in for them
            // (the parser's error could otherwise quote one).
            let samples = secrets.samples();
            let sample = template.render_with(&sample_values(&samples), push_xml_escaped);
            check_well_formed(&sample).map_err(|reason| ConfigError::InvalidXmlBody {
                path: field.clone(),
                reason,
            })?;
        }
        BodyEncoding::Form => {}
    }
    Ok(Some((template, encoding)))
}

/// The path of the header that sets the body's `Content-Type`, as the administrator wrote
/// its name.
fn content_type_field(path: &str, doc: &BrokerDoc) -> String {
    let name = doc
        .headers
        .iter()
        .flat_map(|map| map.0.iter())
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map_or("Content-Type", |(name, _)| name.as_str());
    format!("{path}.headers.{name}")
}
