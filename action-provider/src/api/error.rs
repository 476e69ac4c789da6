//! The API's one error type: stable snake_case codes mapped to HTTP statuses, answered as
//! `application/problem+json` (RFC 9457). Internal causes go to the log, never the body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or a field is invalid.
    BadRequest {
        /// Stable code, e.g. `invalid_field`, `malformed_json`.
        code: &'static str,
        /// The offending field (JSON path), when there is one.
        field: Option<String>,
        /// Human explanation.
        detail: String,
    },
    /// No or an unknown API key / session.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden {
        /// Why (names the scope or field).
        detail: String,
        /// The refused field, for ACL refusals.
        field: Option<String>,
    },
    /// The resource does not exist.
    NotFound {
        /// What was looked for.
        detail: String,
    },
    /// The request conflicts with the current state (duplicate login, unique mobile…).
    Conflict {
        /// Stable code.
        code: &'static str,
        /// The conflicting field.
        field: Option<String>,
        /// Human explanation.
        detail: String,
    },
    /// The body is larger than the configured limit.
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Too many requests (budgets).
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
        /// Human explanation.
        detail: String,
    },
    /// The service or channel is unavailable (e.g. voice).
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// Human explanation.
        detail: String,
    },
    /// Something failed inside the server; details are in the log.
    Internal,
    /// 403 with a specific code: `acl_denied` (the administrator's group), `csrf`.
    Denied {
        /// Stable code.
        code: &'static str,
        /// The refused field, when one is involved.
        field: Option<String>,
        /// Explanation.
        detail: String,
    },
    /// 401 `invalid_credentials`: wrong login, password or second factor (which one is
    /// not told, except that `field` is `otp` when the password was right).
    InvalidCredentials {
        /// `otp` when the second factor was wrong.
        field: Option<String>,
    },
    /// 403 `locked`: the account is locked (`locked_until`: end of a temporary lock).
    Locked {
        /// End of a temporary lock, unix seconds.
        locked_until: Option<i64>,
    },
    /// 429 `throttled`: wait `retry_after` seconds before the next attempt.
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 405 `method_not_allowed`: the path exists with other methods (`Allow` lists them).
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: String,
    },
}

impl ApiError {
    /// A field-level validation error.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_field",
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    /// Logs an internal error (with its cause) and answers a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Internal => "internal",
            Self::Denied { code, .. } => code,
            Self::InvalidCredentials { .. } => "invalid_credentials",
            Self::Locked { .. } => "locked",
            Self::Throttled { .. } => "throttled",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// A URI naming the kind of problem (stable).
    #[serde(rename = "type")]
    kind: String,
    /// The HTTP status's reason phrase.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// Stable machine-readable code, e.g. `invalid_field`.
    code: &'a str,
    /// Human explanation.
    detail: String,
    /// The offending field (JSON path), for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Seconds before retrying (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// Only with code `locked`: end of a temporary lock (unix seconds; null: until unlocked).
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<Option<i64>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Denied { .. } | Self::Locked { .. } => StatusCode::FORBIDDEN,
            Self::InvalidCredentials { .. } => StatusCode::UNAUTHORIZED,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (detail, field, retry_after) = match self {
            Self::BadRequest { field, detail, .. } | Self::Conflict { field, detail, .. } => {
                (detail.clone(), field.as_deref(), None)
            }
            Self::Forbidden { detail, field } => (detail.clone(), field.as_deref(), None),
            Self::NotFound { detail } | Self::Unavailable { detail, .. } => {
                (detail.clone(), None, None)
            }
            Self::Unauthenticated => (
                "a valid Api-Key header or administrator session is required".into(),
                None,
                None,
            ),
            Self::PayloadTooLarge { limit } => (
                format!("the request body is larger than {limit} bytes"),
                None,
                None,
            ),
            Self::TooManyRequests {
                retry_after,
                detail,
            } => (detail.clone(), None, Some(*retry_after)),
            Self::Internal => (
                "the server failed; the cause is in its log".into(),
                None,
                None,
            ),
            Self::Denied { detail, field, .. } => (detail.clone(), field.as_deref(), None),
            Self::InvalidCredentials { field } => (
                if field.is_some() {
                    "otp: the one-time password is wrong".into()
                } else {
                    "wrong login or password".into()
                },
                field.as_deref(),
                None,
            ),
            Self::Locked { .. } => (
                "the account is locked after too many failed attempts".into(),
                None,
                None,
            ),
            Self::Throttled { retry_after } => (
                format!("too many failed attempts: wait {retry_after} s"),
                None,
                Some(*retry_after),
            ),
            Self::MethodNotAllowed { allow } => {
                (format!("this route answers only {allow}"), None, None)
            }
        };
        let locked_until = match self {
            Self::Locked { locked_until } => Some(*locked_until),
            _ => None,
        };
        let code = self.code();
        let body = Problem {
            kind: format!("https://sae.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail,
            field,
            retry_after,
            locked_until,
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let Some(secs) = retry_after {
            resp.insert_header(("Retry-After", secs.to_string()));
        }
        if let Self::MethodNotAllowed { allow } = self {
            resp.insert_header(("Allow", allow.clone()));
        }
        resp.json(body)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}
