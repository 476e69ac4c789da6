//! The `sae` command line.

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
    /// Rotate the master keyring: list, add, activate, reencrypt (see the README).
    Keys {
        /// What to do with the keyring.
        #[command(subcommand)]
        action: crate::keys::KeysAction,
    },
    /// Compute one-time passwords (like oathtool).
    Otp {
        /// Which algorithm.
        #[command(subcommand)]
        cmd: crate::otp_cmd::OtpCmd,
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
