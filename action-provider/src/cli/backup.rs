//! `sae backup` and `sae restore` for the embedded SQLite database.
//!
//! A backup is `VACUUM INTO`: a consistent snapshot taken inside one read transaction, safe
//! while servers run. PostgreSQL deployments use `pg_dump`/`pg_restore` instead. Neither
//! contains the keyring: without the keyring a backup's secrets cannot be opened, so the
//! keyring must be backed up (separately and securely) too.

use std::path::Path;

use crate::config::{Config, ServeArgs, StoreArgs};
use crate::store::backup::{migrations_in, snapshot};

const KEYRING_WARNING: &str = "warning: the keyring is not in the database backup; back up the keyring file separately (without it the backup's secrets cannot be read)";

fn sqlite_config(store: &StoreArgs) -> Result<Config, String> {
    let config = Config::resolve(store, &ServeArgs::default()).map_err(|e| e.to_string())?;
    if config.database_url.is_some() {
        return Err("backup/restore handle the embedded SQLite database; for PostgreSQL use pg_dump / pg_restore (see the README)".into());
    }
    Ok(config)
}

/// Writes a consistent snapshot of the database to `out`.
pub fn backup(store: &StoreArgs, out: &Path) -> Result<(), String> {
    let config = sqlite_config(store)?;
    let db = config.data_dir.join("sae.db");
    if !db.exists() {
        return Err(format!("no database at {}", db.display()));
    }
    if out.exists() {
        return Err(format!("{} exists; choose a new file", out.display()));
    }
    snapshot(&db, out).map_err(|e| format!("backup failed: {e}"))?;
    eprintln!("backup written to {}", out.display());
    eprintln!("{KEYRING_WARNING}");
    Ok(())
}

/// Replaces the database with the snapshot `from` (the servers must be stopped).
pub fn restore(store: &StoreArgs, from: &Path) -> Result<(), String> {
    let config = sqlite_config(store)?;
    if migrations_in(from).unwrap_or(0) == 0 {
        return Err(format!("{} is not a SAE database backup", from.display()));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
    let db = config.data_dir.join("sae.db");
    let staged = config.data_dir.join("sae.db.restoring");
    std::fs::copy(from, &staged).map_err(|e| format!("copying the backup: {e}"))?;
    #[cfg(unix)]
    std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| format!("{}: {e}", staged.display()))?;
    // A stale write-ahead log would be replayed onto the restored file: remove it first.
    for suffix in ["-wal", "-shm"] {
        let path = config.data_dir.join(format!("sae.db{suffix}"));
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    std::fs::rename(&staged, &db).map_err(|e| e.to_string())?;
    eprintln!("database restored from {}", from.display());
    eprintln!("{KEYRING_WARNING}");
    Ok(())
}
