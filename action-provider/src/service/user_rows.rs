//! Writing a new user: the one place that holds a login free and inserts the row, shared by
//! `POST /v1/users` and the users import.

use super::error::ServiceError;
use super::users::{Identity, Normalised};
use crate::clock::UnixTime;
use crate::store::Conn;
use crate::store::logins::LoginTable;
use crate::store::users::NewUser;

/// A new user's profile, checked: what [`insert_profile`] stores.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Login (shape and IM rule checked).
    pub login: String,
    /// Display name, trimmed.
    pub name: Option<String>,
    /// Identity fields.
    pub identity: Identity,
    /// Wallet.
    pub wallet_id: Option<i64>,
    /// PHC or legacy password hash.
    pub password_hash: Option<String>,
}

/// Refuses a login that a user holds or an import is writing (the same canonical key) or
/// that passes for an existing one written in another script (SPEC §4.8), under a lock so
/// concurrent creations cannot both pass.
pub fn ensure_login_free(c: &mut dyn Conn, login: &str) -> Result<(), ServiceError> {
    super::logins::claim(c, LoginTable::Users, login, "login")
}

/// Inserts a user (pending under `import_job` when given); returns its id.
pub fn insert_profile(
    c: &mut dyn Conn,
    p: Profile,
    now: UnixTime,
    import_job: Option<&str>,
) -> Result<i64, ServiceError> {
    let history = match &p.password_hash {
        Some(h) => serde_json::to_string(&[h])
            .map_err(|e| ServiceError::internal("the password history", e))?,
        None => "[]".into(),
    };
    let split = |v: Option<Normalised>| match v {
        Some(n) => (Some(n.given), Some(n.norm)),
        None => (None, None),
    };
    let (email, email_norm) = split(p.identity.email);
    let (document, document_norm) = split(p.identity.document);
    let (mobile, mobile_norm) = split(p.identity.mobile);
    Ok(c.user_insert(&NewUser {
        login: p.login,
        name: p.name,
        email,
        email_norm,
        document,
        document_norm,
        mobile,
        mobile_norm,
        wallet_id: p.wallet_id,
        password_changed_at: p.password_hash.as_ref().map(|_| now.secs()),
        password_history: history,
        password_hash: p.password_hash,
        created_at: now.secs(),
        updated_at: now.secs(),
        import_job: import_job.map(str::to_owned),
    })?)
}
