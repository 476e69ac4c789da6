//! Users: create, read, update, delete and list, with the IM rules (login as e-mail, unique
//! document and mobile) and the administrator group's ACL.

use sae_core::acl::UserField;
use sae_core::config::{ConfigError, normalize_document, normalize_email, normalize_mobile};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::{Acl, Caller, View};
use super::error::{Conflict, Problems, ServiceError};
use super::gate;
use super::input::{Login, double_option};
use super::policies::Policies;
pub use super::user_list::{ListFilter, UserSort, list};
pub use super::user_rows::{Profile, ensure_login_free, insert_profile};
use crate::clock::UnixTime;
use crate::store::prelude::*;
use crate::store::users::{User, UserChanges};
use delivery::SecretString;

/// `POST /v1/users`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique login, 1..=255 characters (an e-mail address when `login_is_email` is on).
    pub login: Login,
    /// Display name.
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: Option<String>,
    /// E-mail address (codes by e-mail go here).
    #[schema(
        max_length = 254,
        pattern = r"^[\x21-\x3F\x41-\x7E]+@[\x21-\x2D\x2F-\x3F\x41-\x7E]+(?:\.[\x21-\x2D\x2F-\x3F\x41-\x7E]+)+$"
    )]
    pub email: Option<String>,
    /// National id (CPF, …); unique when `unique_document` is on.
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[0-9][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub document: Option<String>,
    /// Mobile number, any common notation; unique when `unique_mobile` is on.
    #[schema(
        max_length = 40,
        pattern = r"^(?: *\+(?:[ ().-]*[0-9]){8,15}|[ ().-]*(?:[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*[1-9](?:[ ().-]*[0-9]){6,13}|0[ ().-]*0(?:[ ().-]*[0-9]){8,15}))[ ().-]*$"
    )]
    pub mobile: Option<String>,
    /// Name of an existing wallet.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F/]*[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F/]*$"
    )]
    pub wallet: Option<String>,
    /// Initial password (checked against the password policy).
    #[schema(value_type = Option<String>, min_length = 1, max_length = 1024)]
    pub password: Option<SecretString>,
    /// Imported password hash of a migrated user (PHC string, or a salted legacy hash).
    #[schema(
        min_length = 1,
        max_length = 1024,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub password_hash: Option<String>,
}

/// `PATCH /v1/users/{login}`: members present are changed; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Display name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 255, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub name: Option<Option<String>>,
    /// E-mail address.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(
        max_length = 254,
        pattern = r"^[\x21-\x3F\x41-\x7E]+@[\x21-\x2D\x2F-\x3F\x41-\x7E]+(?:\.[\x21-\x2D\x2F-\x3F\x41-\x7E]+)+$"
    )]
    pub email: Option<Option<String>>,
    /// National id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(
        max_length = 64,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[0-9][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub document: Option<Option<String>>,
    /// Mobile number.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(
        max_length = 40,
        pattern = r"^(?: *\+(?:[ ().-]*[0-9]){8,15}|[ ().-]*(?:[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*[1-9](?:[ ().-]*[0-9]){6,13}|0[ ().-]*0(?:[ ().-]*[0-9]){8,15}))[ ().-]*$"
    )]
    pub mobile: Option<Option<String>>,
    /// Wallet name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F/]*[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F/]*$"
    )]
    pub wallet: Option<Option<String>>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
}

/// A user as answered (never the password hash or AuthValue contents).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// National id.
    pub document: Option<String>,
    /// Mobile number as given.
    pub mobile: Option<String>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// `active`, `disabled`, `locked` or `password_expired`.
    pub status: &'static str,
    /// End of a temporary lock (RFC 3339); absent for permanent locks and unlocked users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Which factor's failures caused the lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_factor: Option<String>,
    /// Consecutive failures per factor.
    pub failures: Failures,
    /// Whether a password is set.
    pub has_password: bool,
    /// When the password was last set (RFC 3339).
    pub password_changed_at: Option<String>,
    /// The user's AuthSys names, in order.
    pub authsys: Vec<String>,
    /// Set when a bounce said mail to `email` does not arrive; cleared when the address
    /// changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_bouncing: Option<EmailBouncing>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// What a bounce said about the user's address.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailBouncing {
    /// When the bounce was read (RFC 3339).
    pub since: String,
    /// The status code it gave (RFC 3463, e.g. `5.1.1`), when it gave one.
    pub status: Option<String>,
}

/// Consecutive failures per factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct Failures {
    /// Password failures.
    pub password: i32,
    /// OTP failures.
    pub otp: i32,
    /// Hash failures.
    pub hash: i32,
}

/// An IM rule violation as a field error.
pub fn config_error(e: &ConfigError) -> ServiceError {
    ServiceError::field(e.field(), e.to_string())
}

/// The answer for one user.
pub fn view(
    user: User,
    wallet: Option<String>,
    policies: &Policies,
    now: UnixTime,
) -> Result<UserView, ServiceError> {
    let locked = gate::is_locked(&gate::user_state(&user), now);
    let expired = super::password::is_expired(&user, policies, now)?;
    let status = if user.disabled {
        "disabled"
    } else if locked {
        "locked"
    } else if expired {
        "password_expired"
    } else {
        "active"
    };
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    Ok(UserView {
        status,
        locked_until: user
            .locked_until_ms
            .filter(|_| locked)
            .map(|t| UnixTime::from_millis(t).rfc3339()),
        lock_factor: user.lock_factor.clone().filter(|_| locked),
        failures: Failures {
            password: user.pwd_failures,
            otp: user.otp_failures,
            hash: user.hash_failures,
        },
        has_password: user.password_hash.is_some(),
        password_changed_at: user.password_changed_at.map(time),
        authsys: super::password::authsys_names(&user)?,
        email_bouncing: user.email_bounced_at.map(|at| EmailBouncing {
            since: time(at),
            status: user.email_bounce_status.clone(),
        }),
        created_at: time(user.created_at),
        updated_at: time(user.updated_at),
        login: user.login,
        name: user.name,
        email: user.email,
        document: user.document,
        mobile: user.mobile,
        wallet,
    })
}

fn opt_trim(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// An identity field as given and normalised.
#[derive(Debug, Clone)]
pub struct Normalised {
    /// As given, trimmed.
    pub given: String,
    /// Normalised (what uniqueness compares).
    pub norm: String,
}

/// Normalised forms of the identity fields, or the field-named error.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// E-mail address.
    pub email: Option<Normalised>,
    /// Document.
    pub document: Option<Normalised>,
    /// Mobile number.
    pub mobile: Option<Normalised>,
}

/// Normalises the identity fields, recording every invalid one in `problems`.
fn normalise(
    email: Option<String>,
    document: Option<String>,
    mobile: Option<String>,
    problems: &mut Problems,
) -> Result<Identity, ServiceError> {
    let mut one = |v: Option<String>, f: fn(&str) -> Result<String, ConfigError>| {
        let checked = opt_trim(v)
            .map(|given| {
                f(&given)
                    .map(|norm| Normalised { given, norm })
                    .map_err(|e| config_error(&e))
            })
            .transpose();
        problems.take(checked).map(Option::flatten)
    };
    Ok(Identity {
        email: one(email, normalize_email)?,
        document: one(document, normalize_document)?,
        mobile: one(mobile, normalize_mobile)?,
    })
}

/// Records a wallet name that names no wallet.
async fn check_wallet(
    state: &AppState,
    wallet: Option<&str>,
    problems: &mut Problems,
) -> Result<(), ServiceError> {
    if let Some(name) = wallet.map(str::to_owned) {
        let found = state
            .store
            .read(move |c| Ok::<_, ServiceError>(wallet_id(c, &name)))
            .await?;
        problems.take(found)?;
    }
    Ok(())
}

/// Refuses a value another user holds, when its uniqueness switch is on.
pub fn check_unique(
    c: &mut dyn Conn,
    policies: &Policies,
    identity: &Identity,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    let checks = [
        (
            policies.im.unique_mobile(),
            "mobile",
            "mobile_norm",
            &identity.mobile,
        ),
        (
            policies.im.unique_document(),
            "document",
            "document_norm",
            &identity.document,
        ),
    ];
    for (on, field, column, value) in checks {
        if let (true, Some(v)) = (on, value) {
            c.lock_key(&format!("{column}:{}", v.norm))?;
            if c.user_holding(column, &v.norm, except)?.is_some() {
                return Err(ServiceError::conflict(
                    Conflict::Duplicate,
                    Some(field),
                    format!(
                        "{field}: another user already has this {field} ({field} must be unique)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The id of the wallet named `name`, or a 400 naming `wallet`.
pub fn wallet_id(c: &mut dyn Conn, name: &str) -> Result<i64, ServiceError> {
    c.wallet_id(name)?
        .ok_or_else(|| ServiceError::missing("wallet", format!("no wallet named {name:?}")))
}

fn no_user(login: &str) -> ServiceError {
    ServiceError::not_found(format!("no user {login:?}"))
}

/// Reads a user with its wallet's name (`None`: no such user).
pub fn find(c: &mut dyn Conn, login: &str) -> Result<(User, Option<String>), ServiceError> {
    c.user_with_wallet(login)?.ok_or_else(|| no_user(login))
}

/// Reads one user as the caller may see it.
pub async fn read(state: &AppState, caller: &Caller, login: Login) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.require_any_view::<UserField>()?;
    let policies = state.policies().await?;
    let (user, wallet) = state.store.read(move |c| find(c, login.as_str())).await?;
    acl.view::<UserField, _>(&view(user, wallet, &policies, state.now())?)
}

async fn reread(state: &AppState, acl: &Acl, login: String) -> Result<View, ServiceError> {
    let policies = state.policies().await?;
    let (user, wallet) = state.store.read(move |c| find(c, &login)).await?;
    acl.view::<UserField, _>(&view(user, wallet, &policies, state.now())?)
}

/// Creates a user.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: CreateUser,
) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.check_create(
        [
            Some(UserField::Login),
            body.name.as_ref().map(|_| UserField::Name),
            body.email.as_ref().map(|_| UserField::Email),
            body.document.as_ref().map(|_| UserField::Document),
            body.mobile.as_ref().map(|_| UserField::Mobile),
            body.wallet.as_ref().map(|_| UserField::Wallet),
            (body.password.is_some() || body.password_hash.is_some())
                .then_some(UserField::Password),
        ]
        .into_iter()
        .flatten(),
    )?;
    let policies = state.policies().await?;
    let login = body.login.into_string();
    // Every invalid field is answered at once: each check records its problem and goes on.
    let mut problems = Problems::new();
    if let Err(e) = policies.im.check_login(&login) {
        problems.add("login", e.to_string());
    }
    let identity = normalise(body.email, body.document, body.mobile, &mut problems)?;
    let wallet = opt_trim(body.wallet);
    check_wallet(state, wallet.as_deref(), &mut problems).await?;
    let imported = match (&body.password, body.password_hash) {
        (Some(_), Some(_)) => {
            problems.add(
                "password_hash",
                "give either password or password_hash, not both",
            );
            None
        }
        (None, Some(imported)) => problems.take(super::password::check_import(&imported))?,
        _ => None,
    };
    problems.finish()?;
    let password_hash = match (&body.password, imported) {
        (Some(pw), None) => {
            let policy = policies.password_policy::<&str>(&[]);
            Some(super::password::hash_new(state, policy, &[], pw).await?)
        }
        (_, imported) => imported,
    };
    let now = state.now();
    let name = opt_trim(body.name);
    let audit = caller.audit("user.create", now).subject(login.clone());
    let subject = login.clone();
    state
        .store
        .write(move |c| {
            let wallet_id = wallet.as_deref().map(|w| wallet_id(c, w)).transpose()?;
            ensure_login_free(c, &subject)?;
            check_unique(c, &policies, &identity, None)?;
            insert_profile(
                c,
                Profile {
                    login: subject.clone(),
                    name,
                    identity,
                    wallet_id,
                    password_hash,
                },
                now,
                None,
            )?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    reread(state, &acl, login).await
}

/// Changes a user's profile.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    login: Login,
    body: UpdateUser,
) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.check_update(
        [
            body.name.as_ref().map(|_| UserField::Name),
            body.email.as_ref().map(|_| UserField::Email),
            body.document.as_ref().map(|_| UserField::Document),
            body.mobile.as_ref().map(|_| UserField::Mobile),
            body.wallet.as_ref().map(|_| UserField::Wallet),
            body.disabled.map(|_| UserField::Status),
        ]
        .into_iter()
        .flatten(),
    )?;
    let one = |v: &Option<Option<String>>| v.clone().flatten();
    let mut problems = Problems::new();
    let identity = normalise(
        one(&body.email),
        one(&body.document),
        one(&body.mobile),
        &mut problems,
    )?;
    check_wallet(state, one(&body.wallet).as_deref(), &mut problems).await?;
    problems.finish()?;
    let policies = state.policies().await?;
    let now = state.now();
    let login = login.into_string();
    let changed: Vec<&str> = [
        ("name", body.name.is_some()),
        ("email", body.email.is_some()),
        ("document", body.document.is_some()),
        ("mobile", body.mobile.is_some()),
        ("wallet", body.wallet.is_some()),
        ("disabled", body.disabled.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, present)| present.then_some(f))
    .collect();
    let audit = caller
        .audit("user.update", now)
        .subject(login.clone())
        .detail(serde_json::json!({ "changed": changed }));
    let subject = login.clone();
    state
        .store
        .write(move |c| {
            let user = c
                .user_by_login(&subject)?
                .ok_or_else(|| no_user(&subject))?;
            check_unique(c, &policies, &identity, Some(user.id))?;
            let wallet_id = match &body.wallet {
                Some(Some(w)) => Some(Some(wallet_id(c, w)?)),
                Some(None) => Some(None),
                None => None,
            };
            let pair = |present: &Option<Option<String>>, v: &Option<Normalised>| match present {
                None => (None, None),
                Some(_) => (
                    Some(v.as_ref().map(|n| n.given.clone())),
                    Some(v.as_ref().map(|n| n.norm.clone())),
                ),
            };
            let (email, email_norm) = pair(&body.email, &identity.email);
            // A new address has not bounced (yet).
            let bounce_cleared = email.as_ref().is_some_and(|e| *e != user.email);
            let (document, document_norm) = pair(&body.document, &identity.document);
            let (mobile, mobile_norm) = pair(&body.mobile, &identity.mobile);
            c.user_update(
                user.id,
                &UserChanges {
                    name: body.name.clone().map(opt_trim),
                    email,
                    email_norm,
                    document,
                    document_norm,
                    mobile,
                    mobile_norm,
                    wallet_id,
                    disabled: body.disabled,
                    email_bounced_at: bounce_cleared.then_some(None),
                    email_bounce_status: bounce_cleared.then_some(None),
                    updated_at: Some(now.secs()),
                },
            )?;
            audit.write(c)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    reread(state, &acl, login).await
}

/// Deletes a user with its tokens and issued codes.
pub async fn delete(state: &AppState, caller: &Caller, login: Login) -> Result<(), ServiceError> {
    caller.acl()?.check_delete::<UserField>()?;
    let login = login.into_string();
    let audit = caller
        .audit("user.delete", state.now())
        .subject(login.clone());
    state
        .store
        .write(move |c| {
            let user = c.user_by_login(&login)?.ok_or_else(|| no_user(&login))?;
            c.user_delete(user.id)?;
            audit.write(c)?;
            Ok(())
        })
        .await
}
