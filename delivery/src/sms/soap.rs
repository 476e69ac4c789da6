//! The SOAP broker: the WSDL is fetched once and its parse cached; each send builds an
//! envelope for the configured operation and reads the answer (fault, response keys). With
//! `options.login` / `options.password`, the WSDL fetch and the calls authenticate with HTTP
//! Basic, or Digest when the server asks for it.

use std::future::Future;
use std::sync::Arc;

use reqwest::header::{self, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
use tokio::sync::OnceCell;

use crate::sms::SendError;
use crate::sms::envelope::{
    CallElement, SoapAnswer, build_envelope, missing_element_keys, read_answer,
};
use crate::sms::http::{BODY_MAX_BYTES, RawAnswer, client, execute_capped, within_total};
use crate::sms::login::{LoginRequest, with_authorization};
use crate::sms::soap_config::{Param, SoapConfig, SoapType, SoapVersion};
use crate::sms::wsdl::{Target, Wsdl};
use crate::sms::{Attempt, Broker, SmsMessage, redact_excerpt};
use crate::template::TagValues;

/// Largest WSDL read, in bytes.
const WSDL_MAX_BYTES: usize = 2 * 1024 * 1024;

/// A SOAP broker ready to send: configuration, HTTP client and the cached WSDL.
#[derive(Debug)]
pub struct SoapBroker {
    config: SoapConfig,
    client: Client,
    wsdl: OnceCell<Arc<Wsdl>>,
}

impl SoapBroker {
    /// A broker with its own HTTP client; the WSDL is fetched on the first send.
    pub fn new(config: SoapConfig) -> Result<Self, SendError> {
        let client = client(&config.timeouts, config.user_agent.as_ref())?;
        Ok(Self {
            config,
            client,
            wsdl: OnceCell::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SoapConfig {
        &self.config
    }

    /// The operations the WSDL offers (fetching it if needed), for configuration screens.
    pub async fn operations(&self) -> Result<Vec<String>, SendError> {
        within_total(&self.config.timeouts, async {
            let wsdl = self.wsdl().await?;
            Ok(wsdl
                .operation_names()
                .into_iter()
                .map(str::to_owned)
                .collect())
        })
        .await
    }

    async fn wsdl(&self) -> Result<&Wsdl, SendError> {
        let wsdl = self
            .wsdl
            .get_or_try_init(|| async {
                let url = &self.config.wsdl_url;
                let answer = self
                    .execute(
                        |authorization| {
                            with_authorization(self.client.get(url.clone()), authorization)
                        },
                        "GET",
                        url,
                        WSDL_MAX_BYTES,
                    )
                    .await?;
                if !answer.is_success() {
                    return Err(SendError::HttpStatus {
                        status: answer.status,
                        excerpt: redact_excerpt(&answer.body, &self.config.hidden_values()),
                    });
                }
                Wsdl::parse(&answer.body)
                    .map(Arc::new)
                    .map_err(|reason| SendError::Wsdl {
                        url: url.to_string(),
                        reason,
                    })
            })
            .await?;
        Ok(wsdl)
    }

    async fn send_once(&self, message: &SmsMessage) -> Result<Attempt, SendError> {
        let config = &self.config;
        let wsdl = self.wsdl().await?;
        let target = wsdl
            .target(config.call.as_deref(), config.version, &config.wsdl_url)
            .map_err(|reason| SendError::Wsdl {
                url: config.wsdl_url.to_string(),
                reason,
            })?;
        let secrets = config.secrets.pairs();
        let base = TagValues {
            secrets: &secrets,
            ..message.tag_values()
        };
        let rendered_message = config
            .message
            .as_ref()
            .map(|template| template.render(&base));
        let values = TagValues {
            message: rendered_message
                .as_deref()
                .map_or(message.text(), String::as_str),
            ..base
        };
        let params = ordered_params(config, &target)?;
        let namespace = config.namespace.as_deref().or(target.namespace.as_deref());
        let envelope = build_envelope(
            &CallElement {
                version: target.version,
                element: &target.element,
                namespace,
                qualified_children: target.qualified_children,
                attributes: &config.attributes,
                params: &params,
            },
            &values,
        );
        let endpoint: Url = config.location.clone().unwrap_or(target.endpoint.clone());
        let headers = soap_headers(target.version, &target.soap_action)?;
        let build = |authorization: Option<&str>| {
            let mut request = self.client.post(endpoint.clone()).body(envelope.to_vec());
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            with_authorization(request, authorization)
        };
        let answer = self
            .execute(build, "POST", &endpoint, BODY_MAX_BYTES)
            .await?;
        self.judge(answer, message)
    }

    /// Sends a request, with `options.login` / `options.password` when configured.
    async fn execute<F>(
        &self,
        build: F,
        method: &str,
        url: &Url,
        max_bytes: usize,
    ) -> Result<RawAnswer, SendError>
    where
        F: Fn(Option<&str>) -> Result<RequestBuilder, SendError>,
    {
        let timeouts = &self.config.timeouts;
        match &self.config.login {
            None => execute_capped(build(None)?, timeouts, max_bytes).await,
            Some((login, scheme)) => {
                LoginRequest {
                    build,
                    method,
                    url,
                    timeouts,
                    max_bytes,
                }
                .send(login, *scheme)
                .await
            }
        }
    }

    fn judge(&self, answer: RawAnswer, message: &SmsMessage) -> Result<Attempt, SendError> {
        let mut hidden = self.config.hidden_values();
        hidden.push(message.otp());
        let excerpt = redact_excerpt(&answer.body, &hidden);
        match read_answer(&answer.body) {
            Ok(SoapAnswer::Fault { code, reason }) => Err(SendError::SoapFault {
                code,
                reason: redact_excerpt(&reason, &hidden),
                status: answer.status,
                excerpt,
            }),
            Ok(_) | Err(_) if !answer.is_success() => Err(SendError::HttpStatus {
                status: answer.status,
                excerpt,
            }),
            Err(reason) => Err(SendError::UnreadableAnswer {
                reason,
                status: answer.status,
                excerpt,
            }),
            Ok(SoapAnswer::Body { paths }) => {
                let keys = &self.config.response_keys;
                if message.checks_keys(self.config.check_each_call) && !keys.is_empty() {
                    let missing = missing_element_keys(&paths, keys);
                    if !missing.is_empty() {
                        return Err(SendError::MissingKeys {
                            missing,
                            status: answer.status,
                            excerpt,
                        });
                    }
                }
                Ok(Attempt {
                    http_status: answer.status,
                    excerpt,
                })
            }
        }
    }
}

impl Broker for SoapBroker {
    fn send(
        &self,
        message: &SmsMessage,
    ) -> impl Future<Output = Result<Attempt, SendError>> + Send {
        within_total(&self.config.timeouts, self.send_once(message))
    }
}

/// The parameters in the schema's order when the WSDL gives it. In basic mode a variable
/// the operation does not have is an error; in advanced mode unknown parameters follow the
/// known ones, in the configured order.
fn ordered_params<'a>(
    config: &'a SoapConfig,
    target: &Target,
) -> Result<Vec<(&'a str, &'a Param)>, SendError> {
    let given: Vec<(&str, &Param)> = config
        .params
        .iter()
        .map(|(name, param)| (name.as_str(), param))
        .collect();
    let Some(order) = &target.parameter_order else {
        return Ok(given);
    };
    if config.soap_type == SoapType::Basic
        && let Some((unknown, _)) = given
            .iter()
            .find(|(name, _)| !order.iter().any(|known| known == name))
    {
        return Err(SendError::Request {
            reason: format!(
                "variables.{unknown}: the operation {} has no parameter {unknown}; it has {}",
                target.element,
                order.join(", ")
            ),
        });
    }
    let position = |name: &str| {
        order
            .iter()
            .position(|known| known == name)
            .unwrap_or(usize::MAX)
    };
    let mut sorted = given;
    sorted.sort_by_key(|(name, _)| position(name));
    Ok(sorted)
}

/// Content type and action headers of each SOAP version.
fn soap_headers(
    version: SoapVersion,
    action: &str,
) -> Result<Vec<(header::HeaderName, HeaderValue)>, SendError> {
    let invalid = |_| SendError::Request {
        reason: format!("the WSDL's soapAction {action:?} cannot be sent in an HTTP header"),
    };
    Ok(match version {
        SoapVersion::V1_1 => vec![
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            ),
            (
                header::HeaderName::from_static("soapaction"),
                HeaderValue::from_str(&format!("\"{action}\"")).map_err(invalid)?,
            ),
        ],
        SoapVersion::V1_2 => {
            let content_type = if action.is_empty() {
                "application/soap+xml; charset=utf-8".to_owned()
            } else {
                format!("application/soap+xml; charset=utf-8; action=\"{action}\"")
            };
            vec![(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&content_type).map_err(invalid)?,
            )]
        }
    })
}
