//! The `tokens` table: OTP credentials (TOTP, HOTP, OPIE) with their replay state, assigned
//! to a user or waiting unassigned in the inventory.
//!
//! Rows with `import_job` set belong to an import that has not committed: every query here
//! but the uniqueness checks and the job's own commit / rollback ignores them.

use diesel::prelude::*;

use super::fixed::{Bind, Fixed};
use super::schema::{tokens, users};

/// An OTP credential as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct Token {
    /// Integer key of keyset pages (assigned by the database).
    #[diesel(skip_insertion)]
    pub seq: i64,
    /// Random id (hex).
    pub id: String,
    /// Unique serial (given at import or enrolment, else generated with a type prefix).
    pub serial: String,
    /// Owner; `None` while the token waits in the inventory.
    pub user_id: Option<i64>,
    /// Device name, if the token belongs to a device.
    pub device: Option<String>,
    /// `totp`, `hotp` or `opie`.
    pub kind: String,
    /// `sha1`/`sha256`/`sha512`, or `md4`/`md5`/`sha1` for OPIE.
    pub algorithm: String,
    /// Code length (TOTP/HOTP).
    pub digits: i32,
    /// Time step (TOTP).
    pub period: i32,
    /// T0 (TOTP).
    pub t0: i64,
    /// Sealed secret (TOTP/HOTP).
    pub secret_enc: Option<String>,
    /// Last accepted counter or step (order-preserving encoding).
    pub last_counter: Option<i64>,
    /// OPIE seed.
    pub opie_seed: Option<String>,
    /// OPIE sequence count of the stored OTP.
    pub opie_count: Option<i32>,
    /// OPIE stored OTP (hex).
    pub opie_last: Option<String>,
    /// Active.
    pub active: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last successful use.
    pub last_used_at: Option<i64>,
    /// Issuer named by an imported file (PSKC `Issuer`).
    pub issuer: Option<String>,
    /// Not usable before (PSKC `StartDate`), unix seconds.
    pub valid_from: Option<i64>,
    /// Not usable after (PSKC `ExpiryDate`), unix seconds.
    pub valid_until: Option<i64>,
    /// The import job that wrote the row and has not committed yet.
    pub import_job: Option<String>,
}

impl Token {
    /// Whether the token may be used at `now` (unix seconds): active and inside its dates.
    pub fn usable_at(&self, now: i64) -> bool {
        self.active
            && self.valid_from.is_none_or(|from| now >= from)
            && self.valid_until.is_none_or(|until| now <= until)
    }
}

/// Filters of the inventory listing.
#[derive(Debug, Clone, Default)]
pub struct TokenFilter {
    /// Serials starting with this.
    pub serial_prefix: Option<String>,
    /// `totp`, `hotp` or `opie`.
    pub kind: Option<String>,
    /// Only assigned (`Some(true)`) or only unassigned tokens.
    pub assigned: Option<bool>,
    /// Only this user's tokens.
    pub user_id: Option<i64>,
}

/// Queries of the tokens table.
pub trait Tokens {
    /// Inserts a token.
    fn token_insert(&mut self, token: &Token) -> QueryResult<()>;
    /// Inserts tokens in one statement (an import's batch).
    fn tokens_insert(&mut self, tokens: &[Token]) -> QueryResult<()>;
    /// A user's tokens (active and not), oldest first.
    fn tokens_of(&mut self, user_id: i64) -> QueryResult<Vec<Token>>;
    /// One token of a user.
    fn token_of(&mut self, user_id: i64, id: &str) -> QueryResult<Option<Token>>;
    /// Advances a token's last accepted counter to `new` if it is still below it
    /// (compare-and-set); returns whether this call advanced it.
    fn token_advance(&mut self, id: &str, new: i64, now: i64) -> QueryResult<bool>;
    /// Moves an OPIE token from `count` to `count - 1` with the presented OTP, if it is still
    /// at `count` (compare-and-set).
    fn token_opie_advance(
        &mut self,
        id: &str,
        count: i32,
        presented_hex: &str,
        now: i64,
    ) -> QueryResult<bool>;
    /// Deletes a token of a user; returns whether it existed.
    fn token_delete(&mut self, user_id: i64, id: &str) -> QueryResult<bool>;
    /// A page of the inventory by `seq` after `cursor`, each token with its user's login.
    fn tokens_page(
        &mut self,
        filter: &TokenFilter,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<(Token, Option<String>)>>;
    /// The token with this serial, with its user's login.
    fn token_by_serial(&mut self, serial: &str) -> QueryResult<Option<(Token, Option<String>)>>;
    /// Gives an unassigned token to a user; returns whether it was unassigned.
    fn token_assign(&mut self, id: &str, user_id: i64) -> QueryResult<bool>;
    /// Takes a token from `user_id` back into the inventory (and off its device); returns
    /// whether it was that user's.
    fn token_unassign(&mut self, id: &str, user_id: i64) -> QueryResult<bool>;
    /// Deletes a token by id; returns whether it existed.
    fn token_delete_any(&mut self, id: &str) -> QueryResult<bool>;
    /// Which of `serials` exist (committed or pending).
    fn serials_taken(&mut self, serials: &[String]) -> QueryResult<Vec<String>>;
    /// Makes the rows of an import job visible; returns how many.
    fn tokens_commit_job(&mut self, job: &str) -> QueryResult<usize>;
    /// Deletes the rows of an import job; returns how many.
    fn tokens_rollback_job(&mut self, job: &str) -> QueryResult<usize>;
    /// Serials of an import job's rows by `seq` after `cursor` (for its audit record).
    fn job_serials(
        &mut self,
        job: &str,
        cursor: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, String)>>;
}

for_both_backends! {
    impl Tokens {
        fn token_insert(&mut self, token: &Token) -> QueryResult<()> {
            diesel::insert_into(tokens::table).values(token).execute(self).map(|_| ())
        }

        fn tokens_insert(&mut self, rows: &[Token]) -> QueryResult<()> {
            if rows.is_empty() {
                return Ok(());
            }
            diesel::insert_into(tokens::table).values(rows).execute(self).map(|_| ())
        }

        fn tokens_of(&mut self, user_id: i64) -> QueryResult<Vec<Token>> {
            tokens::table
                .filter(tokens::user_id.eq(user_id))
                .filter(tokens::import_job.is_null())
                .order((tokens::created_at, tokens::id))
                .select(Token::as_select())
                .load(self)
        }

        fn token_of(&mut self, user_id: i64, id: &str) -> QueryResult<Option<Token>> {
            tokens::table
                .filter(tokens::user_id.eq(user_id))
                .filter(tokens::id.eq(id))
                .filter(tokens::import_job.is_null())
                .select(Token::as_select())
                .first(self)
                .optional()
        }

        fn token_advance(&mut self, id: &str, new: i64, now: i64) -> QueryResult<bool> {
            // Fixed text, so the connection keeps it prepared (see `store::fixed`).
            let parts = [
                "UPDATE tokens SET last_counter = ",
                ", last_used_at = ",
                " WHERE id = ",
                " AND (last_counter IS NULL OR last_counter < ",
                ")",
            ];
            let binds = [Bind::Int(new), Bind::Int(now), Bind::Text(id), Bind::Int(new)];
            Fixed::<()>::new(&parts, &binds).execute(self).map(|n| n == 1)
        }

        fn token_opie_advance(&mut self, id: &str, count: i32, presented_hex: &str, now: i64) -> QueryResult<bool> {
            diesel::update(tokens::table.filter(tokens::id.eq(id)).filter(tokens::opie_count.eq(count)))
                .set((
                    tokens::opie_count.eq(count - 1),
                    tokens::opie_last.eq(presented_hex),
                    tokens::last_used_at.eq(now),
                ))
                .execute(self)
                .map(|n| n == 1)
        }

        fn token_delete(&mut self, user_id: i64, id: &str) -> QueryResult<bool> {
            diesel::delete(tokens::table.filter(tokens::user_id.eq(user_id)).filter(tokens::id.eq(id)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn tokens_page(&mut self, filter: &TokenFilter, cursor: i64, limit: i64) -> QueryResult<Vec<(Token, Option<String>)>> {
            let mut q = tokens::table
                .left_join(users::table)
                .select((Token::as_select(), users::login.nullable()))
                .filter(tokens::seq.gt(cursor))
                .filter(tokens::import_job.is_null())
                .into_boxed();
            if let Some(p) = &filter.serial_prefix {
                let escaped = p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                q = q.filter(tokens::serial.like(format!("{escaped}%")).escape('\\'));
            }
            if let Some(k) = &filter.kind {
                q = q.filter(tokens::kind.eq(k.clone()));
            }
            match filter.assigned {
                Some(true) => q = q.filter(tokens::user_id.is_not_null()),
                Some(false) => q = q.filter(tokens::user_id.is_null()),
                None => {}
            }
            if let Some(u) = filter.user_id {
                q = q.filter(tokens::user_id.eq(u));
            }
            q.order(tokens::seq).limit(limit).load(self)
        }

        fn token_by_serial(&mut self, serial: &str) -> QueryResult<Option<(Token, Option<String>)>> {
            tokens::table
                .left_join(users::table)
                .select((Token::as_select(), users::login.nullable()))
                .filter(tokens::serial.eq(serial))
                .filter(tokens::import_job.is_null())
                .first(self)
                .optional()
        }

        fn token_assign(&mut self, id: &str, user_id: i64) -> QueryResult<bool> {
            diesel::update(tokens::table.filter(tokens::id.eq(id)).filter(tokens::user_id.is_null()))
                .set(tokens::user_id.eq(user_id))
                .execute(self)
                .map(|n| n == 1)
        }

        fn token_unassign(&mut self, id: &str, user_id: i64) -> QueryResult<bool> {
            diesel::update(tokens::table.filter(tokens::id.eq(id)).filter(tokens::user_id.eq(user_id)))
                .set((tokens::user_id.eq(None::<i64>), tokens::device.eq(None::<String>)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn token_delete_any(&mut self, id: &str) -> QueryResult<bool> {
            diesel::delete(tokens::table.filter(tokens::id.eq(id))).execute(self).map(|n| n == 1)
        }

        fn serials_taken(&mut self, serials: &[String]) -> QueryResult<Vec<String>> {
            if serials.is_empty() {
                return Ok(Vec::new());
            }
            tokens::table
                .filter(tokens::serial.eq_any(serials))
                .select(tokens::serial)
                .load(self)
        }

        fn tokens_commit_job(&mut self, job: &str) -> QueryResult<usize> {
            diesel::update(tokens::table.filter(tokens::import_job.eq(job)))
                .set(tokens::import_job.eq(None::<String>))
                .execute(self)
        }

        fn tokens_rollback_job(&mut self, job: &str) -> QueryResult<usize> {
            diesel::delete(tokens::table.filter(tokens::import_job.eq(job))).execute(self)
        }

        fn job_serials(&mut self, job: &str, cursor: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
            tokens::table
                .filter(tokens::import_job.eq(job))
                .filter(tokens::seq.gt(cursor))
                .order(tokens::seq)
                .limit(limit)
                .select((tokens::seq, tokens::serial))
                .load(self)
        }
    }
}
