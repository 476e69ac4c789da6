//! `GET /v1/oauth2/callback`: the provider sends the administrator's browser back with a
//! code; SAE exchanges it, checks which mailbox the token is for and stores it sealed.

use delivery::email::SecretString as MailSecret;
use serde::Deserialize;

use super::AppState;
use super::audit::Audit;
use super::error::ServiceError;
use crate::outbox::email::{Tokens, ctx_pkce};

/// The provider's redirect back to SAE.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The one-time state of the pending authorization.
    pub state: Option<String>,
    /// The provider's error code.
    pub error: Option<String>,
    /// The provider's error text.
    pub error_description: Option<String>,
}

/// What the callback page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOutcome {
    /// Whether the profile is now authorised.
    pub ok: bool,
    /// What to tell the administrator.
    pub text: String,
}

fn failed(text: impl Into<String>) -> CallbackOutcome {
    CallbackOutcome {
        ok: false,
        text: text.into(),
    }
}

/// The OAuth2 provider redirects the administrator's browser here. No API key: the
/// one-time `state` authenticates the call. Exchanges the code, stores the tokens sealed.
pub async fn callback(
    state: &AppState,
    query: CallbackQuery,
) -> Result<CallbackOutcome, ServiceError> {
    let Some(oauth_state) = query.state.clone() else {
        return Ok(failed("The provider's answer has no state."));
    };
    let now = state.now();
    let pending = state
        .store
        .write(move |c| Ok::<_, ServiceError>(c.pending_take(&oauth_state, now.secs())?))
        .await?;
    let Some(pending) = pending else {
        return Ok(failed(
            "Unknown or expired authorization request: start again from the profile.",
        ));
    };
    let id = pending.profile_id;
    if let Some(error) = &query.error {
        let text = format!(
            "the provider refused the authorization: {error}: {}",
            query.error_description.as_deref().unwrap_or("")
        );
        let stored = text.clone();
        state
            .store
            .write(move |c| Ok::<_, ServiceError>(c.profile_token_failed(id, &stored, false)?))
            .await?;
        return Ok(failed(text));
    }
    let Some(code) = query.code.as_deref() else {
        return Ok(failed("The provider's answer has no code."));
    };
    let tokens = Tokens::new(state.outbox())?;
    let (profile, _) = tokens.load(id).await?;
    let verifier = state
        .ring()?
        .open_string(&ctx_pkce(&pending.state), &pending.pkce_verifier_enc)?;
    let verifier = MailSecret::new(verifier.as_str().to_owned());
    let result = tokens
        .client()
        .exchange_code(&profile, code, &verifier, now.core_secs())
        .await;
    let (mailbox, wrong, named) = match &result {
        Ok(token) => {
            super::oauth2_refresh::mailbox_of(state, id, token, pending.login_hint).await?
        }
        Err(_) => (pending.login_hint, None, true),
    };
    let recorded = tokens.record(id, result, Some(mailbox.clone())).await;
    // No id_token named the mailbox: ask the account's server whether it takes the token.
    let wrong = match (&recorded, wrong, named) {
        (Ok(token), None, false) => {
            super::oauth2_verify::by_login(state, id, token, mailbox.as_deref()).await?
        }
        (_, wrong, _) => wrong,
    };
    let recorded = match (recorded, wrong) {
        // A token for another mailbox is kept from use: the profile needs a new authorisation.
        (Ok(_), Some(text)) => {
            super::oauth2_verify::mark_wrong(state, id, text.clone()).await?;
            Err(text)
        }
        (r, _) => r.map(|_| ()).map_err(|e| e.to_string()),
    };
    Audit::new("oauth2:callback", "oauth2.profile.authorized", now)
        .subject(id.to_string())
        .outcome(match &recorded {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("rejected:{e}"),
        })
        .record(state)
        .await?;
    Ok(match recorded {
        Ok(_) => CallbackOutcome {
            ok: true,
            text: match mailbox {
                Some(m) => format!("The profile is authorised for {m}. You can close this page."),
                None => "The profile is authorised. You can close this page.".to_owned(),
            },
        },
        Err(e) => failed(e),
    })
}
