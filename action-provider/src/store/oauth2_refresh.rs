//! The background refresh of OAuth2 tokens: which profiles are due, and the refresh slot
//! (`refresh_lease_until`) that lets one node at a time refresh a profile.

use diesel::prelude::*;

use super::schema::oauth2_profiles;

/// Queries of the background refresh.
pub trait OAuth2Refresh {
    /// Enabled profiles holding a token that expires before `before`, that need no new
    /// authorisation and whose refresh slot is free at `now`.
    fn profiles_due_refresh(&mut self, before: i64, now: i64) -> QueryResult<Vec<i64>>;
    /// Takes profile `id`'s refresh slot until `until` if it is free at `now` and its token
    /// still expires before `before` (one statement: two nodes never both take it).
    fn profile_take_refresh(
        &mut self,
        id: i64,
        before: i64,
        now: i64,
        until: i64,
    ) -> QueryResult<bool>;
    /// Frees profile `id`'s refresh slot.
    fn profile_release_refresh(&mut self, id: i64) -> QueryResult<()>;
}

for_both_backends! {
    impl OAuth2Refresh {
        fn profiles_due_refresh(&mut self, before: i64, now: i64) -> QueryResult<Vec<i64>> {
            oauth2_profiles::table
                .filter(oauth2_profiles::access_token_enc.is_not_null())
                .filter(oauth2_profiles::enabled.eq(true))
                .filter(oauth2_profiles::needs_reauthorization.eq(false))
                .filter(oauth2_profiles::expires_at.lt(before))
                .filter(oauth2_profiles::refresh_lease_until.is_null().or(oauth2_profiles::refresh_lease_until.lt(now)))
                .order(oauth2_profiles::expires_at)
                .select(oauth2_profiles::id)
                .load(self)
        }

        fn profile_take_refresh(&mut self, id: i64, before: i64, now: i64, until: i64) -> QueryResult<bool> {
            diesel::update(
                oauth2_profiles::table
                    .filter(oauth2_profiles::id.eq(id))
                    .filter(oauth2_profiles::expires_at.lt(before))
                    .filter(oauth2_profiles::refresh_lease_until.is_null().or(oauth2_profiles::refresh_lease_until.lt(now))),
            )
            .set(oauth2_profiles::refresh_lease_until.eq(until))
            .execute(self)
            .map(|n| n == 1)
        }

        fn profile_release_refresh(&mut self, id: i64) -> QueryResult<()> {
            diesel::update(oauth2_profiles::table.filter(oauth2_profiles::id.eq(id)))
                .set(oauth2_profiles::refresh_lease_until.eq(None::<i64>))
                .execute(self)
                .map(|_| ())
        }
    }
}
