-- The users listing at a million users (issue 17, item 4; `load million` in benches):
-- each order the console offers and each filter is served by an index, so a page does not
-- read or sort the whole table. The login prefix search is a range of `login_key`, served
-- by `users_canonical_login` (SQLite compares text as bytes).
CREATE INDEX users_name_id ON users (name, id);
CREATE INDEX users_email_id ON users (email, id);
CREATE INDEX users_wallet_id ON users (wallet_id, id);
DROP INDEX users_wallet;
CREATE INDEX users_locked ON users (id) WHERE locked_at_ms IS NOT NULL;
CREATE INDEX users_disabled ON users (id) WHERE disabled;
