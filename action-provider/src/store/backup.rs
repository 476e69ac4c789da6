//! Snapshots of the embedded SQLite database (`sae backup` / `sae restore`). A snapshot is
//! `VACUUM INTO`: consistent, taken inside one read transaction, safe while servers run.

use std::path::Path;

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::StoreError;

fn open(path: &Path) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(&path.display().to_string())
        .map_err(|e| StoreError::Migration(format!("{}: {e}", path.display())))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    Ok(conn)
}

/// Writes a consistent snapshot of the database at `db` to the new file `out`, private to
/// this user (mode 0600: `VACUUM INTO` fills the empty file created here).
pub fn snapshot(db: &Path, out: &Path) -> Result<(), StoreError> {
    let target = out
        .to_str()
        .ok_or_else(|| StoreError::corrupt("--out", "the path must be valid UTF-8"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(out).map_err(|source| StoreError::File {
        path: out.display().to_string(),
        source,
    })?;
    diesel::sql_query(format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .execute(&mut open(db)?)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many migrations a database file records; `None` when it is not a SAE database.
pub fn migrations_in(path: &Path) -> Option<i64> {
    let mut conn = open(path).ok()?;
    diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut conn)
        .map(|c| c.n)
        .ok()
}
