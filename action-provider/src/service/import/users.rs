//! User imports: each validated row of a users CSV file is created as `POST /v1/users`
//! creates a user — the IM login rule, a free login, the uniqueness switches, an existing
//! wallet, the password hash in a form SAE verifies — through the same functions
//! (`service::users`), pending until the job ends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sae_core::import::csv::{ImportedUser, NormalizedValue};

use super::engine::Importer;
use super::items::{Item, Skip};
use crate::clock::UnixTime;
use crate::service::ServiceError;
use crate::service::error::Conflict;
use crate::service::policies::Policies;
use crate::service::users::{
    Identity, Normalised, Profile, check_unique, ensure_login_free, insert_profile,
};
use crate::store::Conn;

/// Writes imported users.
pub struct UserImporter {
    policies: Arc<Policies>,
    now: UnixTime,
    /// Logins of the batch that are held already.
    taken: HashSet<String>,
    /// Wallet ids by name (`None`: no such wallet).
    wallets: HashMap<String, Option<i64>>,
    /// Normalised documents and mobiles of the file so far (for dry runs, whose rows are
    /// not in the store to be found).
    seen: HashSet<(&'static str, String)>,
}

impl UserImporter {
    /// An importer under `policies`, stamping rows with `now`.
    pub fn new(policies: Arc<Policies>, now: UnixTime) -> Self {
        Self {
            policies,
            now,
            taken: HashSet::new(),
            wallets: HashMap::new(),
            seen: HashSet::new(),
        }
    }
}

fn normalised(v: Option<NormalizedValue>) -> Option<Normalised> {
    v.map(|n| Normalised {
        given: n.raw,
        norm: n.normalized,
    })
}

/// A service refusal as a row's skip (its conflict or field, in words).
fn refusal(e: ServiceError) -> Result<Skip, ServiceError> {
    match e {
        ServiceError::Conflict {
            kind: Conflict::Duplicate,
            detail,
            ..
        } => Ok(Skip::new("duplicate", detail)),
        ServiceError::Invalid(list) => Ok(Skip::new(
            "invalid_field",
            list.iter()
                .map(|f| format!("{}: {}", f.field, f.detail))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        other => Err(other),
    }
}

impl Importer for UserImporter {
    type Item = ImportedUser;
    const ACTION: &'static str = "users.import";

    fn prepare(
        &mut self,
        c: &mut dyn Conn,
        batch: &[Item<ImportedUser>],
    ) -> Result<(), ServiceError> {
        let logins: Vec<String> = batch
            .iter()
            .filter_map(|i| i.body.as_ref().ok().map(|u| u.login.clone()))
            .collect();
        self.taken = c
            .logins_taken(&logins)?
            .iter()
            .map(|l| sae_core::config::login_key(l))
            .collect();
        Ok(())
    }

    fn write(
        &mut self,
        c: &mut dyn Conn,
        job: &str,
        user: ImportedUser,
        store: bool,
    ) -> Result<Result<(), Skip>, ServiceError> {
        if let Err(e) = self.policies.im.check_login(&user.login) {
            return Ok(Err(Skip::new("invalid_field", format!("login: {e}"))));
        }
        let key = sae_core::config::login_key(&user.login);
        if self.taken.contains(&key) {
            return Ok(Err(Skip::new(
                "duplicate",
                "login: a user with this login exists",
            )));
        }
        let wallet_id = match &user.wallet {
            None => None,
            Some(name) => {
                if !self.wallets.contains_key(name) {
                    let id = c.wallet_id(name)?;
                    self.wallets.insert(name.clone(), id);
                }
                match self.wallets.get(name).copied().flatten() {
                    Some(id) => Some(id),
                    None => {
                        return Ok(Err(Skip::new(
                            "unknown_wallet",
                            "wallet: no wallet has this name",
                        )));
                    }
                }
            }
        };
        let identity = Identity {
            email: normalised(user.email),
            document: normalised(user.document),
            mobile: normalised(user.mobile),
        };
        for (on, field, value) in [
            (
                self.policies.im.unique_document(),
                "document",
                &identity.document,
            ),
            (self.policies.im.unique_mobile(), "mobile", &identity.mobile),
        ] {
            if let (true, Some(v)) = (on, value)
                && !self.seen.insert((field, v.norm.clone()))
            {
                return Ok(Err(Skip::new(
                    "duplicate",
                    format!("{field}: an earlier row has this {field} ({field} must be unique)"),
                )));
            }
        }
        if let Err(e) = check_unique(c, &self.policies, &identity, None) {
            return refusal(e).map(Err);
        }
        self.taken.insert(key);
        if !store {
            return Ok(Ok(()));
        }
        if let Err(e) = ensure_login_free(c, &user.login) {
            return refusal(e).map(Err);
        }
        let profile = Profile {
            login: user.login,
            name: user.name,
            identity,
            wallet_id,
            password_hash: user
                .password_hash
                .map(sae_core::password::StoredHash::into_string),
        };
        insert_profile(c, profile, self.now, Some(job))?;
        Ok(Ok(()))
    }

    fn commit(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError> {
        c.users_commit_job(job)?;
        Ok(())
    }

    fn rollback(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError> {
        c.users_rollback_job(job)?;
        Ok(())
    }

    fn names(
        &self,
        c: &mut dyn Conn,
        job: &str,
        cursor: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, ServiceError> {
        Ok(c.job_logins(job, cursor, limit)?)
    }
}
