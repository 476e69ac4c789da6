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

use crate::clock::{Clock as _, SystemClock};
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::crypto::Keyring;
use crate::outbox::email::{ctx_access, ctx_client_secret, ctx_password, ctx_pkce, ctx_refresh};
use crate::outbox::payload_context;
use crate::store::prelude::*;
use crate::store::sealed::{SEALED, SealedColumn};
use crate::store::{Store, StoreError};

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

/// The seal context of a value of `col` whose context column holds `aux` (the same context
/// the value was sealed with by the code that wrote it).
fn context(col: &SealedColumn, aux: &str) -> String {
    match (col.table, col.column) {
        ("tokens", _) => format!("token:{aux}"),
        ("users", _) => format!("authsys:{aux}"),
        ("outbox", _) => payload_context(aux),
        ("settings", _) => aux.to_owned(),
        ("oauth2_profiles", "client_secret_enc") => ctx_client_secret(aux),
        ("oauth2_profiles", "access_token_enc") => aux.parse().map(ctx_access).unwrap_or_default(),
        ("oauth2_profiles", "refresh_token_enc") => {
            aux.parse().map(ctx_refresh).unwrap_or_default()
        }
        ("oauth2_pending", _) => ctx_pkce(aux),
        ("smtp_accounts", _) => ctx_password(aux),
        ("inbound_accounts", _) => format!("inbound_accounts.password:{aux}"),
        ("admins", _) => format!("admin-totp:{aux}"),
        ("jobs", _) => crate::store::jobs::key_context(aux),
        ("job_chunks", _) => crate::store::jobs::chunk_context(aux),
        _ => String::new(),
    }
}

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

/// Writes the audit record of a keyring change (`keys.add`, `keys.activate`, …).
fn audit(store: &Store, action: &str, kid: &str, detail: serde_json::Value) -> Result<(), Failure> {
    let now = SystemClock.now();
    let record = super::audit(action, now)
        .subject(format!("key:{kid}"))
        .detail(detail);
    store
        .write_blocking(|c| record.write(c).map_err(StoreError::from))
        .map_err(|e| {
            Failure::Runtime(format!(
                "the keyring was changed, but its audit record could not be written: {e}"
            ))
        })
}

fn open_store(config: &Config) -> Result<Store, Failure> {
    if config.database_url.is_none() && !config.data_dir.join("sae.db").exists() {
        return Err(Failure::Runtime(format!(
            "no database at {} (check --data-dir / --database-url)",
            config.data_dir.join("sae.db").display()
        )));
    }
    let store = Store::open(&config.store_url(), 2).map_err(rt)?;
    store.migrate().map_err(rt)?;
    Ok(store)
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
    let store = open_store(&config)?;
    ring.add_key(&kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    println!("{kid}");
    audit(&store, "keys.add", &kid, serde_json::json!({}))?;
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
    let store = open_store(&config)?;
    let previous = ring.active_id().to_owned();
    ring.activate(kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    audit(
        &store,
        "keys.activate",
        kid,
        serde_json::json!({ "previous": previous }),
    )?;
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
    let store = open_store(&config)?;
    let (secrets, codes) = store
        .read_blocking(|c| {
            let secrets = counts(c, &ring)?
                .get(&Some(kid.to_owned()))
                .copied()
                .unwrap_or(0);
            Ok::<_, StoreError>((secrets, pending_codes(c, kid)?))
        })
        .map_err(rt)?;
    if secrets > 0 {
        return Err(Failure::Runtime(format!(
            "{secrets} stored secrets are still under key {kid}: run `sae keys reencrypt` first"
        )));
    }
    if codes > 0 {
        return Err(Failure::Runtime(format!(
            "{codes} unexpired SMS/e-mail codes were hashed with key {kid}: try again once \
             they have expired (code_ttl_s)"
        )));
    }
    ring.remove_key(kid).map_err(rt)?;
    ring.save(&config.keyring).map_err(rt)?;
    audit(&store, "keys.remove", kid, serde_json::json!({}))?;
    eprintln!(
        "key {kid} removed from {}; nodes forget it at their next reload",
        config.keyring.display()
    );
    Ok(())
}

/// Stored secrets under each key id held, plus those under ids not held (`None`).
fn counts(c: &mut dyn Conn, ring: &Keyring) -> Result<BTreeMap<Option<String>, i64>, StoreError> {
    let mut out = BTreeMap::new();
    for col in SEALED {
        let mut known = 0;
        for kid in ring.key_ids() {
            let n = c.sealed_count(col, Some(&format!("{kid}$")))?;
            *out.entry(Some(kid.to_owned())).or_insert(0) += n;
            known += n;
        }
        let total = c.sealed_count(col, None)?;
        *out.entry(None).or_insert(0) += total - known;
    }
    Ok(out)
}

fn pending_codes(c: &mut dyn Conn, kid: &str) -> Result<i64, StoreError> {
    Ok(c.pending_codes(kid, SystemClock.now().secs())?)
}

fn list(store: &StoreArgs) -> Result<(), Failure> {
    let config = config(store)?;
    let ring = load(&config.keyring)?;
    let store = open_store(&config)?;
    let (counts, codes) = store
        .read_blocking(|c| {
            let counts = counts(c, &ring)?;
            let codes = ring
                .key_ids()
                .map(|kid| pending_codes(c, kid))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>((counts, codes))
        })
        .map_err(rt)?;
    println!("KEY\tCREATED\tSTATE\tSECRETS\tPENDING_CODES");
    for (kid, codes) in ring.key_ids().zip(codes) {
        let created = ring
            .created_at(kid)
            .map_or_else(|| "-".to_owned(), crate::timefmt::rfc3339);
        let state = if kid == ring.active_id() {
            "active"
        } else {
            "inactive"
        };
        let n = counts.get(&Some(kid.to_owned())).copied().unwrap_or(0);
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
    store: &Store,
    ring: &Keyring,
    col: &SealedColumn,
    batch: i64,
    pass: &mut Pass,
) -> Result<(), Failure> {
    let prefix = format!("{}$", ring.active_id());
    let err = |e: StoreError| Failure::Runtime(format!("{}: {e}", col.name()));
    let mut cursor: Option<String> = None;
    loop {
        let rows = store
            .read_blocking(|c| {
                Ok::<_, StoreError>(c.sealed_batch(col, &prefix, cursor.as_deref(), batch)?)
            })
            .map_err(err)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        cursor = Some(last.pk.clone());
        // Decrypt and re-seal outside the transaction; the transaction only swaps values.
        let mut swaps = Vec::with_capacity(rows.len());
        for row in &rows {
            let context = context(col, &row.aux);
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
        let changed = store
            .write_blocking(|c| {
                swaps
                    .iter()
                    .map(|(row, new)| c.sealed_swap(col, &row.pk, &row.sealed, new))
                    .collect::<Result<Vec<bool>, _>>()
                    .map_err(StoreError::from)
            })
            .map_err(err)?;
        for swapped in changed {
            if swapped {
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
    let store = open_store(&config)?;
    let active = ring.active_id().to_owned();
    let mut total = 0;
    // A row raced by a node that had not reloaded the keyring yet may still be under an old
    // key: a few more passes pick those up.
    for round in 1..=3 {
        let mut pass = Pass::default();
        for col in SEALED {
            reencrypt_column(&store, &ring, col, batch, &mut pass)?;
        }
        total += pass.rewritten;
        let remaining: i64 = store
            .read_blocking(|c| counts(c, &ring))
            .map_err(rt)?
            .into_iter()
            .filter(|(kid, _)| kid.as_deref() != Some(active.as_str()))
            .map(|(_, n)| n)
            .sum();
        if remaining == 0 {
            audit(
                &store,
                "keys.reencrypt",
                &active,
                serde_json::json!({ "rewritten": total }),
            )?;
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
        for doc in [crate::outbox::sms::DOC, crate::outbox::sms::VOICE_DOC] {
            assert_eq!(context(settings, doc), doc);
        }
    }

    #[test]
    fn every_sealed_column_has_a_context() {
        for col in SEALED {
            assert!(!context(col, "1").is_empty(), "{}", col.name());
        }
    }
}
