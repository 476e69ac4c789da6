//! `/v1/wallets`: named portfolios of users ("carteiras").

use actix_web::{HttpResponse, web};
use sae_core::acl::WalletField;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json, Query};
use super::types::Page;
use crate::app::{AppState, blocking};
use crate::store::{BackendOps as _, NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

/// `POST /v1/wallets`, `PUT /v1/wallets/{name}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBody {
    /// Unique name, 1..=100 characters, no `/`.
    pub name: String,
    /// Free text, at most 1000 characters.
    #[serde(default)]
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

fn check(body: &WalletBody) -> Result<(String, String), ApiError> {
    let name = body.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > 100
        || name.contains('/')
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::field(
            "name",
            "name: 1 to 100 printable characters, no '/'",
        ));
    }
    if body.description.chars().count() > 1000 {
        return Err(ApiError::field(
            "description",
            "description: at most 1000 characters",
        ));
    }
    Ok((name, body.description.clone()))
}

fn audit(actor: String, action: &str, name: &str) -> NewAudit {
    NewAudit {
        at: crate::now(),
        actor,
        action: action.into(),
        subject: Some(format!("wallet:{name}")),
        source: None,
        outcome: "ok".into(),
        detail: None,
    }
}

fn duplicate() -> ApiError {
    ApiError::Conflict {
        code: "duplicate",
        field: Some("name".into()),
        detail: "name: a wallet with this name exists".into(),
    }
}

/// Creates a wallet.
#[utoipa::path(post, path = "/v1/wallets", tag = "wallets", request_body = WalletBody,
    responses((status = 201, body = WalletView), (status = 400, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<WalletBody>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.check_create([WalletField::Name, WalletField::Description])?;
    let (name, description) = check(&body)?;
    let st = state.clone();
    let actor = caller.actor();
    let now = crate::now();
    let view = blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.lock_key(&format!("wallet:{name}"))?;
            if c.wallet_id(&name)?.is_some() {
                return Err(duplicate());
            }
            c.wallet_insert(&name, &description, now)?;
            c.audit_insert(&audit(actor.clone(), "wallet.create", &name))?;
            Ok::<_, ApiError>(WalletView {
                name: name.clone(),
                description: description.clone(),
                users: 0,
                created_at: rfc3339(now),
            })
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(acl.view::<WalletField, _>(&view)?))
}

/// Lists wallets.
#[utoipa::path(get, path = "/v1/wallets", tag = "wallets", params(Page),
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.require_any_view::<WalletField>()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let st = state.clone();
    let (items, next) = blocking(move || {
        let mut conn = st.pool.get()?;
        with_conn!(&mut conn, |c| {
            let rows = c.wallets_page(cursor, limit + 1)?;
            let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            let mut items = Vec::new();
            let mut last = None;
            for (id, name, description, created_at) in rows
                .into_iter()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
            {
                last = Some(id);
                items.push(WalletView {
                    users: c.wallet_members(id)?,
                    name,
                    description,
                    created_at: rfc3339(created_at),
                });
            }
            Ok::<_, ApiError>((
                items,
                if more {
                    last.map(|l| l.to_string())
                } else {
                    None
                },
            ))
        })
    })
    .await?;
    let answer = serde_json::json!({"items": items, "next_cursor": next});
    Ok(HttpResponse::Ok().json(acl.view::<WalletField, _>(&answer)?))
}

async fn find(state: &web::Data<AppState>, name: String) -> Result<WalletView, ApiError> {
    let st = state.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        with_conn!(&mut conn, |c| {
            let id = c
                .wallet_id(&name)?
                .ok_or_else(|| ApiError::not_found(format!("no wallet {name:?}")))?;
            let row = c
                .wallets_page(id - 1, 1)?
                .into_iter()
                .next()
                .ok_or(ApiError::Internal)?;
            Ok::<_, ApiError>(WalletView {
                users: c.wallet_members(id)?,
                name: row.1,
                description: row.2,
                created_at: rfc3339(row.3),
            })
        })
    })
    .await
}

/// Reads a wallet.
#[utoipa::path(get, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")),
    responses((status = 200, body = WalletView), (status = 404, body = super::error::Problem)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    acl.require_any_view::<WalletField>()?;
    let view = find(&state, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(acl.view::<WalletField, _>(&view)?))
}

/// Renames or re-describes a wallet.
#[utoipa::path(put, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")), request_body = WalletBody,
    responses((status = 200, body = WalletView), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    Json(body): Json<WalletBody>,
) -> Result<HttpResponse, ApiError> {
    let acl = caller.acl()?;
    let old = name.into_inner();
    let (new, description) = check(&body)?;
    acl.check_update(
        [
            (new != old).then_some(WalletField::Name),
            Some(WalletField::Description),
        ]
        .into_iter()
        .flatten(),
    )?;
    let st = state.clone();
    let actor = caller.actor();
    let target = new.clone();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let id = c
                .wallet_id(&old)?
                .ok_or_else(|| ApiError::not_found(format!("no wallet {old:?}")))?;
            if new != old {
                c.lock_key(&format!("wallet:{new}"))?;
                if c.wallet_id(&new)?.is_some() {
                    return Err(duplicate());
                }
            }
            c.wallet_update(id, &new, &description)?;
            c.audit_insert(&audit(actor.clone(), "wallet.update", &new))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    let view = find(&state, target).await?;
    Ok(HttpResponse::Ok().json(acl.view::<WalletField, _>(&view)?))
}

/// Deletes an empty wallet (a wallet with users is refused: 409).
#[utoipa::path(delete, path = "/v1/wallets/{name}", tag = "wallets", params(("name" = String, Path, description = "wallet name")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_delete::<WalletField>()?;
    let name = name.into_inner();
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let id = c
                .wallet_id(&name)?
                .ok_or_else(|| ApiError::not_found(format!("no wallet {name:?}")))?;
            let members = c.wallet_members(id)?;
            if members > 0 {
                return Err(ApiError::Conflict {
                    code: "not_empty",
                    field: None,
                    detail: format!("the wallet has {members} users; move them first"),
                });
            }
            c.wallet_delete(id)?;
            c.audit_insert(&audit(actor.clone(), "wallet.delete", &name))?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the wallet routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/wallets", web::post().to(create))
        .route("/v1/wallets", web::get().to(list))
        .route("/v1/wallets/{name}", web::get().to(read))
        .route("/v1/wallets/{name}", web::put().to(update))
        .route("/v1/wallets/{name}", web::delete().to(delete));
}
