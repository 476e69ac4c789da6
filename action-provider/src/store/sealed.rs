//! Every column holding sealed values (for `sae keys`: counting secrets per key id and
//! re-encrypting under the active key), and the queries over them. Table and column names
//! come only from [`SEALED`], never from input.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

/// A database column holding sealed values.
#[derive(Debug)]
pub struct SealedColumn {
    /// Table.
    pub table: &'static str,
    /// Its primary key column.
    pub pk: &'static str,
    /// Whether the primary key is an integer (else text).
    pub pk_int: bool,
    /// The sealed column.
    pub column: &'static str,
    /// The column (or SQL expression over the row) the seal context is derived from.
    pub aux: &'static str,
    /// Extra SQL condition selecting the rows whose column is sealed.
    filter: &'static str,
}

impl SealedColumn {
    /// `table.column`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn filter(&self) -> String {
        if self.filter.is_empty() {
            String::new()
        } else {
            format!(" AND ({})", self.filter)
        }
    }
}

const fn col(
    table: &'static str,
    pk: &'static str,
    pk_int: bool,
    column: &'static str,
    aux: &'static str,
    filter: &'static str,
) -> SealedColumn {
    SealedColumn {
        table,
        pk,
        pk_int,
        column,
        aux,
        filter,
    }
}

/// Every sealed column. A column added elsewhere must be added here (the rotation test
/// scans a database dump for ciphertexts left under the old key).
pub static SEALED: &[SealedColumn] = &[
    col("tokens", "id", false, "secret_enc", "id", ""),
    col("users", "id", true, "authsys_enc", "id", ""),
    col("outbox", "id", true, "payload_enc", "request_id", ""),
    // The SMS and voice broker documents (outbox::sms::DOC and VOICE_DOC, checked by a test).
    col(
        "settings",
        "name",
        false,
        "value",
        "name",
        "name IN ('delivery.sms', 'delivery.voice')",
    ),
    // Bound to the row and its endpoints (outbox::email::client_secret_binding).
    col(
        "oauth2_profiles",
        "id",
        true,
        "client_secret_enc",
        "CAST(id AS TEXT) || '|' || token_url || '|' || COALESCE(authorization_url, '')",
        "",
    ),
    col("oauth2_profiles", "id", true, "access_token_enc", "id", ""),
    col("oauth2_profiles", "id", true, "refresh_token_enc", "id", ""),
    col(
        "oauth2_pending",
        "state",
        false,
        "pkce_verifier_enc",
        "state",
        "",
    ),
    // Bound to the row and its server (outbox::email::password_binding).
    col(
        "smtp_accounts",
        "id",
        true,
        "password_enc",
        "CAST(id AS TEXT) || ':' || host || ':' || CAST(port AS TEXT) || ':' || security",
        "",
    ),
    // Bound to the row and its server (service::inbound's password context).
    col(
        "inbound_accounts",
        "id",
        true,
        "password_enc",
        "CAST(id AS TEXT) || ':' || protocol || '://' || host || ':' || CAST(port AS TEXT) || '/' || security",
        "",
    ),
    col("admins", "id", true, "totp_secret", "id", ""),
    col("admins", "id", true, "totp_pending", "id", ""),
    col("jobs", "id", false, "key_enc", "id", ""),
    col("job_chunks", "id", true, "data_enc", "id", ""),
];

/// One sealed value: its row's primary key and context column, as text.
#[derive(Debug, QueryableByName)]
pub struct SealedValue {
    /// Primary key.
    #[diesel(sql_type = Text)]
    pub pk: String,
    /// The column the seal context is derived from.
    #[diesel(sql_type = Text)]
    pub aux: String,
    /// The sealed value.
    #[diesel(sql_type = Text)]
    pub sealed: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How a backend numbers bind placeholders.
trait Placeholders {
    /// `true`: `$1, $2, …` (PostgreSQL); `false`: `?` (SQLite).
    const NUMBERED: bool;

    /// Rewrites `?` placeholders for this backend.
    fn sql(text: &str) -> String {
        if !Self::NUMBERED {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut n = 0;
        for ch in text.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    }
}

impl Placeholders for diesel::pg::PgConnection {
    const NUMBERED: bool = true;
}

impl Placeholders for diesel::sqlite::SqliteConnection {
    const NUMBERED: bool = false;
}

/// Queries over the sealed columns.
pub trait SealedColumns {
    /// Non-null values of `col`: all of them, or those starting with `prefix`.
    fn sealed_count(&mut self, col: &SealedColumn, prefix: Option<&str>) -> QueryResult<i64>;
    /// Unexpired, unused issued codes whose MAC was made with key `kid`.
    fn pending_codes(&mut self, kid: &str, now: i64) -> QueryResult<i64>;
    /// Up to `limit` values of `col` not starting with `prefix`, by primary key after `after`.
    fn sealed_batch(
        &mut self,
        col: &SealedColumn,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<SealedValue>>;
    /// Replaces a value if it is still `old` (compare-and-swap); returns whether it did.
    fn sealed_swap(
        &mut self,
        col: &SealedColumn,
        pk: &str,
        old: &str,
        new: &str,
    ) -> QueryResult<bool>;
}

fn pk_error() -> diesel::result::Error {
    diesel::result::Error::DeserializationError("a primary key that is not an integer".into())
}

for_both_backends! {
    impl SealedColumns {
        fn sealed_count(&mut self, col: &SealedColumn, prefix: Option<&str>) -> QueryResult<i64> {
            let base = format!(
                "SELECT count(*) AS n FROM {} WHERE {} IS NOT NULL{}",
                col.table, col.column, col.filter()
            );
            let n = match prefix {
                None => diesel::sql_query(&base).get_result::<Count>(self)?,
                Some(p) => {
                    let sql = Self::sql(&format!("{base} AND substr({}, 1, ?) = ?", col.column));
                    let len = i32::try_from(p.len()).map_err(|_| pk_error())?;
                    diesel::sql_query(&sql)
                        .bind::<Integer, _>(len)
                        .bind::<Text, _>(p)
                        .get_result::<Count>(self)?
                }
            };
            Ok(n.n)
        }

        fn pending_codes(&mut self, kid: &str, now: i64) -> QueryResult<i64> {
            let sql = Self::sql(
                "SELECT count(*) AS n FROM issued_codes WHERE key_id = ? AND used_at IS NULL AND expires_at > ?",
            );
            diesel::sql_query(&sql)
                .bind::<Text, _>(kid)
                .bind::<BigInt, _>(now)
                .get_result::<Count>(self)
                .map(|c| c.n)
        }

        fn sealed_batch(&mut self, col: &SealedColumn, prefix: &str, after: Option<&str>, limit: i64) -> QueryResult<Vec<SealedValue>> {
            let sql = Self::sql(&format!(
                "SELECT CAST({pk} AS TEXT) AS pk, CAST({aux} AS TEXT) AS aux, {col} AS sealed \
                 FROM {table} WHERE {col} IS NOT NULL AND substr({col}, 1, ?) <> ?{filter}{after} \
                 ORDER BY {pk} LIMIT ?",
                pk = col.pk,
                aux = col.aux,
                col = col.column,
                table = col.table,
                filter = col.filter(),
                after = if after.is_some() { format!(" AND {} > ?", col.pk) } else { String::new() },
            ));
            let len = i32::try_from(prefix.len()).map_err(|_| pk_error())?;
            let q = diesel::sql_query(&sql).bind::<Integer, _>(len).bind::<Text, _>(prefix);
            match (after, col.pk_int) {
                (None, _) => q.bind::<BigInt, _>(limit).load(self),
                (Some(a), true) => {
                    let a: i64 = a.parse().map_err(|_| pk_error())?;
                    q.bind::<BigInt, _>(a).bind::<BigInt, _>(limit).load(self)
                }
                (Some(a), false) => q.bind::<Text, _>(a).bind::<BigInt, _>(limit).load(self),
            }
        }

        fn sealed_swap(&mut self, col: &SealedColumn, pk: &str, old: &str, new: &str) -> QueryResult<bool> {
            let sql = Self::sql(&format!(
                "UPDATE {table} SET {col} = ? WHERE {pk} = ? AND {col} = ?",
                table = col.table,
                col = col.column,
                pk = col.pk
            ));
            let q = diesel::sql_query(&sql).bind::<Text, _>(new);
            let n = if col.pk_int {
                let pk: i64 = pk.parse().map_err(|_| pk_error())?;
                q.bind::<BigInt, _>(pk).bind::<Text, _>(old).execute(self)?
            } else {
                q.bind::<Text, _>(pk).bind::<Text, _>(old).execute(self)?
            };
            Ok(n == 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            <diesel::pg::PgConnection as Placeholders>::sql("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(
            <diesel::sqlite::SqliteConnection as Placeholders>::sql("a = ?"),
            "a = ?"
        );
    }
}
