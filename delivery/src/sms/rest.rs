//! The REST broker: GET with percent-encoded query parameters or POST with a templated body,
//! Basic / Digest / OAuth 1.0a authentication, return-key checks. Tag values (and `{secret.NAME}`
//! values) are encoded for where they go: percent-encoding in queries and forms, JSON string
//! escaping in JSON bodies, XML escaping in XML bodies.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::{Client, Method, StatusCode, Url};
use zeroize::Zeroizing;

use crate::sms::SendError;
use crate::sms::answer::missing_json_keys;
use crate::sms::auth::{encode, oauth_authorization};
use crate::sms::http::{BODY_MAX_BYTES, RawAnswer, client, execute, within_total};
use crate::sms::login::{LoginRequest, LoginScheme, random_hex, refused, with_authorization};
use crate::sms::rest_config::{BodyEncoding, Credentials, HttpMethod, RestConfig};
use crate::sms::xml_body::push_xml_escaped;
use crate::sms::{Attempt, Broker, SmsMessage, redact_excerpt};
use crate::template::TagValues;

/// A REST broker ready to send: its configuration and its HTTP client.
#[derive(Debug, Clone)]
pub struct RestBroker {
    config: RestConfig,
    client: Client,
}

/// A rendered request: URL, body, and the form parameters that OAuth signs.
struct Rendered {
    url: Url,
    body: Option<Zeroizing<String>>,
    form_params: Vec<(String, String)>,
}

impl RestBroker {
    /// A broker with its own HTTP client (connect and total timeouts from `config`).
    pub fn new(config: RestConfig) -> Result<Self, SendError> {
        let client = client(&config.timeouts, None)?;
        Ok(Self { config, client })
    }

    /// The configuration.
    pub fn config(&self) -> &RestConfig {
        &self.config
    }

    fn render(&self, message: &SmsMessage) -> Rendered {
        let secrets = self.config.secrets.pairs();
        let values = TagValues {
            secrets: &secrets,
            ..message.tag_values()
        };
        let mut url = self.config.url.clone();
        if !self.config.query.is_empty() {
            let mut query = url.query().unwrap_or_default().to_owned();
            for (name, template) in &self.config.query {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(&encode(name));
                query.push('=');
                query.push_str(&encode(&template.render(&values)));
            }
            url.set_query(Some(&query));
        }
        let (body, form_params) = match &self.config.body {
            None => (None, Vec::new()),
            Some((template, BodyEncoding::Json)) => {
                (Some(template.render_json(&values)), Vec::new())
            }
            Some((template, BodyEncoding::Xml)) => (
                Some(template.render_with(&values, push_xml_escaped)),
                Vec::new(),
            ),
            Some((template, BodyEncoding::Form)) => {
                let body = template.render_with(&values, |value, out| out.push_str(&encode(value)));
                let params = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                (Some(body), params)
            }
        };
        Rendered {
            url,
            body,
            form_params,
        }
    }

    fn request(
        &self,
        rendered: &Rendered,
        authorization: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, SendError> {
        let method = match self.config.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
        };
        let mut request = self.client.request(method, rendered.url.clone());
        for (name, value) in &self.config.headers {
            request = request.header(name, value);
        }
        request = with_authorization(request, authorization)?;
        if let Some(body) = &rendered.body {
            request = request.body(body.as_bytes().to_vec());
        }
        Ok(request)
    }

    async fn send_once(&self, message: &SmsMessage) -> Result<Attempt, SendError> {
        let rendered = self.render(message);
        let method = match self.config.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        };
        let timeouts = &self.config.timeouts;
        let answer = match &self.config.credentials {
            Credentials::None => execute(self.request(&rendered, None)?, timeouts).await?,
            Credentials::Basic(login) | Credentials::Digest(login) => {
                let scheme = match self.config.credentials {
                    Credentials::Digest(_) => LoginScheme::Digest,
                    _ => LoginScheme::Basic,
                };
                LoginRequest {
                    build: |authorization: Option<&str>| self.request(&rendered, authorization),
                    method,
                    url: &rendered.url,
                    timeouts,
                    max_bytes: BODY_MAX_BYTES,
                }
                .send(login, scheme)
                .await?
            }
            Credentials::OAuth(credentials) => {
                let timestamp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_secs())
                    .unwrap_or_default();
                let authorization = oauth_authorization(
                    credentials,
                    method,
                    &rendered.url,
                    &rendered.form_params,
                    &random_hex(16),
                    timestamp,
                );
                let answer =
                    execute(self.request(&rendered, Some(&authorization))?, timeouts).await?;
                if answer.status == StatusCode::UNAUTHORIZED.as_u16() {
                    return Err(refused(&answer, "OAuth"));
                }
                answer
            }
        };
        self.judge(answer, message)
    }

    /// Success, HTTP error, or missing return keys.
    fn judge(&self, answer: RawAnswer, message: &SmsMessage) -> Result<Attempt, SendError> {
        let mut hidden = self.config.hidden_values();
        hidden.push(message.otp());
        let excerpt = redact_excerpt(&answer.body, &hidden);
        if !answer.is_success() {
            return Err(SendError::HttpStatus {
                status: answer.status,
                excerpt,
            });
        }
        if message.checks_keys(self.config.check_each_call) && !self.config.return_keys.is_empty() {
            let missing =
                missing_json_keys(&answer.body, &self.config.return_keys).map_err(|reason| {
                    SendError::UnreadableAnswer {
                        reason,
                        status: answer.status,
                        excerpt: excerpt.clone(),
                    }
                })?;
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

impl Broker for RestBroker {
    fn send(
        &self,
        message: &SmsMessage,
    ) -> impl Future<Output = Result<Attempt, SendError>> + Send {
        within_total(&self.config.timeouts, self.send_once(message))
    }
}
