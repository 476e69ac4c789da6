//! The HTTP layer shared by both broker kinds: one client per broker with its timeouts,
//! capped answer bodies, and reqwest errors mapped to [`SendError`] without URLs (a GET URL
//! carries the message and maybe credentials).

use std::error::Error as _;
use std::future::Future;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, RequestBuilder, redirect};

use crate::sms::SendError;
use crate::sms::config::Timeouts;

/// Largest answer body read, in bytes; the rest is ignored.
pub(crate) const BODY_MAX_BYTES: usize = 64 * 1024;
/// The `User-Agent` unless a SOAP broker sets `user_agent`.
const USER_AGENT: &str = concat!("sae-delivery/", env!("CARGO_PKG_VERSION"));

/// A broker's answer.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl RawAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A client with the broker's connect and total timeouts; redirects are not followed (a
/// broker that redirects is misconfigured, and following would resend credentials).
pub(crate) fn client(
    timeouts: &Timeouts,
    user_agent: Option<&HeaderValue>,
) -> Result<Client, SendError> {
    let user_agent = user_agent
        .cloned()
        .unwrap_or(HeaderValue::from_static(USER_AGENT));
    Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .redirect(redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .map_err(|error| SendError::ClientSetup {
            reason: describe(&error.without_url()),
        })
}

/// Sends `request` and reads at most [`BODY_MAX_BYTES`] of the answer.
pub(crate) async fn execute(
    request: RequestBuilder,
    timeouts: &Timeouts,
) -> Result<RawAnswer, SendError> {
    execute_capped(request, timeouts, BODY_MAX_BYTES).await
}

/// Sends `request` and reads at most `max_bytes` of the answer.
pub(crate) async fn execute_capped(
    request: RequestBuilder,
    timeouts: &Timeouts,
    max_bytes: usize,
) -> Result<RawAnswer, SendError> {
    let mut response = request
        .send()
        .await
        .map_err(|error| map_error(error, timeouts))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body: Vec<u8> = Vec::new();
    while body.len() < max_bytes {
        match response
            .chunk()
            .await
            .map_err(|error| map_error(error, timeouts))?
        {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(max_bytes);
    Ok(RawAnswer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Runs a whole send (a Digest exchange is two requests) within the total timeout.
pub(crate) async fn within_total<T>(
    timeouts: &Timeouts,
    send: impl Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    tokio::time::timeout(timeouts.total, send)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Timeout {
                after_ms: millis(timeouts.total),
            })
        })
}

fn map_error(error: reqwest::Error, timeouts: &Timeouts) -> SendError {
    let error = error.without_url();
    if error.is_timeout() {
        let after = if error.is_connect() {
            timeouts.connect
        } else {
            timeouts.total
        };
        SendError::Timeout {
            after_ms: millis(after),
        }
    } else if error.is_connect() {
        SendError::Connect {
            reason: describe(&error),
        }
    } else {
        SendError::Transport {
            reason: describe(&error),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The error and its sources, innermost last (`a: b: c`), without repeats.
fn describe(error: &reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
