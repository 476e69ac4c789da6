//! Storage: diesel over SQLite (embedded default) and PostgreSQL (scale-out).

pub mod admins;
pub mod apikeys;
pub mod conn;
pub mod group;
pub mod mail_ops;
pub mod models;
pub mod ops;
pub mod schema;

pub use conn::{DbConn, DbPool, StoreError};
pub use ops::{
    AttemptFilter, AuditFilter, BackendOps, ClaimedJob, NewAttempt, NewAudit, NewOutbox, Ops,
    UserFilter,
};

/// Maps a `u64` counter onto `i64` preserving order (flips the sign bit), so SQL `<`/`>`
/// on the stored value agree with the counters' order over the whole `u64` range.
pub fn counter_to_db(counter: u64) -> i64 {
    i64::from_ne_bytes((counter ^ (1 << 63)).to_ne_bytes())
}

/// Inverse of [`counter_to_db`].
pub fn counter_from_db(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes()) ^ (1 << 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_encoding_preserves_order_at_the_edges() {
        let samples = [
            0u64,
            1,
            2,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for w in samples.windows(2) {
            assert!(
                counter_to_db(w[0]) < counter_to_db(w[1]),
                "{} vs {}",
                w[0],
                w[1]
            );
        }
        for s in samples {
            assert_eq!(counter_from_db(counter_to_db(s)), s);
        }
    }
}
