//! The `devices` table: a user's authenticators, each tied to a token.

use diesel::prelude::*;

use super::schema::devices;

/// A device as stored: (name, token id, shares the principal token, created at).
pub type DeviceRow = (String, String, bool, i64);

/// Queries of the devices table.
pub trait Devices {
    /// A user's devices: (name, token id, shares principal, created at), by name.
    fn devices_of(&mut self, user_id: i64) -> QueryResult<Vec<DeviceRow>>;
    /// Records a device; fails on a duplicate name (unique per user).
    fn device_insert(
        &mut self,
        user_id: i64,
        name: &str,
        token_id: &str,
        shares: bool,
        now: i64,
    ) -> QueryResult<()>;
    /// Deletes a device; returns its (token id, shares principal) if it existed.
    fn device_delete(&mut self, user_id: i64, name: &str) -> QueryResult<Option<(String, bool)>>;
    /// Names of the devices that use a token (their own or shared).
    fn devices_using(&mut self, token_id: &str) -> QueryResult<Vec<String>>;
}

for_both_backends! {
    impl Devices {
        fn devices_of(&mut self, user_id: i64) -> QueryResult<Vec<DeviceRow>> {
            devices::table
                .filter(devices::user_id.eq(user_id))
                .order(devices::name)
                .select((devices::name, devices::token_id, devices::shares_principal, devices::created_at))
                .load(self)
        }

        fn device_insert(&mut self, user_id: i64, name: &str, token_id: &str, shares: bool, now: i64) -> QueryResult<()> {
            diesel::insert_into(devices::table)
                .values((
                    devices::user_id.eq(user_id),
                    devices::name.eq(name),
                    devices::token_id.eq(token_id),
                    devices::shares_principal.eq(shares),
                    devices::created_at.eq(now),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn devices_using(&mut self, token_id: &str) -> QueryResult<Vec<String>> {
            devices::table
                .filter(devices::token_id.eq(token_id))
                .order(devices::name)
                .select(devices::name)
                .load(self)
        }

        fn device_delete(&mut self, user_id: i64, name: &str) -> QueryResult<Option<(String, bool)>> {
            diesel::delete(devices::table.filter(devices::user_id.eq(user_id)).filter(devices::name.eq(name)))
                .returning((devices::token_id, devices::shares_principal))
                .get_result(self)
                .optional()
        }

    }
}
