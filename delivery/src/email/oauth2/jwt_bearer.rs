//! The JWT bearer grant (RFC 7523 §2.1) with a Google Workspace service account: an
//! RS256-signed assertion naming the mailbox to impersonate (`sub`), exchanged at the
//! token endpoint for an access token that SMTP and IMAP accept.
//!
//! The service account's key comes from the JSON file Google issues
//! (`{"type": "service_account", "client_email", "private_key", "private_key_id",
//! "token_uri", …}`). The server stores that JSON sealed and builds a
//! [`ServiceAccountKey`] from it when a token is needed; the key is wiped from memory on
//! drop and never printed.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::OAuth2Error;
use super::profile::{ProfileError, parse_scope, provider_url};
use crate::SecretString;

/// The grant type of RFC 7523 §2.1.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Lifetime of an assertion, in seconds (Google accepts at most one hour).
pub const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// A service account's identity and private key. `Debug` shows the account, never the key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    client_email: String,
    key_id: Option<String>,
    token_uri: Option<String>,
    key: EncodingKey,
}

/// The fields of the service-account JSON that SAE reads (others are ignored).
#[derive(Deserialize)]
struct ServiceAccountJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// Reads a service account's JSON key file. The private key (PEM, PKCS#8 or PKCS#1)
    /// must be an RSA key that can sign; `type` must be `service_account` when present.
    pub fn from_json(json: &str) -> Result<Self, ServiceAccountError> {
        let parsed: ServiceAccountJson =
            serde_json::from_str(json).map_err(|_| ServiceAccountError::NotJson)?;
        let ServiceAccountJson {
            kind,
            client_email,
            private_key,
            private_key_id,
            token_uri,
        } = parsed;
        let private_key = private_key.map(Zeroizing::new);
        if let Some(kind) = kind
            && kind != "service_account"
        {
            return Err(ServiceAccountError::NotAServiceAccount);
        }
        let client_email = client_email
            .map(|e| e.trim().to_owned())
            .filter(|e| is_address(e))
            .ok_or(ServiceAccountError::InvalidClientEmail)?;
        let pem = private_key.ok_or(ServiceAccountError::MissingPrivateKey)?;
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| ServiceAccountError::InvalidPrivateKey)?;
        let account = Self {
            client_email,
            key_id: private_key_id.filter(|k| !k.trim().is_empty()),
            token_uri: token_uri.filter(|u| !u.trim().is_empty()),
            key,
        };
        // Sign once now, so that a key that cannot sign is refused when it is entered.
        account
            .sign(&Claims {
                iss: &account.client_email,
                scope: "check",
                aud: "check",
                sub: &account.client_email,
                iat: 0,
                exp: ASSERTION_LIFETIME_SECS,
            })
            .map_err(|_| ServiceAccountError::InvalidPrivateKey)?;
        Ok(account)
    }

    /// The service account (`iss` of the assertions).
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The key's id (`kid` of the assertions), if the JSON has one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The token endpoint the JSON names (`https://oauth2.googleapis.com/token`), if any.
    pub fn token_uri(&self) -> Option<&str> {
        self.token_uri.as_deref()
    }

    fn sign(&self, claims: &Claims<'_>) -> Result<Zeroizing<String>, OAuth2Error> {
        // With both or neither of jsonwebtoken's crypto features enabled (a feature set
        // unified by another crate) there is no default provider and `encode` would panic.
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(OAuth2Error::Assertion {
                reason: "no JWT crypto provider is configured (jsonwebtoken features)".into(),
            });
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        jsonwebtoken::encode(&header, claims, &self.key)
            .map(Zeroizing::new)
            .map_err(|e| OAuth2Error::Assertion {
                reason: e.to_string(),
            })
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("key_id", &self.key_id)
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

/// The claims of an assertion (RFC 7523 §3, Google's `scope` claim).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
}

/// A service account, the token endpoint, the scopes and the mailbox to act as.
#[derive(Clone, Debug)]
pub struct JwtBearerGrant {
    key: ServiceAccountKey,
    token_url: Url,
    scopes: Vec<String>,
    subject: String,
}

impl JwtBearerGrant {
    /// Checks the token URL (`https`, plain `http` only to loopback), the scope (at least
    /// one RFC 6749 scope token, e.g. `https://mail.google.com/`) and the subject (the
    /// mailbox to impersonate, an address).
    pub fn new(
        key: ServiceAccountKey,
        token_url: &str,
        scope: &str,
        subject: &str,
    ) -> Result<Self, ProfileError> {
        let token_url = provider_url("token_url", token_url)?;
        let scopes = parse_scope(scope)?;
        let subject = subject.trim();
        if !is_address(subject) {
            return Err(ProfileError::InvalidSubject);
        }
        Ok(Self {
            key,
            token_url,
            scopes,
            subject: subject.to_owned(),
        })
    }

    /// The token endpoint (the assertion's audience).
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The mailbox the tokens are for.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The service account.
    pub fn key(&self) -> &ServiceAccountKey {
        &self.key
    }

    /// A signed assertion valid from `now` (unix seconds) for
    /// [`ASSERTION_LIFETIME_SECS`].
    pub fn assertion(&self, now: u64) -> Result<SecretString, OAuth2Error> {
        let scope = self.scopes.join(" ");
        let signed = self.key.sign(&Claims {
            iss: &self.key.client_email,
            scope: &scope,
            aud: self.token_url.as_str(),
            sub: &self.subject,
            iat: now,
            exp: now.saturating_add(ASSERTION_LIFETIME_SECS),
        })?;
        Ok(SecretString::new(signed.to_string()))
    }
}

/// A plausible mail address: one `@` with text on both sides, no white space.
fn is_address(value: &str) -> bool {
    value
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !value.contains(char::is_whitespace)
        && value.matches('@').count() == 1
}

/// Why a service account's JSON key was refused. Each message names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceAccountError {
    /// The text is not a JSON object.
    #[error("the service account key is not a JSON object")]
    NotJson,
    /// `type` is present and is not `service_account`.
    #[error("type must be service_account")]
    NotAServiceAccount,
    /// `client_email` is missing or not an address.
    #[error("client_email must be the service account's address")]
    InvalidClientEmail,
    /// `private_key` is missing.
    #[error("private_key is missing")]
    MissingPrivateKey,
    /// `private_key` is not an RSA private key in PEM that can sign.
    #[error("private_key must be an RSA private key in PEM (PKCS#8 or PKCS#1)")]
    InvalidPrivateKey,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    #[test]
    fn bad_key_files_name_the_field() {
        let rows: &[(&str, ServiceAccountError)] = &[
            ("[]", ServiceAccountError::NotJson),
            (
                r#"{"type":"authorized_user"}"#,
                ServiceAccountError::NotAServiceAccount,
            ),
            (
                r#"{"type":"service_account"}"#,
                ServiceAccountError::InvalidClientEmail,
            ),
            (
                r#"{"client_email":"not an address"}"#,
                ServiceAccountError::InvalidClientEmail,
            ),
            (
                r#"{"client_email":"sa@p.iam.gserviceaccount.com"}"#,
                ServiceAccountError::MissingPrivateKey,
            ),
            (
                r#"{"client_email":"sa@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#,
                ServiceAccountError::InvalidPrivateKey,
            ),
        ];
        for (json, expected) in rows {
            let err = ServiceAccountKey::from_json(json).expect_err(json);
            assert_eq!(err, *expected, "{json}");
        }
    }

    #[test]
    fn addresses() {
        for good in ["a@b.c", "sa@proj.iam.gserviceaccount.com"] {
            assert!(is_address(good), "{good}");
        }
        for bad in ["", "a", "@b.c", "a@b", "a b@c.d", "a@b@c.d"] {
            assert!(!is_address(bad), "{bad}");
        }
    }
}
