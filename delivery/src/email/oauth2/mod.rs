//! OAuth2 for mail accounts: profiles, provider presets, the authorization code + PKCE
//! request, token requests and the refresh rule; the JWT bearer grant of service accounts
//! ([`JwtBearerGrant`]); which mailbox a token is for ([`IdTokenClaims`],
//! [`verify_mailbox`]).
//!
//! Pure parts (profile checks, presets, PKCE, answer parsing, [`needs_refresh`]) are
//! separate from the one type that does HTTP, [`TokenClient`].

mod authorize;
mod client;
mod error;
mod jwt_bearer;
mod mailbox;
mod presets;
mod profile;
mod token;

pub use authorize::{AuthorizationRequest, pkce_challenge};
pub use client::{DEFAULT_TOKEN_TIMEOUT, TokenClient};
pub use error::OAuth2Error;
pub use jwt_bearer::{
    ASSERTION_LIFETIME_SECS, JWT_BEARER_GRANT_TYPE, JwtBearerGrant, ServiceAccountError,
    ServiceAccountKey,
};
pub use mailbox::{IdTokenClaims, IdTokenError, MailboxVerification, verify_mailbox};
pub use presets::{
    GOOGLE_AUTHORIZATION_CODE, MICROSOFT_365_AUTHORIZATION_CODE, MICROSOFT_365_CLIENT_CREDENTIALS,
    PRESETS, Preset, preset,
};
pub use profile::{Flow, OAuth2Profile, ProfileError, ProfileSettings};
pub use token::{REFRESH_MARGIN_SECS, Token, needs_refresh};
