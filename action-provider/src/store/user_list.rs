//! The users listing (`GET /v1/users`, the users export): filters, orders and pages.
//!
//! Every filter and order is served by an index and every page by keyset, so a page costs
//! about the same with a thousand users or a million (`load million` in benches measures
//! it): a login prefix is a range of the canonical key (`users_canonical_login`, binary
//! order on both backends), the normalised keys have their indexes, each sortable column an
//! index ending with the id (the wallet order reads the wallets by name, then each one's
//! users by id), the status filters partial indexes.

use diesel::prelude::*;

use super::schema::{users, wallets};
use super::users::User;

/// Filters of the user listing.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Logins starting with this.
    pub login_prefix: Option<String>,
    /// Normalised e-mail equal to this.
    pub email_norm: Option<String>,
    /// Normalised mobile equal to this.
    pub mobile_norm: Option<String>,
    /// Normalised document equal to this.
    pub document_norm: Option<String>,
    /// In this wallet.
    pub wallet_id: Option<i64>,
    /// Only locked (`Some(true)`) or only unlocked users.
    pub locked: Option<bool>,
    /// Only disabled / only enabled users.
    pub disabled: Option<bool>,
    /// Users any of whose unique keys matches: the login starts with `login_prefix`, or a
    /// normalised e-mail / document / mobile equals the given one (an empty one matches
    /// nothing: stored normalised values are never empty).
    pub any_key: Option<AnyKey>,
}

/// One search text matched against every unique key of a user.
#[derive(Debug, Clone, Default)]
pub struct AnyKey {
    /// Logins starting with this.
    pub login_prefix: String,
    /// The text normalised as an e-mail address (empty: it is not one).
    pub email_norm: String,
    /// The text normalised as a document (empty: it is not one).
    pub document_norm: String,
    /// The text normalised as a mobile number (empty: it is not one).
    pub mobile_norm: String,
}

/// The order of a users listing: a column, ties broken by the id. Every order pages by
/// keyset: a page starts after a row (see [`After`]), so a deep page reads no more rows
/// than the first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserOrder {
    /// Creation order (the default).
    #[default]
    Id,
    /// By login.
    Login,
    /// By name.
    Name,
    /// By e-mail address.
    Email,
    /// By wallet name.
    Wallet,
}

/// The range of canonical keys of the logins starting with `prefix` (`[low, high)`: every
/// key that starts with the prefix's key; U+10FFFF, the last character, is never in a
/// login), and the `LIKE … ESCAPE '\'` pattern for a row left without a key.
fn login_range(prefix: &str) -> (String, String, String) {
    let low = sae_core::config::login_key(prefix);
    let high = format!("{low}\u{10FFFF}");
    let like = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    (low, high, like)
}

/// The logins starting with a prefix, compared by canonical key (case-insensitively: the
/// login's own rule, SPEC §4.8), or — for a row left without a key — as stored.
macro_rules! login_starts_with {
    ($prefix:expr) => {{
        let (low, high, like) = login_range($prefix);
        users::login_key
            .ge(low)
            .and(users::login_key.lt(high))
            .or(users::login_key
                .is_null()
                .and(users::login.like(like).escape('\\'))
                .nullable())
    }};
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// At the first row.
    Start,
    /// After this row: its id and its value of the order's column (see
    /// [`UserList::user_sort_value`]; `None` for a row whose value is NULL).
    Row(i64, Option<String>),
}

/// The rows of a run ordered by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    /// Every row (the id order).
    All,
    /// The rows without a name.
    NoName,
    /// The rows without an e-mail address.
    NoEmail,
    /// The rows of one wallet (`None`: of none).
    Wallet(Option<i64>),
}

/// One run of rows a page reads in index order; a page reads runs until it is full.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    /// Rows whose order value is not NULL, by (value, id), after this (value, id).
    Values(Option<(String, i64)>),
    /// Rows of a set, by id, after this id.
    Ids(Set, Option<i64>),
}

/// The runs of a page in `order` after `after`, NULL values last ascending, first
/// descending (on both backends). `wallets`: every wallet's (id, name) by name, for the
/// wallet order.
fn runs(order: UserOrder, descending: bool, after: &After, wallets: &[(i64, String)]) -> Vec<Run> {
    let (id, value) = match after {
        After::Start => (None, None),
        After::Row(id, v) => (Some(*id), v.as_ref()),
    };
    let (mut out, nulls) = match order {
        UserOrder::Id => return vec![Run::Ids(Set::All, id)],
        UserOrder::Wallet => {
            let mut list: Vec<&(i64, String)> = wallets.iter().collect();
            if descending {
                list.reverse();
            }
            let mut out = Vec::new();
            for (w, name) in list {
                match (value, id) {
                    (Some(v), Some(id)) if name == v => {
                        out.push(Run::Ids(Set::Wallet(Some(*w)), Some(id)))
                    }
                    // Before the cursor's wallet in this direction.
                    (Some(v), Some(_)) if (name < v) != descending => {}
                    // A cursor in no wallet: ascending, every wallet came before it.
                    (None, Some(_)) if !descending => {}
                    _ => out.push(Run::Ids(Set::Wallet(Some(*w)), None)),
                }
            }
            (out, Set::Wallet(None))
        }
        _ => {
            let out = match (value, id) {
                (Some(v), Some(id)) => vec![Run::Values(Some((v.clone(), id)))],
                (None, Some(_)) if !descending => Vec::new(),
                _ => vec![Run::Values(None)],
            };
            match order {
                // A login is never NULL.
                UserOrder::Login => return out,
                UserOrder::Name => (out, Set::NoName),
                _ => (out, Set::NoEmail),
            }
        }
    };
    let null_run = match (value, id) {
        (None, Some(id)) => Run::Ids(nulls, Some(id)),
        (Some(_), Some(_)) if descending => return out,
        _ => Run::Ids(nulls, None),
    };
    if descending {
        out.insert(0, null_run);
    } else {
        out.push(null_run);
    }
    out
}

/// A search (login prefix, `q`) that matches at least this many users is read in the
/// order's index, filtering; one that matches fewer, through the keys' indexes, its rows
/// then sorted. A probe of this many ids tells which (SQLite has no statistics to choose
/// by, and either plan alone is slow at a million users for one kind of search).
const BROAD_SEARCH: i64 = 1000;

/// The listing's rows with `filter` applied (a boxed query, to add a run's order to).
/// `broad`: a search's condition is compared to TRUE, which no index serves, so the planner
/// reads the order's index (the first rows read match: the search is broad).
macro_rules! filtered {
    ($filter:expr, $broad:expr) => {{
        let (filter, broad): (&UserFilter, bool) = ($filter, $broad);
        let mut q = users::table
            .left_join(wallets::table)
            .select((User::as_select(), wallets::name.nullable()))
            .filter(users::import_job.is_null())
            .into_boxed();
        if let Some(p) = &filter.login_prefix {
            q = match broad {
                false => q.filter(login_starts_with!(p)),
                true => q.filter(login_starts_with!(p).eq(true)),
            };
        }
        if let Some(k) = &filter.any_key {
            let any = login_starts_with!(&k.login_prefix)
                .or(users::email_norm.eq(k.email_norm.clone()))
                .or(users::document_norm.eq(k.document_norm.clone()))
                .or(users::mobile_norm.eq(k.mobile_norm.clone()));
            q = match broad {
                false => q.filter(any),
                true => q.filter(any.eq(true)),
            };
        }
        if let Some(v) = &filter.email_norm {
            q = q.filter(users::email_norm.eq(v.clone()));
        }
        if let Some(v) = &filter.mobile_norm {
            q = q.filter(users::mobile_norm.eq(v.clone()));
        }
        if let Some(v) = &filter.document_norm {
            q = q.filter(users::document_norm.eq(v.clone()));
        }
        if let Some(w) = filter.wallet_id {
            q = q.filter(users::wallet_id.eq(w));
        }
        // Written without a bound value, so the planner sees that the partial indexes
        // (`users_locked`, `users_disabled`) apply.
        match filter.locked {
            Some(true) => q = q.filter(users::locked_at_ms.is_not_null()),
            Some(false) => q = q.filter(users::locked_at_ms.is_null()),
            None => {}
        }
        match filter.disabled {
            Some(true) => q = q.filter(users::disabled),
            Some(false) => q = q.filter(diesel::dsl::not(users::disabled)),
            None => {}
        }
        q
    }};
}

/// A run of values of `column` (an indexed column of `users`) in index order. The
/// redundant `column >= value` bounds the index range; the OR only breaks ties.
macro_rules! by_value {
    ($q:expr, $column:expr, $after:expr, $desc:expr) => {{
        let q = $q.filter($column.is_not_null());
        match ($after, $desc) {
            (None, false) => q.order(($column.asc(), users::id.asc())),
            (None, true) => q.order(($column.desc(), users::id.desc())),
            (Some((v, id)), false) => q
                .filter($column.ge(v.clone()))
                .filter(
                    $column
                        .gt(v.clone())
                        .or($column.eq(v.clone()).and(users::id.gt(*id))),
                )
                .order(($column.asc(), users::id.asc())),
            (Some((v, id)), true) => q
                .filter($column.le(v.clone()))
                .filter(
                    $column
                        .lt(v.clone())
                        .or($column.eq(v.clone()).and(users::id.lt(*id))),
                )
                .order(($column.desc(), users::id.desc())),
        }
    }};
}

/// The users listing.
pub trait UserList {
    /// The value of `order`'s column for user `id` (`Some(None)`: NULL), `None` when there
    /// is no such user: where a page after that user starts.
    fn user_sort_value(&mut self, order: UserOrder, id: i64)
    -> QueryResult<Option<Option<String>>>;
    /// A page of users in `order` (NULL values last ascending, first descending), after
    /// `after`, with optional filters, each with its wallet's name: one index range per
    /// run of rows (one for most pages; one per wallet visited for the wallet order).
    fn users_page(
        &mut self,
        filter: &UserFilter,
        order: UserOrder,
        descending: bool,
        after: &After,
        limit: i64,
    ) -> QueryResult<Vec<(User, Option<String>)>>;
}

for_both_backends! {
    impl UserList {
        fn user_sort_value(&mut self, order: UserOrder, id: i64) -> QueryResult<Option<Option<String>>> {
            let q = users::table.left_join(wallets::table).filter(users::id.eq(id));
            match order {
                UserOrder::Id | UserOrder::Login => q.select(users::login.nullable()).first(self),
                UserOrder::Name => q.select(users::name).first(self),
                UserOrder::Email => q.select(users::email).first(self),
                UserOrder::Wallet => q.select(wallets::name.nullable()).first(self),
            }
            .optional()
        }

        fn users_page(&mut self, filter: &UserFilter, order: UserOrder, descending: bool, after: &After, limit: i64) -> QueryResult<Vec<(User, Option<String>)>> {
            let wallets = if order == UserOrder::Wallet {
                wallets::table.select((wallets::id, wallets::name)).order(wallets::name.asc()).load(self)?
            } else {
                Vec::new()
            };
            let broad = (filter.login_prefix.is_some() || filter.any_key.is_some()) && {
                let probe: Vec<i64> = filtered!(filter, false).select(users::id).limit(BROAD_SEARCH).load(self)?;
                probe.len() as i64 == BROAD_SEARCH
            };
            let mut rows = Vec::new();
            for run in runs(order, descending, after, &wallets) {
                let left = limit - rows.len() as i64;
                if left <= 0 {
                    break;
                }
                let q = filtered!(filter, broad);
                let q = match &run {
                    Run::Ids(set, after) => {
                        let q = match set {
                            Set::All => q,
                            Set::NoName => q.filter(users::name.is_null()),
                            Set::NoEmail => q.filter(users::email.is_null()),
                            Set::Wallet(Some(w)) => q.filter(users::wallet_id.eq(*w)),
                            Set::Wallet(None) => q.filter(users::wallet_id.is_null()),
                        };
                        match (after, descending) {
                            (Some(id), false) => q.filter(users::id.gt(*id)).order(users::id.asc()),
                            (Some(id), true) => q.filter(users::id.lt(*id)).order(users::id.desc()),
                            (None, false) => q.order(users::id.asc()),
                            (None, true) => q.order(users::id.desc()),
                        }
                    }
                    Run::Values(after) => match order {
                        UserOrder::Name => by_value!(q, users::name, after, descending),
                        UserOrder::Email => by_value!(q, users::email, after, descending),
                        _ => by_value!(q, users::login, after, descending),
                    },
                };
                rows.extend(q.limit(left).load::<(User, Option<String>)>(self)?);
            }
            Ok(rows)
        }
    }
}
