//! PostgreSQL side of a run: fresh databases (through `psql`) and the `pgbench` peer on the
//! same cluster.

use std::process::Command;

/// A database created for one run, dropped when this is dropped.
pub struct Database {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

/// `admin_url` with its database name replaced by `name`.
pub fn with_database(admin_url: &str, name: &str) -> String {
    let (base, rest) = admin_url
        .rsplit_once('/')
        .filter(|(b, _)| b.contains("://") && !b.ends_with('/'))
        .unwrap_or((admin_url, ""));
    let query = rest
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{base}/{name}{query}")
}

fn psql(url: &str, sql: &str) {
    query(url, sql);
}

/// One query's rows as `psql -At` prints them (`|` between columns, a line per row).
pub fn query(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        .output()
        .expect("run psql (the PostgreSQL client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cluster's WAL written so far (`pg_stat_wal`): records, full-page images, bytes.
pub fn wal(url: &str) -> [u64; 3] {
    let row = query(
        url,
        "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal",
    );
    let mut it = row.trim().split('|').map(|f| f.parse().unwrap_or(0));
    [(); 3].map(|()| it.next().unwrap_or(0))
}

/// The name [`Database::create`] gives the database `tag` of the harness's process `pid`.
pub fn database_name(pid: u32, tag: &str) -> String {
    format!("sae_load_{pid}_{tag}")
}

impl Database {
    /// Runs one SQL command on this database.
    pub fn run(&self, sql: &str) {
        psql(&self.url, sql);
    }

    /// Creates an empty database named `sae_load_<pid>_<tag>` on the cluster of `admin_url`
    /// (a URL of any database the user may `CREATE DATABASE` from).
    pub fn create(admin_url: &str, tag: &str) -> Self {
        let name = database_name(std::process::id(), tag);
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin_url,
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// How pgbench sends its statements.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// `-M simple`.
    Simple,
    /// `-M prepared`.
    Prepared,
}

/// `pgbench -N -c<clients> -j2 -T<seconds> -M <protocol>` on an initialised database:
/// transactions per second (excluding connection time).
pub fn pgbench(db: &Database, clients: usize, seconds: u64, protocol: Protocol) -> f64 {
    let mode = match protocol {
        Protocol::Simple => "simple",
        Protocol::Prepared => "prepared",
    };
    let out = Command::new("pgbench")
        .args(["-n", "-N", "-j2", "-M", mode])
        .arg(format!("-c{clients}"))
        .arg(format!("-T{seconds}"))
        .arg(&db.url)
        .output()
        .expect("run pgbench");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}

/// A database initialised for pgbench (`pgbench -i`, scale 1).
pub fn pgbench_database(admin_url: &str) -> Database {
    let db = Database::create(admin_url, "pgbench");
    let out = Command::new("pgbench")
        .args(["-i", "-q", "-s", "1"])
        .arg(&db.url)
        .output()
        .expect("run pgbench -i");
    assert!(
        out.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }
}
