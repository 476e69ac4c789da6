//! The rule that maps a login to its user, as one SQL expression ([`user_id_of`]), for the
//! lookups of one login (its values bound) and for the batched read of many
//! ([`super::group_read`]: the columns of the requested logins).

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::dsl::AsExprOf;
use diesel::expression::AsExpression;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text};

/// The id of the user that answers to `login`, whose case-folded key is `key` — the one rule
/// every lookup by login follows (and [`super::users::Users::user_ids`] in memory): a row
/// left without its key (its key collided with another row's) answers to its exact login
/// first; otherwise the row holding the key. Rows pending in an import answer to nothing.
///
/// One scalar expression of two index probes (the unique `login`, then the unique
/// `login_key`), compared to the row id: an `OR` of the two made SQLite merge two index
/// scans into a row set and sort the rows to put the keyless one first, for every
/// validation and user read. `key` and `login` are text: bound values
/// ([`user_id_of_login`]) or columns of the query around it (the batched read's input).
pub(super) fn user_id_of<K, L>(key: K, login: L) -> UserIdOf<K, L> {
    UserIdOf { key, login }
}

/// [`user_id_of`] a login given as values (both bound).
pub(super) fn user_id_of_login<'a>(
    key: &'a str,
    login: &'a str,
) -> UserIdOf<AsExprOf<&'a str, Text>, AsExprOf<&'a str, Text>> {
    user_id_of(
        AsExpression::<Text>::as_expression(key),
        AsExpression::<Text>::as_expression(login),
    )
}

/// The expression [`user_id_of`] makes.
#[derive(Debug, Clone, Copy)]
pub(super) struct UserIdOf<K, L> {
    key: K,
    login: L,
}

impl<K, L> Expression for UserIdOf<K, L> {
    type SqlType = Nullable<BigInt>;
}

// Its two probes read `users` under names of their own (a subquery may not name a table of
// the query around it), so it appears on any table and is never an aggregate.
impl<K, L, GB> ValidGrouping<GB> for UserIdOf<K, L> {
    type IsAggregate = is_aggregate::Never;
}

impl<K, L, QS> AppearsOnTable<QS> for UserIdOf<K, L> {}

impl<K, L, QS> SelectableExpression<QS> for UserIdOf<K, L> {}

/// Static when its operands' are (bound values, columns), so a statement holding it is found
/// in the connection's cache by its type: without it, every lookup by login wrote the whole
/// statement's SQL text again only to find the prepared statement by that text.
impl<K: QueryId, L: QueryId> QueryId for UserIdOf<K, L> {
    type QueryId = UserIdOf<K::QueryId, L::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = K::HAS_STATIC_QUERY_ID && L::HAS_STATIC_QUERY_ID;
}

impl<K, L, DB> QueryFragment<DB> for UserIdOf<K, L>
where
    DB: Backend,
    K: QueryFragment<DB>,
    L: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "COALESCE((SELECT users_exact.id FROM users AS users_exact \
             WHERE users_exact.login = ",
        );
        self.login.walk_ast(out.reborrow())?;
        out.push_sql(
            " AND users_exact.login_key IS NULL AND users_exact.import_job IS NULL LIMIT 1), \
             (SELECT users_keyed.id FROM users AS users_keyed WHERE users_keyed.login_key = ",
        );
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(" AND users_keyed.import_job IS NULL LIMIT 1))");
        Ok(())
    }
}
