//! HTTP Basic and Digest with a user name and password, one implementation for REST brokers
//! (`authorization: basic | digest`) and SOAP brokers (`options.login` / `options.password`,
//! for the WSDL and the calls).

use std::fmt;

use data_encoding::HEXLOWER;
use rand::Rng as _;
use reqwest::header::{self, HeaderValue};
use reqwest::{RequestBuilder, StatusCode, Url};

use crate::SecretString;
use crate::sms::SendError;
use crate::sms::auth::{DigestChallenge, basic_authorization};
use crate::sms::config::Timeouts;
use crate::sms::http::{RawAnswer, execute_capped};

/// A user name and password. `Debug` hides the password.
#[derive(Clone)]
pub(crate) struct Login {
    pub username: String,
    pub password: SecretString,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Login({:?}, <redacted>)", self.username)
    }
}

/// How a [`Login`] is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginScheme {
    /// Basic on the first request; a 401 is a refusal.
    Basic,
    /// A first request without credentials, then Digest answering the 401's challenge: the
    /// password never travels.
    Digest,
    /// Basic on the first request, Digest when a 401 asks for it (PHP SoapClient's way).
    BasicThenDigest,
}

/// One request (rebuilt for each try by `build`, given the `Authorization` value) sent with
/// `login`. `method` and `url` are what Digest signs.
pub(crate) struct LoginRequest<'a, F> {
    pub build: F,
    pub method: &'a str,
    pub url: &'a Url,
    pub timeouts: &'a Timeouts,
    pub max_bytes: usize,
}

impl<F> LoginRequest<'_, F>
where
    F: Fn(Option<&str>) -> Result<RequestBuilder, SendError>,
{
    /// Sends the request authenticated as `login` with `scheme`; a 401 after the credentials
    /// were presented is [`SendError::Authentication`].
    pub async fn send(&self, login: &Login, scheme: LoginScheme) -> Result<RawAnswer, SendError> {
        let basic = match scheme {
            LoginScheme::Digest => None,
            LoginScheme::Basic | LoginScheme::BasicThenDigest => Some(basic_authorization(
                &login.username,
                login.password.expose(),
            )),
        };
        let first = self.execute(basic.as_deref().map(String::as_str)).await?;
        if first.status != StatusCode::UNAUTHORIZED.as_u16() {
            return Ok(first);
        }
        let challenges = first
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok());
        let challenge = match (scheme, DigestChallenge::choose(challenges)) {
            (LoginScheme::Basic, _) | (LoginScheme::BasicThenDigest, Err(_)) => {
                return Err(refused(&first, "Basic"));
            }
            (_, Ok(challenge)) => challenge,
            (LoginScheme::Digest, Err(reason)) => {
                return Err(SendError::Authentication {
                    reason,
                    status: first.status,
                });
            }
        };
        let target = match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let authorization = challenge.authorization(
            &login.username,
            login.password.expose(),
            self.method,
            &target,
            &random_hex(16),
            1,
        );
        let answer = self.execute(Some(&authorization)).await?;
        if answer.status == StatusCode::UNAUTHORIZED.as_u16() {
            return Err(refused(&answer, "Digest"));
        }
        Ok(answer)
    }

    async fn execute(&self, authorization: Option<&str>) -> Result<RawAnswer, SendError> {
        execute_capped((self.build)(authorization)?, self.timeouts, self.max_bytes).await
    }
}

/// Adds `Authorization` (marked sensitive) when given.
pub(crate) fn with_authorization(
    request: RequestBuilder,
    authorization: Option<&str>,
) -> Result<RequestBuilder, SendError> {
    let Some(authorization) = authorization else {
        return Ok(request);
    };
    let mut value = HeaderValue::from_str(authorization).map_err(|_| SendError::Request {
        reason: "the credentials contain characters not allowed in an HTTP header".into(),
    })?;
    value.set_sensitive(true);
    Ok(request.header(header::AUTHORIZATION, value))
}

/// A 401 after sending credentials: they were refused.
pub(crate) fn refused(answer: &RawAnswer, scheme: &str) -> SendError {
    SendError::Authentication {
        reason: format!("the broker refused the {scheme} credentials"),
        status: answer.status,
    }
}

/// `bytes` random bytes as lowercase hex (nonces, cnonces).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    HEXLOWER.encode(&buffer)
}
