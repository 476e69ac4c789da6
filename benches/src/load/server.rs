//! Starting `sae serve` nodes for a run and reading their memory.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sae serve`, killed when dropped (with its data directory removed when it is
/// a temporary one).
pub struct Node {
    child: Child,
    _temp: Option<tempfile::TempDir>,
    dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The `admin` API key of the initial credentials (empty on a node that joined an
    /// existing database).
    pub key: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// Starts `sae serve` on a fresh data directory; on `database_url` when given (else SQLite
    /// in the data directory); sharing `keyring` (another node's, same database) when given.
    pub fn start(sae: &Path, database_url: Option<&str>, keyring: Option<&Path>) -> Self {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_owned();
        Self::start_in(sae, dir, Some(temp), database_url, keyring)
    }

    /// Starts `sae serve` on the data directory `dir` (kept when the node stops).
    pub fn start_on(sae: &Path, dir: &Path, database_url: Option<&str>) -> Self {
        Self::start_in(sae, dir.to_owned(), None, database_url, None)
    }

    fn start_in(
        sae: &Path,
        dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        database_url: Option<&str>,
        keyring: Option<&Path>,
    ) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = Command::new(sae);
        cmd.args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(&dir)
            .env("SAE_LOG", "warn")
            .stdout(Stdio::null());
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        if let Some(k) = keyring {
            cmd.arg("--keyring").arg(k);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); build it with cargo build --release -p action-provider",
                sae.display()
            )
        });
        let mut node = Self {
            child,
            _temp: temp,
            dir,
            addr,
            key: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            assert!(
                node.child.try_wait().ok().flatten().is_none(),
                "{} exited at start",
                sae.display()
            );
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Only the node that created the database writes the initial credentials.
        let creds =
            std::fs::read_to_string(node.dir.join("initial-credentials")).unwrap_or_default();
        node.key = creds
            .lines()
            .find_map(|l| l.strip_prefix("api_key = "))
            .unwrap_or_default()
            .to_owned();
        node
    }

    /// This node's keyring file (for a second node on the same database).
    pub fn keyring(&self) -> PathBuf {
        self.dir.join("keyring.json")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Resident memory of a process, MiB (0 when it cannot be read).
pub fn rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}
