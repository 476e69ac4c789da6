//! Starting the Python peers (delivery/tests/peers/email_*.py) and talking to them.
//!
//! Python is `$SAE_PYTHON`, else `<workspace>/.venv/bin/python` (scripts/test.sh creates it).
//! A missing interpreter, module or `openssl` skips the test with a printed reason, unless
//! `SAE_REQUIRE_PEERS=1` or `CI=true`, where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// How long a peer may take to print its port.
const STARTUP: Duration = Duration::from_secs(30);

/// The client registered at the OAuth2 peer.
pub const CLIENT_ID: &str = "sae-test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "client-secret-XYZZY";
/// Its registered redirect URI.
pub const REDIRECT_URI: &str = "https://sae.test/v1/oauth2/callback";

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn peers_required() -> bool {
    std::env::var("SAE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (returns `None` after printing why) or fails, as configured.
pub fn skip<T>(reason: &str) -> Option<T> {
    if peers_required() {
        panic!("peer unavailable and SAE_REQUIRE_PEERS=1 / CI=true: {reason}");
    }
    eprintln!("SKIP: {reason}");
    None
}

fn unavailable(reason: &str) -> Option<Peer> {
    skip(reason)
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
    port: u16,
    dir: tempfile::TempDir,
}

impl Peer {
    /// Runs `script` with `args`; `dir` holds its stderr log (and whatever the caller put
    /// there) and lives as long as the peer.
    fn start(script: &str, args: &[&str], dir: tempfile::TempDir) -> Option<Self> {
        let Some(python) = python() else {
            return unavailable("no python: set SAE_PYTHON or run scripts/test.sh to create .venv");
        };
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers")
            .join(script);
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return unavailable(&format!("cannot run {}: {e}", python.display())),
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(STARTUP).unwrap_or_default();
        let mut peer = Self {
            child,
            port: 0,
            dir,
        };
        if let Some(reason) = line.strip_prefix("SKIP ") {
            return unavailable(reason.trim());
        }
        match line.strip_prefix("PORT ").map(|p| p.trim().parse::<u16>()) {
            Some(Ok(port)) => {
                peer.port = port;
                Some(peer)
            }
            _ => {
                let _ = peer.child.kill();
                let _ = peer.child.wait();
                let log =
                    std::fs::read_to_string(peer.dir.path().join("stderr.log")).unwrap_or_default();
                panic!(
                    "{} did not start (first line {line:?}); stderr:\n{log}",
                    script.display()
                );
            }
        }
    }

    /// The port the peer listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The OAuth2 authorization server peer.
pub struct OAuthPeer {
    peer: Peer,
    http: reqwest::Client,
}

impl OAuthPeer {
    /// Starts it, or `None` when skipped.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts it with extra arguments (e.g. the service account of the JWT bearer grant).
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        let mut args = vec![
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            REDIRECT_URI,
        ];
        args.extend_from_slice(extra);
        let peer = Peer::start(
            "email_oauth_peer.py",
            &args,
            tempfile::tempdir().expect("temp dir"),
        )?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Some(Self { peer, http })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.peer.port())
    }

    /// Changes the peer's behaviour (see the script's `/control`).
    pub async fn control(&self, body: Value) {
        let answer = self
            .http
            .post(self.url("/control"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("control call");
        assert!(
            answer.status().is_success(),
            "control answered {}",
            answer.status()
        );
    }

    /// The peer's counters and last authorization query.
    pub async fn stats(&self) -> Value {
        let body = self
            .http
            .get(self.url("/stats"))
            .send()
            .await
            .expect("stats call")
            .bytes()
            .await
            .expect("stats body");
        serde_json::from_slice(&body).expect("stats JSON")
    }

    /// How many times a grant was served.
    pub async fn grants(&self, grant: &str) -> u64 {
        self.stats().await["grants"][grant]
            .as_u64()
            .expect("counter")
    }

    /// Opens `url` like a browser that stops at the first redirect, and returns the
    /// `Location` header.
    pub async fn follow_authorize(&self, url: &str) -> reqwest::Url {
        let answer = self.http.get(url).send().await.expect("authorize call");
        assert_eq!(answer.status().as_u16(), 302, "authorize must redirect");
        let location = answer
            .headers()
            .get("location")
            .expect("Location header")
            .to_str()
            .expect("ASCII Location");
        reqwest::Url::parse(location).expect("absolute Location")
    }
}

/// The SMTP peer: how it authenticates and protects the connection.
pub struct SmtpPeer {
    peer: Peer,
    records: PathBuf,
}

/// One mail the SMTP peer accepted (the script's JSON record).
pub type Record = Value;

impl SmtpPeer {
    /// Starts an SMTP peer with `args` (see the script), or `None` when skipped.
    pub fn start(args: &[&str]) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let records = dir.path().join("records.jsonl");
        let records_arg = records.to_string_lossy().into_owned();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--records", &records_arg]);
        let peer = Peer::start("email_smtp_peer.py", &all, dir)?;
        Some(Self { peer, records })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.peer.port()
    }

    /// Every accepted mail so far.
    pub fn records(&self) -> Vec<Record> {
        std::fs::read_to_string(&self.records)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("record JSON"))
            .collect()
    }
}
