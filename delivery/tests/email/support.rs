//! Fixtures shared by the e-mail tests: profiles and accounts pointing at the peers, the
//! authorization code dance, and a token provider like the server's (minus the database).

use std::sync::atomic::{AtomicUsize, Ordering};

use delivery::email::oauth2::{
    Flow, OAuth2Error, OAuth2Profile, ProfileSettings, Token, TokenClient,
};
use delivery::email::{
    SecretString, Security, SmtpAccount, SmtpAccountSettings, SmtpAuth, TokenProvider, TokenRequest,
};
use tokio::sync::Mutex;

use crate::peers::{CLIENT_ID, CLIENT_SECRET, OAuthPeer, REDIRECT_URI, now};

/// The mailbox the tokens are issued for.
pub const MAILBOX: &str = "mailbox@sae.test";

pub fn token_client() -> TokenClient {
    TokenClient::new(std::time::Duration::from_secs(10)).expect("token client")
}

pub fn client_credentials_profile(oauth: &OAuthPeer) -> OAuth2Profile {
    OAuth2Profile::new(ProfileSettings {
        authorization_url: None,
        token_url: oauth.url("/token"),
        redirect_url: None,
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scope: "https://outlook.office365.com/.default".into(),
        flow: Flow::ClientCredentials,
    })
    .expect("valid profile")
}

pub fn authorization_code_profile(oauth: &OAuthPeer) -> OAuth2Profile {
    OAuth2Profile::new(ProfileSettings {
        // Fixed parameters like Google's preset, to prove they survive.
        authorization_url: Some(oauth.url("/authorize?access_type=offline&prompt=consent")),
        token_url: oauth.url("/token"),
        redirect_url: Some(REDIRECT_URI.into()),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scope: "https://outlook.office.com/SMTP.Send offline_access".into(),
        flow: Flow::AuthorizationCode,
    })
    .expect("valid profile")
}

/// The whole "renew authorization" flow: URL → browser (auto-approved) → callback → code
/// exchange with the PKCE verifier. Returns the token for `login_hint`'s mailbox.
pub async fn authorize(oauth: &OAuthPeer, profile: &OAuth2Profile, login_hint: &str) -> Token {
    let request = profile
        .authorization_request_os(Some(login_hint))
        .expect("authorization request");
    let location = oauth.follow_authorize(request.url().as_str()).await;
    let callback: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let get = |k: &str| {
        callback
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(location.as_str().split('?').next(), Some(REDIRECT_URI));
    assert_eq!(
        get("state").as_deref(),
        Some(request.state()),
        "state must come back"
    );
    let code = get("code").expect("code in the callback");
    token_client()
        .exchange_code(profile, &code, request.pkce_verifier(), now())
        .await
        .expect("code exchange")
}

/// An XOAUTH2 account on the SMTP peer at `port`.
pub fn oauth_account(name: &str, port: u16, username: &str) -> SmtpAccount {
    let mut s = SmtpAccountSettings::new(name, "127.0.0.1", "SAE <sae@sae.test>");
    s.port = port;
    s.security = Security::None;
    s.auth = SmtpAuth::OAuth2 {
        username: username.into(),
    };
    SmtpAccount::new(s).expect("valid account")
}

/// A plain-text account without AUTH on port `port`.
pub fn plain_account(name: &str, port: u16) -> SmtpAccountSettings {
    let mut s = SmtpAccountSettings::new(name, "127.0.0.1", "SAE <sae@sae.test>");
    s.port = port;
    s.security = Security::None;
    s
}

/// What the server does with its store, kept in memory: one profile, one token.
pub struct ProfileTokens {
    client: TokenClient,
    profile: OAuth2Profile,
    token: Mutex<Option<Token>>,
    renewals: AtomicUsize,
}

impl ProfileTokens {
    pub fn new(profile: OAuth2Profile, token: Option<Token>) -> Self {
        Self {
            client: token_client(),
            profile,
            token: Mutex::new(token),
            renewals: AtomicUsize::new(0),
        }
    }

    /// How many times a new token was requested.
    pub fn renewals(&self) -> usize {
        self.renewals.load(Ordering::SeqCst)
    }

    /// The stored token.
    pub async fn token(&self) -> Option<Token> {
        self.token.lock().await.clone()
    }
}

impl TokenProvider for ProfileTokens {
    type Error = OAuth2Error;

    async fn access_token(
        &self,
        _account: &SmtpAccount,
        request: TokenRequest,
    ) -> Result<SecretString, OAuth2Error> {
        let mut stored = self.token.lock().await;
        let now = now();
        let stale = stored.as_ref().is_none_or(|t| t.needs_refresh(now));
        if request == TokenRequest::Refreshed || stale {
            let fresh = self
                .client
                .renew(&self.profile, stored.as_ref(), now)
                .await?;
            self.renewals.fetch_add(1, Ordering::SeqCst);
            *stored = Some(fresh);
        }
        Ok(stored
            .as_ref()
            .expect("token stored above")
            .access_token()
            .clone())
    }
}
