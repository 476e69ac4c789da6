//! A validated SOAP broker configuration (`kind: "soap"`), basic or advanced (the PHP
//! SoapClient options SAE accepts are read in `soap_options.rs`).

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::sms::config::{ConfigError, KeyPath, Timeouts, join, parse_template, parse_url, refuse};
use crate::sms::doc::{BrokerDoc, Node, Object};
use crate::sms::login::{Login, LoginScheme};
use crate::sms::secrets::BrokerSecrets;
use crate::sms::soap_options::apply_options;
use crate::template::Template;

const NOT_SOAP: &str = "not a field of a soap broker";
const BASIC_ONLY: &str = "only used with soap_type basic";
const ADVANCED_ONLY: &str = "only used with soap_type advanced";
/// Deepest nesting of `request` objects.
const REQUEST_MAX_DEPTH: usize = 8;

/// Basic (WSDL-driven, `message` + `variables`) or advanced (`call`, `options`, `attributes`,
/// `request`, `response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoapType {
    /// Endpoint, action and namespace from the WSDL; parameters from `variables`.
    Basic,
    /// The call described in JSON, PHP SoapClient style.
    Advanced,
}

/// The SOAP envelope version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`, `SOAPAction` header).
    V1_1,
    /// SOAP 1.2 (`application/soap+xml; action=…`).
    V1_2,
}

/// One parameter of the call element.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    /// A string: a template, rendered and XML-escaped.
    Text(Template),
    /// A number or boolean, written as it is.
    Literal(String),
    /// `null`: an empty element.
    Nil,
    /// An object: nested elements.
    Element(Vec<(String, Param)>),
    /// An array: the element repeated, once per item.
    Repeated(Vec<Param>),
}

/// A validated SOAP broker.
#[derive(Debug, Clone)]
pub struct SoapConfig {
    pub(crate) wsdl_url: Url,
    pub(crate) soap_type: SoapType,
    pub(crate) call: Option<String>,
    pub(crate) message: Option<Template>,
    pub(crate) params: Vec<(String, Param)>,
    pub(crate) attributes: Vec<(String, Param)>,
    pub(crate) version: Option<SoapVersion>,
    pub(crate) location: Option<Url>,
    pub(crate) namespace: Option<String>,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) login: Option<(Login, LoginScheme)>,
    pub(crate) secrets: BrokerSecrets,
    pub(crate) response_keys: Vec<KeyPath>,
    pub(crate) check_each_call: bool,
    pub(crate) timeouts: Timeouts,
}

impl SoapConfig {
    /// The WSDL URL.
    pub fn wsdl_url(&self) -> &Url {
        &self.wsdl_url
    }

    /// Basic or advanced.
    pub fn soap_type(&self) -> SoapType {
        self.soap_type
    }

    /// The configured operation, if any.
    pub fn call(&self) -> Option<&str> {
        self.call.as_deref()
    }

    /// The total timeout of one call.
    pub fn timeout(&self) -> Duration {
        self.timeouts.total
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.timeouts.connect
    }

    /// Every secret value the broker holds (`secrets`, the login password), to hide from
    /// excerpts of its answers.
    pub(crate) fn hidden_values(&self) -> Vec<&str> {
        let mut hidden: Vec<&str> = self.secrets.values().collect();
        if let Some((login, _)) = &self.login {
            hidden.push(login.password.expose());
        }
        hidden
    }

    pub(crate) fn from_doc(path: &str, doc: &BrokerDoc) -> Result<Self, ConfigError> {
        for (field, set) in [
            ("url", doc.url.is_some()),
            ("method", doc.method.is_some()),
            ("authorization", doc.authorization.is_some()),
            ("username", doc.username.is_some()),
            ("password", doc.password.value().is_some()),
            ("key", doc.key.is_some()),
            ("secret", doc.secret.value().is_some()),
            ("token", doc.token.value().is_some()),
            ("token_secret", doc.token_secret.value().is_some()),
            ("headers", doc.headers.is_some()),
            ("query", doc.query.is_some()),
            ("body", doc.body.is_some()),
            ("return_keys", doc.return_keys.is_some()),
        ] {
            refuse(path, field, &set.then_some(()), NOT_SOAP)?;
        }
        let wsdl_url = parse_url(&join(path, "wsdl_url"), doc.wsdl_url.as_ref())?;
        let soap_type = doc.soap_type.ok_or_else(|| ConfigError::Missing {
            path: join(path, "soap_type"),
            reason: "required: basic or advanced",
        })?;
        let call = match &doc.call {
            Some(call) => Some(xml_name(&join(path, "call"), call, false)?),
            None => None,
        };
        let mut config = Self {
            wsdl_url,
            soap_type,
            call,
            message: None,
            params: Vec::new(),
            attributes: Vec::new(),
            version: None,
            location: None,
            namespace: None,
            user_agent: None,
            login: None,
            secrets: BrokerSecrets::from_doc(path, doc.secrets.as_ref())?,
            response_keys: KeyPath::parse_list(&join(path, "response"), doc.response.as_ref())?,
            check_each_call: doc.check_each_call.unwrap_or(false),
            timeouts: Timeouts::from_ms(None, None)?,
        };
        let mut timeout = doc.timeout_ms.map(|ms| (join(path, "timeout_ms"), ms));
        let mut connect = doc
            .connect_timeout_ms
            .map(|ms| (join(path, "connect_timeout_ms"), ms));
        match soap_type {
            SoapType::Basic => {
                refuse(path, "attributes", &doc.attributes, ADVANCED_ONLY)?;
                refuse(path, "request", &doc.request, ADVANCED_ONLY)?;
                if let Some(options) = &doc.options {
                    apply_options(path, options, &mut config, &mut timeout, &mut connect)?;
                }
                if let Some(message) = &doc.message {
                    config.message = Some(parse_template(
                        &join(path, "message"),
                        "message",
                        message,
                        &config.secrets,
                    )?);
                }
                config.params = variables(path, doc, &config.secrets)?;
            }
            SoapType::Advanced => {
                refuse(path, "message", &doc.message, BASIC_ONLY)?;
                refuse(path, "variables", &doc.variables, BASIC_ONLY)?;
                if config.call.is_none() {
                    return Err(ConfigError::Missing {
                        path: join(path, "call"),
                        reason: "required for soap_type advanced: the operation to call",
                    });
                }
                if let Some(options) = &doc.options {
                    apply_options(path, options, &mut config, &mut timeout, &mut connect)?;
                }
                let secrets = &config.secrets;
                if let Some(attributes) = &doc.attributes {
                    config.attributes =
                        attributes_of(&join(path, "attributes"), attributes, secrets)?;
                }
                if let Some(request) = &doc.request {
                    config.params = object_params(&join(path, "request"), request, 1, secrets)?;
                }
            }
        }
        config.timeouts = Timeouts::from_ms(timeout, connect)?;
        Ok(config)
    }
}

fn variables(
    path: &str,
    doc: &BrokerDoc,
    secrets: &BrokerSecrets,
) -> Result<Vec<(String, Param)>, ConfigError> {
    let field = join(path, "variables");
    let entries = doc
        .variables
        .as_ref()
        .map(|map| map.0.as_slice())
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(ConfigError::Missing {
            path: field,
            reason: "required for soap_type basic: an object of operation parameter → template, e.g. {\"phone\": \"{phone}\", \"message\": \"{message}\"}",
        });
    }
    entries
        .iter()
        .map(|(name, value)| {
            let at = format!("{field}.{name}");
            let name = xml_name(&at, name, false)?;
            let template = match value {
                Some(text) => Param::Text(parse_template(&at, "variables", text, secrets)?),
                None => Param::Nil,
            };
            Ok((name, template))
        })
        .collect()
}

fn attributes_of(
    path: &str,
    attributes: &Object,
    secrets: &BrokerSecrets,
) -> Result<Vec<(String, Param)>, ConfigError> {
    attributes
        .0
        .iter()
        .map(|(name, value)| {
            let at = format!("{path}.{name}");
            let name = xml_name(&at, name, true)?;
            let value = match value {
                Node::String(text) => {
                    Param::Text(parse_template(&at, "attributes", text, secrets)?)
                }
                Node::Number(number) => Param::Literal(number.to_string()),
                Node::Bool(flag) => Param::Literal(flag.to_string()),
                other => {
                    return Err(ConfigError::Malformed {
                        path: at,
                        reason: format!(
                            "an attribute must be a string, number or boolean, not {}",
                            other.type_name()
                        ),
                    });
                }
            };
            Ok((name, value))
        })
        .collect()
}

fn object_params(
    path: &str,
    object: &Object,
    depth: usize,
    secrets: &BrokerSecrets,
) -> Result<Vec<(String, Param)>, ConfigError> {
    if depth > REQUEST_MAX_DEPTH {
        return Err(ConfigError::OutOfRange {
            path: path.to_owned(),
            value: depth as u64,
            min: 1,
            max: REQUEST_MAX_DEPTH as u64,
            unit: "levels of nesting",
        });
    }
    object
        .0
        .iter()
        .map(|(name, value)| {
            let at = format!("{path}.{name}");
            let name = xml_name(&at, name, false)?;
            let param = match value {
                Node::Array(items) => Param::Repeated(
                    items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| {
                            let at = format!("{at}[{index}]");
                            match item {
                                Node::Array(_) => Err(ConfigError::Malformed {
                                    path: at,
                                    reason: "an array item must not be an array (XML has no nameless lists)".into(),
                                }),
                                item => param(&at, item, depth, secrets),
                            }
                        })
                        .collect::<Result<_, _>>()?,
                ),
                value => param(&at, value, depth, secrets)?,
            };
            Ok((name, param))
        })
        .collect()
}

fn param(
    path: &str,
    value: &Node,
    depth: usize,
    secrets: &BrokerSecrets,
) -> Result<Param, ConfigError> {
    Ok(match value {
        Node::Null => Param::Nil,
        Node::Bool(flag) => Param::Literal(flag.to_string()),
        Node::Number(number) => Param::Literal(number.to_string()),
        Node::String(text) => Param::Text(parse_template(path, "request", text, secrets)?),
        Node::Object(object) => Param::Element(object_params(path, object, depth + 1, secrets)?),
        Node::Array(_) => {
            return Err(ConfigError::Malformed {
                path: path.to_owned(),
                reason: "unexpected array".into(),
            });
        }
    })
}

/// An XML element name (`NCName`), or for attributes optionally `prefix:name`.
pub(crate) fn xml_name(path: &str, name: &str, prefixed: bool) -> Result<String, ConfigError> {
    let ncname = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|first| first.is_alphabetic() || first == '_')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let valid = match name.split_once(':') {
        Some((prefix, local)) => prefixed && ncname(prefix) && ncname(local),
        None => ncname(name),
    };
    let namespace_attribute =
        prefixed && (name == "xmlns" || name.starts_with("xmlns:") || name.starts_with("xml:"));
    let reserved = name.to_ascii_lowercase().starts_with("xml") && !namespace_attribute;
    if valid && !reserved {
        Ok(name.to_owned())
    } else {
        Err(ConfigError::InvalidName {
            path: path.to_owned(),
            reason: format!(
                "{name:?} is not an XML name (a letter or _ then letters, digits, _ - .; not starting with xml)"
            ),
        })
    }
}
