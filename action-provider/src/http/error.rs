//! The API's one error type: stable snake_case codes ([`ErrorCode`], all in one place)
//! mapped to HTTP statuses, answered as `application/problem+json` (RFC 9457). A
//! [`ServiceError`] becomes an [`ApiError`] here and nowhere else; internal causes go to the
//! log, never the body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::service::error::{
    Conflict, Denial, FieldError, FieldErrors, Refusal, Rule, ServiceError,
};

/// Every stable error code the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A field is invalid (`field` names it).
    InvalidField,
    /// The body is not JSON.
    MalformedJson,
    /// The body could not be read.
    MalformedBody,
    /// The body is not of a supported media type.
    UnsupportedMediaType,
    /// A query parameter is invalid.
    InvalidQuery,
    /// A path parameter is invalid.
    InvalidPath,
    /// The password does not meet the strength rule.
    WeakPassword,
    /// The password is one of the last ones.
    PasswordReused,
    /// No or an unknown API key / session.
    Unauthenticated,
    /// The API key's scope does not allow the operation.
    Forbidden,
    /// The administrator group's ACL does not allow the operation.
    AclDenied,
    /// A cookie-authenticated change came without the CSRF token.
    Csrf,
    /// Wrong login, password or second factor.
    InvalidCredentials,
    /// The account is locked.
    Locked,
    /// Too many failed attempts: wait.
    Throttled,
    /// The resource does not exist.
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
    /// The name / login / value is taken.
    Duplicate,
    /// The resource is still used.
    InUse,
    /// The administrator group is still used.
    GroupInUse,
    /// The wallet still has users.
    NotEmpty,
    /// Existing users violate the switch being turned on.
    ConflictsWithExistingUsers,
    /// The Idempotency-Key was used with another request.
    IdempotencyKeyReused,
    /// The user is disabled.
    UserDisabled,
    /// The user is locked.
    UserLocked,
    /// The user has no address on the channel.
    NoDestination,
    /// The last System Administrator cannot be removed.
    LastSystemAdministrator,
    /// The built-in group cannot be changed.
    BuiltinGroup,
    /// The templates would be inconsistent.
    InvalidTemplateSet,
    /// A shared-secret device needs a principal token.
    NoPrincipalToken,
    /// The token is not an OPIE token.
    NotOpie,
    /// The OPIE sequence is used up.
    Exhausted,
    /// The body names another resource than the path.
    IdMismatch,
    /// The token is not a HOTP token.
    NotHotp,
    /// The token is already assigned.
    AlreadyAssigned,
    /// The token is not assigned.
    NotAssigned,
    /// No broker or mail account is configured for the channel.
    ChannelNotConfigured,
    /// The login looks like an existing one written in another script.
    ConfusableLogin,
    /// Another node or request is checking the inbound account now.
    CheckRunning,
    /// The channel's service is disabled.
    ChannelUnavailable,
    /// The body is too large.
    PayloadTooLarge,
    /// A budget is exhausted.
    TooManyRequests,
    /// The server failed; the cause is in its log.
    Internal,
}

impl ErrorCode {
    /// The code as answered (`invalid_field`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidField => "invalid_field",
            Self::MalformedJson => "malformed_json",
            Self::MalformedBody => "malformed_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidPath => "invalid_path",
            Self::WeakPassword => "weak_password",
            Self::PasswordReused => "password_reused",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::AclDenied => "acl_denied",
            Self::Csrf => "csrf",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Duplicate => "duplicate",
            Self::InUse => "in_use",
            Self::GroupInUse => "group_in_use",
            Self::NotEmpty => "not_empty",
            Self::ConflictsWithExistingUsers => "conflicts_with_existing_users",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::UserDisabled => "user_disabled",
            Self::UserLocked => "user_locked",
            Self::NoDestination => "no_destination",
            Self::LastSystemAdministrator => "last_system_administrator",
            Self::BuiltinGroup => "builtin_group",
            Self::InvalidTemplateSet => "invalid_template_set",
            Self::NoPrincipalToken => "no_principal_token",
            Self::NotOpie => "not_opie",
            Self::Exhausted => "exhausted",
            Self::IdMismatch => "id_mismatch",
            Self::NotHotp => "not_hotp",
            Self::AlreadyAssigned => "already_assigned",
            Self::NotAssigned => "not_assigned",
            Self::ChannelNotConfigured => "channel_not_configured",
            Self::ConfusableLogin => "confusable_login",
            Self::CheckRunning => "check_running",
            Self::ChannelUnavailable => "channel_unavailable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidField
            | Self::MalformedJson
            | Self::MalformedBody
            | Self::UnsupportedMediaType
            | Self::InvalidQuery
            | Self::InvalidPath
            | Self::WeakPassword
            | Self::PasswordReused => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::AclDenied | Self::Csrf | Self::Locked => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Duplicate
            | Self::InUse
            | Self::GroupInUse
            | Self::NotEmpty
            | Self::ConflictsWithExistingUsers
            | Self::IdempotencyKeyReused
            | Self::UserDisabled
            | Self::UserLocked
            | Self::NoDestination
            | Self::LastSystemAdministrator
            | Self::BuiltinGroup
            | Self::InvalidTemplateSet
            | Self::NoPrincipalToken
            | Self::NotOpie
            | Self::Exhausted
            | Self::IdMismatch
            | Self::NotHotp
            | Self::AlreadyAssigned
            | Self::NotAssigned
            | Self::ChannelNotConfigured
            | Self::ConfusableLogin
            | Self::CheckRunning => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled | Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::ChannelUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Conflict> for ErrorCode {
    fn from(c: Conflict) -> Self {
        match c {
            Conflict::Duplicate => Self::Duplicate,
            Conflict::InUse => Self::InUse,
            Conflict::GroupInUse => Self::GroupInUse,
            Conflict::NotEmpty => Self::NotEmpty,
            Conflict::ConflictsWithExistingUsers => Self::ConflictsWithExistingUsers,
            Conflict::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            Conflict::UserDisabled => Self::UserDisabled,
            Conflict::UserLocked => Self::UserLocked,
            Conflict::NoDestination => Self::NoDestination,
            Conflict::LastSystemAdministrator => Self::LastSystemAdministrator,
            Conflict::BuiltinGroup => Self::BuiltinGroup,
            Conflict::InvalidTemplateSet => Self::InvalidTemplateSet,
            Conflict::NoPrincipalToken => Self::NoPrincipalToken,
            Conflict::NotOpie => Self::NotOpie,
            Conflict::Exhausted => Self::Exhausted,
            Conflict::IdMismatch => Self::IdMismatch,
            Conflict::NotHotp => Self::NotHotp,
            Conflict::AlreadyAssigned => Self::AlreadyAssigned,
            Conflict::NotAssigned => Self::NotAssigned,
            Conflict::ChannelNotConfigured => Self::ChannelNotConfigured,
            Conflict::ConfusableLogin => Self::ConfusableLogin,
            Conflict::CheckRunning => Self::CheckRunning,
        }
    }
}

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    field: Option<String>,
    /// Every invalid field (the first is also `field` / `detail`).
    errors: Box<[FieldError]>,
    retry_after: Option<u64>,
    /// `Some(None)`: locked until unlocked; `Some(Some(t))`: until `t` (unix seconds).
    locked_until: Option<Option<i64>>,
    allow: Option<Box<str>>,
}

impl ApiError {
    /// An error with a code and an explanation.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            field: None,
            errors: Box::default(),
            retry_after: None,
            locked_until: None,
            allow: None,
        }
    }

    /// Every invalid field of an input (`invalid_field`); `field` and `detail` are the first's.
    pub fn fields(list: FieldErrors) -> Self {
        let first = list.first();
        // A request whose only fault is to name things that do not exist is a 404.
        let code = if list.iter().all(|e| e.rule == Some(Rule::Exists)) {
            ErrorCode::NotFound
        } else {
            ErrorCode::InvalidField
        };
        let mut e = Self::new(code, first.detail.clone()).at(first.field.clone());
        e.errors = list.into_vec().into_boxed_slice();
        e
    }

    /// Names the offending field.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A field-level validation error (`invalid_field`).
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, detail).at(field)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    /// 405 with the `Allow` header.
    pub fn method_not_allowed(allow: String) -> Self {
        let mut e = Self::new(
            ErrorCode::MethodNotAllowed,
            format!("this route answers only {allow}"),
        );
        e.allow = Some(allow.into_boxed_str());
        e
    }

    /// 413.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 500: logs the cause, answers nothing of it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "the server failed; the cause is in its log",
        )
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The `errors` list answered: every invalid field, or the one `field` of the error.
    fn problems(&self) -> Vec<FieldProblem<'_>> {
        if !self.errors.is_empty() {
            return self.errors.iter().map(FieldProblem::from).collect();
        }
        self.field
            .as_deref()
            .map(|field| FieldProblem {
                field,
                detail: self
                    .detail
                    .strip_prefix(field)
                    .and_then(|d| d.strip_prefix(": "))
                    .unwrap_or(&self.detail),
                rule: None,
                limit: None,
                allowed: None,
            })
            .into_iter()
            .collect()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(list) => Self::fields(list),
            ServiceError::Refused {
                kind,
                field,
                detail,
            } => {
                let code = match kind {
                    Refusal::WeakPassword => ErrorCode::WeakPassword,
                    Refusal::PasswordReused => ErrorCode::PasswordReused,
                };
                Self {
                    field,
                    ..Self::new(code, detail)
                }
            }
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Conflict {
                kind,
                field,
                detail,
            } => Self {
                field,
                ..Self::new(kind.into(), detail)
            },
            ServiceError::Unauthenticated => Self::new(
                ErrorCode::Unauthenticated,
                "a valid Api-Key header or administrator session is required",
            ),
            ServiceError::Denied {
                kind,
                field,
                detail,
            } => {
                let code = match kind {
                    Denial::Scope => ErrorCode::Forbidden,
                    Denial::Acl => ErrorCode::AclDenied,
                    Denial::Csrf => ErrorCode::Csrf,
                };
                Self {
                    field,
                    ..Self::new(code, detail)
                }
            }
            ServiceError::InvalidCredentials { field } => Self {
                detail: if field.is_some() {
                    "otp: the one-time password is wrong".into()
                } else {
                    "wrong login or password".into()
                },
                field,
                ..Self::new(ErrorCode::InvalidCredentials, "")
            },
            ServiceError::Locked { until } => Self {
                locked_until: Some(until.map(crate::clock::UnixTime::secs)),
                ..Self::new(
                    ErrorCode::Locked,
                    "the account is locked after too many failed attempts",
                )
            },
            ServiceError::Throttled { retry_after } => {
                let secs = whole_seconds(retry_after);
                Self {
                    retry_after: Some(secs),
                    ..Self::new(
                        ErrorCode::Throttled,
                        format!("too many failed attempts: wait {secs} s"),
                    )
                }
            }
            ServiceError::OverBudget {
                retry_after,
                detail,
            } => Self {
                retry_after: Some(whole_seconds(retry_after)),
                ..Self::new(ErrorCode::TooManyRequests, detail)
            },
            ServiceError::Unavailable { detail } => {
                Self::new(ErrorCode::ChannelUnavailable, detail)
            }
            e @ (ServiceError::Store(_) | ServiceError::Internal { .. }) => Self::internal(&e),
        }
    }
}

/// Seconds to announce in `Retry-After`: rounded up, at least 1.
fn whole_seconds(d: std::time::Duration) -> u64 {
    let ms = d.as_millis();
    u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX).max(1)
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
    detail: &'a str,
    /// The offending field (JSON path), for input errors: the first of `errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every offending field of the request, each with what is wrong (input errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem<'a>>,
    /// Seconds before retrying (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// Only with code `locked`: end of a temporary lock (unix seconds; null: until unlocked).
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<Option<i64>>,
}

/// The bound of a broken rule, as documented: a number (a length, range or item count) or a
/// word (a type or the name of a pattern).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "documents the shape of FieldProblem::limit")]
enum Limit {
    /// A length, range or item count.
    Number(f64),
    /// A type or the name of a pattern.
    Word(String),
}

/// One offending field of a request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldProblem<'a> {
    /// The field (JSON path, e.g. `primary.url` or `rules[2].hash`; a query parameter's name).
    field: &'a str,
    /// What is wrong, in words.
    detail: &'a str,
    /// The documented rule broken, when it is one of the schema's: `required`,
    /// `unknown_field`, `type`, `min_length`, `max_length`, `minimum`, `maximum`, `enum`,
    /// `pattern`, `min_items`, `max_items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
    /// The bound of the rule (`min_length`, `max_length`, `minimum`, `maximum`, `min_items`,
    /// `max_items`), the expected type (`type`), or the name of the form expected (`pattern`:
    /// `email`, `mobile`, `login`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Limit>)]
    limit: Option<serde_json::Value>,
    /// The allowed values (`enum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<&'a [String]>,
}

impl<'a> From<&'a FieldError> for FieldProblem<'a> {
    fn from(e: &'a FieldError) -> Self {
        let (rule, limit, allowed): (_, Option<serde_json::Value>, _) = match &e.rule {
            None => (None, None, None),
            Some(Rule::Required) => (Some("required"), None, None),
            Some(Rule::UnknownField) => (Some("unknown_field"), None, None),
            Some(Rule::Type(t)) => (Some("type"), Some((*t).into()), None),
            Some(Rule::MinLength(n)) => (Some("min_length"), Some((*n).into()), None),
            Some(Rule::MaxLength(n)) => (Some("max_length"), Some((*n).into()), None),
            Some(Rule::Minimum(n)) => (Some("minimum"), Some((*n).into()), None),
            Some(Rule::Maximum(n)) => (Some("maximum"), Some((*n).into()), None),
            Some(Rule::OneOf(v)) => (Some("enum"), None, Some(v.as_slice())),
            Some(Rule::Pattern(name)) => (Some("pattern"), name.map(Into::into), None),
            Some(Rule::MinItems(n)) => (Some("min_items"), Some((*n).into()), None),
            Some(Rule::MaxItems(n)) => (Some("max_items"), Some((*n).into()), None),
            Some(Rule::Exists) => (Some("exists"), None, None),
        };
        Self {
            field: &e.field,
            detail: &e.detail,
            rule,
            limit,
            allowed,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code.as_str())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let code = self.code.as_str();
        let body = Problem {
            kind: format!("https://sae.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail: &self.detail,
            field: self.field.as_deref(),
            errors: self.problems(),
            retry_after: self.retry_after,
            locked_until: self.locked_until,
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let Some(secs) = self.retry_after {
            resp.insert_header(("Retry-After", secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            resp.insert_header(("Allow", allow.to_string()));
        }
        resp.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        use std::time::Duration;
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn every_conflict_has_a_409_code() {
        for c in [
            Conflict::Duplicate,
            Conflict::ChannelNotConfigured,
            Conflict::Exhausted,
            Conflict::ConfusableLogin,
            Conflict::CheckRunning,
        ] {
            assert_eq!(ErrorCode::from(c).status(), StatusCode::CONFLICT);
        }
    }
}
