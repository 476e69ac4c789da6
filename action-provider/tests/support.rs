//! Test support: start `sae serve` on a free port against a fresh database, and a tiny
//! HTTP/1.1 client over `std::net` (no client library needed).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file in the server's data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL named by `SAE_TEST_PG_URL`.
    Postgres,
}

/// The backends to run a test on: SQLite always; PostgreSQL when `SAE_TEST_PG_URL` is set
/// (required when `SAE_REQUIRE_PEERS=1`, as under CI).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("SAE_TEST_PG_URL").is_ok() {
        v.push(Backend::Postgres);
    } else if std::env::var("SAE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("SAE_TEST_PG_URL is not set but SAE_REQUIRE_PEERS=1: PostgreSQL is required");
    }
    v
}

static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a fresh PostgreSQL database and returns its URL.
pub fn fresh_pg_database() -> String {
    let base = std::env::var("SAE_TEST_PG_URL").expect("SAE_TEST_PG_URL");
    let name = format!(
        "sae_t{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database");
    let status = Command::new("psql")
        .arg(&base)
        .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "CREATE DATABASE {name}");
    format!("{prefix}/{name}")
}

/// A running `sae serve`.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub addr: SocketAddr,
    /// The data directory (kept alive as long as the server).
    pub dir: tempfile::TempDir,
    /// The initial admin API key.
    pub admin_key: String,
    /// `--database-url` when PostgreSQL.
    pub database_url: Option<String>,
    /// Which backend.
    pub backend: Backend,
    /// Held for the server's lifetime, so that no other socket of this process is given
    /// the port.
    _port: PortReservation,
}

/// A loopback port reserved for one server: bound with `SO_REUSEADDR` and never put in
/// the listening state. While the reservation is held the kernel hands the port to no
/// other `bind` (another test's peer or server cannot take it between the choice and
/// `sae serve`'s own bind), and `sae serve`, whose listener also sets `SO_REUSEADDR`, can
/// still bind and listen on it. Connecting to it is refused until the server listens.
struct PortReservation(socket2::Socket);

impl PortReservation {
    fn new() -> Self {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_reuse_address(true).unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&any.into()).unwrap();
        Self(socket)
    }

    fn addr(&self) -> SocketAddr {
        self.0.local_addr().unwrap().as_socket().unwrap()
    }
}

/// Reservations of [`closed_port`], held until the test process ends.
static CLOSED_PORTS: std::sync::Mutex<Vec<PortReservation>> = std::sync::Mutex::new(Vec::new());

/// A loopback port nothing listens on, for the whole test process: connecting to it is
/// refused, and no peer or server of another test can be given it meanwhile.
pub fn closed_port() -> u16 {
    let reservation = PortReservation::new();
    let port = reservation.addr().port();
    CLOSED_PORTS.lock().unwrap().push(reservation);
    port
}

/// Path of the `sae` binary under test.
pub fn sae_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sae"))
}

impl Server {
    /// Starts a server on a fresh database of `backend`.
    pub fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = (backend == Backend::Postgres).then(fresh_pg_database);
        Self::start_with(backend, dir, database_url, &[])
    }

    /// Starts a server on an existing data directory / database.
    pub fn start_with(
        backend: Backend,
        dir: tempfile::TempDir,
        database_url: Option<String>,
        extra: &[&str],
    ) -> Self {
        Self::spawn(backend, dir, database_url, extra, false)
    }

    /// Starts a server on a fresh database of `backend` that logs at `debug` level into
    /// [`Server::log_path`] (to check what the logs never hold).
    pub fn start_logged(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = (backend == Backend::Postgres).then(fresh_pg_database);
        Self::spawn(backend, dir, database_url, &[], true)
    }

    /// Where [`Server::start_logged`] writes the server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn spawn(
        backend: Backend,
        dir: tempfile::TempDir,
        database_url: Option<String>,
        extra: &[&str],
        logged: bool,
    ) -> Self {
        let reservation = PortReservation::new();
        let addr = reservation.addr();
        let mut cmd = Command::new(sae_bin());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(addr.to_string())
            .args(extra)
            .env("SAE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if logged {
            let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
            cmd.env("SAE_LOG", "debug")
                .stdout(log.try_clone().unwrap())
                .stderr(log);
        }
        if let Some(url) = &database_url {
            cmd.arg("--database-url").arg(url);
        }
        let child = cmd.spawn().expect("sae serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "sae serve did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let creds =
            std::fs::read_to_string(dir.path().join("initial-credentials")).unwrap_or_default();
        let admin_key = creds
            .lines()
            .find_map(|l| l.strip_prefix("api_key = "))
            .unwrap_or_default()
            .to_owned();
        Self {
            child,
            addr,
            dir,
            admin_key,
            database_url,
            backend,
            _port: reservation,
        }
    }

    /// Sends a request with the admin key.
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        request(
            self.addr,
            method,
            path,
            Some(&self.admin_key),
            body.map(|b| b.to_string()).as_deref(),
            &[],
        )
    }

    /// Sends a request with `key` (or none).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        request(
            self.addr,
            method,
            path,
            key,
            body.map(|b| b.to_string()).as_deref(),
            &[],
        )
    }

    /// Sends raw body bytes with extra headers.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Response {
        request(self.addr, method, path, key, body, headers)
    }

    /// Runs the `sae` binary with this server's store options.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(sae_bin());
        cmd.args(args).arg("--data-dir").arg(self.dir.path());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.output().unwrap()
    }

    /// The server's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server (SIGKILL) and returns its data directory and database URL.
    pub fn kill(mut self) -> (tempfile::TempDir, Option<String>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.database_url.take())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Response {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection (panics on a transport error).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    try_request(addr, method, path, key, body, headers)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// One HTTP/1.1 request over a fresh connection; a transport error (refused, reset, the
/// server died mid-answer) is returned, not a panic.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Api-Key: {k}\r\n"));
    }
    let has_ct = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !has_ct {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream.write_all(req.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the headers".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            let (n, v) = (n.trim().to_ascii_lowercase(), v.trim().to_owned());
            if n == "content-length" {
                length = v.parse().ok();
            }
            if n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
            headers.push((n, v));
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The Python interpreter with the test peers installed (`SAE_PYTHON`, else `.venv`), or
/// `None` (then the test is skipped, unless `SAE_REQUIRE_PEERS=1` makes it a failure).
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("SAE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    if candidate.exists() {
        return Some(candidate);
    }
    assert!(
        std::env::var("SAE_REQUIRE_PEERS").as_deref() != Ok("1"),
        "no Python peers ({candidate:?}) but SAE_REQUIRE_PEERS=1: run scripts/test.sh"
    );
    eprintln!("skipped: no Python peers (run scripts/test.sh)");
    None
}

/// A Python peer process from `delivery/tests/peers/`, killed on drop.
pub struct Peer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Peer {
    /// Starts `delivery/tests/peers/<script>` and reads `PORT <n>` from its stdout.
    pub fn start(python: &std::path::Path, script: &str, args: &[&str]) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../delivery/tests/peers")
            .join(script);
        let mut child = Command::new(python)
            .arg(path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python peer starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next().expect("peer printed its port").unwrap();
            if let Some(p) = line.strip_prefix("PORT ") {
                break p.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, port }
    }

    /// GET a path of the peer as JSON.
    pub fn get(&self, path: &str) -> Value {
        request(
            format!("127.0.0.1:{}", self.port).parse().unwrap(),
            "GET",
            path,
            None,
            None,
            &[],
        )
        .json()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
