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

use crate::cli::{AdminAction, ApikeyAction, Cli, Command};
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
        Command::Admin { action } => report(admin_cmd(action)),
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

/// On the very first start (no API key and no administrator exist yet), creates an admin API
/// key and an administrator `admin` with a random password, and writes both to
/// `<data-dir>/initial-credentials` (mode 0600), printing only the file's path.
fn first_start_credentials(config: &Config, pool: &DbPool) -> Result<(), String> {
    use diesel::prelude::*;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let keys: i64 = with_conn!(&mut conn, |c| store::schema::api_keys::table
        .count()
        .get_result(c))
    .map_err(|e| e.to_string())?;
    let admins = store::admins::count(&mut conn).map_err(|e| e.to_string())?;
    if keys > 0 || admins > 0 {
        if admins == 0 {
            tracing::warn!(
                "no console administrator exists: create one with `sae admin create --login …`"
            );
        }
        return Ok(());
    }
    let password = random_password();
    let hash = hash_admin_password(&password)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
    let path = config.data_dir.join("initial-credentials");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, key) = apikeys::create(&mut conn, "initial-admin", Scope::Admin, None, now())
        .map_err(|e| e.to_string())?;
    store::admins::create(&mut conn, "admin", &hash, None, now()).map_err(|e| e.to_string())?;
    writeln!(
        f,
        "# SAE initial credentials. Keep them safe; delete this file once stored elsewhere.\n\
         # An API key with scope admin (header Api-Key):\n\
         api_key = {}\n\
         # The web console (/admin): administrator login and password; an authenticator\n\
         # (TOTP) is enrolled at the first login.\n\
         admin_login = admin\n\
         admin_password = {}",
        &*key, &*password
    )
    .map_err(|e| e.to_string())?;
    println!(
        "first start: initial credentials written to {}",
        path.display()
    );
    Ok(())
}

/// A random administrator password: 20 base32 characters (100 bits).
fn random_password() -> zeroize::Zeroizing<String> {
    use rand::Rng as _;
    let mut raw = zeroize::Zeroizing::new([0u8; 13]);
    crypto::os_rng().fill_bytes(raw.as_mut());
    let mut s = data_encoding::BASE32_NOPAD.encode(raw.as_ref());
    s.truncate(20);
    zeroize::Zeroizing::new(s)
}

fn hash_admin_password(password: &str) -> Result<String, String> {
    let n = password.chars().count();
    if !(12..=1024).contains(&n) {
        return Err("password: an administrator password has 12 to 1024 characters".into());
    }
    sae_core::password::hash_params::HashPolicy::default()
        .hash(password, &mut crypto::os_rng())
        .map(sae_core::password::StoredHash::into_string)
        .map_err(|e| e.to_string())
}

fn admin_cmd(action: AdminAction) -> Result<(), String> {
    let store_args = match &action {
        AdminAction::Create { store, .. }
        | AdminAction::List { store }
        | AdminAction::Unlock { store, .. }
        | AdminAction::ResetTotp { store, .. } => store.clone(),
    };
    let config = Config::resolve(&store_args, &ServeArgs::default()).map_err(|e| e.to_string())?;
    let (pool, _) = open(&config)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let find = |conn: &mut store::DbConn, login: &str| {
        store::admins::find(conn, login)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("--login: no administrator {login:?}"))
    };
    match action {
        AdminAction::Create {
            login,
            group,
            password_stdin,
            ..
        } => {
            api::types::check_login(&login).map_err(|_| {
                "--login: 1 to 255 characters, without control characters or surrounding spaces"
                    .to_owned()
            })?;
            let group_id = match group {
                None => None,
                Some(g) if g.eq_ignore_ascii_case(sae_core::acl::SYSTEM_ADMINISTRATOR) => None,
                Some(g) => Some(
                    store::admins::group_by_name(&mut conn, &g)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("--group: no administrator group {g:?}"))?
                        .id,
                ),
            };
            let (password, print) = if password_stdin {
                let mut line = zeroize::Zeroizing::new(String::new());
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("stdin: {e}"))?;
                (
                    zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned()),
                    false,
                )
            } else {
                (random_password(), true)
            };
            let hash = hash_admin_password(&password)?;
            store::admins::create(&mut conn, &login, &hash, group_id, now()).map_err(
                |e| match e {
                    store::admins::AdminStoreError::Duplicate => {
                        format!("--login: an administrator {login:?} exists")
                    }
                    other => other.to_string(),
                },
            )?;
            if print {
                println!("{}", &*password);
            }
            eprintln!(
                "administrator {login:?} created; the TOTP authenticator is enrolled at the first login"
            );
        }
        AdminAction::List { .. } => {
            for a in store::admins::list(&mut conn, 0, i64::MAX).map_err(|e| e.to_string())? {
                let group = match a.group_id {
                    None => sae_core::acl::SYSTEM_ADMINISTRATOR.to_owned(),
                    Some(id) => store::admins::group_by_id(&mut conn, id)
                        .map_err(|e| e.to_string())?
                        .map_or_else(|| format!("#{id}"), |g| g.name),
                };
                println!(
                    "{}\t{}\ttotp={}\tlocked={}",
                    a.login,
                    group,
                    if a.totp_secret.is_some() { "yes" } else { "no" },
                    if a.locked_at.is_some() { "yes" } else { "no" }
                );
            }
        }
        AdminAction::Unlock { login, .. } => {
            let a = find(&mut conn, &login)?;
            store::admins::unlock(&mut conn, a.id, now()).map_err(|e| e.to_string())?;
            eprintln!("administrator {login:?} unlocked");
        }
        AdminAction::ResetTotp { login, .. } => {
            let a = find(&mut conn, &login)?;
            let changes = store::admins::AdminChanges {
                reset_totp: true,
                ..Default::default()
            };
            store::admins::update(&mut conn, a.id, &changes, now()).map_err(|e| e.to_string())?;
            eprintln!("administrator {login:?}: TOTP forgotten; the next login enrols a new one");
        }
    }
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
                apikeys::create(&mut conn, &name, scope, None, now()).map_err(|e| e.to_string())?;
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
