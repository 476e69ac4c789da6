//! Validating a second factor (`/v1/otp/validate`): a presented code against a user's
//! tokens (TOTP, HOTP, OPIE) and the last `token_window` issued SMS/e-mail codes.
//!
//! The user and its tokens are read first and sae-core checks the code against every token
//! (the whole window, constant-time); only when no token matches are the recent issued codes
//! read and checked (a token's match settles the decision whatever they hold). Then one
//! write — batched with concurrent ones — runs the attempt through the [gate](super::gate):
//! with the user's row locked, the gate decides on what it reads there, and only when it
//! admits the attempt is the check's outcome used: the matched counter advances by
//! compare-and-set (so of concurrent submissions of one code exactly one wins; the others are
//! `replayed`), and a miss counts one OTP failure.

use std::sync::Arc;

use sae_core::lockout::{Factor, LockoutConfig};
use sae_core::otp::opie::{self, Count, OpieState, Seed};
use sae_core::otp::{
    Algorithm, Code, Digits, Hotp, HotpWindow, OtpError, TimeStep, Totp, TotpWindow,
};
use sae_core::secret::Secret;

use super::AppState;
use super::caller::Caller;
use super::decision::{Decision, Reason};
use super::error::ServiceError;
use super::gate::{self, Attempt, Subject};
use crate::clock::UnixTime;
use crate::crypto::{Keyring, SharedKeyring};
use crate::metrics::Metrics;
use crate::store::codes::IssuedCode;
use crate::store::locks::AsRead;
use crate::store::prelude::*;
use crate::store::tokens::Token;
use crate::store::users::User;
use crate::store::{Fast, counter_from_db, counter_to_db};
use delivery::SecretString;

/// What the caller asks to check.
#[derive(Debug, Clone)]
pub struct ValidateInput {
    /// Login.
    pub login: String,
    /// Presented code.
    pub code: SecretString,
    /// Only this token.
    pub token_id: Option<String>,
    /// Only this issued code.
    pub request_id: Option<String>,
}

/// An OPIE token's state, if the row is a well-formed OPIE token.
pub fn opie_state(t: &Token) -> Option<OpieState> {
    if t.kind != "opie" {
        return None;
    }
    let algorithm: opie::Algorithm = t.algorithm.parse().ok()?;
    let seed = Seed::new(t.opie_seed.as_deref()?).ok()?;
    let count = Count::new(u64::try_from(t.opie_count?).ok()?).ok()?;
    let last = opie::Otp::from_hex(t.opie_last.as_deref()?).ok()?;
    Some(OpieState::from_parts(algorithm, seed, count, last))
}

/// What matched.
#[derive(Debug, Clone)]
enum Match {
    Counter {
        token: String,
        counter: u64,
    },
    Opie {
        token: String,
        count: i32,
        presented: String,
    },
    Code {
        id: i64,
    },
}

#[derive(Debug, Default)]
struct Checked {
    matched: Option<Match>,
    replayed: bool,
    superseded: bool,
    exhausted: bool,
    expired: bool,
}

/// Why a stored token could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// A stored parameter does not parse.
    #[error("its parameters do not parse: {0}")]
    Parameters(String),
    /// The sealed secret is missing or does not open.
    #[error("its secret does not open: {0}")]
    Secret(String),
}

fn param(what: &str, e: &dyn std::fmt::Display) -> Unusable {
    Unusable::Parameters(format!("{what}: {e}"))
}

/// The secret, hash and code length of a stored TOTP/HOTP token.
pub fn open_hmac(ring: &Keyring, t: &Token) -> Result<(Secret, Algorithm, Digits), Unusable> {
    let algorithm: Algorithm = t.algorithm.parse().map_err(|e| param("algorithm", &e))?;
    let digits = u8::try_from(t.digits)
        .map_err(|e| param("digits", &e))
        .and_then(|d| Digits::new(d).map_err(|e| param("digits", &e)))?;
    let sealed = t
        .secret_enc
        .as_deref()
        .ok_or_else(|| Unusable::Secret("no secret is stored".into()))?;
    let bytes = ring
        .open(&format!("token:{}", t.id), sealed)
        .map_err(|e| Unusable::Secret(e.to_string()))?;
    let secret = Secret::from_bytes(&bytes).map_err(|e| Unusable::Secret(e.to_string()))?;
    Ok((secret, algorithm, digits))
}

fn hmac_token(
    ring: &Keyring,
    t: &Token,
    code: &str,
    now: UnixTime,
    window: u8,
    out: &mut Checked,
) -> Result<(), Unusable> {
    let (secret, algorithm, digits) = open_hmac(ring, t)?;
    // A code that is not `digits` digits long cannot match this token: not an error.
    let Ok(code) = Code::parse(code, digits) else {
        return Ok(());
    };
    let last = t.last_counter.map(counter_from_db);
    let verdict = if t.kind == "totp" {
        let step = u64::try_from(t.period)
            .map_err(|e| param("period", &e))
            .and_then(|p| TimeStep::new(p).map_err(|e| param("period", &e)))?;
        let t0 = u64::try_from(t.t0).map_err(|e| param("t0", &e))?;
        let window = TotpWindow::new(1, window).map_err(|e| param("token_window", &e))?;
        Totp::new(&secret, algorithm, digits, step, t0).verify(&code, now.core_secs(), last, window)
    } else {
        Hotp::new(&secret, algorithm, digits).verify(&code, last, HotpWindow::default())
    };
    match verdict {
        Ok(v) if out.matched.is_none() => {
            out.matched = Some(Match::Counter {
                token: t.id.clone(),
                counter: v.counter(),
            });
        }
        Err(OtpError::CodeReused) => out.replayed = true,
        _ => {}
    }
    Ok(())
}

/// Everything one check needs, owned (it runs inside the write, on whatever thread the
/// store runs it).
struct Candidates {
    keyring: SharedKeyring,
    metrics: Arc<Metrics>,
    tokens: Vec<Token>,
    /// Recent issued codes, newest first, each with whether a newer request replaced it
    /// (it lies beyond the last `token_window` codes).
    codes: Vec<(IssuedCode, bool)>,
    code: SecretString,
    window: u8,
}

/// How many issued codes older than the `token_window` are still read, so that presenting
/// one answers `superseded` rather than `invalid_code`.
const SUPERSEDED_LOOKBACK: i64 = 8;

impl Candidates {
    fn has_credentials(&self, now: UnixTime) -> bool {
        self.tokens.iter().any(|t| t.usable_at(now.secs()))
            || self
                .codes
                .iter()
                .any(|(c, old)| !old && c.used_at.is_none() && c.expires_at > now.secs())
    }

    /// Checks the presented code against the tokens (each whole window, constant-time).
    fn check_tokens(&self, now: UnixTime, out: &mut Checked) -> Result<(), ServiceError> {
        let ring = crate::crypto::read(&self.keyring)?;
        let code = self.code.expose();
        for t in self.tokens.iter().filter(|t| t.usable_at(now.secs())) {
            match t.kind.as_str() {
                "totp" | "hotp" => {
                    if let Err(e) = hmac_token(&ring, t, code, now, self.window, out) {
                        Metrics::inc(&self.metrics.stored_token_errors);
                        tracing::error!(token = %t.id, error = %e, "a stored token cannot be used");
                    }
                }
                "opie" => {
                    let Some(state) = opie_state(t) else {
                        Metrics::inc(&self.metrics.stored_token_errors);
                        tracing::error!(token = %t.id, "a stored OPIE token is malformed");
                        continue;
                    };
                    match state.verify(code) {
                        Ok(next) if out.matched.is_none() => {
                            out.matched = Some(Match::Opie {
                                token: t.id.clone(),
                                count: i32::try_from(state.count().get()).unwrap_or(i32::MAX),
                                presented: next.last_otp().to_hex(),
                            });
                        }
                        Err(opie::OpieError::Replayed) => out.replayed = true,
                        Err(opie::OpieError::Exhausted) => out.exhausted = true,
                        _ => {}
                    }
                }
                other => {
                    Metrics::inc(&self.metrics.stored_token_errors);
                    tracing::error!(token = %t.id, kind = other, "a stored token has an unknown type");
                }
            }
        }
        Ok(())
    }

    /// Checks the presented code against the last `token_window` issued codes: a live one
    /// may be accepted; a match on a used one is a replay, on an expired one an expiry
    /// (neither is accepted), on an unused, unexpired one that a newer request replaced
    /// `superseded`.
    fn check_codes(&self, now: UnixTime, out: &mut Checked) -> Result<(), ServiceError> {
        let ring = crate::crypto::read(&self.keyring)?;
        let code = self.code.expose();
        for (c, superseded) in &self.codes {
            if !ring
                .issued_code_mac(&c.key_id, &c.request_id, code)?
                .matches(&c.code_mac)
            {
                continue;
            }
            if c.used_at.is_some() {
                out.replayed = true;
            } else if c.expires_at <= now.secs() {
                out.expired = true;
            } else if *superseded {
                out.superseded = true;
            } else if out.matched.is_none() {
                out.matched = Some(Match::Code { id: c.id });
            }
        }
        Ok(())
    }
}

/// Claims what matched (compare-and-set), inside the gated write: `Ok(None)` when accepted,
/// `Err(Some(reason))` when not. `checked`: the code checked against `candidates`.
fn settle(
    c: &mut dyn Conn,
    user_id: i64,
    candidates: &Candidates,
    checked: &Checked,
    now: UnixTime,
) -> Result<Result<Option<Reason>, Option<Reason>>, ServiceError> {
    let won = match &checked.matched {
        Some(Match::Counter { token, counter }) => {
            c.token_advance(token, counter_to_db(*counter), now.secs())?
        }
        Some(Match::Opie {
            token,
            count,
            presented,
        }) => c.token_opie_advance(token, *count, presented, now.secs())?,
        Some(Match::Code { id }) => c.code_consume(user_id, *id, now.secs())?,
        None => false,
    };
    if won {
        return Ok(Ok(None));
    }
    let reason = if checked.matched.is_some() || checked.replayed {
        Reason::Replayed
    } else if checked.superseded {
        Reason::Superseded
    } else if checked.expired {
        Reason::Expired
    } else if checked.exhausted {
        Reason::Exhausted
    } else if !candidates.has_credentials(now) {
        Reason::NoToken
    } else {
        Reason::InvalidCode
    };
    Ok(Err(Some(reason)))
}

/// The common success, decided on what was read ([`gate::admits_as_read`]): a TOTP/HOTP
/// match for a user whose row, as read before the write, holds no lock and no OTP failure.
/// Written by one statement: the batch's for all its successes ([`Fast`], PostgreSQL), or the
/// job's own ([`accepted_as_read`]).
fn success_as_read(
    user: &User,
    config: &LockoutConfig,
    checked: &Checked,
    now: UnixTime,
) -> Option<AsRead> {
    let Some(Match::Counter { token, counter }) = &checked.matched else {
        return None;
    };
    Some(AsRead {
        user_id: user.id,
        seen: gate::admits_as_read(user, Factor::Otp, config, now)?,
        token: token.clone(),
        new: counter_to_db(*counter),
        now: now.secs(),
    })
}

/// Writes the success as read in one statement (`RowLocks::token_advance_as_read`). `false`:
/// there was none, or nothing was written (the row or the counter changed since the read);
/// the full gated attempt decides.
fn accepted_as_read(c: &mut dyn Conn, row: Option<&AsRead>) -> Result<bool, ServiceError> {
    let Some(r) = row else {
        return Ok(false);
    };
    Ok(c.token_advance_as_read(r.user_id, &r.seen, &r.token, r.new, r.now)?)
}

/// Reads the user and the tokens the input names (none when it names an issued code).
async fn load(
    state: &AppState,
    input: &ValidateInput,
) -> Result<Option<(User, Vec<Token>)>, ServiceError> {
    let Some((user, mut tokens)) = state
        .store
        .user_with_tokens(input.login.as_str().to_owned())
        .await?
    else {
        return Ok(None);
    };
    if let Some(id) = &input.token_id {
        tokens.retain(|t| &t.id == id);
    }
    if input.request_id.is_some() {
        tokens.clear();
    }
    Ok(Some((user, tokens)))
}

/// Reads the user's recent issued codes (the one `request_id` names, if given), newest
/// first, each with whether a newer request replaced it.
async fn recent_codes(
    state: &AppState,
    user_id: i64,
    window: u8,
    request_id: Option<String>,
) -> Result<Vec<(IssuedCode, bool)>, ServiceError> {
    state
        .store
        .read(move |c| {
            let mut codes: Vec<(IssuedCode, bool)> = c
                .codes_recent(user_id, i64::from(window) + SUPERSEDED_LOOKBACK)?
                .into_iter()
                .enumerate()
                .map(|(i, code)| (code, i >= usize::from(window)))
                .collect();
            if let Some(rid) = &request_id {
                codes.retain(|(code, _)| &code.request_id == rid);
            }
            Ok(codes)
        })
        .await
}

/// Validates a second factor. Rejection is a normal answer with a reason.
pub async fn validate(
    state: &AppState,
    caller: &Caller,
    input: ValidateInput,
) -> Result<Decision, ServiceError> {
    caller.require_flow()?;
    let now = state.now();
    let policies = state.policies().await?;
    let window = policies.im.token_window().value();
    let config = policies.lockout;
    let audit = caller
        .audit("otp.validate", now)
        .subject(input.login.clone());
    let decision = match load(state, &input).await? {
        None => Decision::rejected(Reason::UnknownUser),
        Some((user, tokens)) => {
            if let Err(refused) =
                gate::precheck(&config, &gate::user_state(&user), Factor::Otp, now)
            {
                Decision::refused(refused)
            } else if user.disabled {
                Decision::rejected(Reason::Disabled)
            } else {
                let mut candidates = Candidates {
                    keyring: Arc::clone(&state.keyring),
                    metrics: Arc::clone(&state.metrics),
                    tokens,
                    codes: Vec::new(),
                    code: input.code,
                    window,
                };
                // The check reads only what was loaded and the clock, so it runs here, on the
                // request's task, not in the write (whose batch runs its jobs one after the
                // other). A token's match makes the issued codes irrelevant (accepted if its
                // compare-and-set wins, a replay if not): they are read only without one.
                let mut checked = Checked::default();
                candidates.check_tokens(now, &mut checked)?;
                if checked.matched.is_none() && input.token_id.is_none() {
                    candidates.codes =
                        recent_codes(state, user.id, window, input.request_id).await?;
                    candidates.check_codes(now, &mut checked)?;
                }
                // The write may run again (see `write_batched_audited`): what it reads is
                // shared, not cloned, between runs.
                let user_id = user.id;
                let as_read = success_as_read(&user, &config, &checked, now);
                // The same success for the batch to try first with those of other requests,
                // with the same record and answer as the job's own would give.
                let fast = as_read.clone().map(|row| {
                    let value = Decision::of(Attempt::Accepted(None));
                    let audit = audit.clone().outcome(value.outcome()).into_record();
                    Fast::as_read(row, audit, value)
                });
                let job = Arc::new((user, candidates, checked, audit, as_read));
                let decision = state
                    .store
                    .write_batched_audited(user_id, fast, move |c| {
                        let (user, candidates, checked, audit, as_read) = &*job;
                        let attempt = if accepted_as_read(c, as_read.as_ref())? {
                            Attempt::Accepted(None)
                        } else {
                            let subject = Subject::User {
                                id: user.id,
                                login: &user.login,
                            };
                            gate::attempt(c, subject, Factor::Otp, &config, now, false, |c| {
                                settle(c, user.id, candidates, checked, now)
                            })?
                        };
                        let decision = Decision::of(attempt);
                        let record = audit.clone().outcome(decision.outcome()).into_record();
                        Ok::<_, ServiceError>((decision, record))
                    })
                    .await?;
                count(state, &decision);
                return Ok(decision);
            }
        }
    };
    audit.outcome(decision.outcome()).record(state).await?;
    count(state, &decision);
    Ok(decision)
}

fn count(state: &AppState, d: &Decision) {
    state.metrics.decision("validate", d.label());
    Metrics::inc(if d.valid {
        &state.metrics.validate_accepted
    } else {
        &state.metrics.validate_rejected
    });
}
