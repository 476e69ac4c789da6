//! Whether PostgreSQL's buffer cache (`shared_buffers`) can hold the tables a validation
//! reads and writes: users and tokens, indexes included.
//!
//! A validation reads one user's rows at random. When those tables are larger than the
//! buffer cache, most decisions read pages in from the operating system and evict dirty
//! ones on the way (a backend writing out a page before it can read the next): at a million
//! users on PostgreSQL's default 128 MB the 99th percentile of a wrong code rose by half
//! against a thousand users, and by a few percent once the tables fit (benches/README.md,
//! nineteenth session). `sae serve` warns at start-up when they do not fit.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// The buffer cache's size next to the tables', in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct BufferFit {
    /// `shared_buffers`.
    #[diesel(sql_type = BigInt)]
    pub shared_buffers: i64,
    /// `users` and `tokens` with their indexes and TOAST tables.
    #[diesel(sql_type = BigInt)]
    pub tables: i64,
}

impl BufferFit {
    /// The start-up warning when the tables outgrow the buffer cache; `None` while they fit.
    pub fn advice(&self) -> Option<String> {
        (self.tables > self.shared_buffers).then(|| {
            format!(
                "PostgreSQL's shared_buffers ({} MiB) is smaller than SAE's users and tokens \
                 tables ({} MiB with their indexes): validations of random users will read \
                 and evict pages at every decision and their slowest answers grow with the \
                 store; set shared_buffers above {} MiB (README: \"PostgreSQL settings for \
                 large stores\")",
                mib(self.shared_buffers),
                mib(self.tables),
                mib(self.tables)
            )
        })
    }
}

fn mib(bytes: i64) -> i64 {
    (bytes + (1 << 20) - 1) >> 20
}

/// Reads both sizes (one statement).
pub(super) fn buffer_fit(c: &mut PgConnection) -> QueryResult<BufferFit> {
    // `shared_buffers` is counted in blocks of `block_size` bytes.
    diesel::sql_query(
        "SELECT (SELECT setting::int8 FROM pg_settings WHERE name = 'shared_buffers') \
                * current_setting('block_size')::int8 AS shared_buffers, \
                pg_total_relation_size('users') + pg_total_relation_size('tokens') AS tables",
    )
    .get_result(c)
}

#[cfg(test)]
mod tests {
    use super::BufferFit;

    #[test]
    fn tables_larger_than_the_buffer_cache_get_advice_naming_both_sizes() {
        let fits = BufferFit {
            shared_buffers: 128 << 20,
            tables: 128 << 20,
        };
        assert_eq!(fits.advice(), None);
        let outgrown = BufferFit {
            shared_buffers: 128 << 20,
            tables: (1600 << 20) + 1,
        };
        let advice = outgrown.advice().expect("advice");
        assert!(advice.contains("shared_buffers (128 MiB)"), "{advice}");
        assert!(advice.contains("tables (1601 MiB"), "{advice}");
        assert!(advice.contains("above 1601 MiB"), "{advice}");
    }
}
