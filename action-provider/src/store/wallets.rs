//! The `wallets` table: named portfolios of users.

use diesel::prelude::*;

use super::schema::{users, wallets};

/// A wallet as stored, with its number of users.
#[derive(Debug, Clone)]
pub struct Wallet {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created_at: i64,
    /// How many users are in it.
    pub users: i64,
}

type WalletTuple = (i64, String, String, i64, Option<i64>);

fn wallet((id, name, description, created_at, users): WalletTuple) -> Wallet {
    Wallet {
        id,
        name,
        description,
        created_at,
        users: users.unwrap_or(0),
    }
}

/// Queries of the wallets table.
pub trait Wallets {
    /// The id of the wallet with this name.
    fn wallet_id(&mut self, name: &str) -> QueryResult<Option<i64>>;
    /// The wallet with this name, with its user count.
    fn wallet_by_name(&mut self, name: &str) -> QueryResult<Option<Wallet>>;
    /// A page of wallets by id after `cursor`, each with its user count (one query).
    fn wallets_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<Wallet>>;
    /// Creates a wallet; returns its id.
    fn wallet_insert(&mut self, name: &str, description: &str, now: i64) -> QueryResult<i64>;
    /// Renames / re-describes a wallet; returns whether it existed.
    fn wallet_update(&mut self, id: i64, name: &str, description: &str) -> QueryResult<bool>;
    /// Deletes a wallet; returns whether it existed.
    fn wallet_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// How many users are in a wallet.
    fn wallet_members(&mut self, id: i64) -> QueryResult<i64>;
}

for_both_backends! {
    impl Wallets {
        fn wallet_id(&mut self, name: &str) -> QueryResult<Option<i64>> {
            wallets::table.filter(wallets::name.eq(name)).select(wallets::id).first(self).optional()
        }

        fn wallet_by_name(&mut self, name: &str) -> QueryResult<Option<Wallet>> {
            let members = users::table
                .filter(users::wallet_id.eq(wallets::id.nullable()))
                .count()
                .single_value();
            let row: Option<WalletTuple> = wallets::table
                .filter(wallets::name.eq(name))
                .select((wallets::id, wallets::name, wallets::description, wallets::created_at, members))
                .first(self)
                .optional()?;
            Ok(row.map(wallet))
        }

        fn wallets_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<Wallet>> {
            let members = users::table
                .filter(users::wallet_id.eq(wallets::id.nullable()))
                .count()
                .single_value();
            let rows: Vec<WalletTuple> = wallets::table
                .filter(wallets::id.gt(cursor))
                .order(wallets::id)
                .limit(limit)
                .select((wallets::id, wallets::name, wallets::description, wallets::created_at, members))
                .load(self)?;
            Ok(rows.into_iter().map(wallet).collect())
        }

        fn wallet_insert(&mut self, name: &str, description: &str, now: i64) -> QueryResult<i64> {
            diesel::insert_into(wallets::table)
                .values((wallets::name.eq(name), wallets::description.eq(description), wallets::created_at.eq(now)))
                .returning(wallets::id)
                .get_result(self)
        }

        fn wallet_update(&mut self, id: i64, name: &str, description: &str) -> QueryResult<bool> {
            diesel::update(wallets::table.filter(wallets::id.eq(id)))
                .set((wallets::name.eq(name), wallets::description.eq(description)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn wallet_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(wallets::table.filter(wallets::id.eq(id))).execute(self).map(|n| n == 1)
        }

        fn wallet_members(&mut self, id: i64) -> QueryResult<i64> {
            users::table.filter(users::wallet_id.eq(id)).count().get_result(self)
        }
    }
}
