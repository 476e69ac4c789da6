//! The comparison table of issue 17: every scenario next to the floor it should approach,
//! measured in one run — `/healthz` of the same server for SQLite, `pgbench` on the same
//! cluster for PostgreSQL. With several `--sae` binaries the runs alternate (A B A B …), so
//! two builds are compared under the same machine conditions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::conn::Conn;
use super::drive::{self, Drive, Stats};
use super::postgres::{self, Database, Protocol};
use super::scenario::{self, Scenario};
use super::server::{Node, rss_mib};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The binaries to compare (one column each per round).
    pub saes: Vec<PathBuf>,
    /// PostgreSQL (a URL of a database to `CREATE DATABASE` from); `None`: SQLite only.
    pub pg_admin_url: Option<String>,
    /// Skip SQLite.
    pub no_sqlite: bool,
    /// Seconds per measurement.
    pub seconds: u64,
    /// Connections (and pgbench clients).
    pub connections: usize,
    /// Users of the validate-ok scenario.
    pub users: usize,
    /// Users of the request scenario.
    pub request_users: usize,
    /// How many times the whole sequence runs.
    pub rounds: usize,
    /// Only these scenarios (all when empty).
    pub only: Vec<Scenario>,
    /// Skip pgbench.
    pub no_pgbench: bool,
}

/// The measurements of one column: `backend/scenario` → stats.
type Column = HashMap<String, Stats>;

const SCENARIOS: [Scenario; 5] = [
    Scenario::Healthz,
    Scenario::ValidateWrong,
    Scenario::ValidateOk,
    Scenario::UserRead,
    Scenario::Request,
];

impl Options {
    fn wanted(&self, s: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&s)
    }
}

/// Measures every wanted scenario against one freshly started server.
fn measure_server(
    o: &Options,
    sae: &std::path::Path,
    backend: &str,
    db: Option<&Database>,
    col: &mut Column,
) {
    let node = Node::start(sae, db.map(|d| d.url.as_str()), None);
    let mut c = Conn::open(node.addr);
    scenario::open_gate(&mut c, &node.key);
    let idle = rss_mib(node.pid());
    let prepared: Vec<_> = SCENARIOS
        .into_iter()
        .filter(|s| o.wanted(*s))
        .map(|s| {
            let users = if s == Scenario::Request {
                o.request_users
            } else {
                o.users
            };
            (
                s,
                scenario::prepare(s, &mut c, &node.key, users, o.connections),
            )
        })
        .collect();
    drop(c);
    let drive = Drive {
        duration: Duration::from_secs(o.seconds),
        rate: None,
        key: node.key.clone(),
        addrs: vec![node.addr],
        pids: vec![node.pid()],
    };
    for (s, gens) in prepared {
        let stats = drive::run(&drive, gens);
        println!(
            "sae={} backend={backend} scenario={} req/s={:.0} p50={:.2}ms p99={:.2}ms errors={} idle_rss={idle}MiB loaded_rss={}MiB",
            sae.display(),
            s.name(),
            stats.per_second,
            stats.p50,
            stats.p99,
            stats.errors,
            stats.loaded_rss.first().copied().unwrap_or(0),
        );
        col.insert(format!("{backend}/{}", s.name()), stats);
    }
    col.insert(
        format!("{backend}/idle"),
        Stats {
            loaded_rss: vec![idle],
            ..Stats::default()
        },
    );
}

fn measure_pgbench(o: &Options, db: &Database, col: &mut Column) {
    for (name, protocol) in [
        ("simple", Protocol::Simple),
        ("prepared", Protocol::Prepared),
    ] {
        let tps = postgres::pgbench(db, o.connections, o.seconds, protocol);
        println!(
            "peer=pgbench mode={name} clients={} tps={tps:.0}",
            o.connections
        );
        col.insert(
            format!("pgbench/{name}"),
            Stats {
                per_second: tps,
                ..Stats::default()
            },
        );
    }
}

/// Runs the table and prints it (Markdown) at the end.
pub fn run(o: &Options) {
    let bench_db = match (&o.pg_admin_url, o.no_pgbench) {
        (Some(url), false) => Some(postgres::pgbench_database(url)),
        _ => None,
    };
    let mut columns: Vec<(String, Column)> = Vec::new();
    for round in 1..=o.rounds {
        for (i, sae) in o.saes.iter().enumerate() {
            let label = format!(
                "{}#{round}",
                char::from(b'A' + u8::try_from(i % 26).unwrap_or(0))
            );
            println!("== {label}: {}", sae.display());
            let mut col = Column::new();
            if !o.no_sqlite {
                measure_server(o, sae, "sqlite", None, &mut col);
            }
            if let Some(url) = &o.pg_admin_url {
                let db = Database::create(url, &format!("{round}_{i}"));
                measure_server(o, sae, "postgres", Some(&db), &mut col);
            }
            if let Some(db) = &bench_db {
                measure_pgbench(o, db, &mut col);
            }
            columns.push((label, col));
        }
    }
    println!();
    for (i, sae) in o.saes.iter().enumerate() {
        println!(
            "{}: {}",
            char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)),
            sae.display()
        );
    }
    print!("{}", markdown(&columns));
}

/// Rows of the table: (label, key, what it is compared to, the goal).
const ROWS: [(&str, &str, Option<&str>, &str); 13] = [
    (
        "GET /healthz, SQLite server",
        "sqlite/healthz",
        None,
        "the floor",
    ),
    (
        "validate, wrong code, SQLite",
        "sqlite/validate-wrong",
        Some("sqlite/healthz"),
        "≥ 0.50",
    ),
    (
        "validate, right codes, SQLite",
        "sqlite/validate-ok",
        Some("sqlite/healthz"),
        "≥ 0.50",
    ),
    (
        "GET /v1/users/{login}, SQLite",
        "sqlite/user-read",
        Some("sqlite/healthz"),
        "≥ 0.70",
    ),
    (
        "otp/request (SMS queued), SQLite",
        "sqlite/request",
        Some("sqlite/validate-ok"),
        "≥ 0.50 of validate",
    ),
    (
        "GET /healthz, PostgreSQL server",
        "postgres/healthz",
        None,
        "",
    ),
    ("pgbench -N simple", "pgbench/simple", None, "the floor"),
    ("pgbench -N prepared", "pgbench/prepared", None, "the floor"),
    (
        "validate, right codes, PostgreSQL",
        "postgres/validate-ok",
        Some("pgbench/simple"),
        "≥ 1.0",
    ),
    (
        "— the same vs pgbench prepared",
        "postgres/validate-ok",
        Some("pgbench/prepared"),
        "",
    ),
    (
        "validate, wrong code, PostgreSQL",
        "postgres/validate-wrong",
        Some("pgbench/simple"),
        "≥ 0.5",
    ),
    (
        "GET /v1/users/{login}, PostgreSQL",
        "postgres/user-read",
        Some("postgres/healthz"),
        "",
    ),
    (
        "otp/request (SMS queued), PostgreSQL",
        "postgres/request",
        Some("postgres/validate-ok"),
        "≥ 0.50 of validate",
    ),
];

fn markdown(columns: &[(String, Column)]) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("\n| measurement | goal |");
    for (label, _) in columns {
        let _ = write!(s, " {label} req/s | ratio |");
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---|---|".repeat(columns.len()));
    s.push('\n');
    for (label, key, base, goal) in ROWS {
        if columns.iter().all(|(_, c)| !c.contains_key(key)) {
            continue;
        }
        let _ = write!(s, "| {label} | {goal} |");
        for (_, c) in columns {
            let v = c.get(key).map(|st| st.per_second);
            let b = base.and_then(|b| c.get(b)).map(|st| st.per_second);
            let cell = v.map_or("–".to_owned(), |v| format!("{v:.0}"));
            let ratio = match (v, b) {
                (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
                _ => String::new(),
            };
            let _ = write!(s, " {cell} | {ratio} |");
        }
        s.push('\n');
    }
    for backend in ["sqlite", "postgres"] {
        if columns
            .iter()
            .all(|(_, c)| !c.contains_key(&format!("{backend}/idle")))
        {
            continue;
        }
        let _ = write!(
            s,
            "| RSS idle → max under load, MiB, {backend} | ≤ 30 → ≤ 100 |"
        );
        for (_, c) in columns {
            let rss = |k: &str, st: &Stats| {
                k.starts_with(backend) && !k.ends_with("/idle") && !st.loaded_rss.is_empty()
            };
            let idle = c
                .get(&format!("{backend}/idle"))
                .and_then(|st| st.loaded_rss.first().copied());
            let max = c
                .iter()
                .filter(|(k, st)| rss(k, st))
                .filter_map(|(_, st)| st.loaded_rss.first().copied())
                .max();
            let _ = write!(s, " {} → {} | |", idle.unwrap_or(0), max.unwrap_or(0));
        }
        s.push('\n');
    }
    s
}
