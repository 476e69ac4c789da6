//! `sae serve` and `sae migrate`, and opening the store and keyring a command names.

use std::io::Write as _;

use crate::clock::{Clock as _, SystemClock};
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::crypto::Keyring;
use crate::service::admins::{hash_password_blocking, insert};
use crate::service::apikeys::issue;
use crate::service::{AppState, ServiceError};
use crate::store::Store;
use crate::store::apikeys::Scope;

/// Opens (and migrates) the store and the keyring named by the configuration, creating the
/// data directory (private to this user) when it is needed and absent.
pub fn open(config: &Config) -> Result<(Store, Keyring), String> {
    if (config.database_url.is_none() || !config.keyring.exists()) && !config.data_dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&config.data_dir)
            .map_err(|e| format!("data directory {}: {e}", config.data_dir.display()))?;
    }
    let keyring = Keyring::load_or_create(&config.keyring).map_err(|e| e.to_string())?;
    let store = Store::open(&config.store_url(), config.pool_size).map_err(|e| e.to_string())?;
    store.migrate().map_err(|e| e.to_string())?;
    let resealed =
        crate::outbox::email::reseal_legacy(&store, &keyring).map_err(|e| e.to_string())?;
    for collision in crate::service::logins::backfill(&store).map_err(|e| e.to_string())? {
        tracing::warn!(%collision, "two logins are one identity; see `sae migrate`");
    }
    if resealed > 0 {
        tracing::info!(resealed, "mail secrets bound to their rows and endpoints");
    }
    // Advice only: a server that cannot tell still starts.
    match store.buffer_fit() {
        Ok(fit) => {
            if let Some(advice) = fit.and_then(|fit| fit.advice()) {
                tracing::warn!("{advice}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot compare shared_buffers with the tables"),
    }
    Ok((store, keyring))
}

/// The configuration of a command that only opens the store.
pub fn config(store: &StoreArgs) -> Result<Config, String> {
    Config::resolve(store, &ServeArgs::default()).map_err(|e| e.to_string())
}

fn init_logging(format: crate::config::LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Json => builder.json().with_ansi(false).try_init(),
        crate::config::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// `sae serve`.
pub fn serve(store: &StoreArgs, serve: &ServeArgs) -> Result<(), String> {
    init_logging(serve.log_format);
    let config = Config::resolve(store, serve).map_err(|e| e.to_string())?;
    let (store, keyring) = open(&config)?;
    let keyring = crate::crypto::serving(keyring, &config.keyring);
    first_start_credentials(&config, &store)?;
    let state = AppState::new(store, keyring, config);
    actix_web::rt::System::new()
        .block_on(crate::serve(state))
        .map_err(|e| e.to_string())
}

/// `sae migrate`.
pub fn migrate(store: &StoreArgs) -> Result<(), String> {
    let config = config(store)?;
    let (store, _) = open(&config)?;
    eprintln!("database schema is up to date ({})", store.kind().as_str());
    let collisions = crate::service::logins::backfill(&store).map_err(|e| e.to_string())?;
    if !collisions.is_empty() {
        eprintln!(
            "{} login(s) share a canonical key with another (SPEC: logins are unique by NFC + \
             case folding); each is still found by its exact login until resolved:",
            collisions.len()
        );
        for collision in &collisions {
            println!("{collision}");
        }
    }
    Ok(())
}

/// A random administrator password: 20 base32 characters (100 bits).
pub fn random_password() -> zeroize::Zeroizing<String> {
    use rand::Rng as _;
    let mut raw = zeroize::Zeroizing::new([0u8; 13]);
    crate::crypto::os_rng().fill_bytes(raw.as_mut());
    let mut s = data_encoding::BASE32_NOPAD.encode(raw.as_ref());
    s.truncate(20);
    zeroize::Zeroizing::new(s)
}

/// On the very first start (no API key and no administrator exist yet), creates an admin API
/// key and an administrator `admin` with a random password, and writes both to
/// `<data-dir>/initial-credentials` (mode 0600), printing only the file's path.
fn first_start_credentials(config: &Config, store: &Store) -> Result<(), String> {
    let (keys, admins) = store
        .read_blocking(|c| Ok::<_, ServiceError>((c.apikeys_count()?, c.admins_count()?)))
        .map_err(|e| e.to_string())?;
    if keys > 0 || admins > 0 {
        if admins == 0 {
            tracing::warn!(
                "no console administrator exists: create one with `sae admin create --login …`"
            );
        }
        return Ok(());
    }
    let password = random_password();
    let hash = hash_password_blocking(&password).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
    let path = config.data_dir.join("initial-credentials");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let now = SystemClock.now();
    let key = store
        .write_blocking(|c| {
            let (_, key) = issue(c, "initial-admin", Scope::Admin, None, now)?;
            insert(c, "admin", &hash, None, now)?;
            Ok::<_, ServiceError>(key)
        })
        .map_err(|e| e.to_string())?;
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
