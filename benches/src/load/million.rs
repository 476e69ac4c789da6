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
use super::postgres::{Database, database_name, query, wal, with_database};
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
    /// Validate rounds (each: the small store, then the full one).
    pub rounds: usize,
    /// The harness process whose kept stores (`--keep`) to measure again: validate only.
    pub reuse: Option<u32>,
}

/// One population size: its import, the server's memory and the console calls.
struct Phase {
    users: usize,
    import_users: Duration,
    import_tokens: Duration,
    rss_idle: u64,
    rss_max: u64,
    rows: Vec<(String, Stats)>,
}

/// One round of validate measurements: the reference store's (small population), then the
/// full store's, right after each other.
struct Round {
    small: Vec<(String, Stats)>,
    big: Vec<(String, Stats)>,
}

/// A store the run populates: its directory, its PostgreSQL database (if any), and the API
/// key of its first administrator.
struct Store {
    dir: PathBuf,
    /// The database this run created (dropped at the end unless kept).
    db: Option<Database>,
    /// The PostgreSQL database's URL: `db`'s, or a kept one's.
    url: Option<String>,
    key: String,
}

impl Store {
    /// A fresh, configured store named `tag`.
    fn create(o: &Options, backend: &str, tag: &str) -> Self {
        let dir = o
            .data
            .join(format!("{backend}-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the store directory");
        let db = o.pg.as_deref().map(|url| Database::create(url, tag));
        let mut store = Self {
            dir,
            url: db.as_ref().map(|d| d.url.clone()),
            db,
            key: String::new(),
        };
        store.key = configure(&store.node(o));
        store
    }

    /// The store `tag` a run of process `pid` kept (`--keep`), with a new API key.
    fn reopen(o: &Options, backend: &str, tag: &str, pid: u32) -> Self {
        let dir = o.data.join(format!("{backend}-{pid}-{tag}"));
        assert!(dir.is_dir(), "no kept store {}", dir.display());
        let url =
            o.pg.as_deref()
                .map(|u| with_database(u, &database_name(pid, tag)));
        let mut cmd = Command::new(&o.sae);
        cmd.args([
            "apikey",
            "create",
            "--name",
            "load-million",
            "--scope",
            "admin",
        ])
        .arg("--data-dir")
        .arg(&dir);
        if let Some(url) = &url {
            cmd.args(["--database-url", url]);
        }
        let out = cmd.output().expect("run sae apikey create");
        assert!(
            out.status.success(),
            "sae apikey create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Self {
            dir,
            db: None,
            url,
            key,
        }
    }

    /// Each user's next HOTP counter, as the store holds them (user `i` is `u{i:07}`).
    fn counters(&self, users: usize) -> Counters {
        // `store::counter_to_db` keeps a counter `c` as `c - 2^63`: the next one is `c + 1`.
        let sql = "SELECT substr(u.login, 2), t.last_counter + 9223372036854775807 + 2 \
                   FROM users u JOIN tokens t ON t.user_id = u.id \
                   WHERE t.last_counter IS NOT NULL AND u.login LIKE 'u%'";
        let rows = match &self.url {
            Some(url) => query(url, sql),
            None => {
                let out = Command::new("sqlite3")
                    .arg(self.dir.join("sae.db"))
                    .arg(sql)
                    .output()
                    .expect("run sqlite3 (the SQLite shell)");
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
        };
        let counters: Vec<AtomicU32> = (0..users).map(|_| AtomicU32::new(0)).collect();
        for row in rows.lines() {
            if let Some((i, next)) = row.split_once('|')
                && let (Ok(i), Ok(next)) = (i.parse::<usize>(), next.parse::<u32>())
                && i < users
            {
                counters[i].store(next, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Arc::new(counters)
    }

    fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    fn node(&self, o: &Options) -> Node {
        Node::start_on(&o.sae, &self.dir, self.url())
    }

    /// Imports one users file and one tokens file; how long each took.
    fn import(&self, o: &Options, (users, tokens): &(PathBuf, PathBuf)) -> (Duration, Duration) {
        (
            import(o, &self.dir, self.url(), "users", users),
            import(o, &self.dir, self.url(), "tokens", tokens),
        )
    }

    /// What an operator does after a bulk load on PostgreSQL (and autovacuum would do
    /// during the measurements otherwise): `VACUUM (ANALYZE)` the imported tables.
    fn settle(&self) {
        if let Some(db) = &self.db {
            let t0 = Instant::now();
            db.run("VACUUM (ANALYZE) users, tokens");
            eprintln!("  VACUUM (ANALYZE) users, tokens: {:.1?}", t0.elapsed());
        }
    }

    fn remove(self, keep: bool) {
        if keep {
            eprintln!(
                "kept: {} {}",
                self.dir.display(),
                self.url().unwrap_or_default()
            );
            // Not dropped: the database stays.
            std::mem::forget(self.db);
        } else {
            drop(self.db);
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
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

/// Validate on a store of `n` users: right codes, then wrong codes.
/// On PostgreSQL, also the WAL each request wrote (the whole cluster's, over the run).
fn measure_validate(
    o: &Options,
    (node, store): (&Node, &Store),
    n: usize,
    counters: &Counters,
    round: u64,
) -> Vec<(String, Stats)> {
    let mut rows = Vec::new();
    for (label, right) in [
        ("validate right code", true),
        ("validate wrong code", false),
    ] {
        let gens = probes::validate(n, o.connections, counters, right, round);
        let before = store.url().map(wal);
        let s = measure(node, &store.key, o.seconds, gens);
        let wal_line = match (before, store.url().map(wal)) {
            (Some(a), Some(b)) => {
                let per = |k: usize| (b[k] - a[k]) as f64 / s.requests.max(1) as f64;
                format!(
                    ", WAL per request {:.1} records, {:.2} full-page images, {:.0} bytes",
                    per(0),
                    per(1),
                    per(2)
                )
            }
            _ => String::new(),
        };
        eprintln!(
            "  {n} users, round {}, {label}: {}{wal_line}",
            round + 1,
            line(&s)
        );
        rows.push((label.to_owned(), s));
    }
    rows
}

/// The console calls on a store of `n` users.
fn measure_console(o: &Options, node: &Node, key: &str, n: usize) -> Vec<(String, Stats)> {
    let mut rows = Vec::new();
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
    rows
}

/// Warms the connection pool and the policy caches (not the users' pages); the idle RSS.
fn warm(node: &Node, key: &str) -> u64 {
    Conn::open(node.addr).must("GET", "/v1/users?limit=1", key, "");
    rss_mib(node.pid())
}

fn max_rss<'a>(rows: impl IntoIterator<Item = &'a (String, Stats)>) -> u64 {
    rows.into_iter()
        .flat_map(|(_, s)| s.loaded_rss.iter().copied())
        .max()
        .unwrap_or(0)
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
///
/// Validate is compared between two stores measured alternately, round after round, so
/// both sizes run under the same machine conditions (on a shared machine the load moves
/// a lot in the minutes a million-row import takes): a reference store that keeps the
/// small population, and the main store once it holds the full one. The console calls are
/// measured on the main store at each size.
pub fn run(o: &Options) {
    let backend = if o.pg.is_some() { "postgres" } else { "sqlite" };
    if let Some(pid) = o.reuse {
        return rerun(o, backend, pid);
    }
    std::fs::create_dir_all(&o.data).expect("create the data directory");
    let main = Store::create(o, backend, "million");
    let reference = Store::create(o, backend, "reference");
    let csv_small = write_csv(&o.data, 0, o.small);
    let csv_rest = write_csv(&o.data, o.small, o.users);
    let mut phases = Vec::new();

    reference.import(o, &csv_small);
    let (import_users, import_tokens) = main.import(o, &csv_small);
    let node = main.node(o);
    let rss_idle = warm(&node, &main.key);
    let rows = measure_console(o, &node, &main.key, o.small);
    drop(node);
    phases.push(Phase {
        users: o.small,
        import_users,
        import_tokens,
        rss_idle,
        rss_max: max_rss(&rows),
        rows,
    });

    let (import_users, import_tokens) = main.import(o, &csv_rest);
    main.settle();
    reference.settle();
    let big = main.node(o);
    let small = reference.node(o);
    let rss_idle = warm(&big, &main.key);
    warm(&small, &reference.key);
    let counters: Counters = Arc::new((0..o.users).map(|_| AtomicU32::new(0)).collect());
    let small_counters: Counters = Arc::new((0..o.small).map(|_| AtomicU32::new(0)).collect());
    let rounds = validate_rounds(
        o,
        (&main, &big, &counters),
        (&reference, &small, &small_counters),
        0,
    );
    drop(small);
    let rows = measure_console(o, &big, &main.key, o.users);
    let rss_max = max_rss(rows.iter().chain(rounds.iter().flat_map(|r| &r.big)));
    phases.push(Phase {
        users: o.users,
        import_users,
        import_tokens,
        rss_idle,
        rss_max,
        rows,
    });
    drop(big);
    let size = store_size(&main.dir, main.url());
    print_table(backend, &phases, &rounds, size);
    main.remove(o.keep);
    reference.remove(o.keep);
}

/// The validate rounds: the reference store's, then the main one's, alternately.
fn validate_rounds(
    o: &Options,
    (main, big, counters): (&Store, &Node, &Counters),
    (reference, small, small_counters): (&Store, &Node, &Counters),
    first: u64,
) -> Vec<Round> {
    (first..first + o.rounds as u64)
        .map(|r| Round {
            small: measure_validate(o, (small, reference), o.small, small_counters, r),
            big: measure_validate(o, (big, main), o.users, counters, r),
        })
        .collect()
}

/// `--reuse`: validate again on the two stores a `--keep` run left (the import skipped;
/// each user's counter read back from its store). Prints the validate table only.
fn rerun(o: &Options, backend: &str, pid: u32) {
    let main = Store::reopen(o, backend, "million", pid);
    let reference = Store::reopen(o, backend, "reference", pid);
    let counters = main.counters(o.users);
    let small_counters = reference.counters(o.small);
    let (big, small) = (main.node(o), reference.node(o));
    warm(&big, &main.key);
    warm(&small, &reference.key);
    // Rounds numbered after this process (so they draw other users than earlier runs did).
    let first = u64::from(std::process::id()) << 8;
    let rounds = validate_rounds(
        o,
        (&main, &big, &counters),
        (&reference, &small, &small_counters),
        first,
    );
    println!();
    println!(
        "### {backend}: {} and {} users (the stores of run {pid} again: validate only)",
        o.small, o.users
    );
    println!();
    for line in print_validate(&rounds, o.small, o.users) {
        println!("- {line}");
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

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    b / a.max(0.001)
}

fn errors(n: u64) -> String {
    if n > 0 {
        format!(" ({n} errors)")
    } else {
        String::new()
    }
}

fn print_table(backend: &str, phases: &[Phase], rounds: &[Round], size: u64) {
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
    println!(
        "- validate: {} rounds, each {} users (a store of its own) then {} users, alternately; \
         the figures are the medians of the rounds, the ratios those of the medians",
        rounds.len(),
        small.users,
        big.users
    );
    println!();
    let by_round = print_validate(rounds, small.users, big.users);
    for ((label, a), (_, b)) in small.rows.iter().zip(&big.rows) {
        let n = a.errors + b.errors;
        let met = b.p99 < 50.0 && a.p99 < 50.0 && n == 0;
        println!(
            "| {label}{} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | p99 < 50 ms | {} |",
            errors(n),
            a.p50,
            a.p99,
            b.p50,
            b.p99,
            ratio(a.p50, b.p50),
            ratio(a.p99, b.p99),
            if met { "yes" } else { "**no**" }
        );
    }
    println!();
    println!("Validate ratios (p50/p99) by round:");
    for line in by_round {
        println!("- {line}");
    }
}

/// The validate rows of the table (header included); returns each call's ratios by round.
fn print_validate(rounds: &[Round], small: usize, big: usize) -> Vec<String> {
    println!(
        "| call | p50 @{small} | p99 @{small} | p50 @{big} | p99 @{big} | p50 ratio | p99 ratio | goal | met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|");
    let mut by_round = Vec::new();
    let labels = rounds.first().map(|r| r.small.len()).unwrap_or(0);
    for i in 0..labels {
        let label = &rounds[0].small[i].0;
        let pick = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
        let (a50, a99) = (pick(&|r| r.small[i].1.p50), pick(&|r| r.small[i].1.p99));
        let (b50, b99) = (pick(&|r| r.big[i].1.p50), pick(&|r| r.big[i].1.p99));
        let (r50, r99) = (ratio(a50, b50), ratio(a99, b99));
        let n: u64 = rounds
            .iter()
            .map(|r| r.small[i].1.errors + r.big[i].1.errors)
            .sum();
        let met = r50 <= 1.2 && r99 <= 1.2 && n == 0;
        println!(
            "| {label}{} | {a50:.2} | {a99:.2} | {b50:.2} | {b99:.2} | {r50:.2} | {r99:.2} | ratio ≤ 1.2 | {} |",
            errors(n),
            if met { "yes" } else { "**no**" }
        );
        let each: Vec<String> = rounds
            .iter()
            .map(|r| {
                format!(
                    "{:.2}/{:.2}",
                    ratio(r.small[i].1.p50, r.big[i].1.p50),
                    ratio(r.small[i].1.p99, r.big[i].1.p99)
                )
            })
            .collect();
        by_round.push(format!("{label}: {}", each.join(", ")));
    }
    by_round
}
