//! OAuth2 token health: every node refreshes, ahead of expiry, the tokens of the profiles
//! whose refresh slot it can take (one node per profile), so a token stays fresh without
//! any mail being sent; the client secret's expiry warning; the mailbox check after an
//! authorisation. (The token state in `/metrics` is in [`super::metrics`].)

use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use super::error::ServiceError;
use delivery::email::oauth2::{IdTokenClaims, MailboxVerification, Token, verify_mailbox};

use crate::clock::UnixTime;
use crate::outbox::email::Tokens;

/// A token is refreshed in the background once fewer than this many seconds remain (the
/// send path refreshes at 5 minutes; the background starts earlier).
pub const REFRESH_AHEAD_S: i64 = 600;
/// How long a node holds a profile's refresh slot at most.
const SLOT_S: i64 = 120;
/// How often a node looks for tokens due for refresh.
const POLL: Duration = Duration::from_secs(30);
/// How long before the client secret expires its profile warns.
pub const SECRET_WARNING_S: i64 = 30 * 86_400;

/// The warning about the client secret's expiry, from 30 days ahead.
pub fn secret_warning(expires_at: Option<i64>, now: UnixTime) -> Option<String> {
    let at = expires_at?;
    let when = UnixTime::from_secs(at).rfc3339();
    let left = at - now.secs();
    if left <= 0 {
        Some(format!(
            "client_secret_expires_at: the client secret expired at {when}; create a new one at the provider and enter it here"
        ))
    } else if left <= SECRET_WARNING_S {
        Some(format!(
            "client_secret_expires_at: the client secret expires at {when} (in {} days); create a new one at the provider and enter it here",
            (left + 86_399) / 86_400
        ))
    } else {
        None
    }
}

/// Refreshes every token due for refresh whose slot this node takes. Returns how many
/// it refreshed (successfully or not: the outcome is recorded on the profile).
pub async fn refresh_due(state: &AppState) -> Result<usize, ServiceError> {
    let now = state.now().secs();
    let before = now + REFRESH_AHEAD_S;
    let due = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.profiles_due_refresh(before, now)?))
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let tokens =
        Tokens::new(state.outbox()).map_err(|e| ServiceError::internal("token client", e))?;
    let mut refreshed = 0;
    for id in due {
        let taken = state
            .store
            .write(move |c| {
                Ok::<_, ServiceError>(c.profile_take_refresh(id, before, now, now + SLOT_S)?)
            })
            .await?;
        if !taken {
            continue;
        }
        refreshed += 1;
        if let Err(e) = tokens.access_token(id, true).await {
            tracing::warn!(profile = id, error = %e, "background token refresh failed");
        }
        state
            .store
            .write(move |c| Ok::<_, ServiceError>(c.profile_release_refresh(id)?))
            .await?;
    }
    Ok(refreshed)
}

/// Refreshes tokens ahead of expiry until the process ends.
pub async fn run(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = refresh_due(&state).await {
            tracing::warn!(error = %e, "looking for tokens to refresh failed");
        }
    }
}

/// After an authorisation: the mailbox the token is for — the `email` of the OpenID
/// id_token when the provider sent one (scope `openid`), else the login hint the
/// authorisation was started with — and, when the id_token names another mailbox than the
/// one the profile's SMTP account uses, the "authorised for b@…, not a@…" text; and
/// whether the provider named the mailbox (else [`super::oauth2_verify::by_login`] asks
/// the account's server).
pub async fn mailbox_of(
    state: &AppState,
    id: i64,
    token: &Token,
    login_hint: Option<String>,
) -> Result<(Option<String>, Option<String>, bool), ServiceError> {
    let from_id_token = token
        .id_token()
        .and_then(|t| IdTokenClaims::parse(t.expose()).ok())
        .and_then(|c| c.mailbox().map(str::to_owned));
    let Some(authorised) = from_id_token else {
        return Ok((login_hint, None, false));
    };
    let expected = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.profile_mailbox(id)?))
        .await?;
    let wrong = expected.and_then(|e| match verify_mailbox(&e, &authorised) {
        MailboxVerification::Verified => None,
        wrong => Some(wrong.to_string()),
    });
    Ok((Some(authorised), wrong, true))
}
