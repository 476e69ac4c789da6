//! The service layer's one error type. It says what went wrong in the domain's words; the
//! HTTP layer maps it to a status and a stable code once (`http::error`), the CLI to a line
//! on stderr. Internal causes are logged there, never answered.

use std::time::Duration;

use crate::clock::UnixTime;
use crate::store::StoreError;

/// Why a service operation did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// One or more fields of the input are invalid (every one found, not only the first).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The input is well-formed but refused for a specific reason (400).
    #[error("{detail}")]
    Refused {
        /// Which reason.
        kind: Refusal,
        /// The field concerned.
        field: Option<String>,
        /// Explanation.
        detail: String,
    },
    /// What the request names does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with the current state (409).
    #[error("{detail}")]
    Conflict {
        /// Which conflict.
        kind: Conflict,
        /// The field concerned.
        field: Option<String>,
        /// Explanation.
        detail: String,
    },
    /// No credential, or an unknown one.
    #[error("unauthenticated")]
    Unauthenticated,
    /// Authenticated, but not allowed.
    #[error("{detail}")]
    Denied {
        /// Why.
        kind: Denial,
        /// The refused field, for ACL refusals.
        field: Option<String>,
        /// Explanation.
        detail: String,
    },
    /// Wrong login, password or second factor (which one is not told, except that `field`
    /// is `otp` when the password was right).
    #[error("invalid credentials")]
    InvalidCredentials {
        /// `otp` when only the second factor was wrong.
        field: Option<String>,
    },
    /// The account is locked.
    #[error("locked")]
    Locked {
        /// End of a temporary lock.
        until: Option<UnixTime>,
    },
    /// Too many failed attempts: wait before the next one.
    #[error("throttled")]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// A budget (e.g. SMS per destination) is exhausted.
    #[error("{detail}")]
    OverBudget {
        /// How long to wait.
        retry_after: Duration,
        /// Explanation.
        detail: String,
    },
    /// The service or channel is unavailable (e.g. voice).
    #[error("{detail}")]
    Unavailable {
        /// Explanation.
        detail: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else inside the server failed.
    #[error("{context}: {source}")]
    Internal {
        /// What the server was doing.
        context: &'static str,
        /// Why it failed.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Reasons a well-formed input is refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The password does not meet the strength rule.
    WeakPassword,
    /// The password is one of the last `differ` ones.
    PasswordReused,
}

/// Conflicts with the current state (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The name / login / value is taken.
    Duplicate,
    /// The resource is still used.
    InUse,
    /// The administrator group is still used.
    GroupInUse,
    /// The wallet still has users.
    NotEmpty,
    /// A switch cannot be turned on while existing users violate it.
    ConflictsWithExistingUsers,
    /// An Idempotency-Key was reused with another request.
    IdempotencyKeyReused,
    /// The user is disabled.
    UserDisabled,
    /// The user is locked.
    UserLocked,
    /// The user has no address on the channel.
    NoDestination,
    /// The last System Administrator cannot go.
    LastSystemAdministrator,
    /// The built-in group cannot be changed.
    BuiltinGroup,
    /// The template set would be invalid (e.g. two defaults).
    InvalidTemplateSet,
    /// A shared-secret device needs a principal token.
    NoPrincipalToken,
    /// The token is not an OPIE token.
    NotOpie,
    /// The OPIE sequence is used up.
    Exhausted,
    /// The body names another resource than the path (e.g. a template's `id`).
    IdMismatch,
    /// The token is not a HOTP token (resynchronisation).
    NotHotp,
    /// The token is assigned to a user (assigning it again).
    AlreadyAssigned,
    /// The token is in the inventory (unassigning it again).
    NotAssigned,
    /// No broker or mail account is configured for the channel.
    ChannelNotConfigured,
    /// The login would pass for an existing one written in another script (UTS #39).
    ConfusableLogin,
    /// Another node or request is checking the inbound account now.
    CheckRunning,
}

/// Why an authenticated caller is refused (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// The API key's scope does not allow it.
    Scope,
    /// The administrator group's ACL does not allow it.
    Acl,
    /// A cookie-authenticated change without the CSRF token.
    Csrf,
}

impl ServiceError {
    /// A field that names something that does not exist (404 unless other fields are
    /// invalid too).
    pub fn missing(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::one(FieldError::missing(field, detail)))
    }

    /// A field-level validation error.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::one(FieldError::new(field, detail)))
    }

    /// Not found.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// A conflict with the current state.
    pub fn conflict(kind: Conflict, field: Option<&str>, detail: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            field: field.map(str::to_owned),
            detail: detail.into(),
        }
    }

    /// An ACL refusal.
    pub fn acl(field: Option<String>, detail: impl Into<String>) -> Self {
        Self::Denied {
            kind: Denial::Acl,
            field,
            detail: detail.into(),
        }
    }

    /// An internal failure while doing `context`.
    pub fn internal<E>(context: &'static str, source: E) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    /// A stored value that does not parse: an internal error naming the value.
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Store(StoreError::corrupt(what, detail))
    }
}

/// A duplicate (unique-constraint violation) as a 409 naming `field`; any other database
/// error as itself.
pub fn unique(e: diesel::result::Error, field: &str, detail: &str) -> ServiceError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ServiceError::conflict(Conflict::Duplicate, Some(field), detail),
        other => other.into(),
    }
}

/// One invalid field: its JSON path and what is wrong, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field (JSON path: `primary.url`, `rules[2].hash`).
    pub field: String,
    /// What is wrong, in words (without the field's name in front).
    pub detail: String,
    /// Which documented rule the value broke (`required`, `max_length`, …), when it is one of
    /// the schema's rules: clients can word the message themselves (in their language).
    pub rule: Option<Rule>,
}

/// A documented rule of the OpenAPI schema that a value broke, with its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A required member is missing.
    Required,
    /// A member the schema does not have.
    UnknownField,
    /// The value has the wrong JSON type (the expected one, e.g. `string`).
    Type(&'static str),
    /// Fewer characters than the minimum.
    MinLength(u64),
    /// More characters than the maximum.
    MaxLength(u64),
    /// Below the minimum.
    Minimum(i64),
    /// Above the maximum.
    Maximum(i64),
    /// Not one of the allowed values.
    OneOf(Vec<String>),
    /// Does not have the documented shape (pattern).
    /// (The pattern's name in `service::input::patterns::ALL`, when it is one of those.)
    Pattern(Option<&'static str>),
    /// Fewer items than the minimum.
    MinItems(u64),
    /// More items than the maximum.
    MaxItems(u64),
    /// The value names something that does not exist (a wallet, a group, a profile): when
    /// every problem of a request is of this kind, it is answered 404, not 400.
    Exists,
}

impl FieldError {
    /// An invalid field. A detail that starts with the field's name (`login: …`) loses it.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let detail = detail.into();
        let detail = detail
            .strip_prefix(&format!("{field}: "))
            .map(str::to_owned)
            .unwrap_or(detail);
        Self {
            field,
            detail,
            rule: None,
        }
    }

    /// The field names something that does not exist (see [`Rule::Exists`]).
    pub fn missing(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, detail).with_rule(Rule::Exists)
    }

    /// The field broke a documented rule.
    pub fn with_rule(mut self, rule: Rule) -> Self {
        self.rule = Some(rule);
        self
    }
}

/// Every invalid field of an input, in the order found (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    first: FieldError,
    rest: Vec<FieldError>,
}

impl FieldErrors {
    /// One invalid field.
    pub fn one(first: FieldError) -> Self {
        Self {
            first,
            rest: Vec::new(),
        }
    }

    /// Several invalid fields (`None` when there are none).
    pub fn many(list: Vec<FieldError>) -> Option<Self> {
        let mut list = list.into_iter();
        let first = list.next()?;
        Some(Self {
            first,
            rest: list.collect(),
        })
    }

    /// The first invalid field.
    pub fn first(&self) -> &FieldError {
        &self.first
    }

    /// How many fields are invalid.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Never true (there is at least one invalid field).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The invalid fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// The invalid fields, owned.
    pub fn into_vec(self) -> Vec<FieldError> {
        let mut v = Vec::with_capacity(self.len());
        v.push(self.first);
        v.extend(self.rest);
        v
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.first.field, self.first.detail)?;
        if !self.rest.is_empty() {
            write!(f, " (and {} more invalid fields)", self.rest.len())?;
        }
        Ok(())
    }
}

/// Collects the invalid fields of an input, so that a validator checks every field and
/// answers them all at once instead of stopping at the first.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    /// No problem yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an invalid field.
    pub fn add(&mut self, field: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(field, detail));
    }

    /// Keeps the value of a check that passed; records the fields of one that found invalid
    /// fields (`Ok(None)`); any other error is passed on.
    pub fn take<T>(&mut self, result: Result<T, ServiceError>) -> Result<Option<T>, ServiceError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(ServiceError::Invalid(list)) => {
                self.0.extend(list.into_vec());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `field` was found invalid.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Whether a problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when every field was valid, else every invalid field.
    pub fn finish(self) -> Result<(), ServiceError> {
        match FieldErrors::many(self.0) {
            None => Ok(()),
            Some(list) => Err(ServiceError::Invalid(list)),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(StoreError::Query(e))
    }
}

impl From<crate::crypto::CryptoError> for ServiceError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::internal("keyring", e)
    }
}
