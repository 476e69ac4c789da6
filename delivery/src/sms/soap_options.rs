//! The PHP SoapClient options SAE accepts in a SOAP broker's `options`: `soap_version`,
//! timeouts, `location`, `uri`, `user_agent`, `encoding`, a few accepted and ignored, and
//! `login` / `password` / `authentication` (HTTP Basic, or Digest when the server asks for it
//! or `authentication` says so), which basic brokers take too.

use reqwest::header::HeaderValue;

use crate::SecretString;
use crate::sms::config::{ConfigError, parse_url};
use crate::sms::doc::{Node, Object};
use crate::sms::login::{Login, LoginScheme};
use crate::sms::secrets::KEPT_ONLY_SAME_ORIGIN;
use crate::sms::soap_config::{SoapConfig, SoapType, SoapVersion};

const SUPPORTED_OPTIONS: &str = "soap_version (1.1, 1.2, \"SOAP_1_1\", \"SOAP_1_2\", 1, 2), timeout_ms, \
connection_timeout (seconds), location, uri, user_agent, encoding (UTF-8), login, password, \
authentication (basic, digest, \"SOAP_AUTHENTICATION_BASIC\", \"SOAP_AUTHENTICATION_DIGEST\", 0, 1); \
accepted and ignored: trace, exceptions, cache_wsdl, keep_alive, features";
const AUTHENTICATION_VALUES: &str = "must be basic or digest (also \"SOAP_AUTHENTICATION_BASIC\", \"SOAP_AUTHENTICATION_DIGEST\", 0, 1)";

/// Applies `options` to `config` (`timeout` / `connect` are the broker's own fields, which
/// `timeout_ms` / `connection_timeout` must not repeat). Basic brokers take the login options
/// only.
pub(crate) fn apply_options(
    path: &str,
    options: &Object,
    config: &mut SoapConfig,
    timeout: &mut Option<(String, u64)>,
    connect: &mut Option<(String, u64)>,
) -> Result<(), ConfigError> {
    let mut login = LoginOptions::default();
    for (name, value) in &options.0 {
        let at = format!("{path}.options.{name}");
        let invalid = |reason: String| ConfigError::InvalidOption {
            path: at.clone(),
            reason,
        };
        if login.read(name, value, &at)? {
            continue;
        }
        if config.soap_type == SoapType::Basic {
            return Err(ConfigError::FieldNotAllowed {
                path: at,
                reason: "only used with soap_type advanced; basic brokers take the options login, password and authentication",
            });
        }
        match name.as_str() {
            "soap_version" => {
                config.version = Some(soap_version(value).ok_or_else(|| {
                    invalid("must be 1.1 or 1.2 (also \"SOAP_1_1\", \"SOAP_1_2\", 1, 2)".into())
                })?)
            }
            "timeout_ms" => {
                if timeout.is_some() {
                    return Err(both_set(&at, "timeout_ms"));
                }
                *timeout = Some((
                    at.clone(),
                    integer(value).ok_or_else(|| {
                        invalid("must be an integer number of milliseconds".into())
                    })?,
                ));
            }
            "connection_timeout" => {
                if connect.is_some() {
                    return Err(both_set(&at, "connect_timeout_ms"));
                }
                let seconds = integer(value).ok_or_else(|| {
                    invalid("must be an integer number of seconds (PHP SoapClient)".into())
                })?;
                *connect = Some((at.clone(), seconds.saturating_mul(1000)));
            }
            "location" => {
                let text = string(value).ok_or_else(|| invalid("must be a URL string".into()))?;
                config.location = Some(parse_url(&at, Some(&text.to_owned()))?);
            }
            "uri" => {
                let text = string(value)
                    .filter(|text| !text.trim().is_empty())
                    .ok_or_else(|| invalid("must be a non-empty namespace URI string".into()))?;
                config.namespace = Some(text.to_owned());
            }
            "user_agent" => {
                let text = string(value).ok_or_else(|| invalid("must be a string".into()))?;
                config.user_agent = Some(
                    HeaderValue::from_str(text)
                        .map_err(|_| invalid("has characters not allowed in a header".into()))?,
                );
            }
            "encoding" => {
                if !string(value).is_some_and(|text| text.eq_ignore_ascii_case("utf-8")) {
                    return Err(invalid("only UTF-8 is supported".into()));
                }
            }
            "trace" | "exceptions" | "keep_alive" => {
                if !matches!(value, Node::Bool(_) | Node::Number(_)) {
                    return Err(invalid("must be a boolean or 0/1".into()));
                }
            }
            "cache_wsdl" | "features" => {
                if integer(value).is_none() {
                    return Err(invalid("must be an integer".into()));
                }
            }
            _ => {
                return Err(ConfigError::UnknownOption {
                    path: at,
                    supported: SUPPORTED_OPTIONS,
                });
            }
        }
    }
    config.login = login.finish(path)?;
    Ok(())
}

/// `login`, `password` and `authentication` as read so far.
#[derive(Default)]
struct LoginOptions {
    login: Option<String>,
    password: Option<SecretString>,
    digest: Option<bool>,
}

impl LoginOptions {
    /// Reads `name` when it is a login option (`true`), else leaves it (`false`).
    fn read(&mut self, name: &str, value: &Node, at: &str) -> Result<bool, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidOption {
            path: at.to_owned(),
            reason: reason.to_owned(),
        };
        match name {
            "login" => {
                let login = string(value)
                    .filter(|login| !login.is_empty() && !login.chars().any(char::is_control))
                    .ok_or_else(|| invalid("must be a non-empty user name"))?;
                self.login = Some(login.to_owned());
            }
            "password" => match value {
                Node::String(password) => self.password = Some(SecretString::new(password.clone())),
                Node::Null => {
                    return Err(ConfigError::Missing {
                        path: at.to_owned(),
                        reason: KEPT_ONLY_SAME_ORIGIN,
                    });
                }
                _ => return Err(invalid("must be a string")),
            },
            "authentication" => {
                self.digest = Some(match value {
                    Node::String(text) => match text.as_str() {
                        "basic" | "SOAP_AUTHENTICATION_BASIC" => false,
                        "digest" | "SOAP_AUTHENTICATION_DIGEST" => true,
                        _ => return Err(invalid(AUTHENTICATION_VALUES)),
                    },
                    Node::Number(number) => match number.as_u64() {
                        Some(0) => false,
                        Some(1) => true,
                        _ => return Err(invalid(AUTHENTICATION_VALUES)),
                    },
                    _ => return Err(invalid(AUTHENTICATION_VALUES)),
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(self, path: &str) -> Result<Option<(Login, LoginScheme)>, ConfigError> {
        let at = |name: &str| format!("{path}.options.{name}");
        match (self.login, self.password) {
            (Some(username), Some(password)) => {
                let scheme = if self.digest == Some(true) {
                    LoginScheme::Digest
                } else {
                    if username.contains(':') {
                        return Err(ConfigError::InvalidOption {
                            path: at("login"),
                            reason: "a Basic user name must not contain ':' (set authentication to digest)".into(),
                        });
                    }
                    LoginScheme::BasicThenDigest
                };
                Ok(Some((Login { username, password }, scheme)))
            }
            (Some(_), None) => Err(ConfigError::Missing {
                path: at("password"),
                reason: "required with options.login (a stored password is kept only while the scheme, host and port of wsdl_url and options.location stay the same)",
            }),
            (None, Some(_)) => Err(ConfigError::Missing {
                path: at("login"),
                reason: "required with options.password",
            }),
            (None, None) if self.digest.is_some() => Err(ConfigError::FieldNotAllowed {
                path: at("authentication"),
                reason: "only used with options.login and options.password",
            }),
            (None, None) => Ok(None),
        }
    }
}

fn both_set(path: &str, top_level: &'static str) -> ConfigError {
    ConfigError::FieldNotAllowed {
        path: path.to_owned(),
        reason: if top_level == "timeout_ms" {
            "the broker's timeout_ms is also set; set one of them"
        } else {
            "the broker's connect_timeout_ms is also set; set one of them"
        },
    }
}

fn soap_version(value: &Node) -> Option<SoapVersion> {
    match value {
        Node::String(text) => match text.as_str() {
            "1.1" | "SOAP_1_1" => Some(SoapVersion::V1_1),
            "1.2" | "SOAP_1_2" => Some(SoapVersion::V1_2),
            _ => None,
        },
        Node::Number(number) => match number.as_f64() {
            Some(1.0 | 1.1) => Some(SoapVersion::V1_1),
            Some(2.0 | 1.2) => Some(SoapVersion::V1_2),
            _ => None,
        },
        _ => None,
    }
}

fn integer(value: &Node) -> Option<u64> {
    match value {
        Node::Number(number) => number.as_u64(),
        _ => None,
    }
}

fn string(value: &Node) -> Option<&str> {
    match value {
        Node::String(text) => Some(text),
        _ => None,
    }
}
