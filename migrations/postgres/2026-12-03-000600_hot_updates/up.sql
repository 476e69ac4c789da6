-- Room for HOT updates (issue 17, item 4). Every decision updates its user's row (the
-- failure counter, the row lock) and, when a code is accepted, its token's row (the
-- counter). None of those columns is indexed, so PostgreSQL can write the new version of
-- the row on the same page without touching any index ("heap-only tuple") — but only if
-- the page has room. The bulk import packs pages full (fillfactor 100), so at a million
-- users nearly every decision was for a row on a full page: the new version went to
-- another page and every one of the users table's thirteen indexes got a new entry, on
-- pages no recent request had touched. Leaving a tenth of each page free keeps those
-- updates on their page.
--
-- This applies to pages written from now on (new users, imports). To repack an existing
-- table with the room: `VACUUM FULL users; VACUUM FULL tokens;` (takes the table's
-- exclusive lock for the rewrite; see docs/design.md).
ALTER TABLE users SET (fillfactor = 90);
ALTER TABLE tokens SET (fillfactor = 90);
