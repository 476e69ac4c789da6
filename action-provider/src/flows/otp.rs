//! `/v1/otp/validate`: check a presented code against a user's tokens and issued codes.
//!
//! Reads happen first (user, tokens, the last `token_window` live issued codes); sae-core
//! checks every candidate — the whole window, constant-time — and the outcome is written
//! in one transaction: the matched counter advances by compare-and-set (so of concurrent
//! submissions of one code exactly one wins; the others are `replayed`), and a miss counts
//! one OTP failure under the lockout rules.

use sae_core::lockout::Factor;
use sae_core::otp::opie::{self, Count, OpieState, Seed};
use sae_core::otp::{
    Algorithm, Code, Digits, Hotp, HotpWindow, OtpError, TimeStep, Totp, TotpWindow,
};
use sae_core::secret::Secret;
use subtle::ConstantTimeEq as _;

use super::lockout::{Failure, Refused, admit, clear_expired, record_failure};
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::crypto::Keyring;
use crate::policies::Policies;
use crate::store::models::token::{IssuedCode, Token};
use crate::store::models::user::User;
use crate::store::{NewAudit, Ops as _, counter_from_db, counter_to_db};
use crate::{group_tx, with_conn};

/// The answer of a validation (and of the other authentication flows).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Whether the credential was accepted.
    pub valid: bool,
    /// Why not: `invalid_code`, `replayed`, `locked`, `throttled`, `expired`, `exhausted`,
    /// `no_token`, `unknown_user`, `disabled`, `password_expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// End of a temporary lock (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Seconds to wait before the next attempt (throttled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Decision {
    /// Accepted.
    pub fn accepted() -> Self {
        Self {
            valid: true,
            reason: None,
            locked_until: None,
            retry_after: None,
        }
    }

    /// Rejected for `reason`.
    pub fn rejected(reason: &'static str) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            locked_until: None,
            retry_after: None,
        }
    }

    /// Rejected before checking (locked or throttled).
    pub fn refused(r: Refused) -> Self {
        match r {
            Refused::Locked { until } => Self {
                locked_until: until.map(crate::timefmt::rfc3339),
                ..Self::rejected("locked")
            },
            Refused::Throttled { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::rejected("throttled")
            },
        }
    }

    /// Rejected after counting a failure.
    pub fn failed(reason: &'static str, f: Failure) -> Self {
        match f {
            Failure::Counted { locked_until, .. } => Self {
                locked_until: locked_until.map(crate::timefmt::rfc3339),
                ..Self::rejected(reason)
            },
            Failure::AlreadyLocked => Self::rejected("locked"),
        }
    }

    /// The audit outcome text.
    pub fn outcome(&self) -> String {
        match self.reason {
            None => "ok".into(),
            Some(r) => format!("rejected:{r}"),
        }
    }
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
    exhausted: bool,
    expired: bool,
}

fn hmac_token(keyring: &Keyring, t: &Token, code: &str, now: u64, window: u8, out: &mut Checked) {
    let (Some(sealed), Ok(algorithm), Ok(digits)) = (
        t.secret_enc.as_deref(),
        t.algorithm.parse::<Algorithm>(),
        Digits::new(u8::try_from(t.digits).unwrap_or(0)),
    ) else {
        return;
    };
    let Ok(bytes) = keyring.open(&format!("token:{}", t.id), sealed) else {
        tracing::error!(token = %t.id, "a token secret does not decrypt (keyring mismatch?)");
        return;
    };
    let Ok(secret) = Secret::from_bytes(&bytes) else {
        return;
    };
    let Ok(code) = Code::parse(code, digits) else {
        return;
    };
    let last = t.last_counter.map(counter_from_db);
    let verdict = if t.kind == "totp" {
        let Ok(step) = TimeStep::new(u64::try_from(t.period).unwrap_or(30)) else {
            return;
        };
        let Ok(window) = TotpWindow::new(1, window) else {
            return;
        };
        Totp::new(
            &secret,
            algorithm,
            digits,
            step,
            u64::try_from(t.t0).unwrap_or(0),
        )
        .verify(&code, now, last, window)
    } else {
        Hotp::new(&secret, algorithm, digits).verify(&code, last, HotpWindow::default())
    };
    match verdict {
        Ok(v) if out.matched.is_none() => {
            out.matched = Some(Match::Counter {
                token: t.id.clone(),
                counter: v.counter(),
            })
        }
        Ok(_) => {}
        Err(OtpError::CodeReused) => out.replayed = true,
        Err(_) => {}
    }
}

fn check(
    keyring: &Keyring,
    tokens: &[Token],
    codes: &[IssuedCode],
    code: &str,
    now: i64,
    window: u8,
) -> Checked {
    let mut out = Checked::default();
    let now_u = u64::try_from(now).unwrap_or(0);
    for t in tokens.iter().filter(|t| t.active) {
        match t.kind.as_str() {
            "totp" | "hotp" => hmac_token(keyring, t, code, now_u, window, &mut out),
            "opie" => {
                let Some(state) = opie_state(t) else { continue };
                match state.verify(code) {
                    Ok(next) if out.matched.is_none() => {
                        out.matched = Some(Match::Opie {
                            token: t.id.clone(),
                            count: i32::try_from(state.count().get()).unwrap_or(0),
                            presented: next.last_otp().to_hex(),
                        });
                    }
                    Ok(_) => {}
                    Err(opie::OpieError::Replayed) => out.replayed = true,
                    Err(opie::OpieError::Exhausted) => out.exhausted = true,
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }
    // The last `token_window` issued codes: a live one may be accepted; a match on a used
    // one is a replay, on an expired one an expiry (neither is accepted).
    for c in codes {
        let Ok(mac) = keyring.code_mac(&c.key_id, &c.request_id, code) else {
            continue;
        };
        if !bool::from(mac.as_bytes().ct_eq(c.code_mac.as_bytes())) {
            continue;
        }
        if c.used_at.is_some() {
            out.replayed = true;
        } else if c.expires_at <= now {
            out.expired = true;
        } else if out.matched.is_none() {
            out.matched = Some(Match::Code { id: c.id });
        }
    }
    out
}

/// What the caller asked to check.
#[derive(Debug, Clone)]
pub struct ValidateInput {
    /// Login.
    pub login: String,
    /// Presented code.
    pub code: String,
    /// Only this token.
    pub token_id: Option<String>,
    /// Only this issued code.
    pub request_id: Option<String>,
    /// Audit actor.
    pub actor: String,
    /// Client address.
    pub source: Option<String>,
}

struct Loaded {
    policies: std::sync::Arc<Policies>,
    user: Option<User>,
    tokens: Vec<Token>,
    codes: Vec<IssuedCode>,
}

fn audit(input: &ValidateInput, d: &Decision, now: i64) -> NewAudit {
    NewAudit {
        at: now,
        actor: input.actor.clone(),
        action: "otp.validate".into(),
        subject: Some(input.login.clone()),
        source: input.source.clone(),
        outcome: d.outcome(),
        detail: None,
    }
}

/// Runs one validation (blocking: call on the blocking pool).
pub fn validate(state: &AppState, input: &ValidateInput) -> Result<Decision, ApiError> {
    let now = crate::now();
    let policies = state.policies.get(&state.pool)?;
    let window = policies.im.token_window().value();
    let mut conn = state.pool.get()?;
    let loaded = with_conn!(&mut conn, |c| {
        let user = c.user_by_login(&input.login)?;
        let (tokens, codes) = match &user {
            Some(u) => {
                let mut tokens = c.tokens_of(u.id)?;
                if let Some(id) = &input.token_id {
                    tokens.retain(|t| &t.id == id);
                }
                let mut codes = if input.token_id.is_some() {
                    Vec::new()
                } else {
                    c.codes_recent(u.id, i64::from(window))?
                };
                if let Some(rid) = &input.request_id {
                    tokens.clear();
                    codes.retain(|code| &code.request_id == rid);
                }
                (tokens, codes)
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok::<_, ApiError>(Loaded {
            policies: policies.clone(),
            user,
            tokens,
            codes,
        })
    })?;
    // The reads are done: the pooled connection goes back before the write waits for its
    // batch's commit.
    drop(conn);
    let pool = &state.pool;
    // A decision that only needs its audit row.
    let audited = |d: Decision| -> Result<Decision, ApiError> {
        let entry = audit(input, &d, now);
        group_tx!(pool, move |c| c.audit_insert(&entry))?;
        Ok(d)
    };
    let Some(user) = loaded.user else {
        return audited(Decision::rejected("unknown_user"));
    };
    let expired_lock = match admit(&loaded.policies, &user, Factor::Otp, now) {
        Ok(expired) => expired,
        Err(refused) => return audited(Decision::refused(refused)),
    };
    if user.disabled {
        return audited(Decision::rejected("disabled"));
    }
    let has_credentials = loaded.tokens.iter().any(|t| t.active)
        || loaded
            .codes
            .iter()
            .any(|c| c.used_at.is_none() && c.expires_at > now);
    let checked = {
        let ring = state.keyring.read().map_err(ApiError::internal)?;
        check(
            &ring,
            &loaded.tokens,
            &loaded.codes,
            &input.code,
            now,
            window,
        )
    };
    let input = input.clone();
    let policies = loaded.policies;
    let decision = group_tx!(pool, move |c| {
        if expired_lock {
            clear_expired(c, &user)?;
        }
        let won = match &checked.matched {
            Some(Match::Counter { token, counter }) => {
                c.token_advance(token, counter_to_db(*counter), now)?
            }
            Some(Match::Opie {
                token,
                count,
                presented,
            }) => c.token_opie_advance(token, *count, presented, now)?,
            Some(Match::Code { id }) => c.code_consume(user.id, *id, now)?,
            None => false,
        };
        let d = if won {
            c.user_succeed(user.id, Factor::Otp)?;
            Decision::accepted()
        } else {
            let reason = if checked.matched.is_some() || checked.replayed {
                "replayed"
            } else if checked.expired {
                "expired"
            } else if checked.exhausted {
                "exhausted"
            } else if !has_credentials {
                "no_token"
            } else {
                "invalid_code"
            };
            Decision::failed(
                reason,
                record_failure(c, &policies, &user, Factor::Otp, now)?,
            )
        };
        c.audit_insert(&audit(&input, &d, now))?;
        Ok::<_, ApiError>(d)
    })?;
    Ok(decision)
}
