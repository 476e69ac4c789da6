//! Logins are identities (SPEC §4.8): one place decides whether a new login may be taken
//! (its canonical key is free and it does not pass for an existing login written in another
//! script), and one place gives rows written before the keys existed their keys.

use sae_core::config::{LoginKeys, confusable};

use super::error::{Conflict, ServiceError};
use crate::store::logins::LoginTable;
use crate::store::prelude::*;
use crate::store::{Store, StoreError};

fn noun(table: LoginTable) -> &'static str {
    match table {
        LoginTable::Users => "user",
        LoginTable::Admins => "administrator",
    }
}

/// Checks, inside the creating transaction, that `login` may be taken in `table`: serialises
/// creators of look-alike logins, then refuses a login whose canonical key is taken (409
/// `duplicate`, naming the holder) or that is confusable with an existing login (409
/// `confusable_login`, naming it). `field` names the input (`login`, `--login`).
pub fn claim(
    c: &mut dyn Conn,
    table: LoginTable,
    login: &str,
    field: &str,
) -> Result<(), ServiceError> {
    let keys = LoginKeys::of(login);
    // Every login that could clash shares the skeleton: one lock covers duplicates and
    // look-alikes (PostgreSQL; SQLite writers are serialised already).
    c.lock_key(&format!("login:{}:{}", table.as_str(), keys.skeleton))?;
    if let Some(holder) = c.login_with_key(table, &keys.key)? {
        let detail = if holder == login {
            format!("{field}: a {} with this login exists", noun(table))
        } else {
            format!(
                "{field}: the {} {holder:?} exists, and logins differing only in case or \
                 Unicode normalisation are the same login",
                noun(table)
            )
        };
        return Err(ServiceError::conflict(
            Conflict::Duplicate,
            Some(field),
            detail,
        ));
    }
    for existing in c.logins_with_skeleton(table, &keys.skeleton)? {
        if confusable(login, &existing) {
            return Err(ServiceError::conflict(
                Conflict::ConfusableLogin,
                Some(field),
                format!(
                    "{field}: looks like the existing {} {existing:?} written with characters \
                     of another script",
                    noun(table)
                ),
            ));
        }
    }
    Ok(())
}

/// Two stored logins with one canonical key: the later row keeps no key (it is still found
/// by its exact login) until an administrator renames or deletes one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// `users` or `admins`.
    pub table: LoginTable,
    /// The login left without a key.
    pub login: String,
    /// The login that holds the key.
    pub holder: String,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} is the same login as {:?} (case or Unicode normalisation): rename or delete one",
            noun(self.table),
            self.login,
            self.holder
        )
    }
}

const BACKFILL_BATCH: i64 = 500;

/// Gives every row without a canonical key its key and skeleton, in batches; returns the
/// rows that could not take theirs because another row holds the key. Nothing is merged.
pub fn backfill(store: &Store) -> Result<Vec<Collision>, StoreError> {
    let mut collisions = Vec::new();
    for table in [LoginTable::Users, LoginTable::Admins] {
        let mut after = 0;
        loop {
            let (last, found) = store.write_blocking(|c| {
                let rows = c.logins_unkeyed(table, after, BACKFILL_BATCH)?;
                let mut found = Vec::new();
                for (id, login) in &rows {
                    let keys = LoginKeys::of(login);
                    match c.login_with_key(table, &keys.key)? {
                        Some(holder) => found.push(Collision {
                            table,
                            login: login.clone(),
                            holder,
                        }),
                        None => c.login_set_keys(table, *id, &keys.key, &keys.skeleton)?,
                    }
                }
                Ok::<_, StoreError>((rows.last().map(|(id, _)| *id), found))
            })?;
            collisions.extend(found);
            match last {
                Some(id) => after = id,
                None => break,
            }
        }
    }
    Ok(collisions)
}
