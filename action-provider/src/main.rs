//! `sae`: SAE's server and command-line tools.

mod api;
mod app;
mod backup;
mod cli;
mod config;
mod crypto;
mod flows;
mod keys;
mod mail_sender;
mod metrics;
mod otp_cmd;
mod outbox;
mod policies;
mod proxies;
mod senders;
mod sms;
mod store;
mod timefmt;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{ApikeyAction, Cli, Command};
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::crypto::Keyring;
use crate::store::DbPool;
use crate::store::apikeys::{self, Scope};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match cli.command {
        Command::Otp { cmd } => otp_cmd::run(&cmd),
        Command::Serve { store, serve } => report(serve_cmd(&store, &serve)),
        Command::Migrate { store } => report(migrate_cmd(&store)),
        Command::Apikey { action } => report(apikey_cmd(action)),
        Command::Backup { store, out } => report(backup::backup(&store, &out)),
        Command::Restore { store, from } => report(backup::restore(&store, &from)),
        Command::Keys { action } => keys::run(action),
    }
}

/// Prints help/version as clap does; any other parse error as one line naming the
/// argument, with exit status 2.
fn usage_error(e: &clap::Error) -> ExitCode {
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

fn report(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sae: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Current time, unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Opens (and migrates) the store and the keyring named by the configuration.
fn open(config: &Config) -> Result<(DbPool, Keyring), String> {
    if (config.database_url.is_none() || !config.keyring.exists()) && !config.data_dir.exists() {
        // The data directory holds the database and the keyring: private to this user.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&config.data_dir)
            .map_err(|e| format!("data directory {}: {e}", config.data_dir.display()))?;
    }
    let keyring = Keyring::load_or_create(&config.keyring).map_err(|e| e.to_string())?;
    let pool = DbPool::open(&config.store_url(), config.pool_size).map_err(|e| e.to_string())?;
    pool.migrate().map_err(|e| e.to_string())?;
    Ok((pool, keyring))
}

fn serve_cmd(store: &StoreArgs, serve: &ServeArgs) -> Result<(), String> {
    init_logging();
    let config = Config::resolve(store, serve).map_err(|e| e.to_string())?;
    let (pool, keyring) = open(&config)?;
    let keyring = crypto::serving(keyring, &config.keyring);
    first_start_credentials(&config, &pool)?;
    let state = app::AppState::new(pool, keyring, config);
    actix_web::rt::System::new()
        .block_on(app::serve(state))
        .map_err(|e| e.to_string())
}

/// On the very first start (no API key exists yet), creates an admin API key and writes it
/// to `<data-dir>/initial-credentials` (mode 0600), printing only the file's path.
fn first_start_credentials(config: &Config, pool: &DbPool) -> Result<(), String> {
    use diesel::prelude::*;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let count: i64 = with_conn!(&mut conn, |c| store::schema::api_keys::table
        .count()
        .get_result(c))
    .map_err(|e| e.to_string())?;
    if count > 0 {
        return Ok(());
    }
    let (_, key) = apikeys::create(&mut conn, "initial-admin", Scope::Admin, now())
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
    let path = config.data_dir.join("initial-credentials");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(
        f,
        "# SAE initial credentials: an API key with scope admin. Keep it safe.\napi_key = {}",
        &*key
    )
    .map_err(|e| e.to_string())?;
    println!(
        "first start: initial credentials written to {}",
        path.display()
    );
    Ok(())
}

fn migrate_cmd(store: &StoreArgs) -> Result<(), String> {
    let config = Config::resolve(store, &ServeArgs::default()).map_err(|e| e.to_string())?;
    let (pool, _) = open(&config)?;
    eprintln!("database schema is up to date ({})", pool.backend());
    Ok(())
}

fn apikey_cmd(action: ApikeyAction) -> Result<(), String> {
    match action {
        ApikeyAction::Create { store, name, scope } => {
            let config =
                Config::resolve(&store, &ServeArgs::default()).map_err(|e| e.to_string())?;
            let (pool, _) = open(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let scope = Scope::parse(&scope).ok_or("--scope must be otp or admin")?;
            let (_, key) =
                apikeys::create(&mut conn, &name, scope, now()).map_err(|e| e.to_string())?;
            println!("{}", &*key);
        }
        ApikeyAction::List { store } => {
            let config =
                Config::resolve(&store, &ServeArgs::default()).map_err(|e| e.to_string())?;
            let (pool, _) = open(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            for k in apikeys::list(&mut conn, 0, i64::MAX).map_err(|e| e.to_string())? {
                let revoked = k
                    .revoked_at
                    .map_or_else(|| "-".to_owned(), timefmt::rfc3339);
                println!(
                    "{}\t{}\t{}\t{}…\t{}\t{}",
                    k.id,
                    k.name,
                    k.scope,
                    k.prefix,
                    timefmt::rfc3339(k.created_at),
                    revoked
                );
            }
        }
        ApikeyAction::Revoke { store, id } => {
            let config =
                Config::resolve(&store, &ServeArgs::default()).map_err(|e| e.to_string())?;
            let (pool, _) = open(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            if !apikeys::revoke(&mut conn, id, now()).map_err(|e| e.to_string())? {
                return Err(format!("no live API key with id {id}"));
            }
            eprintln!("revoked API key {id}");
        }
    }
    Ok(())
}
