//! SAE's HTTP load harness. `load table` prints the comparison table of issue 17 (every
//! scenario next to its floor, measured in the same run); `load run` drives one scenario,
//! as fast as possible or at a fixed rate, on one or more nodes. `load --help` for the
//! options; benches/README.md for the figures and the commands that produced them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sae_benches::load::conn::Conn;
use sae_benches::load::drive::{self, Drive};
use sae_benches::load::postgres::Database;
use sae_benches::load::scenario::{self, Scenario};
use sae_benches::load::server::{Node, rss_mib};
use sae_benches::load::{broker, million, table};

#[derive(Parser)]
#[command(name = "load", about = "SAE's HTTP load harness")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every scenario next to its floor in one run: /healthz of the same server (SQLite),
    /// pgbench -N on the same cluster (PostgreSQL); prints a Markdown table at the end.
    Table(TableArgs),
    /// Drives one scenario and prints one line of figures.
    Run(RunArgs),
    /// Issue 17, item 4: a fresh store populated through `sae users import` and `sae tokens
    /// import` with `--small` then `--users` users (HOTP tokens); validate and the console's
    /// users screen measured at both sizes; prints a Markdown table against the goals.
    Million(MillionArgs),
}

#[derive(Args)]
struct MillionArgs {
    /// The `sae` binary.
    #[arg(long, default_value = "target/release/sae")]
    sae: PathBuf,
    /// PostgreSQL: URL of a database to CREATE DATABASE from (a fresh one is used and
    /// dropped). Without it: SQLite.
    #[arg(long)]
    pg: Option<String>,
    /// Users of the full population.
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Users of the first measurement.
    #[arg(long, default_value_t = 1_000)]
    small: usize,
    /// Where the store and the CSV files go (the store is removed at the end; the CSV
    /// files are kept for the next run).
    #[arg(long, default_value = "bench-data")]
    data: PathBuf,
    /// Seconds per validate measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Seconds per console call measured.
    #[arg(long, default_value_t = 3)]
    console_seconds: u64,
    /// Keep-alive connections of the validate measurements.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Keep-alive connections of the console measurements.
    #[arg(long, default_value_t = 2)]
    console_connections: usize,
    /// Keep the store (and the PostgreSQL database) at the end, to look at query plans.
    #[arg(long)]
    keep: bool,
    /// Validate rounds: each measures a store of `--small` users, then the full one, so
    /// the two sizes are compared under the same machine conditions.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Measure validate again on the stores a `--keep` run left: that run's process id
    /// (printed with the stores it kept). Skips the import and the console calls.
    #[arg(long)]
    reuse: Option<u32>,
}

#[derive(Args)]
struct Common {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Keep-alive connections (one client thread each); also pgbench's clients.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Users of the validate-ok scenario.
    #[arg(long, default_value_t = 100)]
    users: usize,
}

#[derive(Args)]
struct TableArgs {
    /// The `sae` binary; give it several times to compare builds (runs alternate A B A B).
    #[arg(long, default_value = "target/release/sae")]
    sae: Vec<PathBuf>,
    /// PostgreSQL: URL of a database to run CREATE DATABASE from (fresh databases are
    /// created for SAE and for pgbench, and dropped). Without it: SQLite only.
    #[arg(long)]
    pg: Option<String>,
    /// Only PostgreSQL (with --pg).
    #[arg(long)]
    no_sqlite: bool,
    /// Without pgbench.
    #[arg(long)]
    no_pgbench: bool,
    /// How many times the whole sequence runs.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Only these scenarios (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Users of the request scenario.
    #[arg(long, default_value_t = 200)]
    request_users: usize,
    #[command(flatten)]
    common: Common,
}

/// What `load run` measures.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunScenario {
    /// `GET /healthz`.
    Healthz,
    /// Wrong codes on one user.
    ValidateWrong,
    /// Correct HOTP codes over `--users` users.
    ValidateOk,
    /// `GET /v1/users/{login}` with an API key.
    UserRead,
    /// SMS code requests (queued, then sent to a local HTTP broker).
    Request,
    /// Correct passwords (argon2id).
    Password,
    /// Sends/s of `--users` SMS through the outbox to a local HTTP broker.
    Outbox,
    /// Latency a refused primary broker adds to a send.
    Failover,
}

#[derive(Args)]
struct RunArgs {
    /// The scenario.
    #[arg(long, value_enum, default_value = "validate-wrong")]
    scenario: RunScenario,
    /// The `sae` binary.
    #[arg(long, default_value = "target/release/sae")]
    sae: PathBuf,
    /// Total requests per second (open loop: latency counts from when a request was due);
    /// as fast as possible without it.
    #[arg(long)]
    rate: Option<u64>,
    /// PostgreSQL: URL of an EMPTY database (default: SQLite in a temporary directory).
    #[arg(long, conflicts_with = "pg")]
    database_url: Option<String>,
    /// PostgreSQL: URL of a database to CREATE DATABASE from (a fresh one is used).
    #[arg(long)]
    pg: Option<String>,
    /// Nodes on the one PostgreSQL database (sharing the first node's keyring); connections
    /// are spread over them.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    #[command(flatten)]
    common: Common,
}

fn main() {
    match Cli::parse().command {
        Cmd::Table(a) => table::run(&table::Options {
            saes: a.sae,
            pg_admin_url: a.pg,
            no_sqlite: a.no_sqlite,
            seconds: a.common.seconds,
            connections: a.common.connections,
            users: a.common.users,
            request_users: a.request_users,
            rounds: a.rounds,
            only: a.only,
            no_pgbench: a.no_pgbench,
        }),
        Cmd::Run(a) => run(&a),
        Cmd::Million(a) => million::run(&million::Options {
            sae: a.sae,
            pg: a.pg,
            users: a.users,
            small: a.small,
            data: a.data,
            seconds: a.seconds,
            console_seconds: a.console_seconds,
            connections: a.connections,
            console_connections: a.console_connections,
            keep: a.keep,
            rounds: a.rounds.max(1),
            reuse: a.reuse,
        }),
    }
}

fn run(a: &RunArgs) {
    let fresh = a.pg.as_deref().map(|url| Database::create(url, "run"));
    let url = fresh
        .as_ref()
        .map(|d| d.url.clone())
        .or_else(|| a.database_url.clone());
    assert!(
        a.nodes == 1 || url.is_some(),
        "--nodes > 1 needs PostgreSQL (--pg or --database-url)"
    );
    let first = Node::start(&a.sae, url.as_deref(), None);
    let mut c = Conn::open(first.addr);
    let key = first.key.clone();
    scenario::open_gate(&mut c, &key);
    let scenario = match a.scenario {
        RunScenario::Outbox => return broker::outbox(&mut c, &key, a.common.users),
        RunScenario::Failover => return broker::failover(&mut c, &key, a.common.users),
        RunScenario::Healthz => Scenario::Healthz,
        RunScenario::ValidateWrong => Scenario::ValidateWrong,
        RunScenario::ValidateOk => Scenario::ValidateOk,
        RunScenario::UserRead => Scenario::UserRead,
        RunScenario::Request => Scenario::Request,
        RunScenario::Password => Scenario::Password,
    };
    let others: Vec<Node> = (1..a.nodes)
        .map(|_| Node::start(&a.sae, url.as_deref(), Some(&first.keyring())))
        .collect();
    let nodes: Vec<&Node> = std::iter::once(&first).chain(&others).collect();
    let pids: Vec<u32> = nodes.iter().map(|n| n.pid()).collect();
    let idle: Vec<String> = pids.iter().map(|p| rss_mib(*p).to_string()).collect();
    let gens = scenario::prepare(scenario, &mut c, &key, a.common.users, a.common.connections);
    let stats = drive::run(
        &Drive {
            duration: Duration::from_secs(a.common.seconds),
            rate: a.rate,
            key,
            addrs: nodes.iter().map(|n| n.addr).collect(),
            pids,
        },
        gens,
    );
    let loaded: Vec<String> = stats.loaded_rss.iter().map(u64::to_string).collect();
    println!(
        "scenario={} backend={} nodes={} connections={} rate={} requests={} req/s={:.0} p50={:.2}ms p99={:.2}ms max={:.2}ms errors={} idle_rss={}MiB loaded_rss={}MiB",
        scenario.name(),
        if url.is_some() { "postgres" } else { "sqlite" },
        a.nodes,
        a.common.connections,
        a.rate.map_or("max".to_owned(), |r| r.to_string()),
        stats.requests,
        stats.per_second,
        stats.p50,
        stats.p99,
        stats.max,
        stats.errors,
        idle.join("+"),
        loaded.join("+"),
    );
}
