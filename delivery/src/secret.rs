//! [`SecretString`]: a text that must never be printed (password, client secret, token),
//! the one type both channels hold their credentials in.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A secret text: an SMS broker's password, OAuth 1.0a secret or token, an SMTP password,
/// an OAuth2 client secret, an access or refresh token, a PKCE verifier.
///
/// `Debug` prints `SecretString(<redacted>)`; there is no `Display`, no `Serialize` and no
/// `PartialEq` (compare with a constant-time routine if you must). The buffer is zeroized on
/// drop. Read the text with [`SecretString::expose`] at the one place that needs it.
///
/// It deserializes from a JSON string (request bodies); with the `utoipa` feature it is
/// documented in OpenAPI as a string.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `secret`; the string is moved, not copied.
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret text. Call this only where the secret leaves the process (a request body,
    /// the SMTP AUTH line, a signature) or is stored encrypted.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (e.g. a public OAuth2 client has no secret).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self::new(secret.to_owned())
    }
}

impl From<Zeroizing<String>> for SecretString {
    fn from(secret: Zeroizing<String>) -> Self {
        Self(secret)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for SecretString {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for SecretString {}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::SecretString;

    #[test]
    fn debug_never_shows_the_text() {
        let secret = SecretString::from("hunter2-very-secret");
        let shown = format!("{secret:?} {:#?}", Some(secret.clone()));
        assert!(!shown.contains("hunter2"), "leaked: {shown}");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn deserializes_from_a_json_string_only() {
        let secret: SecretString = serde_json::from_str(r#""s3cret""#).unwrap();
        assert_eq!(secret.expose(), "s3cret");
        for bad in ["null", "42", r#"{"a":1}"#] {
            assert!(
                serde_json::from_str::<SecretString>(bad).is_err(),
                "{bad} accepted"
            );
        }
    }
}
