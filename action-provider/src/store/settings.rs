//! The `settings` table: versioned JSON configuration documents.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::settings;

#[derive(Insertable)]
#[diesel(table_name = settings)]
struct NewSetting<'a> {
    name: &'a str,
    value: &'a str,
    version: i64,
    updated_at: i64,
}

/// Queries of the settings table.
pub trait Settings {
    /// Reads a configuration document's JSON text and version.
    fn setting_get(&mut self, name: &str) -> QueryResult<Option<(String, i64)>>;
    /// A configuration document's version, without reading the document.
    fn setting_version(&mut self, name: &str) -> QueryResult<Option<i64>>;
    /// Writes a configuration document (version + 1); returns the new version.
    fn setting_put(&mut self, name: &str, value: &str, now: i64) -> QueryResult<i64>;
    /// Every document's name and version: changes whenever any document changes.
    fn settings_versions(&mut self) -> QueryResult<Vec<(String, i64)>>;
}

for_both_backends! {
    impl Settings {
        fn setting_get(&mut self, name: &str) -> QueryResult<Option<(String, i64)>> {
            settings::table
                .filter(settings::name.eq(name))
                .select((settings::value, settings::version))
                .first(self)
                .optional()
        }

        fn setting_version(&mut self, name: &str) -> QueryResult<Option<i64>> {
            settings::table
                .filter(settings::name.eq(name))
                .select(settings::version)
                .first(self)
                .optional()
        }

        fn setting_put(&mut self, name: &str, value: &str, now: i64) -> QueryResult<i64> {
            diesel::insert_into(settings::table)
                .values(NewSetting { name, value, version: 1, updated_at: now })
                .on_conflict(settings::name)
                .do_update()
                .set((
                    settings::value.eq(excluded(settings::value)),
                    settings::version.eq(settings::version + 1),
                    settings::updated_at.eq(excluded(settings::updated_at)),
                ))
                .returning(settings::version)
                .get_result(self)
        }

        fn settings_versions(&mut self) -> QueryResult<Vec<(String, i64)>> {
            settings::table
                .select((settings::name, settings::version))
                .order(settings::name)
                .load(self)
        }

    }
}
