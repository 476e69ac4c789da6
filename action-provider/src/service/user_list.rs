//! `GET /v1/users`: the list of users, filtered (any unique key, wallet, status) and sorted
//! on the server, with each user shown as the caller's ACL allows.

use sae_core::acl::{Access, UserField};
use sae_core::config::{ConfigError, normalize_document, normalize_email, normalize_mobile};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::caller::{Acl, Caller, View};
use super::error::ServiceError;
use super::page::{Page, PageRequest};
use super::users::{config_error, view};
use crate::store::user_list::{After, AnyKey, UserFilter, UserOrder};

/// The order of `GET /v1/users`: a column, `-` in front for descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum UserSort {
    /// Creation order (the default).
    #[default]
    #[serde(rename = "created")]
    Created,
    /// Newest first.
    #[serde(rename = "-created")]
    CreatedDesc,
    /// By login.
    #[serde(rename = "login")]
    Login,
    /// By login, descending.
    #[serde(rename = "-login")]
    LoginDesc,
    /// By name.
    #[serde(rename = "name")]
    Name,
    /// By name, descending.
    #[serde(rename = "-name")]
    NameDesc,
    /// By e-mail address.
    #[serde(rename = "email")]
    Email,
    /// By e-mail address, descending.
    #[serde(rename = "-email")]
    EmailDesc,
    /// By wallet.
    #[serde(rename = "wallet")]
    Wallet,
    /// By wallet, descending.
    #[serde(rename = "-wallet")]
    WalletDesc,
}

impl UserSort {
    /// The store's order, whether descending, and the field whose view right it needs.
    fn order(self) -> (UserOrder, bool, UserField) {
        match self {
            Self::Created => (UserOrder::Id, false, UserField::Login),
            Self::CreatedDesc => (UserOrder::Id, true, UserField::Login),
            Self::Login => (UserOrder::Login, false, UserField::Login),
            Self::LoginDesc => (UserOrder::Login, true, UserField::Login),
            Self::Name => (UserOrder::Name, false, UserField::Name),
            Self::NameDesc => (UserOrder::Name, true, UserField::Name),
            Self::Email => (UserOrder::Email, false, UserField::Email),
            Self::EmailDesc => (UserOrder::Email, true, UserField::Email),
            Self::Wallet => (UserOrder::Wallet, false, UserField::Wallet),
            Self::WalletDesc => (UserOrder::Wallet, true, UserField::Wallet),
        }
    }
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Any unique key: users whose login starts with it, or whose e-mail, document or mobile
    /// (compared normalised) is it. Only the keys the caller may view are searched.
    pub q: Option<String>,
    /// The order (`login`, `-login`, `name`, `email`, `wallet`, `created`, …).
    pub sort: Option<UserSort>,
    /// Logins starting with this text.
    pub login_prefix: Option<String>,
    /// E-mail address (compared normalised).
    pub email: Option<String>,
    /// Mobile number (compared as E.164 digits).
    pub mobile: Option<String>,
    /// Document (compared as digits).
    pub document: Option<String>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// `active`, `disabled` or `locked`.
    pub status: Option<String>,
}

/// The search of `q` over every unique key the caller may view (a key it may not view gets
/// an empty value, which matches nothing).
fn any_key(acl: &Acl, text: &str) -> AnyKey {
    let key = |field: UserField, f: fn(&str) -> Result<String, ConfigError>| {
        if acl.require(field, Access::View).is_err() {
            return String::new();
        }
        f(text).unwrap_or_default()
    };
    AnyKey {
        login_prefix: if acl.require(UserField::Login, Access::View).is_ok() {
            text.to_owned()
        } else {
            // A control character: no login holds one, so no login matches.
            "\u{1}".to_owned()
        },
        email_norm: key(UserField::Email, normalize_email),
        document_norm: key(UserField::Document, normalize_document),
        mobile_norm: key(UserField::Mobile, normalize_mobile),
    }
}

/// Lists users, filtered, a page at a time (one query per page).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    q: ListFilter,
    page: PageRequest,
) -> Result<Page<View>, ServiceError> {
    let acl = caller.acl()?;
    acl.require_any_view::<UserField>()?;
    // Filtering on a field the group may not see would reveal it.
    for (present, field) in [
        (q.login_prefix.is_some(), UserField::Login),
        (q.email.is_some(), UserField::Email),
        (q.mobile.is_some(), UserField::Mobile),
        (q.document.is_some(), UserField::Document),
        (q.wallet.is_some(), UserField::Wallet),
        (q.status.is_some(), UserField::Status),
    ] {
        if present {
            acl.require(field, Access::View)?;
        }
    }
    let norm = |v: &Option<String>, f: fn(&str) -> Result<String, ConfigError>| {
        v.as_deref()
            .map(f)
            .transpose()
            .map_err(|e| config_error(&e))
    };
    let mut filter = UserFilter {
        login_prefix: q.login_prefix.clone(),
        email_norm: norm(&q.email, normalize_email)?,
        mobile_norm: norm(&q.mobile, normalize_mobile)?,
        document_norm: norm(&q.document, normalize_document)?,
        any_key: q
            .q
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|text| any_key(&acl, text)),
        ..Default::default()
    };
    let (order, descending, sort_field) = q.sort.unwrap_or_default().order();
    acl.require(sort_field, Access::View)?;
    match q.status.as_deref() {
        None => {}
        Some("active") => {
            filter.disabled = Some(false);
            filter.locked = Some(false);
        }
        Some("disabled") => filter.disabled = Some(true),
        Some("locked") => filter.locked = Some(true),
        Some(_) => {
            return Err(ServiceError::field(
                "status",
                "must be active, disabled or locked",
            ));
        }
    }
    let policies = state.policies().await?;
    let wallet = q.wallet;
    let rows = state
        .store
        .read(move |c| {
            if let Some(w) = &wallet {
                filter.wallet_id = Some(c.wallet_id(w)?.unwrap_or(-1));
            }
            // A page starts after the row the cursor names, where that row is now.
            let after = match page.cursor {
                0 => After::Start,
                id if order == UserOrder::Id => After::Row(id, None),
                id => After::Row(
                    id,
                    // The page ended at a user since deleted: where it ended in this
                    // order is gone with it (404 on the cursor, like any field naming
                    // something that does not exist).
                    c.user_sort_value(order, id)?.ok_or_else(|| {
                        ServiceError::missing(
                            "cursor",
                            "its user was deleted: start from the first page",
                        )
                    })?,
                ),
            };
            Ok::<_, ServiceError>(c.users_page(&filter, order, descending, &after, page.fetch())?)
        })
        .await?;
    let now = state.now();
    let page = Page::cut(rows, page, |(u, _)| u.id);
    let mut items = Vec::with_capacity(page.items.len());
    for (user, wallet) in page.items {
        items.push(acl.view::<UserField, _>(&view(user, wallet, &policies, now)?)?);
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}
