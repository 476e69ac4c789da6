//! The e-mail peers of the delivery crate (delivery/tests/peers/email_*.py) for the server
//! tests: an OAuth2 authorization server and an aiosmtpd SMTP server with XOAUTH2.
//!
//! Python is `$SAE_PYTHON`, else `<workspace>/.venv/bin/python`. A missing interpreter or
//! module skips the test with a printed reason, unless `SAE_REQUIRE_PEERS=1` or `CI=true`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Response, request};

/// The client registered at the OAuth2 peer.
pub const CLIENT_ID: &str = "sae-test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "client-secret-XYZZY";

fn peers_required() -> bool {
    std::env::var("SAE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

fn unavailable<T>(reason: &str) -> Option<T> {
    assert!(
        !peers_required(),
        "peer unavailable and SAE_REQUIRE_PEERS=1 / CI=true: {reason}"
    );
    eprintln!("SKIP: {reason}");
    None
}

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SAE_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    venv.exists().then_some(venv)
}

/// A running peer process, killed on drop.
pub struct Peer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Peer {
    fn start(script: &str, args: &[&str], dir: tempfile::TempDir) -> Option<Self> {
        let Some(python) = python() else {
            return unavailable("no python: set SAE_PYTHON or create .venv");
        };
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../delivery/tests/peers")
            .join(script);
        let mut child = match Command::new(&python)
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => return unavailable(&format!("cannot run {}: {e}", python.display())),
        };
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let mut peer = Self {
            child,
            port: 0,
            dir,
        };
        if let Some(reason) = line.strip_prefix("SKIP ") {
            return unavailable(reason.trim());
        }
        let Some(Ok(port)) = line.strip_prefix("PORT ").map(|p| p.trim().parse()) else {
            let log = std::fs::read_to_string(peer.dir.path().join("stderr.log"));
            panic!("{} did not start ({line:?}): {log:?}", script.display());
        };
        peer.port = port;
        Some(peer)
    }

    /// POSTs JSON to the peer (the OAuth2 peer's `/control`) and returns the answer.
    pub fn post_json(&self, path: &str, body: &Value) -> Value {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let r = request(addr, "POST", path, None, Some(&body.to_string()), &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    }

    /// The OAuth2 peer's counters.
    pub fn stats(&self) -> Value {
        get_url(&self.url("/stats")).json()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the OAuth2 peer accepting `redirect_uri`.
pub fn oauth_peer(redirect_uri: &str) -> Option<Peer> {
    oauth_peer_with(redirect_uri, &[])
}

/// Starts the OAuth2 peer with `extra` arguments (the service account of the JWT bearer
/// grant: `--service-account-email`, `--service-account-public-key`).
pub fn oauth_peer_with(redirect_uri: &str, extra: &[&str]) -> Option<Peer> {
    let mut args = vec![
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        redirect_uri,
    ];
    args.extend_from_slice(extra);
    Peer::start("email_oauth_peer.py", &args, tempfile::tempdir().unwrap())
}

/// The SMTP peer (XOAUTH2 checked at the OAuth2 peer) and its records file.
pub struct SmtpPeer {
    /// The process.
    pub peer: Peer,
    records: PathBuf,
}

impl SmtpPeer {
    /// Starts an XOAUTH2 SMTP peer whose tokens are checked at `oauth`.
    pub fn xoauth2(oauth: &Peer) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records.jsonl");
        let introspect = oauth.url("/introspect");
        let records_arg = records.to_string_lossy().into_owned();
        let peer = Peer::start(
            "email_smtp_peer.py",
            &[
                "--auth",
                "xoauth2",
                "--introspect",
                &introspect,
                "--records",
                &records_arg,
            ],
            dir,
        )?;
        Some(Self { peer, records })
    }

    /// Starts an SMTP peer without authentication (plain, on loopback).
    pub fn open() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records.jsonl");
        let records_arg = records.to_string_lossy().into_owned();
        let peer = Peer::start(
            "email_smtp_peer.py",
            &["--auth", "none", "--records", &records_arg],
            dir,
        )?;
        Some(Self { peer, records })
    }

    /// Every accepted mail so far.
    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.records)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (up to 30 s) for a mail to `to`.
    pub fn wait_for(&self, to: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(r) = self.records().into_iter().find(|r| {
                r["rcpt_tos"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == to))
            }) {
                return r;
            }
            assert!(Instant::now() < deadline, "no mail to {to} arrived");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// GET of an absolute `http://127.0.0.1:<port>/…` URL, without following redirects.
pub fn get_url(url: &str) -> Response {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = host.parse().expect("host:port");
    request(
        addr,
        "GET",
        if path.is_empty() { "/" } else { path },
        None,
        None,
        &[],
    )
}
