//! Which mailbox a new token is for, when the provider did not say (no OpenID id_token):
//! SAE authenticates with it as the mailbox the profile's accounts use — SMTP AUTH XOAUTH2
//! as the SMTP account's username, else a log-in as the inbound account's username — and a
//! refusal is the same "authorised for X, not Y" state as a mismatched id_token: the token
//! is kept from use and the profile needs a new authorisation. A server that cannot be
//! reached proves nothing either way: the profile stays as it is and the outcome is logged.
//!
//! A service account (`jwt_bearer`) names its mailbox itself (`subject`); it is compared
//! with the accounts' mailbox without a log-in.

use delivery::email::oauth2::{MailboxVerification, Token, verify_mailbox};
use delivery::email::{SecretString, inbound, smtp};

use super::AppState;
use super::error::ServiceError;
use crate::outbox::email::{Tokens, account_from_row};
use crate::store::oauth2::ProfileRow;

/// An account of the profile, and the mailbox it logs in as.
enum Login {
    Smtp(crate::store::smtp::AccountRow),
    Inbound(crate::store::inbound::InboundRow),
}

impl Login {
    fn username(&self) -> Option<&str> {
        match self {
            Self::Smtp(a) => a.username.as_deref(),
            Self::Inbound(a) => Some(a.username.as_str()),
        }
    }
}

/// The first SMTP account authenticating with profile `id`, else its first inbound one.
async fn login_of(state: &AppState, id: i64) -> Result<Option<Login>, ServiceError> {
    state
        .store
        .read(move |c| {
            let smtp = c
                .accounts_page(0, i64::MAX)?
                .into_iter()
                .find(|a| a.oauth2_profile_id == Some(id) && a.auth == "oauth2");
            if let Some(a) = smtp {
                return Ok::<_, ServiceError>(Some(Login::Smtp(a)));
            }
            Ok(c.inbound_page(0, i64::MAX)?
                .into_iter()
                .find(|a| a.oauth2_profile_id == Some(id) && a.auth == "oauth2")
                .map(Login::Inbound))
        })
        .await
}

/// The "authorised for X, not Y" text for a token the provider gave without naming its
/// mailbox (`claimed` is what the administrator was asked to sign in as, if anything),
/// checked by authenticating with it as the profile's account; `None` when the server
/// accepted it, when no account uses the profile yet, or when the server could not say.
pub async fn by_login(
    state: &AppState,
    id: i64,
    token: &Token,
    claimed: Option<&str>,
) -> Result<Option<String>, ServiceError> {
    let Some(login) = login_of(state, id).await? else {
        return Ok(None);
    };
    let Some(expected) = login.username().map(str::to_owned) else {
        return Ok(None);
    };
    let access: SecretString = token.access_token().clone();
    let refused = match &login {
        Login::Smtp(row) => {
            let account = account_from_row(&*state.ring()?, row)?;
            match smtp::authenticate(&account, Some(&access)).await {
                Ok(()) => None,
                Err(e) if e.is_authentication() => Some(e.to_string()),
                Err(e) => {
                    tracing::warn!(profile = id, error = %e, "mailbox check: the SMTP server could not be asked");
                    None
                }
            }
        }
        Login::Inbound(row) => {
            let account = super::inbound::account_from_row(&*state.ring()?, row)
                .map_err(|e| ServiceError::internal("an inbound account", e))?;
            match inbound::test(&account, Some(&access)).await {
                Ok(_) => None,
                Err(e) if e.is_authentication() => Some(e.to_string()),
                Err(e) => {
                    tracing::warn!(profile = id, error = %e, "mailbox check: the mail server could not be asked");
                    None
                }
            }
        }
    };
    Ok(refused.map(|server| {
        let who = claimed
            .filter(|c| !c.eq_ignore_ascii_case(&expected))
            .unwrap_or("another mailbox");
        format!("authorised for {who}, not {expected}: the server refused the token for {expected} ({server})")
    }))
}

/// A service account's subject compared with the mailbox of the profile's accounts.
async fn by_subject(
    state: &AppState,
    id: i64,
    subject: &str,
) -> Result<Option<String>, ServiceError> {
    let Some(login) = login_of(state, id).await? else {
        return Ok(None);
    };
    Ok(login
        .username()
        .and_then(|expected| match verify_mailbox(expected, subject) {
            MailboxVerification::Verified => None,
            wrong => Some(wrong.to_string()),
        }))
}

/// Marks profile `id` as authorised for the wrong mailbox: its token is kept from use.
pub async fn mark_wrong(state: &AppState, id: i64, text: String) -> Result<(), ServiceError> {
    state
        .store
        .write(move |c| Ok::<_, ServiceError>(c.profile_token_failed(id, &text, true)?))
        .await
}

/// "Renew authorization" of a profile without a browser step (client credentials, a
/// service account): obtains a token now and checks its mailbox. A refusal by the
/// provider is recorded on the profile (its `last_error`), not answered as an error.
pub async fn obtain_now(state: &AppState, row: &ProfileRow) -> Result<(), ServiceError> {
    let tokens = Tokens::new(state.outbox())?;
    let token = match tokens.obtain(row).await {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(profile = row.id, error = %e, "token request refused");
            return Ok(());
        }
    };
    let wrong = match &row.subject {
        Some(subject) => by_subject(state, row.id, subject).await?,
        None => by_login(state, row.id, &token, None).await?,
    };
    if let Some(text) = wrong {
        mark_wrong(state, row.id, text).await?;
    }
    Ok(())
}
