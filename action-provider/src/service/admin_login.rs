//! Administrator login to the console (`POST /v1/session`): password, then TOTP — enrolled
//! at the first login — through the [gate](super::gate); then a session (the cookie's
//! SHA-256 is stored, never the cookie).

use std::sync::Arc;

use rand::Rng as _;
use sae_core::acl::AdminGroup;
use sae_core::lockout::Factor;
use sae_core::otp::totp::{TimeStep, Totp, TotpWindow};
use sae_core::otp::uri::{OtpAuthUri, OtpKind};
use sae_core::otp::{Algorithm, Code, Digits, OtpError};
use sae_core::password::hash_params::HashPolicy;
use sae_core::password::{StoredHash, Verification};
use sae_core::secret::Secret;
use serde::Serialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::AppState;
use super::audit::Audit;
use super::auth::{csrf_for, load_group};
use super::caller::{Caller, Principal};
use super::error::ServiceError;
use super::gate::{self, Attempt, Failure, Subject};
use crate::clock::UnixTime;
use crate::store::admins::Admin;
use crate::store::apikeys::digest;
use crate::store::{counter_from_db, counter_to_db};
use delivery::SecretString;

/// TOTP parameters of administrators: what every authenticator app supports.
const TOTP_DIGITS: u8 = 6;
const TOTP_PERIOD: u64 = 30;
/// Issuer shown in authenticator apps.
const ISSUER: &str = "SAE console";

/// What a login attempt presents.
#[derive(Debug)]
pub struct LoginInput {
    /// The administrator's login.
    pub login: String,
    /// The password.
    pub password: SecretString,
    /// The authenticator's current code.
    pub otp: Option<SecretString>,
}

/// The session as the console sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The administrator's login.
    pub login: String,
    /// The administrator's group.
    pub group: String,
    /// Whether the group is the built-in System Administrator.
    pub system_administrator: bool,
    /// Send this in `X-CSRF-Token` with every request that is not GET or HEAD.
    pub csrf_token: String,
    /// The session ends after this many idle seconds.
    pub idle_timeout_s: u32,
    /// The group's ACL over users and wallets.
    #[schema(value_type = Object)]
    pub acl: serde_json::Value,
}

/// The TOTP offered at the first login.
#[derive(Debug)]
pub struct Enrolment {
    /// The otpauth URI.
    pub otpauth_uri: String,
    /// The secret in base32.
    pub secret_base32: String,
    /// A QR code of the URI (SVG).
    pub qr_svg: String,
}

/// What a login attempt achieved.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The password is right: send the authenticator code too.
    OtpRequired,
    /// First login: add this secret to an authenticator, then send its code.
    Enrol(Enrolment),
    /// Logged in: the cookie's value and the session.
    Session {
        /// The session token (the cookie's value).
        token: Zeroizing<String>,
        /// The session.
        view: SessionView,
    },
}

fn seal_context(admin: &Admin) -> String {
    format!("admin-totp:{}", admin.id)
}

fn digits() -> Result<Digits, ServiceError> {
    Digits::new(TOTP_DIGITS).map_err(|e| ServiceError::internal("console TOTP digits", e))
}

fn step() -> Result<TimeStep, ServiceError> {
    TimeStep::new(TOTP_PERIOD).map_err(|e| ServiceError::internal("console TOTP step", e))
}

/// The session view for an administrator and its token.
pub async fn session_view(
    state: &AppState,
    admin: &Admin,
    token: &str,
) -> Result<SessionView, ServiceError> {
    let group = match admin.group_id {
        Some(id) => state.store.read(move |c| load_group(c, id)).await?,
        None => Arc::new(AdminGroup::system_administrator()),
    };
    Ok(SessionView {
        login: admin.login.clone(),
        group: group.name().to_owned(),
        system_administrator: group.is_builtin(),
        csrf_token: csrf_for(token),
        idle_timeout_s: state.config.session_idle_s,
        acl: serde_json::to_value(&*group)
            .map_err(|e| ServiceError::internal("a group's ACL", e))?,
    })
}

/// Verifies the password (against a dummy hash for an unknown login, so both take as long).
async fn password_ok(
    state: &AppState,
    admin: Option<&Admin>,
    password: &SecretString,
) -> Result<bool, ServiceError> {
    let stored = admin.map(|a| a.password_hash.clone());
    let password = password.clone();
    state
        .hashing(move || {
            let policy = HashPolicy::default();
            let real = stored.is_some();
            let hash = match stored {
                Some(s) => StoredHash::parse(&s)
                    .map_err(|e| ServiceError::corrupt("an administrator's password hash", e))?,
                None => policy
                    .hash("sae-dummy-password", &mut crate::crypto::os_rng())
                    .map_err(|e| ServiceError::internal("hashing the dummy password", e))?,
            };
            let v = hash
                .verify(password.expose(), &policy)
                .map_err(|e| ServiceError::internal("verifying a password", e))?;
            Ok(real && matches!(v, Verification::Valid { .. }))
        })
        .await
}

/// The administrator's TOTP secret: the enrolled one, or the one offered at first login
/// (offered now if none is; a concurrent first login's offer wins). `true` when enrolling.
async fn totp_secret(state: &AppState, admin: &Admin) -> Result<(String, bool), ServiceError> {
    match (&admin.totp_secret, &admin.totp_pending) {
        (Some(s), _) => Ok((s.clone(), false)),
        (None, Some(p)) => Ok((p.clone(), true)),
        (None, None) => {
            let secret = Secret::generate(&mut crate::crypto::os_rng(), Algorithm::Sha1)
                .map_err(|e| ServiceError::internal("a TOTP secret", e))?;
            let sealed = state
                .ring()?
                .seal(&seal_context(admin), secret.expose_bytes());
            let id = admin.id;
            let stored = state
                .store
                .write(move |c| {
                    c.admin_offer_totp(id, &sealed)?;
                    Ok::<_, ServiceError>(c.admin_by_id(id)?.and_then(|a| a.totp_pending))
                })
                .await?
                .ok_or_else(|| {
                    ServiceError::corrupt("admins.totp_pending", "vanished after it was set")
                })?;
            Ok((stored, true))
        }
    }
}

fn enrolment(admin: &Admin, secret: Secret) -> Result<Enrolment, ServiceError> {
    let uri = OtpAuthUri::new(
        OtpKind::Totp { period: step()? },
        secret,
        Some(ISSUER),
        admin.login.replace(':', "_").trim(),
    )
    .map_err(|e| ServiceError::internal("an otpauth URI", e))?
    .with_algorithm(Algorithm::Sha1)
    .with_digits(digits()?);
    let qr = sae_core::otp::qr::qr_svg(&uri).map_err(|e| ServiceError::internal("a QR code", e))?;
    Ok(Enrolment {
        secret_base32: uri.secret().to_base32().to_string(),
        otpauth_uri: uri.to_uri().to_string(),
        qr_svg: qr.to_string(),
    })
}

/// The one answer of every failed login: unknown login, wrong password, wrong or replayed
/// code, locked, throttled — told apart only in the audit log.
fn refused() -> ServiceError {
    ServiceError::InvalidCredentials { field: None }
}

/// Runs the dummy hash: a refusal takes as long as a real password check.
async fn same_time(state: &AppState, password: &SecretString) -> Result<(), ServiceError> {
    password_ok(state, None, password).await.map(|_| ())
}

/// One login attempt.
///
/// Both factors are gated whatever the request carries, and every failure answers the same
/// 401 after the same work (one password hash), for unknown, locked, throttled and existing
/// logins alike, until both factors are right. Without a code the answer is `otp_required`
/// for everyone — except an administrator who has not enrolled a TOTP yet and gives the right
/// password, who gets the enrolment.
pub async fn login(
    state: &AppState,
    source: Option<String>,
    input: LoginInput,
) -> Result<LoginOutcome, ServiceError> {
    let now = state.now();
    let login = input.login.clone();
    if login.is_empty() || login.chars().count() > 255 {
        return Err(ServiceError::field("login", "login: 1 to 255 characters"));
    }
    let audit = Audit::new(format!("admin:{login}"), "admin.login", now)
        .subject(login.clone())
        .source(source.as_deref());
    let lookup = login.clone();
    let admin = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.admin_by_login(&lookup)?))
        .await?;
    let Some(admin) = admin else {
        same_time(state, &input.password).await?;
        audit
            .outcome("rejected:unknown_login")
            .record(state)
            .await?;
        return match input.otp {
            None => Ok(LoginOutcome::OtpRequired),
            Some(_) => Err(refused()),
        };
    };
    let enrolled = admin.totp_secret.is_some();
    if input.otp.is_none() && enrolled {
        // Nothing is checked (the password is only checked together with the code).
        same_time(state, &input.password).await?;
        return Ok(LoginOutcome::OtpRequired);
    }
    let config = state.policies().await?.admin_lockout.config();
    let state_now = gate::admin_state(&admin);
    let closed = [Factor::Password, Factor::Otp]
        .into_iter()
        .find_map(|f| gate::precheck(&config, &state_now, f, now).err());
    if let Some(why) = closed {
        same_time(state, &input.password).await?;
        audit.outcome(refusal_outcome(why)).record(state).await?;
        return no_otp_or_refused(&input);
    }
    if !password_through_gate(state, &admin, &input.password, &config, &audit, now).await? {
        return no_otp_or_refused(&input);
    }
    let (sealed, enrolling) = totp_secret(state, &admin).await?;
    let bytes = state.ring()?.open(&seal_context(&admin), &sealed)?;
    let secret = Secret::from_bytes(&bytes)
        .map_err(|e| ServiceError::corrupt("an administrator's TOTP secret", e))?;
    let Some(otp) = &input.otp else {
        audit
            .outcome("ok; totp enrolment offered")
            .record(state)
            .await?;
        return Ok(LoginOutcome::Enrol(enrolment(&admin, secret)?));
    };
    let totp = Totp::new(&secret, Algorithm::Sha1, digits()?, step()?, 0);
    let last = admin.totp_last_counter.map(counter_from_db);
    let window =
        TotpWindow::new(1, 1).map_err(|e| ServiceError::internal("console TOTP window", e))?;
    let checked = Code::parse(otp.expose(), digits()?)
        .and_then(|code| totp.verify(&code, now.core_secs(), last, window));
    let code = match checked {
        Ok(v) => Ok(v.counter()),
        Err(OtpError::CodeReused) => Err("replayed"),
        Err(_) => Err("invalid_otp"),
    };
    let enrol = enrolling.then_some(sealed);
    complete(state, admin, code, enrol, audit, &config, now).await
}

fn refusal_outcome(why: gate::Refused) -> &'static str {
    match why {
        gate::Refused::Locked { .. } => "rejected:locked",
        gate::Refused::Throttled { .. } => "rejected:throttled",
    }
}

/// A refusal: `otp_required` when the request carried no code, else the one 401.
fn no_otp_or_refused(input: &LoginInput) -> Result<LoginOutcome, ServiceError> {
    match input.otp {
        None => Ok(LoginOutcome::OtpRequired),
        Some(_) => Err(refused()),
    }
}

/// Checks the password through the gate: the slot is taken first, the hash checked, the
/// outcome recorded with its audit row when it fails. `true` when the password is right.
async fn password_through_gate(
    state: &AppState,
    admin: &Admin,
    password: &SecretString,
    config: &sae_core::lockout::LockoutConfig,
    audit: &Audit,
    now: UnixTime,
) -> Result<bool, ServiceError> {
    let (id, login) = (admin.id, admin.login.clone());
    let cfg = *config;
    let reserved = state
        .store
        .write(move |c| gate::reserve(c, Subject::Admin { id, login: &login }, &cfg, now))
        .await?;
    if let Err(why) = reserved {
        same_time(state, password).await?;
        audit
            .clone()
            .outcome(refusal_outcome(why))
            .record(state)
            .await?;
        return Ok(false);
    }
    let right = password_ok(state, Some(admin), password).await?;
    let (login, entry) = (admin.login.clone(), audit.clone());
    state
        .store
        .write(move |c| {
            let subject = Subject::Admin { id, login: &login };
            let attempt = gate::attempt(c, subject, Factor::Password, &cfg, now, true, |_| {
                Ok(if right { Ok(()) } else { Err(()) })
            })?;
            let failed = match attempt {
                Attempt::Accepted(()) => return Ok(true),
                Attempt::Refused(why) => refusal_outcome(why).to_owned(),
                Attempt::Rejected((), f) => {
                    failure_outcome("invalid_password", Factor::Password, f)
                }
            };
            entry.outcome(failed).write(c)?;
            Ok::<_, ServiceError>(false)
        })
        .await
}

fn failure_outcome(reason: &str, factor: Factor, f: Failure) -> String {
    match f {
        Failure::Counted { lock: Some(_) } => {
            format!("rejected:{reason}; locked:{}", factor.as_str())
        }
        _ => format!("rejected:{reason}"),
    }
}

/// The second factor through the gate: claims the code's counter (compare-and-set), enrols
/// the pending secret and creates the session, in one transaction with its audit row.
async fn complete(
    state: &AppState,
    admin: Admin,
    code: Result<u64, &'static str>,
    enrol: Option<String>,
    audit: Audit,
    config: &sae_core::lockout::LockoutConfig,
    now: UnixTime,
) -> Result<LoginOutcome, ServiceError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    crate::crypto::os_rng().fill_bytes(raw.as_mut());
    let token = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(raw.as_ref()));
    let session = digest(&token);
    let cfg = *config;
    let (id, login) = (admin.id, admin.login.clone());
    let ok_outcome = if enrol.is_some() {
        "ok; totp enrolled"
    } else {
        "ok"
    };
    let accepted = state
        .store
        .write(move |c| {
            let subject = Subject::Admin { id, login: &login };
            let attempt = gate::attempt(c, subject, Factor::Otp, &cfg, now, false, |c| {
                let counter = match code {
                    Ok(counter) => counter,
                    Err(reason) => return Ok(Err(reason)),
                };
                if !c.admin_accept_totp(id, counter_to_db(counter), now.secs())? {
                    return Ok(Err("replayed"));
                }
                if let Some(sealed) = &enrol {
                    c.admin_enrol_totp(id, sealed)?;
                }
                c.session_insert(&session, id, now.secs())?;
                Ok(Ok(ok_outcome))
            })?;
            let (outcome, ok) = match attempt {
                Attempt::Accepted(outcome) => (outcome.to_owned(), true),
                Attempt::Refused(why) => (refusal_outcome(why).to_owned(), false),
                Attempt::Rejected(reason, f) => (failure_outcome(reason, Factor::Otp, f), false),
            };
            audit.outcome(outcome).write(c)?;
            Ok::<_, ServiceError>(ok)
        })
        .await?;
    if !accepted {
        return Err(refused());
    }
    let view = session_view(state, &admin, &token).await?;
    Ok(LoginOutcome::Session { token, view })
}

/// The session of a logged-in administrator.
pub async fn current(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<SessionView, ServiceError> {
    let Principal::Admin { login, .. } = &caller.principal else {
        return Err(ServiceError::Unauthenticated);
    };
    let login = login.clone();
    let admin = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.admin_by_login(&login)?))
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    session_view(state, &admin, token).await
}

/// Ends the session of this token.
pub async fn logout(state: &AppState, caller: &Caller, token: &str) -> Result<(), ServiceError> {
    if !matches!(caller.principal, Principal::Admin { .. }) {
        return Err(ServiceError::Unauthenticated);
    }
    let session = digest(token);
    let audit = caller.audit("admin.logout", state.now());
    state
        .store
        .write(move |c| {
            c.session_end(&session)?;
            audit.write(c)?;
            Ok(())
        })
        .await
}
