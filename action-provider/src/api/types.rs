//! Small types shared by request and response bodies.

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A secret string from a request body (password, code): wiped on drop, redacted in Debug.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

impl utoipa::PartialSchema for SecretString {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

impl utoipa::ToSchema for SecretString {}

/// A field that distinguishes "absent" (keep) from `null` (clear) in PATCH bodies.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `?limit=&cursor=` of list routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Items per page, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Page {
    /// The validated limit.
    pub fn limit(&self) -> Result<i64, super::error::ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=500) => Ok(i64::from(n)),
            Some(_) => Err(super::error::ApiError::field(
                "limit",
                "must be between 1 and 500",
            )),
        }
    }

    /// The validated cursor (an opaque row position).
    pub fn cursor(&self) -> Result<i64, super::error::ApiError> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                super::error::ApiError::field("cursor", "not a cursor returned by this list")
            }),
        }
    }
}

/// Checks a login: 1..=255 characters, no control characters, no surrounding spaces, no `/`.
pub fn check_login(login: &str) -> Result<(), super::error::ApiError> {
    let bad = |why: &str| Err(super::error::ApiError::field("login", why));
    if login.is_empty() {
        return bad("must not be empty");
    }
    if login.chars().count() > 255 {
        return bad("must be at most 255 characters");
    }
    if login.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if login.trim() != login {
        return bad("must not start or end with spaces");
    }
    if login.contains('/') {
        return bad("must not contain '/'");
    }
    Ok(())
}

/// Cuts a page fetched with `limit + 1` rows: the rows to answer and the `next_cursor`
/// (the last answered row's id when there was one more row).
pub fn cut_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(|r| id(r).to_string())
    } else {
        None
    };
    (rows, next)
}

/// An optional RFC 3339 query parameter as unix seconds, or a 400 naming it.
pub fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, super::error::ApiError> {
    value
        .map(|t| {
            crate::timefmt::parse_rfc3339(t).ok_or_else(|| {
                super::error::ApiError::field(name, format!("{name}: not an RFC 3339 time"))
            })
        })
        .transpose()
}
