//! `sae tokens import` and `sae users import`: the server's import engine run directly on a
//! local file against the store (no server needed), with a progress bar on a terminal and
//! plain lines otherwise, and a row-numbered report at the end. Secrets never come from
//! the command line: the PSK from a file (`--psk-file`), the password from stdin.
//!
//! Exit status: 0 when the import ended well (skipped items with `--skip-bad` included),
//! 1 when the file was refused (nothing stored), 2 for bad arguments.

use std::io::{BufRead as _, BufReader, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use sae_core::import::pskc::KeyMaterial;
use sae_core::secret::Secret;
use zeroize::Zeroizing;

use crate::config::StoreArgs;
use crate::service::AppState;
use crate::service::import::engine::End;
use crate::service::import::items::Format;
use crate::service::import::{JobKind, LocalImport, Params, import_local};
use crate::store::jobs::Progress;

/// `sae tokens …`
#[derive(Debug, clap::Subcommand)]
pub enum TokensAction {
    /// Import tokens from a PSKC (RFC 6030) or CSV file into the inventory (assigned to the
    /// users the file names).
    Import {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The file.
        file: PathBuf,
        /// `pskc` or `csv` [default: recognised from the file]
        #[arg(long, value_parser = ["pskc", "csv"])]
        format: Option<String>,
        /// A file holding the pre-shared AES key in hexadecimal.
        #[arg(long, conflicts_with = "password_stdin")]
        psk_file: Option<PathBuf>,
        /// Read the password of a PBKDF2-protected file from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Check and report everything, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good items of a file that has bad ones.
        #[arg(long)]
        skip_bad: bool,
    },
}

/// `sae users …`
#[derive(Debug, clap::Subcommand)]
pub enum UsersAction {
    /// Import users from a CSV file (login,name,email,document,mobile,wallet,password_hash).
    Import {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The file.
        file: PathBuf,
        /// Check and report everything, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good rows of a file that has bad ones.
        #[arg(long)]
        skip_bad: bool,
    },
}

/// Why a command failed: bad input (2) or anything else (1).
enum Failure {
    Usage(String),
    Runtime(String),
}

fn psk_from_file(path: &Path) -> Result<KeyMaterial, Failure> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
    );
    let hex: Zeroizing<String> = Zeroizing::new(text.split_whitespace().collect());
    let raw = Zeroizing::new(
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(hex.as_bytes())
            .map_err(|_| Failure::Usage(format!("{}: not a key in hexadecimal", path.display())))?,
    );
    if ![16, 24, 32].contains(&raw.len()) {
        return Err(Failure::Usage(format!(
            "{}: an AES key is 16, 24 or 32 bytes (32, 48 or 64 hex digits)",
            path.display()
        )));
    }
    Secret::from_bytes(&raw)
        .map(KeyMaterial::PreSharedKey)
        .map_err(|e| Failure::Usage(e.to_string()))
}

fn password_from_stdin() -> Result<KeyMaterial, Failure> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    Secret::from_bytes(password.as_bytes())
        .map(KeyMaterial::Password)
        .map_err(|_| Failure::Usage("stdin: the password is empty".into()))
}

/// Shows progress: a bar on a terminal, a line per 10,000 items otherwise.
struct Meter {
    bar: Option<indicatif::ProgressBar>,
    next_line: i64,
}

impl Meter {
    fn new(bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(bytes);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {percent:>3}% {msg} [{elapsed_precise}, {eta} left]",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            next_line: 10_000,
        }
    }

    fn update(&mut self, p: &Progress) {
        let msg = format!(
            "{} read, {} imported, {} skipped",
            p.done, p.imported, p.skipped
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::try_from(p.bytes_done).unwrap_or(0));
                bar.set_message(msg);
            }
            None if p.done >= self.next_line => {
                eprintln!("{msg}");
                self.next_line = p.done + 10_000;
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn import(
    store_args: &StoreArgs,
    file: &Path,
    kind: JobKind,
    params: Params,
    key: KeyMaterial,
) -> Result<(), Failure> {
    let config = super::serve::config(store_args).map_err(Failure::Runtime)?;
    let opened = std::fs::File::open(file)
        .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let (store, keyring) = super::serve::open(&config).map_err(Failure::Runtime)?;
    let state = AppState::new(store, keyring, config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let policies = runtime
        .block_on(state.policies())
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let mut meter = Meter::new(size);
    let local = LocalImport {
        kind,
        params,
        key,
        actor: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        bytes_total: i64::try_from(size).unwrap_or(i64::MAX),
    };
    let input = BufReader::with_capacity(256 * 1024, opened);
    let (job, end) = import_local(&state, Arc::clone(&policies), input, local, &mut |p| {
        meter.update(p)
    })
    .map_err(|e| Failure::Runtime(e.to_string()))?;
    meter.finish();
    report(&state, &job, kind).map_err(|e| Failure::Runtime(e.to_string()))?;
    match end {
        End::Done(p) => {
            println!(
                "{}: {} item(s), {} {}, {} skipped",
                file.display(),
                p.done,
                p.imported,
                if state_dry(&state, &job) {
                    "importable (dry run: nothing stored)"
                } else {
                    "imported"
                },
                p.skipped
            );
            Ok(())
        }
        End::Failed(p, why) => {
            println!(
                "{}: {} item(s), {} skipped",
                file.display(),
                p.done,
                p.skipped
            );
            Err(Failure::Runtime(why))
        }
        End::LostLease => Err(Failure::Runtime(
            "the import was taken over by another process".into(),
        )),
    }
}

fn state_dry(state: &AppState, job: &str) -> bool {
    state
        .store
        .read_blocking(|c| Ok::<_, crate::store::StoreError>(c.job_get(job)?))
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str::<Params>(&j.params).ok())
        .is_some_and(|p| p.dry_run)
}

/// Prints every skipped item, one line each, in file order.
fn report(state: &AppState, job: &str, kind: JobKind) -> Result<(), crate::store::StoreError> {
    let unit = if kind == JobKind::Users {
        "row"
    } else {
        "item"
    };
    let mut cursor = 0;
    loop {
        let page = state
            .store
            .read_blocking(|c| Ok::<_, crate::store::StoreError>(c.job_skips(job, cursor, 500)?))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        cursor = last.id;
        for s in &page {
            let name = s
                .item
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            println!(
                "{unit} {}{name}: skipped: {} — {}",
                s.position, s.reason, s.detail
            );
        }
    }
}

fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("sae: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("sae: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `sae tokens …`.
pub fn run_tokens(action: TokensAction) -> ExitCode {
    let TokensAction::Import {
        store,
        file,
        format,
        psk_file,
        password_stdin,
        dry_run,
        skip_bad,
    } = action;
    exit((|| {
        let key = match (&psk_file, password_stdin) {
            (Some(path), _) => psk_from_file(path)?,
            (None, true) => password_from_stdin()?,
            (None, false) => KeyMaterial::None,
        };
        let params = Params {
            format: format.as_deref().and_then(Format::parse),
            dry_run,
            skip_bad,
            file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        };
        import(&store, &file, JobKind::Tokens, params, key)
    })())
}

/// Runs `sae users …`.
pub fn run_users(action: UsersAction) -> ExitCode {
    let UsersAction::Import {
        store,
        file,
        dry_run,
        skip_bad,
    } = action;
    let params = Params {
        format: Some(Format::Csv),
        dry_run,
        skip_bad,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    exit(import(
        &store,
        &file,
        JobKind::Users,
        params,
        KeyMaterial::None,
    ))
}
