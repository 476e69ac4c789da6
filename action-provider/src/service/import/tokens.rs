//! Token imports: each validated token from a PSKC or CSV file becomes a token row, its
//! secret sealed at once under `token:<id>` like an enrolment's, assigned to the user the
//! file names (a name that is no user skips the token: `unknown_user`), or left in the
//! inventory. A serial another token has skips it (`duplicate_serial`); a token without one
//! gets a generated serial.

use std::collections::{HashMap, HashSet};

use sae_core::import::{ImportedToken, TokenKind};

use super::engine::Importer;
use super::items::{Item, Skip};
use crate::clock::UnixTime;
use crate::crypto::SharedKeyring;
use crate::service::ServiceError;
use crate::service::enrol::{base_token, generated_serial, last_counter_before, new_id};
use crate::store::Conn;
use crate::store::tokens::Token;

/// Writes imported tokens.
pub struct TokenImporter {
    keyring: SharedKeyring,
    now: UnixTime,
    /// Serials of the batch that exist already (or were written by this job).
    taken: HashSet<String>,
    /// Users the batch names, by login.
    users: HashMap<String, i64>,
    /// Rows of the batch, inserted together by [`Importer::flush`].
    rows: Vec<Token>,
}

impl TokenImporter {
    /// An importer sealing with `keyring`, stamping rows with `now`.
    pub fn new(keyring: SharedKeyring, now: UnixTime) -> Self {
        Self {
            keyring,
            now,
            taken: HashSet::new(),
            users: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// A serial no token has, for a token the file gave none.
    fn fresh_serial(&mut self, c: &mut dyn Conn, kind: &str) -> Result<String, ServiceError> {
        loop {
            let serial = generated_serial(kind);
            if !self.taken.contains(&serial)
                && c.serials_taken(std::slice::from_ref(&serial))?.is_empty()
            {
                return Ok(serial);
            }
        }
    }
}

impl Importer for TokenImporter {
    type Item = ImportedToken;
    const ACTION: &'static str = "tokens.import";

    fn prepare(
        &mut self,
        c: &mut dyn Conn,
        batch: &[Item<ImportedToken>],
    ) -> Result<(), ServiceError> {
        let tokens = batch.iter().filter_map(|i| i.body.as_ref().ok());
        let serials: Vec<String> = tokens.clone().filter_map(|t| t.serial.clone()).collect();
        let logins: Vec<String> = tokens.filter_map(|t| t.user.clone()).collect();
        self.rows.clear();
        self.taken = c.serials_taken(&serials)?.into_iter().collect();
        self.users = c.user_ids(&logins)?.into_iter().collect();
        Ok(())
    }

    fn write(
        &mut self,
        c: &mut dyn Conn,
        job: &str,
        token: ImportedToken,
        store: bool,
    ) -> Result<Result<(), Skip>, ServiceError> {
        if let Some(serial) = &token.serial
            && self.taken.contains(serial)
        {
            return Ok(Err(Skip::new(
                "duplicate_serial",
                "SerialNo: a token with this serial exists",
            )));
        }
        let user_id = match &token.user {
            Some(login) => match self.users.get(login) {
                Some(&id) => Some(id),
                None => {
                    return Ok(Err(Skip::new(
                        "unknown_user",
                        "UserId / login: no user has this login",
                    )));
                }
            },
            None => None,
        };
        if !store {
            return Ok(Ok(()));
        }
        let kind = token.kind.as_str();
        let serial = match token.serial.clone() {
            Some(s) => s,
            None => self.fresh_serial(c, kind)?,
        };
        self.taken.insert(serial.clone());
        let id = new_id();
        let mut row = base_token(&id, kind, token.algorithm.to_string(), None, self.now);
        row.serial = serial;
        row.user_id = user_id;
        row.digits = i32::from(token.digits.get());
        match token.kind {
            TokenKind::Hotp { counter } => {
                row.period = 30;
                row.last_counter = last_counter_before(counter);
            }
            TokenKind::Totp { period, .. } => {
                row.period = i32::try_from(period.seconds())
                    .map_err(|e| ServiceError::internal("a time step that does not fit", e))?;
            }
        }
        row.issuer = token.issuer.clone();
        row.valid_from = token.valid_from;
        row.valid_until = token.valid_until;
        row.import_job = Some(job.to_owned());
        row.secret_enc = Some(
            crate::crypto::read(&self.keyring)?
                .seal(&format!("token:{id}"), token.secret.expose_bytes()),
        );
        self.rows.push(row);
        Ok(Ok(()))
    }

    fn flush(&mut self, c: &mut dyn Conn) -> Result<(), ServiceError> {
        let rows = std::mem::take(&mut self.rows);
        c.tokens_insert(&rows)?;
        Ok(())
    }

    fn commit(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError> {
        c.tokens_commit_job(job)?;
        Ok(())
    }

    fn rollback(&self, c: &mut dyn Conn, job: &str) -> Result<(), ServiceError> {
        c.tokens_rollback_job(job)?;
        Ok(())
    }

    fn names(
        &self,
        c: &mut dyn Conn,
        job: &str,
        cursor: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, ServiceError> {
        Ok(c.job_serials(job, cursor, limit)?)
    }
}
