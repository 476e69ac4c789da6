//! The authorization code + PKCE (RFC 7636, S256) request: URL, state and verifier.

use data_encoding::BASE64URL_NOPAD;
use rand::TryCryptoRng;
use reqwest::Url;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::OAuth2Error;
use super::profile::{Flow, OAuth2Profile};
use crate::SecretString;

/// Random bytes in a PKCE verifier: 32 bytes give the 43-character verifier RFC 7636 §4.1
/// recommends (256 bits of entropy).
const VERIFIER_BYTES: usize = 32;

/// Random bytes in the `state` parameter (128 bits).
const STATE_BYTES: usize = 16;

/// An authorization request ready to be opened in the administrator's browser.
///
/// The caller stores [`state`](Self::state) and [`pkce_verifier`](Self::pkce_verifier)
/// server-side (keyed by state, with the profile id and an expiry) and redirects the
/// browser to [`url`](Self::url). When the provider calls back with `code` and `state`,
/// the caller looks the state up and calls
/// [`TokenClient::exchange_code`](super::TokenClient::exchange_code) with the stored
/// verifier. `Debug` redacts the verifier.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    url: Url,
    state: String,
    pkce_verifier: SecretString,
}

impl AuthorizationRequest {
    /// The provider URL to open.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The anti-CSRF `state` sent in the URL; the callback must bring it back.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The PKCE verifier; never leaves the server until the code exchange.
    pub fn pkce_verifier(&self) -> &SecretString {
        &self.pkce_verifier
    }

    /// Splits the request into (URL, state, verifier).
    pub fn into_parts(self) -> (Url, String, SecretString) {
        (self.url, self.state, self.pkce_verifier)
    }
}

impl OAuth2Profile {
    /// Builds the authorization URL with a fresh `state` and PKCE S256 challenge drawn from
    /// `rng` (any crypto RNG; `rand::rngs::SysRng` reads the OS directly). The URL keeps the
    /// profile's own query parameters (e.g. Google's `access_type=offline&prompt=consent`)
    /// and adds `response_type=code`, `client_id`, `redirect_uri`, `scope`, `state`,
    /// `code_challenge`, `code_challenge_method=S256` and, when given, `login_hint` (the
    /// mailbox the profile is meant for, so the administrator signs in as that mailbox).
    pub fn authorization_request<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        login_hint: Option<&str>,
    ) -> Result<AuthorizationRequest, OAuth2Error> {
        let wrong_flow = OAuth2Error::WrongFlow {
            operation: "an authorization request",
            flow: self.flow(),
        };
        if self.flow() != Flow::AuthorizationCode {
            return Err(wrong_flow);
        }
        // Both are present for the authorization code flow (checked by `OAuth2Profile::new`).
        let (Some(authorization_url), Some(redirect_url)) =
            (self.authorization_url(), self.redirect_url())
        else {
            return Err(wrong_flow);
        };
        let state = random_token::<R, STATE_BYTES>(rng)?;
        let verifier = random_token::<R, VERIFIER_BYTES>(rng)?;
        let mut url = authorization_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client_id())
                .append_pair("redirect_uri", redirect_url.as_str())
                .append_pair("scope", &self.scope())
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
                query.append_pair("login_hint", hint);
            }
        }
        Ok(AuthorizationRequest {
            url,
            state: state.to_string(),
            pkce_verifier: SecretString::new(verifier.to_string()),
        })
    }

    /// [`authorization_request`](Self::authorization_request) with the operating system's
    /// random number generator.
    pub fn authorization_request_os(
        &self,
        login_hint: Option<&str>,
    ) -> Result<AuthorizationRequest, OAuth2Error> {
        self.authorization_request(&mut rand::rngs::SysRng, login_hint)
    }
}

/// The PKCE S256 challenge of `verifier`: `BASE64URL-NOPAD(SHA-256(verifier))`
/// (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

/// `N` random bytes, base64url-encoded without padding (only unreserved URL characters).
fn random_token<R: TryCryptoRng + ?Sized, const N: usize>(
    rng: &mut R,
) -> Result<Zeroizing<String>, OAuth2Error> {
    let mut bytes = Zeroizing::new([0u8; N]);
    rng.try_fill_bytes(bytes.as_mut())
        .map_err(|e| OAuth2Error::Randomness {
            reason: e.to_string(),
        })?;
    Ok(Zeroizing::new(BASE64URL_NOPAD.encode(bytes.as_ref())))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::email::oauth2::{GOOGLE_AUTHORIZATION_CODE, ProfileSettings};
    use rand::SeedableRng;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        let rows = [(
            "RFC 7636 Appendix B",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )];
        for (name, verifier, challenge) in rows {
            assert_eq!(pkce_challenge(verifier), challenge, "row {name}");
        }
    }

    fn google() -> OAuth2Profile {
        let settings = GOOGLE_AUTHORIZATION_CODE
            .settings(
                None,
                "cid".into(),
                "secret".into(),
                Some("https://sae.example/cb".into()),
            )
            .expect("preset");
        OAuth2Profile::new(settings).expect("valid")
    }

    #[test]
    fn url_carries_pkce_state_and_keeps_the_preset_query() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let request = google()
            .authorization_request(&mut rng, Some("mailbox@example.com"))
            .expect("request");
        let pairs: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("access_type"), Some("offline"));
        assert_eq!(get("prompt"), Some("consent"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("cid"));
        assert_eq!(get("redirect_uri"), Some("https://sae.example/cb"));
        assert_eq!(get("scope"), Some("https://mail.google.com/"));
        assert_eq!(get("state"), Some(request.state()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("login_hint"), Some("mailbox@example.com"));
        let challenge = pkce_challenge(request.pkce_verifier().expose());
        assert_eq!(get("code_challenge"), Some(challenge.as_str()));
        assert_eq!(request.pkce_verifier().expose().len(), 43);
        assert_eq!(request.state().len(), 22);
        assert!(!format!("{request:?}").contains(request.pkce_verifier().expose()));
    }

    #[test]
    fn two_requests_differ() {
        let profile = google();
        let a = profile.authorization_request_os(None).expect("a");
        let b = profile.authorization_request_os(None).expect("b");
        assert_ne!(a.state(), b.state());
        assert_ne!(a.pkce_verifier().expose(), b.pkce_verifier().expose());
    }

    #[test]
    fn client_credentials_profiles_have_no_authorization_request() {
        let profile = OAuth2Profile::new(ProfileSettings {
            authorization_url: None,
            token_url: "https://idp.example/token".into(),
            redirect_url: None,
            client_id: "c".into(),
            client_secret: "s".into(),
            scope: "x".into(),
            flow: Flow::ClientCredentials,
        })
        .expect("valid");
        let err = profile
            .authorization_request_os(None)
            .expect_err("no request");
        assert!(matches!(err, OAuth2Error::WrongFlow { .. }), "{err}");
    }
}
