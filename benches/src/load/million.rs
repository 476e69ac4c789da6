//! `load million` (issue 17, item 4): populates a fresh store through the product's bulk
//! import (`sae users import`, `sae tokens import`), first with a small population, then up
//! to the full one, and measures validate and the console's users screen at both sizes on
//! the same store, printing each figure next to its goal.

use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::drive::{self, Drive, Stats};
use super::million_probes::{self as probes, Counters, PROBES, WALLETS};
use super::postgres::Database;
use super::scenario::{Gen, open_gate};
use super::server::{Node, rss_mib};

/// Options of `load million`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `sae` binary.
    pub sae: PathBuf,
    /// PostgreSQL admin URL (a fresh database is created); `None`: SQLite.
    pub pg: Option<String>,
    /// Full population.
    pub users: usize,
    /// Small population, measured first.
    pub small: usize,
    /// Where the data directories and CSV files go.
    pub data: PathBuf,
    /// Seconds per validate measurement.
    pub seconds: u64,
    /// Seconds per console measurement.
    pub console_seconds: u64,
    /// Connections of the validate measurements.
    pub connections: usize,
    /// Connections of the console measurements.
    pub console_connections: usize,
    /// Keep the store (and the PostgreSQL database) for a look at the query plans.
    pub keep: bool,
}

/// One measured phase (a population size).
struct Phase {
    users: usize,
    import_users: Duration,
    import_tokens: Duration,
    rss_idle: u64,
    rss_max: u64,
    rows: Vec<(String, Stats)>,
}

/// Writes the users and tokens CSV files of users `from..to`.
fn write_csv(dir: &Path, from: usize, to: usize) -> (PathBuf, PathBuf) {
    let users = dir.join(format!("users-{from}-{to}.csv"));
    let tokens = dir.join(format!("tokens-{from}-{to}.csv"));
    if users.exists() && tokens.exists() {
        return (users, tokens);
    }
    let mut u = BufWriter::new(std::fs::File::create(&users).expect("create users CSV"));
    let mut t = BufWriter::new(std::fs::File::create(&tokens).expect("create tokens CSV"));
    writeln!(u, "login,name,email,document,mobile,wallet").expect("write");
    writeln!(t, "serial,type,secret_hex,login").expect("write");
    let mut hex = String::with_capacity(40);
    for i in from..to {
        let login = probes::login(i);
        let wallet = probes::wallet(i).unwrap_or_default();
        writeln!(
            u,
            "{login},{},{},{},{},{wallet}",
            probes::name(i),
            probes::email(i),
            probes::document(i),
            probes::mobile(i)
        )
        .expect("write");
        hex.clear();
        for b in probes::secret(i) {
            let _ = write!(hex, "{b:02x}");
        }
        writeln!(t, "s{i:07},hotp,{hex},{login}").expect("write");
    }
    u.flush().expect("flush users CSV");
    t.flush().expect("flush tokens CSV");
    (users, tokens)
}

/// Runs `sae <what> import` on the store; returns how long it took.
fn import(o: &Options, dir: &Path, url: Option<&str>, what: &str, file: &Path) -> Duration {
    let t0 = Instant::now();
    let mut cmd = Command::new(&o.sae);
    cmd.args([what, "import", "--data-dir"]).arg(dir);
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd
        .arg(file)
        .env("SAE_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run sae import");
    assert!(
        out.status.success(),
        "sae {what} import {}: {}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let took = t0.elapsed();
    eprintln!("  sae {what} import {}: {took:.1?}", file.display());
    took
}

fn measure(node: &Node, key: &str, seconds: u64, gens: Vec<Gen>) -> Stats {
    drive::run(
        &Drive {
            duration: Duration::from_secs(seconds),
            rate: None,
            key: key.to_owned(),
            addrs: vec![node.addr],
            pids: vec![node.pid()],
        },
        gens,
    )
}

/// Measures validate and the console probes on a store of `n` users.
fn measure_all(o: &Options, node: &Node, key: &str, n: usize, counters: &Counters) -> Phase {
    let mut rows = Vec::new();
    // Warm the connection pool and the policy caches, not the users' pages.
    Conn::open(node.addr).must("GET", "/v1/users?limit=1", key, "");
    let rss_idle = rss_mib(node.pid());
    for (label, right) in [
        ("validate right code", true),
        ("validate wrong code", false),
    ] {
        let gens = probes::validate(n, o.connections, counters, right);
        let s = measure(node, key, o.seconds, gens);
        eprintln!("  {n} users, {label}: {}", line(&s));
        rows.push((label.to_owned(), s));
    }
    for p in PROBES {
        // One call first (on a new connection: the server closes idle ones): the probe
        // must answer 200, and shows what it finds.
        let path = (p.path)(n, n / 2);
        let body = Conn::open(node.addr).must("GET", &path, key, "");
        let items = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["items"].as_array().map(Vec::len))
            .unwrap_or(0);
        let s = measure(
            node,
            key,
            o.console_seconds,
            probes::console(p, n, o.console_connections),
        );
        eprintln!("  {n} users, {} ({items} items): {}", p.label, line(&s));
        rows.push((p.label.to_owned(), s));
    }
    let rss_max = rows
        .iter()
        .flat_map(|(_, s)| s.loaded_rss.iter().copied())
        .max()
        .unwrap_or(0);
    Phase {
        users: n,
        import_users: Duration::ZERO,
        import_tokens: Duration::ZERO,
        rss_idle,
        rss_max,
        rows,
    }
}

fn line(s: &Stats) -> String {
    format!(
        "{} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}, rss {:?} MiB",
        s.requests, s.per_second, s.p50, s.p99, s.max, s.errors, s.loaded_rss
    )
}

/// Creates the wallets, turns lockout off and disables a few users (for the status filter).
fn configure(node: &Node) -> String {
    let key = node.key.clone();
    assert!(!key.is_empty(), "no initial credentials on a fresh store");
    let mut c = Conn::open(node.addr);
    open_gate(&mut c, &key);
    for w in 0..WALLETS {
        c.must(
            "POST",
            "/v1/wallets",
            &key,
            &format!(r#"{{"name":"w{w}"}}"#),
        );
    }
    // Outside the population (validate never draws them).
    for x in ["x1", "x2", "x3"] {
        c.must("POST", "/v1/users", &key, &format!(r#"{{"login":"{x}"}}"#));
        c.must(
            "PATCH",
            &format!("/v1/users/{x}"),
            &key,
            r#"{"disabled":true}"#,
        );
    }
    key
}

/// Runs the whole thing on one backend; prints the table.
pub fn run(o: &Options) {
    let backend = if o.pg.is_some() { "postgres" } else { "sqlite" };
    std::fs::create_dir_all(&o.data).expect("create the data directory");
    let dir = o.data.join(format!("{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the store directory");
    let db = o.pg.as_deref().map(|url| Database::create(url, "million"));
    let url = db.as_ref().map(|d| d.url.clone());
    let url = url.as_deref();
    let csv_small = write_csv(&o.data, 0, o.small);
    let csv_rest = write_csv(&o.data, o.small, o.users);
    let key = configure(&Node::start_on(&o.sae, &dir, url));
    let counters: Counters = Arc::new((0..o.users).map(|_| AtomicU32::new(0)).collect());
    let mut phases = Vec::new();
    for (n, (users_csv, tokens_csv)) in [(o.small, &csv_small), (o.users, &csv_rest)] {
        let import_users = import(o, &dir, url, "users", users_csv);
        let import_tokens = import(o, &dir, url, "tokens", tokens_csv);
        let node = Node::start_on(&o.sae, &dir, url);
        let mut phase = measure_all(o, &node, &key, n, &counters);
        phase.import_users = import_users;
        phase.import_tokens = import_tokens;
        phases.push(phase);
    }
    let size = store_size(&dir, url);
    print_table(backend, &phases, size);
    if o.keep {
        eprintln!("kept: {} {}", dir.display(), url.unwrap_or_default());
        // Not dropped: the database stays.
        std::mem::forget(db);
    } else {
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Size of the store, MiB: the SQLite files or the PostgreSQL database.
fn store_size(dir: &Path, url: Option<&str>) -> u64 {
    let bytes = match url {
        None => std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("sae.db"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0),
        Some(url) => Command::new("psql")
            .args([url, "-tAc", "SELECT pg_database_size(current_database())"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(0),
    };
    bytes / (1 << 20)
}

fn print_table(backend: &str, phases: &[Phase], size: u64) {
    let [small, big] = phases else { return };
    println!();
    println!("### {backend}: {} and {} users", small.users, big.users);
    println!();
    for p in phases {
        println!(
            "- {} users: `sae users import` {:.1?} (cumulative rows {}), `sae tokens import` {:.1?}; server RSS idle {} MiB, loaded max {} MiB",
            p.users, p.import_users, p.users, p.import_tokens, p.rss_idle, p.rss_max
        );
    }
    println!("- store size at {} users: {size} MiB", big.users);
    println!();
    println!(
        "| call | p50 @{} | p99 @{} | p50 @{} | p99 @{} | p50 ratio | p99 ratio | goal | met |",
        small.users, small.users, big.users, big.users
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|");
    for ((label, a), (_, b)) in small.rows.iter().zip(&big.rows) {
        let (r50, r99) = (b.p50 / a.p50.max(0.001), b.p99 / a.p99.max(0.001));
        let validate = label.starts_with("validate");
        let (goal, met) = if validate {
            ("ratio ≤ 1.2", r50 <= 1.2 && r99 <= 1.2)
        } else {
            ("p99 < 50 ms", b.p99 < 50.0 && a.p99 < 50.0)
        };
        let errors = if a.errors + b.errors > 0 {
            format!(" ({} errors)", a.errors + b.errors)
        } else {
            String::new()
        };
        println!(
            "| {label}{errors} | {:.2} | {:.2} | {:.2} | {:.2} | {r50:.2} | {r99:.2} | {goal} | {} |",
            a.p50,
            a.p99,
            b.p50,
            b.p99,
            if met { "yes" } else { "**no**" }
        );
    }
}
