//! The `admin_groups` table: administrator groups with their ACL (sae-core `AdminGroup` as
//! JSON). The built-in System Administrator group is not stored.

use diesel::prelude::*;

use super::schema::{admin_groups, api_keys};

/// A stored administrator group.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_groups)]
pub struct GroupRow {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// sae-core `AdminGroup` as JSON.
    pub acl: String,
}

/// Queries of the admin_groups table.
pub trait AdminGroups {
    /// Creates a group.
    fn group_insert(&mut self, name: &str, acl: &str, now: i64) -> QueryResult<GroupRow>;
    /// The group with this name.
    fn group_by_name(&mut self, name: &str) -> QueryResult<Option<GroupRow>>;
    /// The group with this id.
    fn group_by_id(&mut self, id: i64) -> QueryResult<Option<GroupRow>>;
    /// Groups after id `cursor`, by id.
    fn groups_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<GroupRow>>;
    /// Replaces a group's name and ACL.
    fn group_update(
        &mut self,
        id: i64,
        name: &str,
        acl: &str,
        now: i64,
    ) -> QueryResult<Option<GroupRow>>;
    /// Deletes a group; returns whether it existed.
    fn group_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// How many live (unrevoked) API keys act as this group.
    fn group_live_keys(&mut self, id: i64) -> QueryResult<i64>;
}

for_both_backends! {
    impl AdminGroups {
        fn group_insert(&mut self, name: &str, acl: &str, now: i64) -> QueryResult<GroupRow> {
            diesel::insert_into(admin_groups::table)
                .values((
                    admin_groups::name.eq(name),
                    admin_groups::acl.eq(acl),
                    admin_groups::created_at.eq(now),
                    admin_groups::updated_at.eq(now),
                ))
                .returning(GroupRow::as_returning())
                .get_result(self)
        }

        fn group_by_name(&mut self, name: &str) -> QueryResult<Option<GroupRow>> {
            admin_groups::table
                .filter(admin_groups::name.eq(name))
                .select(GroupRow::as_select())
                .first(self)
                .optional()
        }

        fn group_by_id(&mut self, id: i64) -> QueryResult<Option<GroupRow>> {
            admin_groups::table
                .filter(admin_groups::id.eq(id))
                .select(GroupRow::as_select())
                .first(self)
                .optional()
        }

        fn groups_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<GroupRow>> {
            admin_groups::table
                .filter(admin_groups::id.gt(cursor))
                .order(admin_groups::id)
                .limit(limit)
                .select(GroupRow::as_select())
                .load(self)
        }

        fn group_update(&mut self, id: i64, name: &str, acl: &str, now: i64) -> QueryResult<Option<GroupRow>> {
            diesel::update(admin_groups::table.filter(admin_groups::id.eq(id)))
                .set((
                    admin_groups::name.eq(name),
                    admin_groups::acl.eq(acl),
                    admin_groups::updated_at.eq(now),
                ))
                .returning(GroupRow::as_returning())
                .get_result(self)
                .optional()
        }

        fn group_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(admin_groups::table.filter(admin_groups::id.eq(id)))
                .execute(self)
                .map(|n| n == 1)
        }

        fn group_live_keys(&mut self, id: i64) -> QueryResult<i64> {
            api_keys::table
                .filter(api_keys::group_id.eq(id))
                .filter(api_keys::revoked_at.is_null())
                .count()
                .get_result(self)
        }
    }
}
