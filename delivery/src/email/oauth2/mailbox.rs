//! Which mailbox a token is for: the `email` of an OpenID Connect `id_token`, and the
//! "authorised for X, not Y" decision.
//!
//! # Why the id_token's signature is not checked
//!
//! SAE reads the id_token only from the answer of its own code exchange: a direct HTTPS
//! request to the profile's token endpoint (https is required for every non-loopback
//! provider URL), authenticated with the client secret and the PKCE verifier. OpenID
//! Connect Core 1.0 §3.1.3.7 (6) allows exactly this case: "If the ID Token is received
//! via direct communication between the Client and the Token Endpoint …, the TLS server
//! validation MAY be used to validate the issuer in place of checking the token
//! signature." Checking the signature would add nothing the TLS connection does not
//! already prove, and would need each provider's rotating key set. An id_token from any
//! other source (a browser redirect, a user) must not be read with this module.

use data_encoding::BASE64URL_NOPAD;
use serde::Deserialize;

/// Longest id_token accepted, in bytes.
const MAX_ID_TOKEN_LEN: usize = 16 * 1024;

/// The claims of an id_token that say which account it is for.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IdTokenClaims {
    /// The account's stable id at the provider.
    pub sub: Option<String>,
    /// The account's e-mail address (present when the scope has `email`, and at Microsoft
    /// also `preferred_username`).
    pub email: Option<String>,
    /// Whether the provider verified `email` (Google sends it; absent elsewhere).
    pub email_verified: Option<bool>,
    /// Microsoft's sign-in name, often the mailbox.
    pub preferred_username: Option<String>,
}

impl IdTokenClaims {
    /// Reads the claims of a compact JWS `header.payload.signature` without checking the
    /// signature (see the module documentation for when that is sound).
    pub fn parse(id_token: &str) -> Result<Self, IdTokenError> {
        if id_token.len() > MAX_ID_TOKEN_LEN {
            return Err(IdTokenError::TooLong);
        }
        let mut parts = id_token.trim().split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdTokenError::NotAJwt);
        };
        let json = BASE64URL_NOPAD
            .decode(payload.trim_end_matches('=').as_bytes())
            .map_err(|_| IdTokenError::NotAJwt)?;
        serde_json::from_slice(&json).map_err(|_| IdTokenError::ClaimsNotJson)
    }

    /// The mailbox the token is for: `email` unless the provider says it is not verified,
    /// else a `preferred_username` that is an address.
    pub fn mailbox(&self) -> Option<&str> {
        let email = self
            .email
            .as_deref()
            .filter(|_| self.email_verified != Some(false));
        email.or_else(|| {
            self.preferred_username
                .as_deref()
                .filter(|name| name.contains('@'))
        })
    }
}

/// The outcome of comparing the mailbox a token is for with the one it should be for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxVerification {
    /// The token is for the expected mailbox.
    Verified,
    /// The token is for another mailbox; `Display` says "authorised for {authorised}, not
    /// {expected}".
    WrongMailbox {
        /// The mailbox the account should use.
        expected: String,
        /// The mailbox the token is for.
        authorised: String,
    },
}

impl std::fmt::Display for MailboxVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verified => f.write_str("mailbox verified"),
            Self::WrongMailbox {
                expected,
                authorised,
            } => write!(f, "authorised for {authorised}, not {expected}"),
        }
    }
}

/// Compares `authorised` (what the provider or server says the token is for) with
/// `expected` (the account's username). Addresses are compared without surrounding space
/// and without ASCII case: mail providers treat both parts of an address
/// case-insensitively, and the domain is case-insensitive everywhere.
pub fn verify_mailbox(expected: &str, authorised: &str) -> MailboxVerification {
    let (e, a) = (expected.trim(), authorised.trim());
    if e.eq_ignore_ascii_case(a) {
        MailboxVerification::Verified
    } else {
        MailboxVerification::WrongMailbox {
            expected: e.to_owned(),
            authorised: a.to_owned(),
        }
    }
}

/// Why an id_token could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not three base64url parts separated by dots.
    #[error("id_token is not a JWT (header.payload.signature in base64url)")]
    NotAJwt,
    /// The payload is not a JSON object with string claims.
    #[error("id_token claims are not a JSON object")]
    ClaimsNotJson,
    /// Longer than 16 KiB.
    #[error("id_token is longer than 16 KiB")]
    TooLong,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            BASE64URL_NOPAD.encode(br#"{"alg":"RS256","kid":"k1"}"#),
            BASE64URL_NOPAD.encode(claims.as_bytes())
        )
    }

    #[test]
    fn claims_give_the_mailbox() {
        let rows: &[(&str, Option<&str>)] = &[
            (
                r#"{"sub":"1","email":"ana@example.com","email_verified":true}"#,
                Some("ana@example.com"),
            ),
            (
                r#"{"sub":"1","email":"ana@example.com"}"#,
                Some("ana@example.com"),
            ),
            (
                r#"{"sub":"1","email":"ana@example.com","email_verified":false}"#,
                None,
            ),
            (
                r#"{"sub":"1","preferred_username":"bo@contoso.com"}"#,
                Some("bo@contoso.com"),
            ),
            (r#"{"sub":"1","preferred_username":"bo"}"#, None),
            (r#"{"sub":"1"}"#, None),
        ];
        for (claims, expected) in rows {
            let parsed = IdTokenClaims::parse(&jwt(claims)).expect(claims);
            assert_eq!(parsed.mailbox(), *expected, "{claims}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let rows: &[(String, IdTokenError)] = &[
            ("abc".into(), IdTokenError::NotAJwt),
            ("a.b.c.d".into(), IdTokenError::NotAJwt),
            ("a.!!!.c".into(), IdTokenError::NotAJwt),
            (jwt("[1,2]"), IdTokenError::ClaimsNotJson),
            (jwt(r#"{"email":5}"#), IdTokenError::ClaimsNotJson),
            ("a".repeat(MAX_ID_TOKEN_LEN + 1), IdTokenError::TooLong),
        ];
        for (token, expected) in rows {
            assert_eq!(IdTokenClaims::parse(token), Err(*expected), "{token:.40}");
        }
    }

    #[test]
    fn authorised_for_x_not_y() {
        assert_eq!(
            verify_mailbox(" Ana@Example.com", "ana@example.COM "),
            MailboxVerification::Verified
        );
        let wrong = verify_mailbox("a@example.com", "b@example.com");
        assert_eq!(
            wrong.to_string(),
            "authorised for b@example.com, not a@example.com"
        );
    }
}
