//! An OAuth2 profile: where the provider is, who we are, what we ask for, and how.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use reqwest::Url;

use crate::SecretString;

/// Longest accepted client id, in bytes (providers use GUIDs or ~80-character ids).
const MAX_CLIENT_ID_LEN: usize = 255;

/// The grant a profile uses to obtain tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Authorization code with PKCE (S256): an administrator signs in once at the provider,
    /// the server keeps the refresh token. Microsoft 365 and Google.
    AuthorizationCode,
    /// Client credentials: the application authenticates as itself, no user interaction and
    /// no refresh token (a new token is simply requested). Microsoft 365 only.
    ClientCredentials,
    /// JWT bearer (RFC 7523 §2.1): a service account signs an assertion naming the mailbox
    /// to act as; no user interaction, no refresh token. Google Workspace. The grant is a
    /// [`JwtBearerGrant`](super::JwtBearerGrant) (the key and the subject), used with
    /// [`TokenClient::jwt_bearer`](super::TokenClient::jwt_bearer).
    JwtBearer,
}

impl Flow {
    /// The wire name: `authorization_code` or `client_credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::JwtBearer => "jwt_bearer",
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flow {
    type Err = ProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "client_credentials" => Ok(Self::ClientCredentials),
            "jwt_bearer" => Ok(Self::JwtBearer),
            _ => Err(ProfileError::UnknownFlow {
                value: s.chars().take(40).collect(),
            }),
        }
    }
}

/// The raw, unchecked fields of a profile as an administrator entered them (or as a
/// [`Preset`](super::Preset) filled them in). Turn them into an [`OAuth2Profile`] with
/// [`OAuth2Profile::new`]. `Debug` redacts the client secret.
#[derive(Clone, Debug)]
pub struct ProfileSettings {
    /// The provider's authorization endpoint (required for the authorization code flow).
    /// It may carry fixed query parameters (Google: `access_type=offline&prompt=consent`);
    /// they are kept.
    pub authorization_url: Option<String>,
    /// The provider's token endpoint.
    pub token_url: String,
    /// Where the provider sends the browser back (required for the authorization code flow);
    /// normally `public_url` + `/v1/oauth2/callback`.
    pub redirect_url: Option<String>,
    /// The client (application) id registered at the provider.
    pub client_id: String,
    /// The client secret; may be empty for a public client using the authorization code
    /// flow, never for client credentials.
    pub client_secret: SecretString,
    /// Space-separated scopes.
    pub scope: String,
    /// The grant used to obtain tokens.
    pub flow: Flow,
}

/// A checked OAuth2 profile. Build it with [`OAuth2Profile::new`]; use it with
/// [`OAuth2Profile::authorization_request`] and a [`TokenClient`](super::TokenClient).
/// `Debug` redacts the client secret.
#[derive(Clone, Debug)]
pub struct OAuth2Profile {
    authorization_url: Option<Url>,
    token_url: Url,
    redirect_url: Option<Url>,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    flow: Flow,
}

impl OAuth2Profile {
    /// Checks `settings`: the authorization and token URLs must be absolute `https` URLs
    /// (plain `http` only to a loopback host, for local testing); the redirect URL must be
    /// an absolute `http(s)` URL; the authorization code flow needs an authorization URL and
    /// a redirect URL; client credentials need a client secret; the client id must be
    /// non-empty printable text; the scope must hold at least one RFC 6749 scope token.
    pub fn new(settings: ProfileSettings) -> Result<Self, ProfileError> {
        let ProfileSettings {
            authorization_url,
            token_url,
            redirect_url,
            client_id,
            client_secret,
            scope,
            flow,
        } = settings;

        let token_url = provider_url("token_url", &token_url)?;
        let authorization_url = authorization_url
            .filter(|url| !url.trim().is_empty())
            .map(|url| provider_url("authorization_url", &url))
            .transpose()?;
        let redirect_url = redirect_url
            .filter(|url| !url.trim().is_empty())
            .map(|url| redirect(&url))
            .transpose()?;
        if flow == Flow::AuthorizationCode {
            if authorization_url.is_none() {
                return Err(ProfileError::MissingForFlow {
                    field: "authorization_url",
                    flow,
                });
            }
            if redirect_url.is_none() {
                return Err(ProfileError::MissingForFlow {
                    field: "redirect_url",
                    flow,
                });
            }
        }
        check_client_id(&client_id)?;
        if flow == Flow::ClientCredentials && client_secret.is_empty() {
            return Err(ProfileError::MissingForFlow {
                field: "client_secret",
                flow,
            });
        }
        let scopes = parse_scope(&scope)?;
        Ok(Self {
            authorization_url,
            token_url,
            redirect_url,
            client_id,
            client_secret,
            scopes,
            flow,
        })
    }

    /// The grant this profile uses.
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// The authorization endpoint (always present for the authorization code flow).
    pub fn authorization_url(&self) -> Option<&Url> {
        self.authorization_url.as_ref()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The redirect URL (always present for the authorization code flow).
    pub fn redirect_url(&self) -> Option<&Url> {
        self.redirect_url.as_ref()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret (empty for a public client).
    pub fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// The scopes, in the order given.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The scopes joined with single spaces, as sent on the wire.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Parses an endpoint of the provider: absolute, `https` unless the host is loopback.
pub(super) fn provider_url(field: &'static str, raw: &str) -> Result<Url, ProfileError> {
    let url = absolute_url(field, raw)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(ProfileError::InsecureUrl { field }),
    }
}

/// Parses the redirect URL: our own callback, `http` or `https`.
fn redirect(raw: &str) -> Result<Url, ProfileError> {
    let field = "redirect_url";
    let url = absolute_url(field, raw)?;
    match url.scheme() {
        "https" | "http" => Ok(url),
        _ => Err(ProfileError::InsecureUrl { field }),
    }
}

fn absolute_url(field: &'static str, raw: &str) -> Result<Url, ProfileError> {
    let url = Url::parse(raw.trim()).map_err(|e| ProfileError::InvalidUrl {
        field,
        reason: e.to_string(),
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ProfileError::InvalidUrl {
            field,
            reason: "it has no host".to_owned(),
        });
    }
    if url.fragment().is_some() {
        return Err(ProfileError::InvalidUrl {
            field,
            reason: "it must not have a #fragment".to_owned(),
        });
    }
    Ok(url)
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn check_client_id(client_id: &str) -> Result<(), ProfileError> {
    let reason = if client_id.is_empty() {
        Some("it is empty")
    } else if client_id.len() > MAX_CLIENT_ID_LEN {
        Some("it is longer than 255 bytes")
    } else if client_id
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        Some("it contains white space or control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ProfileError::InvalidClientId { reason }),
        None => Ok(()),
    }
}

/// Splits a space-separated scope and checks each token against RFC 6749 §3.3
/// (`%x21 / %x23-5B / %x5D-7E`).
pub(super) fn parse_scope(scope: &str) -> Result<Vec<String>, ProfileError> {
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() {
        return Err(ProfileError::EmptyScope);
    }
    if let Some(bad) = scopes.iter().find(|token| {
        !token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    }) {
        return Err(ProfileError::InvalidScope {
            token: bad.chars().take(80).collect(),
        });
    }
    Ok(scopes)
}

/// Why profile settings were refused. Each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A URL field does not parse as an absolute URL with a host.
    #[error("{field} is not a valid absolute URL: {reason}")]
    InvalidUrl {
        /// The field name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A provider URL is not `https` (plain `http` is accepted only for loopback hosts).
    #[error("{field} must use https (plain http is accepted only for a loopback host)")]
    InsecureUrl {
        /// The field name.
        field: &'static str,
    },
    /// A field the flow needs is absent or empty.
    #[error("{field} is required for the {flow} flow")]
    MissingForFlow {
        /// The field name.
        field: &'static str,
        /// The profile's flow.
        flow: Flow,
    },
    /// The client id is empty, too long or has white space / control characters.
    #[error("client_id is invalid: {reason}")]
    InvalidClientId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The scope holds no scope token.
    #[error("scope is empty: give at least one space-separated scope")]
    EmptyScope,
    /// A scope token has characters RFC 6749 §3.3 does not allow (quotes, backslashes,
    /// non-ASCII).
    #[error("scope token {token:?} has characters RFC 6749 does not allow")]
    InvalidScope {
        /// The offending token (at most 80 characters).
        token: String,
    },
    /// The JWT bearer subject (the mailbox to impersonate) is not an e-mail address.
    #[error("subject must be the e-mail address of the mailbox to impersonate")]
    InvalidSubject,
    /// The flow name is not `authorization_code`, `client_credentials` or `jwt_bearer`.
    #[error("flow {value:?} is unknown: use authorization_code, client_credentials or jwt_bearer")]
    UnknownFlow {
        /// The given value (at most 40 characters).
        value: String,
    },
    /// A preset that needs a tenant was given none, or an invalid one.
    #[error("tenant is invalid: {reason}")]
    InvalidTenant {
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn settings(flow: Flow) -> ProfileSettings {
        ProfileSettings {
            authorization_url: Some("https://idp.example/authorize".to_owned()),
            token_url: "https://idp.example/token".to_owned(),
            redirect_url: Some("https://sae.example/v1/oauth2/callback".to_owned()),
            client_id: "client-1".to_owned(),
            client_secret: SecretString::from("s3cret"),
            scope: "a b".to_owned(),
            flow,
        }
    }

    #[test]
    fn valid_settings_are_accepted() {
        let profile = OAuth2Profile::new(settings(Flow::AuthorizationCode)).expect("valid");
        assert_eq!(profile.scopes(), ["a", "b"]);
        assert_eq!(profile.scope(), "a b");
        assert_eq!(profile.flow(), Flow::AuthorizationCode);
    }

    #[test]
    fn invalid_settings_are_refused_with_the_field() {
        type Edit = fn(&mut ProfileSettings);
        let rows: &[(&str, Flow, Edit, &str)] = &[
            (
                "token_url not a URL",
                Flow::AuthorizationCode,
                |s| s.token_url = "nope".into(),
                "token_url",
            ),
            (
                "token_url plain http",
                Flow::AuthorizationCode,
                |s| s.token_url = "http://idp.example/t".into(),
                "token_url must use https",
            ),
            (
                "authorization_url ftp",
                Flow::AuthorizationCode,
                |s| s.authorization_url = Some("ftp://idp.example/a".into()),
                "authorization_url must use https",
            ),
            (
                "authorization_url fragment",
                Flow::AuthorizationCode,
                |s| s.authorization_url = Some("https://idp.example/a#x".into()),
                "fragment",
            ),
            (
                "no authorization_url",
                Flow::AuthorizationCode,
                |s| s.authorization_url = None,
                "authorization_url is required",
            ),
            (
                "blank redirect_url",
                Flow::AuthorizationCode,
                |s| s.redirect_url = Some(" ".into()),
                "redirect_url is required",
            ),
            (
                "empty client_id",
                Flow::AuthorizationCode,
                |s| s.client_id = String::new(),
                "client_id",
            ),
            (
                "client_id with space",
                Flow::AuthorizationCode,
                |s| s.client_id = "a b".into(),
                "client_id",
            ),
            (
                "empty scope",
                Flow::AuthorizationCode,
                |s| s.scope = "  ".into(),
                "scope is empty",
            ),
            (
                "scope with quote",
                Flow::AuthorizationCode,
                |s| s.scope = "a \"b\"".into(),
                "scope token",
            ),
            (
                "scope non-ascii",
                Flow::AuthorizationCode,
                |s| s.scope = "é".into(),
                "scope token",
            ),
            (
                "client credentials without secret",
                Flow::ClientCredentials,
                |s| s.client_secret = SecretString::default(),
                "client_secret is required",
            ),
        ];
        for (name, flow, edit, expected) in rows {
            let mut s = settings(*flow);
            edit(&mut s);
            let err = OAuth2Profile::new(s).expect_err(name);
            assert!(err.to_string().contains(expected), "row {name}: got {err}");
        }
    }

    #[test]
    fn loopback_http_is_accepted_for_local_tests() {
        for host in ["127.0.0.1", "127.8.9.1", "[::1]", "localhost", "LocalHost"] {
            let mut s = settings(Flow::ClientCredentials);
            s.token_url = format!("http://{host}:8080/token");
            assert!(OAuth2Profile::new(s).is_ok(), "row {host}");
        }
        let mut s = settings(Flow::ClientCredentials);
        s.token_url = "http://10.0.0.1/token".into();
        assert!(
            OAuth2Profile::new(s).is_err(),
            "row 10.0.0.1 must need https"
        );
    }

    #[test]
    fn public_client_without_secret_is_allowed_for_authorization_code() {
        let mut s = settings(Flow::AuthorizationCode);
        s.client_secret = SecretString::default();
        assert!(OAuth2Profile::new(s).is_ok());
    }

    #[test]
    fn debug_redacts_the_client_secret() {
        let s = settings(Flow::ClientCredentials);
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let profile = OAuth2Profile::new(s).expect("valid");
        let shown = format!("{profile:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn flow_round_trips_through_its_name() {
        for flow in [
            Flow::AuthorizationCode,
            Flow::ClientCredentials,
            Flow::JwtBearer,
        ] {
            assert_eq!(flow.as_str().parse::<Flow>(), Ok(flow), "row {flow}");
        }
        assert!("implicit".parse::<Flow>().is_err());
    }
}
