//! Statements of fixed text that a connection keeps prepared.
//!
//! diesel never caches an `UPDATE` it builds (its text could vary with the changeset), so
//! PostgreSQL parses and plans each one again and SQLite compiles it again. The few updates
//! every decision runs (a token's counter compare-and-set, a failure count) are written here
//! as fixed text with bind parameters instead: their text never varies, so both backends'
//! statement caches keep them prepared (keyed by the text).

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

/// A bind parameter of a [`Fixed`] statement.
pub enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    /// A nullable integer (`NULL` when `None`; the text stays the same).
    OptInt(Option<i64>),
    /// A nullable text.
    OptText(Option<&'a str>),
}

/// SQL text in pieces around its bind parameters (`parts.len() == binds.len() + 1`), so each
/// backend writes its own placeholder (`$n` or `?`). `ST`: the SQL type of what a
/// `RETURNING` clause returns (`()` when nothing).
pub struct Fixed<'a, ST = ()> {
    parts: &'a [&'a str],
    binds: &'a [Bind<'a>],
    returns: PhantomData<ST>,
}

impl<'a, ST> Fixed<'a, ST> {
    pub fn new(parts: &'a [&'a str], binds: &'a [Bind<'a>]) -> Self {
        debug_assert_eq!(
            parts.len(),
            binds.len() + 1,
            "one bind between each two parts"
        );
        Self {
            parts,
            binds,
            returns: PhantomData,
        }
    }
}

impl<ST, DB> QueryFragment<DB> for Fixed<'_, ST>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    for<'x> Option<&'x str>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Nothing here marks the statement unsafe to cache: its text depends only on `parts`.
        let mut parts = self.parts.iter();
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for (bind, part) in self.binds.iter().zip(parts) {
            match bind {
                Bind::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
                Bind::Text(v) => out.push_bind_param::<Text, str>(v)?,
                Bind::OptInt(v) => out.push_bind_param::<Nullable<BigInt>, Option<i64>>(v)?,
                Bind::OptText(v) => {
                    out.push_bind_param::<Nullable<Text>, Option<&str>>(v)?;
                }
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

/// No static id: the statement caches key it by its text.
impl<ST> QueryId for Fixed<'_, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue> Query for Fixed<'_, ST> {
    type SqlType = ST;
}

impl<ST, C> RunQueryDsl<C> for Fixed<'_, ST> {}

/// A [`Fixed`] statement whose rows load by column name into a `QueryableByName` type, as
/// `diesel::sql_query`'s do, but kept prepared (diesel never caches a `sql_query`: its
/// text is not known to be fixed, so PostgreSQL planned the outbox's claim at every call).
pub struct FixedRows<'a>(pub Fixed<'a, ()>);

impl<'a, DB: Backend> QueryFragment<DB> for FixedRows<'a>
where
    Fixed<'a, ()>: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

/// No static id: the statement caches key it by its text.
impl QueryId for FixedRows<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for FixedRows<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<C> RunQueryDsl<C> for FixedRows<'_> {}

/// SQL text with numbered parameters (`$1`, `$2`, … up to `$9`, each possibly used more
/// than once) cut into a [`Fixed`] statement's pieces: one bind per use, in text order.
pub struct Numbered {
    parts: Vec<String>,
    uses: Vec<usize>,
}

impl Numbered {
    /// Cuts `sql` at each `$n`.
    pub fn new(sql: &str) -> Self {
        let (mut parts, mut uses, mut rest) = (Vec::new(), Vec::new(), sql);
        while let Some((before, after)) = rest.split_once('$') {
            let n = after.as_bytes().first().map_or(0, |d| d.wrapping_sub(b'0'));
            assert!(
                (1..=9).contains(&n),
                "a parameter $1…$9 after each $: {sql}"
            );
            parts.push(before.to_owned());
            uses.push(usize::from(n) - 1);
            rest = &after[1..];
        }
        parts.push(rest.to_owned());
        Self { parts, uses }
    }

    /// The pieces and the binds of one run, parameter `$n` being `values[n - 1]`.
    pub fn with<const N: usize>(&self, values: [i64; N]) -> (Vec<&str>, Vec<Bind<'static>>) {
        (
            self.parts.iter().map(String::as_str).collect(),
            self.uses.iter().map(|&i| Bind::Int(values[i])).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Bind, Numbered};

    #[test]
    fn numbered_parameters_become_one_bind_per_use_in_text_order() {
        let sql = Numbered::new("SET a = $2, b = $1 WHERE c < $1 LIMIT $3");
        let (parts, binds) = sql.with([10, 20, 30]);
        assert_eq!(parts, ["SET a = ", ", b = ", " WHERE c < ", " LIMIT ", ""]);
        let values: Vec<i64> = binds
            .iter()
            .map(|b| match b {
                Bind::Int(v) => *v,
                _ => panic!("an integer bind"),
            })
            .collect();
        assert_eq!(values, [20, 10, 10, 30]);
    }
}
