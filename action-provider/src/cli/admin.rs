//! `sae admin create|list|unlock|reset-totp`: recovery and set-up of console administrators
//! on the host.

use super::AdminAction;
use super::serve::{config, open, random_password};
use crate::clock::{Clock as _, SystemClock};
use crate::service::ServiceError;
use crate::service::admins::{group_id, hash_password_blocking, insert};
use crate::service::input::Login;
use crate::store::Store;
use crate::store::admins::Admin;

fn find(store: &Store, login: &str) -> Result<Admin, String> {
    store
        .read_blocking(|c| Ok::<_, ServiceError>(c.admin_by_login(login)?))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--login: no administrator {login:?}"))
}

fn read_password_line() -> Result<zeroize::Zeroizing<String>, String> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    Ok(zeroize::Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

/// Runs `sae admin …`.
pub fn run(action: AdminAction) -> Result<(), String> {
    let store_args = match &action {
        AdminAction::Create { store, .. }
        | AdminAction::List { store }
        | AdminAction::Unlock { store, .. }
        | AdminAction::ResetTotp { store, .. } => store.clone(),
    };
    let (store, _) = open(&config(&store_args)?)?;
    let now = SystemClock.now();
    match action {
        AdminAction::Create {
            login,
            group,
            password_stdin,
            ..
        } => {
            let login = Login::parse(login).map_err(|_| {
                "--login: 1 to 255 characters, without control characters or surrounding spaces"
                    .to_owned()
            })?;
            let (password, print) = if password_stdin {
                (read_password_line()?, false)
            } else {
                (random_password(), true)
            };
            let hash = hash_password_blocking(&password).map_err(|e| e.to_string())?;
            store
                .write_blocking(|c| {
                    let gid = match &group {
                        Some(g) => group_id(c, g, "--group")?,
                        None => None,
                    };
                    let view = insert(c, login.as_str(), &hash, gid, now)?;
                    super::audit("admin.create", now)
                        .subject(login.as_str())
                        .detail(serde_json::json!({ "group": group }))
                        .write(c)?;
                    Ok(view)
                })
                .map_err(|e| match e {
                    conflict @ ServiceError::Conflict { .. } => format!("--{conflict}"),
                    other => other.to_string(),
                })?;
            if print {
                println!("{}", &*password);
            }
            eprintln!(
                "administrator {:?} created; the TOTP authenticator is enrolled at the first login",
                login.as_str()
            );
        }
        AdminAction::List { .. } => {
            let rows = store
                .read_blocking(|c| Ok::<_, ServiceError>(c.admins_page(0, i64::MAX)?))
                .map_err(|e| e.to_string())?;
            for (a, group) in rows {
                let group = match a.group_id {
                    None => sae_core::acl::SYSTEM_ADMINISTRATOR.to_owned(),
                    Some(id) => group.unwrap_or_else(|| format!("#{id}")),
                };
                println!(
                    "{}\t{}\ttotp={}\tlocked={}",
                    a.login,
                    group,
                    if a.totp_secret.is_some() { "yes" } else { "no" },
                    if crate::service::gate::is_locked(&crate::service::gate::admin_state(&a), now)
                    {
                        "yes"
                    } else {
                        "no"
                    }
                );
            }
        }
        AdminAction::Unlock { login, .. } => {
            let a = find(&store, &login)?;
            store
                .write_blocking(|c| {
                    c.admin_unlock(a.id, now.secs())?;
                    super::audit("admin.unlock", now)
                        .subject(login.as_str())
                        .write(c)?;
                    Ok::<_, ServiceError>(())
                })
                .map_err(|e| e.to_string())?;
            eprintln!("administrator {login:?} unlocked");
        }
        AdminAction::ResetTotp { login, .. } => {
            let a = find(&store, &login)?;
            store
                .write_blocking(|c| {
                    c.admin_reset_totp(a.id, now.secs())?;
                    c.sessions_end_of(a.id)?;
                    super::audit("admin.totp.reset", now)
                        .subject(login.as_str())
                        .write(c)?;
                    Ok::<_, ServiceError>(())
                })
                .map_err(|e| e.to_string())?;
            eprintln!("administrator {login:?}: TOTP forgotten; the next login enrols a new one");
        }
    }
    Ok(())
}
