//! `sae apikey create|list|revoke`.

use super::ApikeyAction;
use super::serve::{config, open};
use crate::clock::{Clock as _, SystemClock};
use crate::service::ServiceError;
use crate::service::apikeys::issue;
use crate::store::apikeys::Scope;
use crate::timefmt::rfc3339;

/// Runs `sae apikey …`.
pub fn run(action: ApikeyAction) -> Result<(), String> {
    let now = SystemClock.now();
    match action {
        ApikeyAction::Create { store, name, scope } => {
            let (store, _) = open(&config(&store)?)?;
            let scope = Scope::parse(&scope).ok_or("--scope must be otp or admin")?;
            let (_, key) = store
                .write_blocking(|c| {
                    let issued = issue(c, &name, scope, None, now)?;
                    super::audit("apikey.create", now)
                        .subject(format!("apikey:{name}"))
                        .detail(serde_json::json!({ "scope": scope.as_str() }))
                        .write(c)?;
                    Ok::<_, ServiceError>(issued)
                })
                .map_err(|e| e.to_string())?;
            println!("{}", &*key);
        }
        ApikeyAction::List { store } => {
            let (store, _) = open(&config(&store)?)?;
            let rows = store
                .read_blocking(|c| Ok::<_, ServiceError>(c.apikeys_page(0, i64::MAX)?))
                .map_err(|e| e.to_string())?;
            for (k, _) in rows {
                let revoked = k.revoked_at.map_or_else(|| "-".to_owned(), rfc3339);
                println!(
                    "{}\t{}\t{}\t{}…\t{}\t{}",
                    k.id,
                    k.name,
                    k.scope,
                    k.prefix,
                    rfc3339(k.created_at),
                    revoked
                );
            }
        }
        ApikeyAction::Revoke { store, id } => {
            let (store, _) = open(&config(&store)?)?;
            let revoked = store
                .write_blocking(|c| {
                    let revoked = c.apikey_revoke(id, now.secs())?;
                    if revoked {
                        super::audit("apikey.revoke", now)
                            .subject(format!("apikey-id:{id}"))
                            .write(c)?;
                    }
                    Ok::<_, ServiceError>(revoked)
                })
                .map_err(|e| e.to_string())?;
            if !revoked {
                return Err(format!("no live API key with id {id}"));
            }
            eprintln!("revoked API key {id}");
        }
    }
    Ok(())
}
