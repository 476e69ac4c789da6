//! `sae keys`: two-phase rotation of the master keyring.
//!
//! `add` appends a key that every node can decrypt with but nobody encrypts with yet;
//! `activate` makes it the sealing key (once every node has reloaded the keyring);
//! `reencrypt` rewrites every sealed column's values that are not under the active key, in
//! small batches, each row with a compare-and-swap on its old ciphertext so a concurrent
//! update by a serving node is never overwritten. `list` shows the keys and how many stored
//! secrets each one still protects. Key material is never printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use crate::config::{Config, ServeArgs, StoreArgs};
use crate::crypto::Keyring;
use crate::mail_sender::{CTX_CLIENT_SECRET, CTX_PASSWORD, ctx_access, ctx_pkce, ctx_refresh};
use crate::store::{DbConn, DbPool};
use crate::{with_conn, write_tx};

/// `sae keys …`
#[derive(Debug, clap::Subcommand)]
pub enum KeysAction {
    /// List the keys: id, created, active or not, stored secrets under the key, and pending
    /// (unexpired) issued SMS/e-mail codes whose keyed hash uses the key. Never prints keys.
    List {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add a fresh key that nodes can decrypt with but that does not seal anything yet.
    /// Reload every node (SIGHUP, or wait for the periodic reload) before `activate`.
    Add {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The new key's id (1–32 of A-Z a-z 0-9 _ . -) [default: k<n+1>]
        kid: Option<String>,
    },
    /// Make a key the one that seals new secrets (only after every node has reloaded the
    /// keyring since `add`).
    Activate {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The key's id (from `sae keys list`).
        kid: String,
    },
    /// Remove a retired key from the keyring: refused while it is active, while any stored
    /// secret is under it, or while unexpired SMS/e-mail codes were hashed with it. Run it
    /// only after every node has reloaded since `activate` and `reencrypt` has finished.
    Remove {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The key's id (from `sae keys list`).
        kid: String,
    },
    /// Re-seal every stored secret that is not under the active key (safe while serving).
    Reencrypt {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// Rows per transaction.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
}

/// A database column holding sealed values.
#[derive(Debug)]
pub struct SealedColumn {
    /// Table.
    pub table: &'static str,
    /// Its primary key column.
    pub pk: &'static str,
    /// Whether the primary key is an integer (else text).
    pub pk_int: bool,
    /// The sealed column.
    pub column: &'static str,
    /// The column the seal context is derived from.
    aux: &'static str,
    /// The seal context, from the `aux` column's value.
    context: fn(&str) -> String,
    /// Extra SQL condition selecting the rows whose column is sealed.
    filter: &'static str,
}

impl SealedColumn {
    /// `table.column`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn filter(&self) -> String {
        if self.filter.is_empty() {
            String::new()
        } else {
            format!(" AND ({})", self.filter)
        }
    }
}

/// Every sealed column. A column added elsewhere must be added here (the rotation test
/// scans a database dump for ciphertexts left under the old key).
pub static SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "tokens",
        pk: "id",
        pk_int: false,
        column: "secret_enc",
        aux: "id",
        context: |id| format!("token:{id}"),
        filter: "",
    },
    SealedColumn {
        table: "users",
        pk: "id",
        pk_int: true,
        column: "authsys_enc",
        aux: "id",
        context: |id| format!("authsys:{id}"),
        filter: "",
    },
    SealedColumn {
        table: "outbox",
        pk: "id",
        pk_int: true,
        column: "payload_enc",
        aux: "request_id",
        context: |rid| format!("outbox:{rid}"),
        filter: "",
    },
    SealedColumn {
        table: "settings",
        pk: "name",
        pk_int: false,
        column: "value",
        aux: "name",
        context: str::to_owned,
        // crate::sms::DOC and VOICE_DOC (checked by a test).
        filter: "name IN ('delivery.sms', 'delivery.voice')",
    },
    SealedColumn {
        table: "oauth2_profiles",
        pk: "id",
        pk_int: true,
        column: "client_secret_enc",
        aux: "id",
        context: |_| CTX_CLIENT_SECRET.to_owned(),
        filter: "",
    },
    SealedColumn {
        table: "oauth2_profiles",
        pk: "id",
        pk_int: true,
        column: "access_token_enc",
        aux: "id",
        context: |id| id.parse().map(ctx_access).unwrap_or_default(),
        filter: "",
    },
    SealedColumn {
        table: "oauth2_profiles",
        pk: "id",
        pk_int: true,
        column: "refresh_token_enc",
        aux: "id",
        context: |id| id.parse().map(ctx_refresh).unwrap_or_default(),
        filter: "",
    },
    SealedColumn {
        table: "oauth2_pending",
        pk: "state",
        pk_int: false,
        column: "pkce_verifier_enc",
        aux: "state",
        context: ctx_pkce,
        filter: "",
    },
    SealedColumn {
        table: "smtp_accounts",
        pk: "id",
        pk_int: true,
        column: "password_enc",
        aux: "id",
        context: |_| CTX_PASSWORD.to_owned(),
        filter: "",
    },
    SealedColumn {
        table: "admins",
        pk: "id",
        pk_int: true,
        column: "totp_secret",
        aux: "id",
        context: |id| format!("admin-totp:{id}"),
        filter: "",
    },
    SealedColumn {
        table: "admins",
        pk: "id",
        pk_int: true,
        column: "totp_pending",
        aux: "id",
        context: |id| format!("admin-totp:{id}"),
        filter: "",
    },
];

/// Runs `sae keys …`: 0 on success, 2 on bad input (unknown or invalid key id), 1 otherwise.
pub fn run(action: KeysAction) -> ExitCode {
    let result = match action {
        KeysAction::List { store } => list(&store),
        KeysAction::Add { store, kid } => add(&store, kid.as_deref()),
        KeysAction::Activate { store, kid } => activate(&store, &kid),
        KeysAction::Reencrypt { store, batch } => reencrypt(&store, batch),
        KeysAction::Remove { store, kid } => remove(&store, &kid),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("sae: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("sae: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed.
enum Failure {
    /// Bad input: exit status 2.
    Usage(String),
    /// Anything else: exit status 1.
    Runtime(String),
}

fn rt(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

fn config(store: &StoreArgs) -> Result<Config, Failure> {
    Config::resolve(store, &ServeArgs::default()).map_err(rt)
}

fn load(path: &Path) -> Result<Keyring, Failure> {
    if !path.exists() {
        return Err(Failure::Runtime(format!(
            "no keyring at {} (check --data-dir / --keyring; `sae serve` creates it on first start)",
            path.display()
        )));
    }
    Keyring::load(path).map_err(rt)
}

fn open_pool(config: &Config) -> Result<DbPool, Failure> {
    if config.database_url.is_none() && !config.data_dir.join("sae.db").exists() {
        return Err(Failure::Runtime(format!(
            "no database at {} (check --data-dir / --database-url)",
            config.data_dir.join("sae.db").display()
        )));
    }
    let pool = DbPool::open(&config.store_url(), 2).map_err(rt)?;
    pool.migrate().map_err(rt)?;
    Ok(pool)
}

/// Holds an exclusive lock on `<keyring>.lock` so two `sae keys` runs do not lose an update.
fn lock_keyring(path: &Path) -> Result<std::fs::File, Failure> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&lock_path)
        .map_err(|e| Failure::Runtime(format!("{}: {e}", lock_path.display())))?;
    file.lock()
        .map_err(|e| Failure::Runtime(format!("{}: {e}", lock_path.display())))?;
    Ok(file)
}

fn add(store: &StoreArgs, kid: Option<&str>) -> Result<(), Failure> {
    let config = config(store)?;
    let _lock = lock_keyring(&config.keyring)?;
    let mut ring = load(&config.keyring)?;
    let kid = kid.map_or_else(|| ring.next_key_id(), str::to_owned);
    if !Keyring::valid_key_id(&kid) {
        return Err(Failure::Usage(format!(
            "<KID>: {kid:?} is not a valid key id (1-32 of A-Z a-z 0-9 _ . -)"
        )));
    }
    if ring.key_ids().any(|k| k == kid) {
        return Err(Failure::Usage(format!(
            "<KID>: key {kid:?} is already in the keyring"
        )));
    }
    ring.add_key(&kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    println!("{kid}");
    eprintln!(
        "key {kid} added to {} (not active). Next: make every node reload the keyring \
         (SIGHUP, or wait keyring_reload_secs), then `sae keys activate {kid}`.",
        config.keyring.display()
    );
    Ok(())
}

fn activate(store: &StoreArgs, kid: &str) -> Result<(), Failure> {
    let config = config(store)?;
    let _lock = lock_keyring(&config.keyring)?;
    let mut ring = load(&config.keyring)?;
    if !ring.key_ids().any(|k| k == kid) {
        let held: Vec<_> = ring.key_ids().collect();
        return Err(Failure::Usage(format!(
            "<KID>: no key {kid:?} in the keyring (keys: {})",
            held.join(", ")
        )));
    }
    if ring.active_id() == kid {
        eprintln!("key {kid} is already active");
        return Ok(());
    }
    ring.activate(kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    eprintln!(
        "key {kid} is now active in {}. Nodes seal with it after their next reload (SIGHUP, \
         or keyring_reload_secs); then run `sae keys reencrypt`.",
        config.keyring.display()
    );
    Ok(())
}

fn remove(store: &StoreArgs, kid: &str) -> Result<(), Failure> {
    let config = config(store)?;
    let _lock = lock_keyring(&config.keyring)?;
    let mut ring = load(&config.keyring)?;
    if !ring.key_ids().any(|k| k == kid) {
        let held: Vec<_> = ring.key_ids().collect();
        return Err(Failure::Usage(format!(
            "<KID>: no key {kid:?} in the keyring (keys: {})",
            held.join(", ")
        )));
    }
    if ring.active_id() == kid {
        return Err(Failure::Usage(format!(
            "<KID>: key {kid:?} is the active key: add and activate another one first"
        )));
    }
    let pool = open_pool(&config)?;
    let backend = pool.backend();
    let mut conn = pool.get().map_err(rt)?;
    let secrets = counts(&mut conn, backend, &ring)?
        .get(&Some(kid.to_owned()))
        .copied()
        .unwrap_or(0);
    if secrets > 0 {
        return Err(Failure::Runtime(format!(
            "{secrets} stored secrets are still under key {kid}: run `sae keys reencrypt` first"
        )));
    }
    let codes = pending_codes(&mut conn, backend, kid)?;
    if codes > 0 {
        return Err(Failure::Runtime(format!(
            "{codes} unexpired SMS/e-mail codes were hashed with key {kid}: try again once \
             they have expired (code_ttl_s)"
        )));
    }
    ring.remove_key(kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    eprintln!(
        "key {kid} removed from {}; nodes forget it at their next reload",
        config.keyring.display()
    );
    Ok(())
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL.
fn sql_for(pool_backend: &str, sql: &str) -> String {
    if pool_backend != "postgres" {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = Text)]
    pk: String,
    #[diesel(sql_type = Text)]
    aux: String,
    #[diesel(sql_type = Text)]
    sealed: String,
}

/// Non-null values of `col`, all of them or those starting with `prefix`.
fn count(
    conn: &mut DbConn,
    backend: &str,
    col: &SealedColumn,
    prefix: Option<&str>,
) -> Result<i64, Failure> {
    let base = format!(
        "SELECT count(*) AS n FROM {} WHERE {} IS NOT NULL{}",
        col.table,
        col.column,
        col.filter()
    );
    let n = match prefix {
        None => with_conn!(conn, |c| diesel::sql_query(&base).get_result::<Count>(c)),
        Some(p) => {
            let sql = sql_for(
                backend,
                &format!("{base} AND substr({}, 1, ?) = ?", col.column),
            );
            let len = i32::try_from(p.len()).map_err(rt)?;
            with_conn!(conn, |c| diesel::sql_query(&sql)
                .bind::<Integer, _>(len)
                .bind::<Text, _>(p)
                .get_result::<Count>(c))
        }
    };
    n.map(|c| c.n)
        .map_err(|e| Failure::Runtime(format!("{}: {e}", col.name())))
}

/// Stored secrets under each key id held, plus those under ids not held (`None`).
fn counts(
    conn: &mut DbConn,
    backend: &str,
    ring: &Keyring,
) -> Result<BTreeMap<Option<String>, i64>, Failure> {
    let mut out = BTreeMap::new();
    for col in SEALED {
        let mut known = 0;
        for kid in ring.key_ids() {
            let n = count(conn, backend, col, Some(&format!("{kid}$")))?;
            *out.entry(Some(kid.to_owned())).or_insert(0) += n;
            known += n;
        }
        let total = count(conn, backend, col, None)?;
        *out.entry(None).or_insert(0) += total - known;
    }
    Ok(out)
}

fn pending_codes(conn: &mut DbConn, backend: &str, kid: &str) -> Result<i64, Failure> {
    let sql = sql_for(
        backend,
        "SELECT count(*) AS n FROM issued_codes WHERE key_id = ? AND used_at IS NULL AND expires_at > ?",
    );
    with_conn!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(kid)
        .bind::<BigInt, _>(crate::now())
        .get_result::<Count>(c))
    .map(|c| c.n)
    .map_err(rt)
}

fn list(store: &StoreArgs) -> Result<(), Failure> {
    let config = config(store)?;
    let ring = load(&config.keyring)?;
    let pool = open_pool(&config)?;
    let backend = pool.backend();
    let mut conn = pool.get().map_err(rt)?;
    let counts = counts(&mut conn, backend, &ring)?;
    println!("KEY\tCREATED\tSTATE\tSECRETS\tPENDING_CODES");
    for kid in ring.key_ids() {
        let created = ring
            .created_at(kid)
            .map_or_else(|| "-".to_owned(), crate::timefmt::rfc3339);
        let state = if kid == ring.active_id() {
            "active"
        } else {
            "inactive"
        };
        let n = counts.get(&Some(kid.to_owned())).copied().unwrap_or(0);
        let codes = pending_codes(&mut conn, backend, kid)?;
        println!("{kid}\t{created}\t{state}\t{n}\t{codes}");
    }
    let missing = counts.get(&None).copied().unwrap_or(0);
    if missing > 0 {
        println!("(unknown)\t-\tmissing\t{missing}\t-");
        eprintln!("warning: {missing} stored secrets are under key ids this keyring does not hold");
    }
    Ok(())
}

/// Totals of a re-encryption pass.
#[derive(Debug, Default)]
struct Pass {
    rewritten: u64,
    /// Rows changed by someone else between our read and our write (left as they are).
    raced: u64,
    /// Rows that do not open with this keyring: `table.column` and primary key.
    broken: Vec<String>,
}

fn reencrypt_column(
    conn: &mut DbConn,
    backend: &str,
    ring: &Keyring,
    col: &SealedColumn,
    batch: i64,
    pass: &mut Pass,
) -> Result<(), Failure> {
    let prefix = format!("{}$", ring.active_id());
    let len = i32::try_from(prefix.len()).map_err(rt)?;
    let select = |after: bool| {
        sql_for(
            backend,
            &format!(
                "SELECT CAST({pk} AS TEXT) AS pk, CAST({aux} AS TEXT) AS aux, {col} AS sealed \
                 FROM {table} WHERE {col} IS NOT NULL AND substr({col}, 1, ?) <> ?{filter}{after} \
                 ORDER BY {pk} LIMIT ?",
                pk = col.pk,
                aux = col.aux,
                col = col.column,
                table = col.table,
                filter = col.filter(),
                after = if after {
                    format!(" AND {} > ?", col.pk)
                } else {
                    String::new()
                },
            ),
        )
    };
    let update = sql_for(
        backend,
        &format!(
            "UPDATE {table} SET {col} = ? WHERE {pk} = ? AND {col} = ?",
            table = col.table,
            col = col.column,
            pk = col.pk
        ),
    );
    let err = |e: diesel::result::Error| Failure::Runtime(format!("{}: {e}", col.name()));
    let mut cursor: Option<String> = None;
    loop {
        let rows: Vec<SealedRow> = match (&cursor, col.pk_int) {
            (None, _) => {
                let sql = select(false);
                with_conn!(&mut *conn, |c| diesel::sql_query(&sql)
                    .bind::<Integer, _>(len)
                    .bind::<Text, _>(&prefix)
                    .bind::<BigInt, _>(batch)
                    .load(c))
            }
            (Some(after), true) => {
                let sql = select(true);
                let after: i64 = after.parse().map_err(rt)?;
                with_conn!(&mut *conn, |c| diesel::sql_query(&sql)
                    .bind::<Integer, _>(len)
                    .bind::<Text, _>(&prefix)
                    .bind::<BigInt, _>(after)
                    .bind::<BigInt, _>(batch)
                    .load(c))
            }
            (Some(after), false) => {
                let sql = select(true);
                with_conn!(&mut *conn, |c| diesel::sql_query(&sql)
                    .bind::<Integer, _>(len)
                    .bind::<Text, _>(&prefix)
                    .bind::<Text, _>(after)
                    .bind::<BigInt, _>(batch)
                    .load(c))
            }
        }
        .map_err(err)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        cursor = Some(last.pk.clone());
        // Decrypt and re-seal outside the transaction; the transaction only swaps values.
        let mut swaps = Vec::with_capacity(rows.len());
        for row in &rows {
            let context = (col.context)(&row.aux);
            match ring.open(&context, &row.sealed) {
                Ok(plain) => swaps.push((row, ring.seal(&context, &plain))),
                Err(e) => {
                    pass.broken
                        .push(format!("{} {}={} ({e})", col.name(), col.pk, row.pk));
                }
            }
        }
        if swaps.is_empty() {
            continue;
        }
        let changed: Vec<usize> = write_tx!(&mut *conn, |c| {
            let mut changed = Vec::with_capacity(swaps.len());
            for (row, new) in &swaps {
                let n = if col.pk_int {
                    let pk: i64 = row.pk.parse().map_err(|_| {
                        diesel::result::Error::DeserializationError("primary key".into())
                    })?;
                    diesel::sql_query(&update)
                        .bind::<Text, _>(new)
                        .bind::<BigInt, _>(pk)
                        .bind::<Text, _>(&row.sealed)
                        .execute(c)?
                } else {
                    diesel::sql_query(&update)
                        .bind::<Text, _>(new)
                        .bind::<Text, _>(&row.pk)
                        .bind::<Text, _>(&row.sealed)
                        .execute(c)?
                };
                changed.push(n);
            }
            Ok::<_, diesel::result::Error>(changed)
        })
        .map_err(err)?;
        for n in changed {
            if n == 1 {
                pass.rewritten += 1;
            } else {
                pass.raced += 1;
            }
        }
    }
}

fn reencrypt(store: &StoreArgs, batch: i64) -> Result<(), Failure> {
    let config = config(store)?;
    let ring = load(&config.keyring)?;
    let pool = open_pool(&config)?;
    let backend = pool.backend();
    let mut conn = pool.get().map_err(rt)?;
    let active = ring.active_id().to_owned();
    let mut total = 0;
    // A row raced by a node that had not reloaded the keyring yet may still be under an old
    // key: a few more passes pick those up.
    for round in 1..=3 {
        let mut pass = Pass::default();
        for col in SEALED {
            reencrypt_column(&mut conn, backend, &ring, col, batch, &mut pass)?;
        }
        total += pass.rewritten;
        let remaining: i64 = counts(&mut conn, backend, &ring)?
            .into_iter()
            .filter(|(kid, _)| kid.as_deref() != Some(active.as_str()))
            .map(|(_, n)| n)
            .sum();
        if remaining == 0 {
            eprintln!("re-encrypted {total} stored secrets; all are under the active key {active}");
            return Ok(());
        }
        if !pass.broken.is_empty() {
            return Err(Failure::Runtime(format!(
                "re-encrypted {total} stored secrets; {} do not open with this keyring and were left as they are: {}",
                pass.broken.len(),
                pass.broken.join("; ")
            )));
        }
        if round == 3 || (pass.rewritten == 0 && pass.raced == 0) {
            return Err(Failure::Runtime(format!(
                "re-encrypted {total} stored secrets; {remaining} are still under other keys \
                 (written meanwhile by nodes that have not reloaded the keyring?): run it again"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_filter_names_the_sealed_documents() {
        let settings = SEALED.iter().find(|c| c.table == "settings").unwrap();
        for doc in [crate::sms::DOC, crate::sms::VOICE_DOC] {
            assert!(settings.filter.contains(&format!("'{doc}'")), "{doc}");
        }
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(sql_for("postgres", "a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(sql_for("sqlite", "a = ?"), "a = ?");
    }
}
