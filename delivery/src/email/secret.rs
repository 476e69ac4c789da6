//! [`SecretString`]: a text that must never be printed (password, client secret, token).

use std::fmt;

use zeroize::Zeroizing;

/// A secret text: a password, an OAuth2 client secret, an access or refresh token, a PKCE
/// verifier.
///
/// `Debug` prints `SecretString(<redacted>)`; there is no `Display`, no `Serialize` and no
/// `PartialEq` (compare with a constant-time routine if you must). The buffer is zeroized on
/// drop. Read the text with [`SecretString::expose`] at the one place that needs it.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `secret`; the string is moved, not copied.
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret text. Call this only where the secret leaves the process (a request body,
    /// the SMTP AUTH line) or is stored encrypted.
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

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

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
}
