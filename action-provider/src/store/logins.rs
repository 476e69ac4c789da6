//! The canonical keys of logins (SPEC §4.8) on the `users` and `admins` tables: who holds a
//! key, who shares a skeleton, and the rows still waiting for their keys (data written
//! before the keys existed).

use diesel::prelude::*;

use super::schema::{admins, users};

/// Which table of logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginTable {
    /// End users.
    Users,
    /// Console administrators.
    Admins,
}

impl LoginTable {
    /// The table's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Admins => "admins",
        }
    }
}

/// Queries on canonical login keys.
pub trait Logins {
    /// The login holding canonical `key`, if any.
    fn login_with_key(&mut self, table: LoginTable, key: &str) -> QueryResult<Option<String>>;
    /// The logins whose skeleton is `skeleton` (candidates for a confusable check).
    fn logins_with_skeleton(
        &mut self,
        table: LoginTable,
        skeleton: &str,
    ) -> QueryResult<Vec<String>>;
    /// Rows without a key, by id, after `after`: `(id, login)`.
    fn logins_unkeyed(
        &mut self,
        table: LoginTable,
        after: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, String)>>;
    /// Stores a row's key and skeleton (the caller checked the key is free).
    fn login_set_keys(
        &mut self,
        table: LoginTable,
        id: i64,
        key: &str,
        skeleton: &str,
    ) -> QueryResult<()>;
}

macro_rules! on_table {
    ($table:expr, |$t:ident| $body:expr) => {
        match $table {
            LoginTable::Users => {
                use users as $t;
                $body
            }
            LoginTable::Admins => {
                use admins as $t;
                $body
            }
        }
    };
}

for_both_backends! {
    impl Logins {
        fn login_with_key(&mut self, table: LoginTable, key: &str) -> QueryResult<Option<String>> {
            on_table!(table, |t| t::table
                .filter(t::login_key.eq(key))
                .select(t::login)
                .first(self)
                .optional())
        }

        fn logins_with_skeleton(&mut self, table: LoginTable, skeleton: &str) -> QueryResult<Vec<String>> {
            on_table!(table, |t| t::table
                .filter(t::login_skeleton.eq(skeleton))
                .select(t::login)
                .order(t::id)
                .load(self))
        }

        fn logins_unkeyed(&mut self, table: LoginTable, after: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
            on_table!(table, |t| t::table
                .filter(t::login_key.is_null())
                .filter(t::id.gt(after))
                .order(t::id)
                .limit(limit)
                .select((t::id, t::login))
                .load(self))
        }

        fn login_set_keys(&mut self, table: LoginTable, id: i64, key: &str, skeleton: &str) -> QueryResult<()> {
            on_table!(table, |t| diesel::update(t::table.filter(t::id.eq(id)))
                .set((t::login_key.eq(key), t::login_skeleton.eq(skeleton)))
                .execute(self)
                .map(|_| ()))
        }
    }
}
