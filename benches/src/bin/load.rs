//! SAE's HTTP load harness: starts `sae serve` (release build) on SQLite or PostgreSQL,
//! prepares users and tokens through the API, and drives one scenario with keep-alive
//! connections — either as fast as possible (throughput) or at a fixed rate (latency).
//! Reports requests/s, p50/p99/max latency, errors, and the server's RSS.
//!
//! ```text
//! cargo run --release -p sae-benches --bin load -- --scenario validate-wrong --seconds 10
//! cargo run --release -p sae-benches --bin load -- --scenario validate-wrong --rate 1000
//! cargo run --release -p sae-benches --bin load -- --scenario validate-ok --database-url postgres://…
//! cargo run --release -p sae-benches --bin load -- --scenario validate-ok --database-url postgres://… --nodes 2
//! ```
//!
//! `--nodes N` (PostgreSQL only) starts N `sae serve` processes on the one database, sharing
//! the first node's keyring; the connections are spread round-robin over the nodes.
//!
//! Scenarios: `validate-wrong` (wrong codes on one user, throttling disabled),
//! `validate-ok` (correct HOTP codes over a pool of users, each accepted once),
//! `request` (SMS code requests; delivery is not configured, jobs stay queued),
//! `password` (correct passwords; argon2id at the policy's parameters).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a harness fails loudly"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sae_core::otp::{Algorithm, Digits, Hotp, format_code};
use sae_core::secret::Secret;

struct Args {
    scenario: String,
    seconds: u64,
    connections: usize,
    rate: Option<u64>,
    users: usize,
    database_url: Option<String>,
    sae: String,
    nodes: usize,
}

fn args() -> Args {
    let mut a = Args {
        scenario: "validate-wrong".into(),
        seconds: 10,
        connections: 16,
        rate: None,
        users: 200,
        database_url: None,
        nodes: 1,
        sae: "target/release/sae".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--scenario" => a.scenario = v(),
            "--seconds" => a.seconds = v().parse().unwrap(),
            "--connections" => a.connections = v().parse().unwrap(),
            "--rate" => a.rate = Some(v().parse().unwrap()),
            "--users" => a.users = v().parse().unwrap(),
            "--database-url" => a.database_url = Some(v()),
            "--sae" => a.sae = v(),
            "--nodes" => a.nodes = v().parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Self {
            addr,
            reader: BufReader::new(s),
        }
    }

    fn send(&mut self, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nApi-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        if self.reader.get_mut().write_all(req.as_bytes()).is_err() {
            *self = Self::open(self.addr);
            self.reader.get_mut().write_all(req.as_bytes()).unwrap();
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0; len];
        self.reader.read_exact(&mut buf).unwrap();
        (status, String::from_utf8_lossy(&buf).into_owned())
    }
}

struct ServerProc {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn start(a: &Args) -> (ServerProc, SocketAddr, String) {
    start_node(a, None)
}

/// Starts one node; `keyring` makes it share another node's keyring (same database).
fn start_node(a: &Args, keyring: Option<&std::path::Path>) -> (ServerProc, SocketAddr, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut cmd = Command::new(&a.sae);
    cmd.args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("SAE_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(url) = &a.database_url {
        cmd.args(["--database-url", url]);
    }
    if let Some(k) = keyring {
        cmd.arg("--keyring").arg(k);
    }
    let child = cmd
        .spawn()
        .expect("start sae (build it with cargo build --release -p action-provider)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Only the node that created the database writes the initial credentials.
    let creds = std::fs::read_to_string(dir.path().join("initial-credentials")).unwrap_or_default();
    let key = creds
        .lines()
        .find_map(|l| l.strip_prefix("api_key = "))
        .unwrap_or_default()
        .to_owned();
    (ServerProc { child, dir }, addr, key)
}

/// Produces the next request of a scenario for a worker.
type Gen = Box<dyn FnMut() -> (&'static str, String) + Send>;

fn prepare(a: &Args, addr: SocketAddr, key: &str) -> Vec<Gen> {
    let mut c = Conn::open(addr);
    let ok = |(s, b): (u16, String)| assert!((200..300).contains(&s), "{s} {b}");
    ok(c.send(
        "PUT",
        "/v1/config/lockout",
        key,
        r#"{"enabled":false,"throttle":{"enabled":false,"after":5,"max_delay_s":900}}"#,
    ));
    let workers = a.connections;
    match a.scenario.as_str() {
        "validate-wrong" => {
            ok(c.send("POST", "/v1/users", key, r#"{"login":"load-user"}"#));
            ok(c.send(
                "POST",
                "/v1/users/load-user/tokens",
                key,
                r#"{"type":"totp"}"#,
            ));
            (0..workers)
                .map(|_| {
                    Box::new(|| {
                        (
                            "/v1/otp/validate",
                            r#"{"login":"load-user","code":"000000"}"#.to_owned(),
                        )
                    }) as Gen
                })
                .collect()
        }
        "validate-ok" => {
            let mut per_worker: Vec<Vec<(String, Hotp)>> =
                (0..workers).map(|_| Vec::new()).collect();
            for u in 0..a.users {
                let login = format!("u{u}");
                ok(c.send(
                    "POST",
                    "/v1/users",
                    key,
                    &format!(r#"{{"login":"{login}"}}"#),
                ));
                let (s, body) = c.send(
                    "POST",
                    &format!("/v1/users/{login}/tokens"),
                    key,
                    r#"{"type":"hotp"}"#,
                );
                ok((s, body.clone()));
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let secret = Secret::from_base32(v["secret_base32"].as_str().unwrap()).unwrap();
                per_worker[u % workers]
                    .push((login, Hotp::new(&secret, Algorithm::Sha1, Digits::SIX)));
            }
            per_worker
                .into_iter()
                .map(|users| {
                    let mut i = 0usize;
                    let mut counter = 0u64;
                    Box::new(move || {
                        let (login, hotp) = &users[i];
                        let code = format_code(hotp.generate(counter), Digits::SIX);
                        i += 1;
                        if i == users.len() {
                            i = 0;
                            counter += 1;
                        }
                        (
                            "/v1/otp/validate",
                            format!(r#"{{"login":"{login}","code":"{}"}}"#, code.as_str()),
                        )
                    }) as Gen
                })
                .collect()
        }
        "request" => {
            for u in 0..a.users {
                ok(c.send(
                    "POST",
                    "/v1/users",
                    key,
                    &format!(r#"{{"login":"r{u}","mobile":"+5511900{u:06}"}}"#),
                ));
            }
            let users = a.users;
            (0..workers)
                .map(|w| {
                    let mut i = w;
                    Box::new(move || {
                        i = (i + workers) % users;
                        (
                            "/v1/otp/request",
                            format!(r#"{{"login":"r{i}","channel":"sms"}}"#),
                        )
                    }) as Gen
                })
                .collect()
        }
        "password" => {
            ok(c.send(
                "POST",
                "/v1/users",
                key,
                r#"{"login":"pw-user","password":"load-test-password"}"#,
            ));
            (0..workers)
                .map(|_| {
                    Box::new(|| {
                        (
                            "/v1/auth/password",
                            r#"{"login":"pw-user","password":"load-test-password"}"#.to_owned(),
                        )
                    }) as Gen
                })
                .collect()
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// A minimal HTTP broker: answers every request 200 `{"data":{"id":1}}` and counts them.
fn sink() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0usize;
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap_or(0);
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    c.fetch_add(1, Ordering::Relaxed);
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"data\":{\"id\":1}}";
                    if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

fn sms_config(primary: &str, backup: Option<&str>) -> String {
    let broker = |url: &str| {
        format!(
            r#"{{"kind":"rest","url":"{url}","method":"POST","authorization":"none","body":"{{\"to\":\"{{phone}}\",\"text\":\"{{message}}\"}}","timeout_ms":5000}}"#
        )
    };
    match backup {
        None => format!(
            r#"{{"primary":{},"broker2":{{"mode":"none"}}}}"#,
            broker(primary)
        ),
        Some(b) => format!(
            r#"{{"primary":{},"broker2":{{"mode":"backup","broker":{}}}}}"#,
            broker(primary),
            broker(b)
        ),
    }
}

/// Sends/s through the outbox: queue `n` SMS requests, time until the sink has them all.
fn outbox(a: &Args, addr: SocketAddr, key: &str) {
    let (port, received) = sink();
    let mut c = Conn::open(addr);
    let (s, b) = c.send(
        "PUT",
        "/v1/delivery/sms",
        key,
        &sms_config(&format!("http://127.0.0.1:{port}/sms"), None),
    );
    assert_eq!(s, 200, "{b}");
    for u in 0..a.users {
        c.send(
            "POST",
            "/v1/users",
            key,
            &format!(r#"{{"login":"o{u}","mobile":"+5511900{u:06}"}}"#),
        );
    }
    let n = a.users as u64;
    let started = Instant::now();
    for u in 0..a.users {
        let (s, b) = c.send(
            "POST",
            "/v1/otp/request",
            key,
            &format!(r#"{{"login":"o{u}","channel":"sms"}}"#),
        );
        assert_eq!(s, 202, "{b}");
    }
    let queued = started.elapsed().as_secs_f64();
    while received.load(Ordering::Relaxed) < n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "outbox did not drain"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "scenario=outbox requests={n} queued_in={queued:.2}s delivered_in={total:.2}s sends/s={:.0}",
        n as f64 / total
    );
}

/// Latency failover adds when the primary refuses connections (test sends).
fn failover(a: &Args, addr: SocketAddr, key: &str) {
    let (port, _) = sink();
    let mut c = Conn::open(addr);
    let sink_url = format!("http://127.0.0.1:{port}/sms");
    let mut run = |config: &str| -> Vec<f64> {
        let (s, b) = c.send("PUT", "/v1/delivery/sms", key, config);
        assert_eq!(s, 200, "{b}");
        (0..a.users.min(200))
            .map(|_| {
                let t = Instant::now();
                let (s, b) = c.send(
                    "POST",
                    "/v1/delivery/sms/test",
                    key,
                    r#"{"phone":"+5511912345678","message":"bench"}"#,
                );
                assert!(s == 200 && b.contains("\"delivered\":true"), "{s} {b}");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect()
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let direct = median(run(&sms_config(&sink_url, None)));
    let failing = median(run(&sms_config(
        "http://127.0.0.1:9/refused",
        Some(&sink_url),
    )));
    println!(
        "scenario=failover direct_median={direct:.2}ms with_refused_primary_median={failing:.2}ms failover_adds={:.2}ms",
        failing - direct
    );
}

fn main() {
    let a = args();
    let (server, addr, key) = start(&a);
    if a.scenario == "outbox" || a.scenario == "failover" {
        let mut c = Conn::open(addr);
        c.send("PUT", "/v1/config/lockout", &key, r#"{"enabled":false}"#);
        if a.scenario == "outbox" {
            outbox(&a, addr, &key)
        } else {
            failover(&a, addr, &key)
        }
        drop(server);
        return;
    }
    assert!(
        a.nodes == 1 || a.database_url.is_some(),
        "--nodes > 1 needs --database-url (PostgreSQL)"
    );
    let keyring = server.dir.path().join("keyring.json");
    let others: Vec<(ServerProc, SocketAddr, String)> = (1..a.nodes)
        .map(|_| start_node(&a, Some(&keyring)))
        .collect();
    let addrs: Vec<SocketAddr> = std::iter::once(addr)
        .chain(others.iter().map(|(_, addr, _)| *addr))
        .collect();
    let pids: Vec<u32> = std::iter::once(server.child.id())
        .chain(others.iter().map(|(p, _, _)| p.child.id()))
        .collect();
    let rss = |pids: &[u32]| {
        pids.iter()
            .map(|p| (rss_kib(*p) / 1024).to_string())
            .collect::<Vec<_>>()
            .join("+")
    };
    let idle_rss = rss(&pids);
    let gens = prepare(&a, addr, &key);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let started = Instant::now();
    let per_worker_interval = a
        .rate
        .map(|r| Duration::from_secs_f64(a.connections as f64 / r as f64));
    let handles: Vec<_> = gens
        .into_iter()
        .enumerate()
        .map(|(w, mut next)| {
            let (stop, errors, latencies, key) =
                (stop.clone(), errors.clone(), latencies.clone(), key.clone());
            let addr = addrs[w % addrs.len()];
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                let mut local = Vec::with_capacity(100_000);
                let mut due = Instant::now()
                    + per_worker_interval.map_or(Duration::ZERO, |i| i.mul_f64(w as f64 / 16.0));
                while !stop.load(Ordering::Relaxed) {
                    if let Some(interval) = per_worker_interval {
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        due += interval;
                    }
                    let (path, body) = next();
                    // Open-loop: latency counts from when the request was due.
                    let t0 = if per_worker_interval.is_some() {
                        due - per_worker_interval.unwrap_or_default()
                    } else {
                        Instant::now()
                    };
                    let (status, text) = conn.send("POST", path, &key, &body);
                    local.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                    let expected = match path {
                        "/v1/otp/request" => status == 202,
                        _ => {
                            status == 200 && (!body.contains("\"code\"") || text.contains("valid"))
                        }
                    };
                    if !expected {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().unwrap().extend(local);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(a.seconds));
    let loaded_rss = rss(&pids);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let backend = if a.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "scenario={} backend={} nodes={} connections={} rate={} requests={} req/s={:.0} p50={:.2}ms p99={:.2}ms max={:.2}ms errors={} idle_rss={}MiB loaded_rss={}MiB",
        a.scenario,
        backend,
        a.nodes,
        a.connections,
        a.rate.map_or("max".to_owned(), |r| r.to_string()),
        lat.len(),
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        errors.load(Ordering::Relaxed),
        idle_rss,
        loaded_rss,
    );
    drop(others);
}
