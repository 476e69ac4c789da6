//! Group read (PostgreSQL): the users-with-tokens reads of concurrent validations in one
//! statement.
//!
//! A validation reads its user and tokens before it decides (the code is checked against the
//! secrets outside any transaction). On PostgreSQL each read was a round trip of its own on
//! the blocking pool, and most of its cost is fixed per statement (the round trip, the
//! executor's start-up, the snapshot), not per row. A [`GroupRead`] owns a few connections,
//! each on a thread of its own; a reader takes every lookup waiting (up to [`MAX_LOGINS`]),
//! answers them all with one statement ([`users_with_tokens`]) and then each caller. Under
//! load the lookups queue while a statement runs, so the next one carries many; when the
//! server is idle a lookup waits for nothing (a reader blocks on the queue, not on a timer).
//!
//! Nothing here decides: what a validation read is checked again by the write that follows
//! (the user's row as read, the token's counter by compare-and-set), exactly as when each
//! read was its own statement. The rule that maps a login to its user is the one every
//! lookup by login uses ([`super::login_rule::user_id_of`]).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};
use tokio::sync::mpsc::{self, Receiver, Sender};

use super::error::StoreError;
use super::login_rule::{UserIdOf, user_id_of};
use super::tokens::Token;
use super::users::User;

/// Most logins answered by one statement.
pub const MAX_LOGINS: usize = 64;

/// A user with its tokens (ordered as `tokens_of` orders them), when the login names one.
pub type Found = Option<(User, Vec<Token>)>;

/// One login to look up, with where its answer goes.
struct Lookup {
    login: String,
    reply: tokio::sync::oneshot::Sender<Result<Found, StoreError>>,
}

/// The reader threads and their shared queue.
pub struct GroupRead {
    queue: Sender<Lookup>,
}

impl GroupRead {
    /// Starts `readers` reader threads (each with its own connection, made by `open` at its
    /// first batch and again after a failed statement).
    pub fn start<O>(open: O, readers: usize) -> std::io::Result<Self>
    where
        O: Fn() -> Result<PgConnection, String> + Send + Sync + 'static,
    {
        let (queue, rx) = mpsc::channel::<Lookup>(MAX_LOGINS * 16);
        let rx = Arc::new(Mutex::new(rx));
        let open = Arc::new(open);
        for i in 0..readers.max(1) {
            let (rx, open) = (Arc::clone(&rx), Arc::clone(&open));
            std::thread::Builder::new()
                .name(format!("sae-group-read-{i}"))
                .spawn(move || run(&*open, &rx))?;
        }
        Ok(Self { queue })
    }

    /// The user that answers to `login`, with its tokens, read in the next statement of a
    /// reader (with the other lookups waiting then). With the queue full (the readers stuck
    /// on a slow database) the caller waits without holding its thread, so the server goes
    /// on answering what needs no read.
    pub async fn user_with_tokens(&self, login: String) -> Result<Found, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Lookup { login, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Task("the group-read thread has stopped".to_owned())
}

/// A reader's loop: a batch of waiting lookups, one statement, the answers.
fn run(open: &dyn Fn() -> Result<PgConnection, String>, rx: &Mutex<Receiver<Lookup>>) {
    let mut conn: Option<PgConnection> = None;
    loop {
        let Some(mut batch) = next_batch(rx) else {
            return;
        };
        // A caller that gave up (its request was cancelled) needs no answer.
        batch.retain(|l| !l.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let logins: Vec<&str> = batch.iter().map(|l| l.login.as_str()).collect();
        match read(open, &mut conn, &logins) {
            Ok(found) => {
                for (lookup, found) in batch.into_iter().zip(found) {
                    let _ = lookup.reply.send(Ok(found));
                }
            }
            // No connection to the server: every lookup fails with it at once (read alone,
            // each would wait for a connection attempt of its own in turn).
            Err(StoreError::Connect(e)) => {
                for lookup in batch {
                    let _ = lookup.reply.send(Err(StoreError::Connect(e.clone())));
                }
            }
            // One login's failure must not fail the others': each is read alone.
            Err(_) if batch.len() > 1 => {
                for lookup in batch {
                    let found = read(open, &mut conn, &[lookup.login.as_str()])
                        .map(|mut found| found.pop().flatten());
                    let _ = lookup.reply.send(found);
                }
            }
            Err(e) => {
                if let Some(lookup) = batch.pop() {
                    let _ = lookup.reply.send(Err(e));
                }
            }
        }
    }
}

/// One statement on the reader's connection (made first when there is none; dropped after a
/// failure, the next statement opens a new one).
fn read(
    open: &dyn Fn() -> Result<PgConnection, String>,
    conn: &mut Option<PgConnection>,
    logins: &[&str],
) -> Result<Vec<Found>, StoreError> {
    let c = match conn.take() {
        Some(c) => conn.insert(c),
        None => conn.insert(open().map_err(StoreError::Connect)?),
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| users_with_tokens(c, logins))) {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => {
            *conn = None;
            Err(e.into())
        }
        Err(_) => {
            *conn = None;
            Err(StoreError::Task("the batched read panicked".to_owned()))
        }
    }
}

/// Every lookup waiting (at least one: blocks for the first), up to [`MAX_LOGINS`]; `None`
/// when the queue is closed.
fn next_batch(rx: &Mutex<Receiver<Lookup>>) -> Option<Vec<Lookup>> {
    let mut rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
    let mut batch = vec![rx.blocking_recv()?];
    while batch.len() < MAX_LOGINS {
        match rx.try_recv() {
            Ok(l) => batch.push(l),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// The users answering to `logins` with their tokens, in one statement: one answer per
/// login, in order (a login may repeat).
pub fn users_with_tokens(c: &mut PgConnection, logins: &[&str]) -> QueryResult<Vec<Found>> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        ord: usize,
        login: &'a str,
        key: String,
    }
    let rows: Vec<Row<'_>> = logins
        .iter()
        .enumerate()
        .map(|(ord, login)| Row {
            ord,
            login,
            key: sae_core::config::login_key(login),
        })
        .collect();
    let json = serde_json::to_string(&rows)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let statement = UsersWithTokens {
        json: &json,
        user: User::as_select(),
        token: Token::as_select(),
        rule: user_id_of(Column("i.key"), Column("i.login")),
    };
    let found: Vec<(i64, User, Option<Token>)> = statement.load(c)?;
    let mut out: Vec<Found> = vec![None; logins.len()];
    for (ord, user, token) in found {
        let Some(slot) = usize::try_from(ord).ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        let entry = slot.get_or_insert_with(|| (user, Vec::new()));
        entry.1.extend(token);
    }
    Ok(out)
}

/// The statement of [`users_with_tokens`], around its one bind (the logins as a JSON array
/// with their positions and keys). The logins come as JSON, as in
/// [`super::locks::AcceptAllAsRead`], so that PostgreSQL keeps one generic plan: an index
/// probe (or two) per login, then its row and its tokens by index.
struct UsersWithTokens<'a> {
    json: &'a str,
    user: AsSelect<User, Pg>,
    token: AsSelect<Token, Pg>,
    rule: UserIdOf<Column, Column>,
}

impl QueryFragment<Pg> for UsersWithTokens<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH i AS (SELECT * FROM jsonb_to_recordset(");
        out.push_bind_param::<Text, str>(self.json)?;
        out.push_sql("::jsonb) AS i(ord int8, login text, key text)) SELECT i.ord, ");
        self.user.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.token.walk_ast(out.reborrow())?;
        // Each login's row and tokens by its own index probes (LATERAL, fenced by OFFSET 0):
        // as plain joins, the generic plan (which assumes 100 input rows) hashed a sequential
        // scan of both tables at every statement for stores of up to tens of thousands of
        // users.
        out.push_sql(" FROM i CROSS JOIN LATERAL (SELECT * FROM users WHERE users.id = ");
        self.rule.walk_ast(out.reborrow())?;
        out.push_sql(
            " OFFSET 0) AS users LEFT JOIN LATERAL (SELECT * FROM tokens \
             WHERE tokens.user_id = users.id AND tokens.import_job IS NULL OFFSET 0) AS tokens \
             ON true ORDER BY i.ord, tokens.created_at, tokens.id",
        );
        Ok(())
    }
}

/// A column of the statement's input (`i`) in [`user_id_of`]: written as is (unlike
/// diesel's `sql` literal, it leaves the statement cacheable).
struct Column(&'static str);

impl QueryFragment<Pg> for Column {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

/// No static id: the statement cache keys it by its text (which never varies).
impl QueryId for UsersWithTokens<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for UsersWithTokens<'_> {
    type SqlType = (
        BigInt,
        SqlTypeOf<AsSelect<User, Pg>>,
        SqlTypeOf<AsSelect<Option<Token>, Pg>>,
    );
}

impl RunQueryDsl<PgConnection> for UsersWithTokens<'_> {}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection as _;

    use super::*;

    /// A reader stuck at its connection while more lookups arrive than its queue holds: the
    /// lookups beyond the queue wait as tasks, not holding the runtime's one thread; once the
    /// reader goes on (its connection refused here: no database needed), each is answered.
    #[test]
    fn lookups_beyond_a_full_queue_wait_without_holding_a_thread() {
        use super::super::group_commit::full_queue::{Caller, Gate, runs_while_stuck};
        let (gate, release) = Gate::new();
        let reader = Arc::new(
            GroupRead::start(
                move || {
                    gate.wait();
                    Err("refused".to_owned())
                },
                1,
            )
            .unwrap(),
        );
        let lookups = MAX_LOGINS * 16 + MAX_LOGINS + 8;
        let (ran_meanwhile, answered) = runs_while_stuck(&release, || {
            (0..lookups)
                .map(|i| {
                    let reader = Arc::clone(&reader);
                    Box::pin(async move {
                        let found = reader.user_with_tokens(format!("u{i}")).await;
                        matches!(found, Err(StoreError::Connect(_)))
                    }) as Caller
                })
                .collect()
        });
        assert!(
            ran_meanwhile,
            "the runtime's thread was held while the reader was stuck"
        );
        assert_eq!(answered, lookups);
    }

    /// A fresh PostgreSQL database with SAE's schema, then `sql` run on the returned
    /// connection (`None`: no PostgreSQL, see `fresh_pg`).
    fn migrated_pg(sql: &str) -> Option<(String, PgConnection)> {
        let url = super::super::group_commit::tests::fresh_pg()?;
        super::super::Store::open(&url, 2)
            .unwrap()
            .migrate()
            .unwrap();
        let mut c = PgConnection::establish(&url).unwrap();
        c.batch_execute(sql).unwrap();
        Some((url, c))
    }

    /// A closed queue holding a lookup of each login, and where each one's answer arrives.
    fn queued(
        logins: &[&str],
    ) -> (
        Receiver<Lookup>,
        Vec<tokio::sync::oneshot::Receiver<Result<Found, StoreError>>>,
    ) {
        let (queue, rx) = mpsc::channel::<Lookup>(logins.len());
        let answers = logins
            .iter()
            .map(|login| {
                let (reply, answer) = tokio::sync::oneshot::channel();
                queue
                    .try_send(Lookup {
                        login: (*login).to_owned(),
                        reply,
                    })
                    .unwrap();
                answer
            })
            .collect();
        (rx, answers)
    }

    /// Lookups waiting together are answered by one statement, each with its own user (a
    /// login twice, a case-folded one, an unknown one); a lookup the statement cannot take
    /// (a NUL, which PostgreSQL's JSON refuses) fails alone, its batch's others answered.
    #[test]
    fn a_batch_answers_each_lookup_and_one_bad_login_fails_alone() {
        let Some((url, _)) = migrated_pg(
            "INSERT INTO users (login, login_key, created_at, updated_at, password_history, authsys_names)
             VALUES ('ana', 'ana', 0, 0, '[]', '[]'), ('bea', 'bea', 0, 0, '[]', '[]');
             INSERT INTO tokens (id, serial, user_id, kind, algorithm, digits, period, t0, created_at)
             SELECT 't' || n || login, 's' || n || login, id, 'hotp', 'sha1', 6, 30, 0, 3 - n
               FROM users, generate_series(1, 2) n;",
        ) else {
            return;
        };
        let (rx, answers) = queued(&["ana", "BEA", "nobody", "a\u{0}b", "ana"]);
        // All five wait before the reader starts: one batch; the reader ends when the queue
        // is empty and closed.
        let opened = std::sync::atomic::AtomicUsize::new(0);
        let open = || {
            opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            PgConnection::establish(&url).map_err(|e| e.to_string())
        };
        run(&open, &Mutex::new(rx));
        type Got = Result<Option<(String, Vec<String>)>, String>;
        let got: Vec<Got> = answers
            .into_iter()
            .map(|mut a| {
                a.try_recv()
                    .unwrap()
                    .map(|f| f.map(|(u, ts)| (u.login, ts.into_iter().map(|t| t.id).collect())))
                    .map_err(|e| e.to_string())
            })
            .collect();
        let ana = Some((
            "ana".to_owned(),
            vec!["t2ana".to_owned(), "t1ana".to_owned()],
        ));
        let bea = Some((
            "bea".to_owned(),
            vec!["t2bea".to_owned(), "t1bea".to_owned()],
        ));
        assert_eq!(got[0], Ok(ana.clone()));
        assert_eq!(got[1], Ok(bea));
        assert_eq!(got[2], Ok(None));
        assert!(got[3].is_err(), "the NUL login fails: {:?}", got[3]);
        assert_eq!(got[4], Ok(ana));
        // The batch's statement failed (one connection), then each login alone: the failure
        // dropped the connection once more (the NUL's own statement).
        assert_eq!(opened.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    /// With no connection to be had, a batch fails every lookup with that error after one
    /// attempt to connect (read alone, each would wait for a connection attempt in turn).
    #[test]
    fn a_batch_without_a_connection_fails_every_lookup_after_one_attempt() {
        let (rx, answers) = queued(&["ana", "bea", "cid"]);
        let opened = std::sync::atomic::AtomicUsize::new(0);
        let open = || {
            opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err::<PgConnection, _>("connection refused".to_owned())
        };
        run(&open, &Mutex::new(rx));
        for mut answer in answers {
            let got = answer.try_recv().unwrap();
            assert!(
                matches!(&got, Err(StoreError::Connect(e)) if e == "connection refused"),
                "{got:?}"
            );
        }
        assert_eq!(opened.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    /// The generic plans of the two statements bound as JSON (this read, and the batch's
    /// successes, `AcceptAllAsRead`) probe the indexes of `users` and `tokens` at a store of
    /// a few thousand users: planned for 100 input rows, plain joins hashed a sequential
    /// scan of each table at every statement.
    #[test]
    fn the_json_statements_probe_indexes_at_a_few_thousand_users() {
        let Some((_, mut c)) = migrated_pg(
            "INSERT INTO users (login, login_key, created_at, updated_at, password_history, authsys_names)
             SELECT 'u' || g, 'u' || g, 0, 0, '[]', '[]' FROM generate_series(1, 3000) g;
             INSERT INTO tokens (id, serial, user_id, kind, algorithm, digits, period, t0, created_at)
             SELECT 't' || id, 's' || id, id, 'hotp', 'sha1', 6, 30, 0, 0 FROM users;
             ANALYZE users; ANALYZE tokens;
             SET plan_cache_mode = force_generic_plan;",
        ) else {
            return;
        };
        let statement = UsersWithTokens {
            json: "[]",
            user: User::as_select(),
            token: Token::as_select(),
            rule: user_id_of(Column("i.key"), Column("i.login")),
        };
        let read = diesel::debug_query::<Pg, _>(&statement).to_string();
        let read = read.split(" -- binds:").next().unwrap().to_owned();
        let accept = super::super::locks::ACCEPT_ALL_AS_READ.join("$1");
        for (name, sql, json) in [
            ("read", read, r#"[{"ord":0,"login":"u7","key":"u7"}]"#),
            ("accept", accept, "[]"),
        ] {
            c.batch_execute(&format!("PREPARE {name}(text) AS {sql}"))
                .unwrap();
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
                line: String,
            }
            let plan: Vec<Line> = diesel::sql_query(format!("EXPLAIN EXECUTE {name}('{json}')"))
                .load(&mut c)
                .unwrap();
            let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
            for table in ["users", "tokens"] {
                assert!(
                    !plan
                        .iter()
                        .any(|l| l.contains(&format!("Seq Scan on {table}"))),
                    "{name}: a sequential scan of {table}:\n{}",
                    plan.join("\n")
                );
            }
        }
    }
}
