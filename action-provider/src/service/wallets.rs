//! Wallets ("carteiras"): named portfolios of users.

use sae_core::acl::WalletField;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::{Caller, View};
use super::error::{Conflict, Problems, ServiceError};
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::store::wallets::Wallet;

/// `POST /v1/wallets`, `PUT /v1/wallets/{name}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBody {
    /// Unique name, 1..=100 characters, no `/`.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F/]*[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F/]*$"
    )]
    pub name: String,
    /// Free text, at most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
}

/// A wallet as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Users in the wallet.
    pub users: i64,
    /// Creation time.
    pub created_at: String,
}

impl From<Wallet> for WalletView {
    fn from(w: Wallet) -> Self {
        Self {
            name: w.name,
            description: w.description,
            users: w.users,
            created_at: UnixTime::from_secs(w.created_at).rfc3339(),
        }
    }
}

/// Checks a wallet body, answering every invalid field at once.
fn check(body: &WalletBody) -> Result<(String, String), ServiceError> {
    let mut problems = Problems::new();
    let name = body.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > 100
        || name.contains('/')
        || name.chars().any(char::is_control)
    {
        problems.add("name", "1 to 100 printable characters, no '/'");
    }
    if body.description.chars().count() > 1000 {
        problems.add("description", "at most 1000 characters");
    }
    problems.finish()?;
    Ok((name, body.description.clone()))
}

fn duplicate() -> ServiceError {
    ServiceError::conflict(
        Conflict::Duplicate,
        Some("name"),
        "name: a wallet with this name exists",
    )
}

fn no_wallet(name: &str) -> ServiceError {
    ServiceError::not_found(format!("no wallet {name:?}"))
}

async fn find(state: &AppState, name: String) -> Result<WalletView, ServiceError> {
    let wallet = state
        .store
        .read(move |c| c.wallet_by_name(&name)?.ok_or_else(|| no_wallet(&name)))
        .await?;
    Ok(wallet.into())
}

/// Creates a wallet.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: WalletBody,
) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.check_create([WalletField::Name, WalletField::Description])?;
    let (name, description) = check(&body)?;
    let now = state.now();
    let audit = caller
        .audit("wallet.create", now)
        .subject(format!("wallet:{name}"));
    let view = WalletView {
        name: name.clone(),
        description: description.clone(),
        users: 0,
        created_at: now.rfc3339(),
    };
    state
        .store
        .write(move |c| {
            c.lock_key(&format!("wallet:{name}"))?;
            if c.wallet_id(&name)?.is_some() {
                return Err(duplicate());
            }
            c.wallet_insert(&name, &description, now.secs())?;
            audit.write(c)?;
            Ok(())
        })
        .await?;
    acl.view::<WalletField, _>(&view)
}

/// Lists wallets with their user counts (one query per page).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> Result<Page<View>, ServiceError> {
    let acl = caller.acl()?;
    acl.require_any_view::<WalletField>()?;
    let rows = state
        .store
        .read(move |c| Ok::<_, ServiceError>(c.wallets_page(page.cursor, page.fetch())?))
        .await?;
    let page = Page::cut(rows, page, |w| w.id);
    let mut items = Vec::with_capacity(page.items.len());
    for w in page.items {
        items.push(acl.view::<WalletField, _>(&WalletView::from(w))?);
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Reads a wallet.
pub async fn read(state: &AppState, caller: &Caller, name: String) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    acl.require_any_view::<WalletField>()?;
    acl.view::<WalletField, _>(&find(state, name).await?)
}

/// Renames or re-describes a wallet.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    old: String,
    body: WalletBody,
) -> Result<View, ServiceError> {
    let acl = caller.acl()?;
    let (new, description) = check(&body)?;
    acl.check_update(
        [
            (new != old).then_some(WalletField::Name),
            Some(WalletField::Description),
        ]
        .into_iter()
        .flatten(),
    )?;
    let audit = caller
        .audit("wallet.update", state.now())
        .subject(format!("wallet:{new}"));
    let target = new.clone();
    state
        .store
        .write(move |c| {
            let id = c.wallet_id(&old)?.ok_or_else(|| no_wallet(&old))?;
            if new != old {
                c.lock_key(&format!("wallet:{new}"))?;
                if c.wallet_id(&new)?.is_some() {
                    return Err(duplicate());
                }
            }
            c.wallet_update(id, &new, &description)?;
            audit.write(c)?;
            Ok(())
        })
        .await?;
    acl.view::<WalletField, _>(&find(state, target).await?)
}

/// Deletes an empty wallet (a wallet with users is refused: 409).
pub async fn delete(state: &AppState, caller: &Caller, name: String) -> Result<(), ServiceError> {
    caller.acl()?.check_delete::<WalletField>()?;
    let audit = caller
        .audit("wallet.delete", state.now())
        .subject(format!("wallet:{name}"));
    state
        .store
        .write(move |c| {
            let id = c.wallet_id(&name)?.ok_or_else(|| no_wallet(&name))?;
            let members = c.wallet_members(id)?;
            if members > 0 {
                return Err(ServiceError::conflict(
                    Conflict::NotEmpty,
                    None,
                    format!("the wallet has {members} users; move them first"),
                ));
            }
            c.wallet_delete(id)?;
            audit.write(c)?;
            Ok(())
        })
        .await
}
