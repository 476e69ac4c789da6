//! Server configuration: flags, then environment variables (`SAE_*`), then a TOML file,
//! then defaults — the first that sets a value wins.
//!
//! ```toml
//! # sae.toml
//! data_dir = "/var/lib/sae"
//! listen = "0.0.0.0:8080"
//! database_url = "postgres://sae@db/sae"   # omit for the embedded SQLite file
//! keyring = "/etc/sae/keyring.json"         # default: <data_dir>/keyring.json
//! public_url = "https://sae.example.com"
//! pool_size = 16
//! keyring_reload_secs = 30                  # re-read the keyring this often (0: only on SIGHUP)
//! session_idle_s = 900                      # administrator console idle timeout
//! import_body_limit = 67108864              # largest import upload, bytes (64 MiB)
//! job_lease_s = 30                          # an import job's claim lapses after this
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Options shared by every command that opens the store (`serve`, `migrate`, `apikey`, …).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// Directory of the SQLite database and the keyring [env: SAE_DATA_DIR] [default: ./sae-data]
    #[arg(long, env = "SAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); without it SAE uses SQLite in the data directory
    #[arg(long, env = "SAE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Keyring file [env: SAE_KEYRING] [default: <data-dir>/keyring.json]
    #[arg(long, env = "SAE_KEYRING")]
    pub keyring: Option<PathBuf>,
    /// TOML configuration file [env: SAE_CONFIG]
    #[arg(long, env = "SAE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Options of `sae serve` on top of [`StoreArgs`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [env: SAE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, env = "SAE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Externally visible base URL (OAuth2 redirects, links) [env: SAE_PUBLIC_URL]
    #[arg(long, env = "SAE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Proxies whose X-Forwarded-For is believed: addresses or CIDR blocks, comma-separated
    /// [env: SAE_TRUSTED_PROXIES] [default: none]
    #[arg(long, env = "SAE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Re-read the keyring file every this many seconds; 0 = only on SIGHUP (and when a
    /// secret under an unknown key id is met) [env: SAE_KEYRING_RELOAD_SECS] [default: 30]
    #[arg(long, env = "SAE_KEYRING_RELOAD_SECS")]
    pub keyring_reload_secs: Option<u64>,
    /// Administrator console sessions end after this many idle seconds
    /// [env: SAE_SESSION_IDLE_S] [default: 900]
    #[arg(long, env = "SAE_SESSION_IDLE_S")]
    pub session_idle_s: Option<u32>,
    /// Log lines as `text` (colour only on a terminal) or `json` (one object per line)
    /// [env: SAE_LOG_FORMAT]
    #[arg(long, env = "SAE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How `sae serve` writes its log (to stderr; the level comes from `SAE_LOG`, default `info`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colour only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    keyring: Option<PathBuf>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    pool_size: Option<u32>,
    workers: Option<usize>,
    body_limit: Option<usize>,
    trusted_proxies: Option<Vec<String>>,
    keyring_reload_secs: Option<u64>,
    session_idle_s: Option<u32>,
    import_body_limit: Option<usize>,
    job_lease_s: Option<i64>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the SQLite database, the keyring and the initial credentials.
    pub data_dir: PathBuf,
    /// PostgreSQL URL, or `None` for SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Keyring file.
    pub keyring: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Externally visible base URL.
    pub public_url: String,
    /// Database connections per node.
    pub pool_size: u32,
    /// HTTP worker threads (default: the number of cores).
    pub workers: Option<usize>,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::proxies::Cidr>,
    /// How often a serving node re-reads the keyring (zero: only on SIGHUP / unknown key id).
    pub keyring_reload: std::time::Duration,
    /// Idle seconds after which an administrator session ends (1..=86400).
    pub session_idle_s: u32,
    /// Largest accepted import upload (`/v1/tokens/import`, `/v1/users/import`), bytes.
    pub import_body_limit: u64,
    /// Seconds an import job's claim holds without progress before another node (or this
    /// one after a restart) takes the job over.
    pub job_lease_s: i64,
}

/// Why the configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not valid TOML for SAE.
    #[error("config file {0}: {1}")]
    Parse(String, String),
    /// A `trusted_proxies` entry is not an address or CIDR block.
    #[error("trusted_proxies: {0:?} is not an IP address or CIDR block")]
    BadProxy(String),
}

impl Config {
    /// Resolves flags, environment (already folded into the flags by clap) and the file.
    pub fn resolve(store: &StoreArgs, serve: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &store.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = store
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("sae-data"));
        let keyring = store
            .keyring
            .clone()
            .or(file.keyring)
            .unwrap_or_else(|| data_dir.join("keyring.json"));
        let listen = serve
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = serve
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let trusted_proxies = serve
            .trusted_proxies
            .clone()
            .or(file.trusted_proxies)
            .unwrap_or_default()
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| crate::proxies::Cidr::parse(p).ok_or_else(|| ConfigError::BadProxy(p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let session_idle_s = serve
            .session_idle_s
            .or(file.session_idle_s)
            .unwrap_or(900)
            .clamp(1, 86_400);
        Ok(Self {
            session_idle_s,
            trusted_proxies,
            database_url: store.database_url.clone().or(file.database_url),
            data_dir,
            keyring,
            listen,
            public_url: public_url.trim_end_matches('/').to_owned(),
            pool_size: file.pool_size.unwrap_or(16).clamp(1, 512),
            workers: file.workers,
            body_limit: file.body_limit.unwrap_or(64 * 1024),
            import_body_limit: file
                .import_body_limit
                .map_or(64 << 20, |n| u64::try_from(n).unwrap_or(u64::MAX)),
            job_lease_s: file.job_lease_s.unwrap_or(30).clamp(1, 3600),
            keyring_reload: std::time::Duration::from_secs(
                serve
                    .keyring_reload_secs
                    .or(file.keyring_reload_secs)
                    .unwrap_or(30),
            ),
        })
    }

    /// The database URL to open: PostgreSQL when configured, else the SQLite file.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.join("sae.db").display().to_string(),
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(name.clone(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(name, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sae.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"/tmp/x\"\npool_size = 4\n",
        )
        .unwrap();
        let store = StoreArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let c = Config::resolve(&store, &ServeArgs::default()).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.keyring, PathBuf::from("/tmp/x/keyring.json"));
        assert_eq!(c.pool_size, 4);
        let serve = ServeArgs {
            listen: Some("127.0.0.1:7000".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::resolve(&store, &serve).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.public_url, "http://127.0.0.1:7000");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sae.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let store = StoreArgs {
            config: Some(file),
            ..Default::default()
        };
        let err = Config::resolve(&store, &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen"), "{err}");
    }
}
