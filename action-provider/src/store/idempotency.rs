//! The `idempotency` table: answers stored per (API key, Idempotency-Key).

use diesel::prelude::*;

use super::schema::idempotency;

/// Queries of the idempotency table.
pub trait Idempotency {
    /// A stored answer for (API key, Idempotency-Key): request digest, status, body.
    fn idem_get(
        &mut self,
        api_key_id: i64,
        key: &str,
    ) -> QueryResult<Option<(String, i32, String)>>;
    /// Stores the answer for (API key, Idempotency-Key).
    fn idem_put(
        &mut self,
        api_key_id: i64,
        key: &str,
        digest: &str,
        status: i32,
        response: &str,
        now: i64,
    ) -> QueryResult<()>;
}

for_both_backends! {
    impl Idempotency {
        fn idem_get(&mut self, api_key_id: i64, key: &str) -> QueryResult<Option<(String, i32, String)>> {
            idempotency::table
                .filter(idempotency::api_key_id.eq(api_key_id))
                .filter(idempotency::idem_key.eq(key))
                .select((idempotency::request_digest, idempotency::status, idempotency::response))
                .first(self)
                .optional()
        }

        fn idem_put(&mut self, api_key_id: i64, key: &str, digest: &str, status: i32, response: &str, now: i64) -> QueryResult<()> {
            diesel::insert_into(idempotency::table)
                .values((
                    idempotency::api_key_id.eq(api_key_id),
                    idempotency::idem_key.eq(key),
                    idempotency::request_digest.eq(digest),
                    idempotency::status.eq(status),
                    idempotency::response.eq(response),
                    idempotency::created_at.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

    }
}
