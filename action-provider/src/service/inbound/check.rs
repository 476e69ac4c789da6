//! Checking inbound accounts: "test", "check now" and the automatic checks every node runs.
//!
//! A check takes the account's slot in the store (one conditional `UPDATE` with a random
//! token and a lease), fetches the messages after the stored position, scans them for
//! bounces, and then — in one transaction — applies the bounces, stores the new position
//! and frees the slot, but only while its token still holds the slot. So each message is
//! processed once across nodes and restarts: a node that dies mid-check commits nothing
//! and the next check (here or elsewhere, after the lease) fetches the same messages again;
//! a node whose lease ran out while another took over commits nothing either.

use std::sync::Arc;
use std::time::Duration;

use delivery::SecretString;
use delivery::email::inbound::bounce::scan;
use delivery::email::inbound::{
    Fetched, InboundAccount, InboundError, MailboxStatus, Position, fetch_new,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{account_from_row, load};
use crate::clock::UnixTime;
use crate::outbox::email::Tokens;
use crate::service::AppState;
use crate::service::bounces::{apply, plan};
use crate::service::caller::Caller;
use crate::service::error::{Conflict, ServiceError};
use crate::store::inbound::{CheckDone, InboundRow};

/// How often a node looks for accounts due for an automatic check.
const POLL: Duration = Duration::from_secs(5);
/// Shortest slot a check holds (the lease grows with the account's timeout).
const MIN_LEASE_S: i64 = 300;

/// The answer of "test".
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the login and the folder worked.
    pub ok: bool,
    /// The server's exact error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Messages in the folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u32>,
    /// Unseen messages (IMAP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unseen: Option<u32>,
    /// Size of the mailbox in octets (POP3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// The folder's UIDVALIDITY (IMAP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_validity: Option<u32>,
}

/// The answer of "check now".
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CheckResult {
    /// Whether the mailbox could be read.
    pub ok: bool,
    /// Messages fetched and processed.
    pub fetched: u32,
    /// Bounces and delay notices matched to a code mail.
    pub bounces: u32,
    /// Messages that were no bounce of a mail of SAE's.
    pub ignored: u32,
    /// Codes re-sent by SMS.
    pub sms_fallbacks: u32,
    /// The server's error, when the mailbox could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The OAuth2 access token of an account's profile (a fresh one when `force`).
async fn token_for(
    state: &AppState,
    row: &InboundRow,
    force: bool,
) -> Result<Option<SecretString>, String> {
    let Some(profile) = row.oauth2_profile_id.filter(|_| row.auth == "oauth2") else {
        return Ok(None);
    };
    let tokens = Tokens::new(state.outbox()).map_err(|e| e.to_string())?;
    tokens
        .access_token(profile, force)
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Runs `op` with the account's token; when the server refuses an OAuth2 token, once more
/// with a refreshed one.
async fn with_token<T, F, Fut>(state: &AppState, row: &InboundRow, op: F) -> Result<T, String>
where
    F: Fn(Option<SecretString>) -> Fut,
    Fut: Future<Output = Result<T, InboundError>>,
{
    let token = token_for(state, row, false).await?;
    let oauth2 = token.is_some();
    match op(token).await {
        Err(e) if oauth2 && e.is_authentication() => {
            let token = token_for(state, row, true).await?;
            op(token).await.map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

fn opened(state: &AppState, row: &InboundRow) -> Result<InboundAccount, String> {
    let ring = state.ring().map_err(|e| e.to_string())?;
    account_from_row(&ring, row)
}

/// "Test": logs in, opens the folder and reports its counts, or the server's error.
pub async fn test(state: &AppState, caller: &Caller, id: i64) -> Result<TestResult, ServiceError> {
    caller.require_admin()?;
    let row = load(state, id).await?;
    let result = match opened(state, &row) {
        Ok(account) => {
            let account = &account;
            with_token(state, &row, |token| async move {
                delivery::email::inbound::test(account, token.as_ref()).await
            })
            .await
        }
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(MailboxStatus {
            messages,
            unseen,
            size_bytes,
            uid_validity,
            ..
        }) => TestResult {
            ok: true,
            error: None,
            messages: Some(messages),
            unseen,
            size_bytes,
            uid_validity,
        },
        Err(error) => TestResult {
            ok: false,
            error: Some(error),
            messages: None,
            unseen: None,
            size_bytes: None,
            uid_validity: None,
        },
    })
}

/// "Check now": checks the account at once (active or not). 409 `check_running` while a
/// check of it runs on some node.
pub async fn check_now(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<CheckResult, ServiceError> {
    caller.require_admin()?;
    load(state, id).await?;
    check_once(state, id, false).await?.ok_or_else(|| {
        ServiceError::conflict(
            Conflict::CheckRunning,
            None,
            "a check of this account is running; try again when it ends",
        )
    })
}

/// Checks every account due for an automatic check whose slot this node can take.
/// Returns how many it checked.
pub async fn check_due(state: &AppState) -> Result<usize, ServiceError> {
    let now = state.now().secs();
    let due = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.inbound_due(now)?))
        .await?;
    let mut checked = 0;
    for id in due {
        match check_once(state, id, true).await {
            Ok(Some(result)) => {
                checked += 1;
                if let Some(error) = result.error {
                    tracing::warn!(account = id, %error, "inbound check failed");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(account = id, error = %e, "inbound check failed"),
        }
    }
    Ok(checked)
}

/// Runs the automatic checks until the process ends.
pub async fn run(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = check_due(&state).await {
            tracing::warn!(error = %e, "looking for inbound checks failed");
        }
    }
}

fn slot_token() -> String {
    use rand::Rng as _;
    let mut raw = [0u8; 16];
    crate::crypto::os_rng().fill_bytes(&mut raw);
    data_encoding::HEXLOWER.encode(&raw)
}

/// One check of account `id`; `None` when its slot could not be taken (another check runs,
/// or, with `due_only`, none is due).
pub async fn check_once(
    state: &AppState,
    id: i64,
    due_only: bool,
) -> Result<Option<CheckResult>, ServiceError> {
    let token = slot_token();
    let now = state.now();
    let row = load(state, id).await?;
    let lease = MIN_LEASE_S.max(4 * i64::from(row.timeout_s));
    let taken = {
        let token = token.clone();
        state
            .store
            .write(move |c| {
                Ok::<_, ServiceError>(c.inbound_take(
                    id,
                    &token,
                    now.secs(),
                    now.secs() + lease,
                    due_only,
                )?)
            })
            .await?
    };
    if !taken {
        return Ok(None);
    }
    // Re-read: the row may have changed between the first read and the take.
    let row = load(state, id).await?;
    let fetched = fetch(state, &row).await;
    let next = |more: bool| {
        if more {
            now.secs()
        } else {
            now.secs() + row.check_every_s
        }
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(error) => {
            let done = CheckDone {
                position: None,
                error: Some(error.clone()),
                fetched: 0,
                bounces: 0,
                next_check_at: next(false),
                now: now.secs(),
            };
            finish(state, id, token, done, Vec::new(), &row.name, now).await?;
            return Ok(Some(CheckResult {
                error: Some(error),
                ..CheckResult::default()
            }));
        }
    };
    let reports = fetched.messages.iter().map(|m| scan(&m.raw)).collect();
    let plans = plan(state, reports).await?;
    let position = serde_json::to_string(&fetched.position)
        .map_err(|e| ServiceError::internal("an inbound position", e))?;
    let count = u32::try_from(fetched.messages.len()).unwrap_or(u32::MAX);
    let done = CheckDone {
        position: Some(position),
        error: None,
        fetched: i64::from(count),
        bounces: 0,
        next_check_at: next(fetched.more),
        now: now.secs(),
    };
    let applied = finish(state, id, token, done, plans, &row.name, now).await?;
    if applied.fallbacks > 0 {
        state.outbox_notify.notify_one();
    }
    Ok(Some(CheckResult {
        ok: true,
        fetched: count,
        bounces: applied.bounces,
        ignored: applied.ignored,
        sms_fallbacks: applied.fallbacks,
        error: None,
    }))
}

/// Fetches the new messages of a row's mailbox.
async fn fetch(state: &AppState, row: &InboundRow) -> Result<Fetched, String> {
    let account = opened(state, row)?;
    let start = Position::start(account.protocol());
    let position = row
        .position
        .as_deref()
        .and_then(|p| serde_json::from_str::<Position>(p).ok())
        .filter(|p| p.protocol() == account.protocol())
        .unwrap_or(start);
    let (account, position) = (&account, &position);
    with_token(state, row, |token| async move {
        fetch_new(account, token.as_ref(), position).await
    })
    .await
}

/// Applies the plans and stores the outcome, if the slot is still ours.
async fn finish(
    state: &AppState,
    id: i64,
    token: String,
    mut done: CheckDone,
    plans: Vec<Option<crate::service::bounces::Planned>>,
    name: &str,
    now: UnixTime,
) -> Result<crate::service::bounces::Applied, ServiceError> {
    let actor = format!("inbound:{name}");
    state
        .store
        .write(move |c| {
            let applied = apply(c, &plans, &actor, now)?;
            done.bounces = i64::from(applied.bounces);
            if !c.inbound_finish(id, &token, &done)? {
                // Rolled back: the node that took the slot over processes these messages.
                return Err(ServiceError::conflict(
                    Conflict::CheckRunning,
                    None,
                    "the check outlived its slot and another check took over; nothing was recorded",
                ));
            }
            Ok(applied)
        })
        .await
}
