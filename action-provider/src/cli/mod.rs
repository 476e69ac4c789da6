//! The `sae` command line: argument parsing and one module per command.

pub mod admin;
pub mod apikey;
pub mod backup;
pub mod import;
pub mod keys;
pub mod mail;
pub mod otp;
pub mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, StoreArgs};

/// SAE — strong authentication engine.
#[derive(Debug, Parser)]
#[command(name = "sae", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `sae` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (embedded SQLite in ./sae-data unless --database-url is given).
    Serve {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// Server options.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage API keys.
    Apikey {
        /// What to do with API keys.
        #[command(subcommand)]
        action: ApikeyAction,
    },
    /// Manage administrators of the web console.
    Admin {
        /// What to do with administrators.
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Write a consistent snapshot of the SQLite database (safe while the server runs).
    /// The keyring is NOT in the backup: back it up separately.
    Backup {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The snapshot file to create (must not exist).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Replace the SQLite database with a snapshot (stop the servers first). The keyring in
    /// use must be the one the snapshot was made with.
    Restore {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The snapshot file written by `sae backup`.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Offline mail tools (`scan-bounce FILE…`).
    Mail {
        /// What to do.
        #[command(subcommand)]
        cmd: mail::MailCmd,
    },
    /// Rotate the master keyring: list, add, activate, reencrypt (see the README).
    Keys {
        /// What to do with the keyring.
        #[command(subcommand)]
        action: keys::KeysAction,
    },
    /// Token inventory: import PSKC or CSV files.
    Tokens {
        /// What to do with tokens.
        #[command(subcommand)]
        action: import::TokensAction,
    },
    /// Users: import a CSV file.
    Users {
        /// What to do with users.
        #[command(subcommand)]
        action: import::UsersAction,
    },
    /// Compute one-time passwords (like oathtool).
    Otp {
        /// Which algorithm.
        #[command(subcommand)]
        cmd: otp::OtpCmd,
    },
}

/// `sae apikey …`
#[derive(Debug, Subcommand)]
pub enum ApikeyAction {
    /// Create a key and print it (alone) on stdout; it is not shown again.
    Create {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// `otp` (applications) or `admin` (configuration).
        #[arg(long, value_parser = ["otp", "admin"])]
        scope: String,
    },
    /// List keys (id, name, scope, prefix, created, revoked), one per line.
    List {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id (servers stop accepting it within 5 seconds).
    Revoke {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The key's id (from `sae apikey list`).
        #[arg(long)]
        id: i64,
    },
}

/// `sae admin …`
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an administrator. The password is read from stdin with --password-stdin,
    /// otherwise generated and printed (alone) on stdout. The TOTP authenticator is
    /// enrolled at the first login.
    Create {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// Login (1..=255 characters).
        #[arg(long)]
        login: String,
        /// Administrator group (default: System Administrator).
        #[arg(long)]
        group: Option<String>,
        /// Read the password (12..=1024 characters) from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List administrators (login, group, TOTP enrolled, locked), one per line.
    List {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Lift an administrator's lock (recovery when every administrator is locked out).
    Unlock {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The administrator's login.
        #[arg(long)]
        login: String,
    },
    /// Forget an administrator's TOTP authenticator: the next login enrols a new one
    /// (recovery of a lost phone). Ends the administrator's sessions.
    ResetTotp {
        /// Store options.
        #[command(flatten)]
        store: StoreArgs,
        /// The administrator's login.
        #[arg(long)]
        login: String,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Otp { cmd } => otp::run(&cmd),
        Command::Mail { cmd } => mail::run(&cmd),
        Command::Serve { store, serve } => report(serve::serve(&store, &serve)),
        Command::Migrate { store } => report(serve::migrate(&store)),
        Command::Apikey { action } => report(apikey::run(action)),
        Command::Admin { action } => report(admin::run(action)),
        Command::Backup { store, out } => report(backup::backup(&store, &out)),
        Command::Restore { store, from } => report(backup::restore(&store, &from)),
        Command::Keys { action } => keys::run(action),
        Command::Tokens { action } => import::run_tokens(action),
        Command::Users { action } => import::run_users(action),
    }
}

/// Exit status of a command: 0, or 1 with the error on stderr.
fn report(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sae: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints help/version as clap does; any other parse error as one line naming the
/// argument, with exit status 2.
pub fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match (first.ends_with(':'), lines.next()) {
        (true, Some(next)) => format!("{first} {next}"),
        _ => first.to_owned(),
    };
    eprintln!("sae: {message}");
    ExitCode::from(2)
}

/// The audit actor of a host command: `cli:<operating-system user>` (from `SUDO_USER`,
/// `USER` or `LOGNAME`), so that what was done on the host shows in the same trail as what
/// was done through the API.
pub(crate) fn actor() -> String {
    let user = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}")
}

/// An audit record for a host command, written inside the command's transaction.
pub(crate) fn audit(action: &str, at: crate::clock::UnixTime) -> crate::service::audit::Audit {
    crate::service::audit::Audit::new(actor(), action, at).source(Some("cli"))
}
