DROP INDEX users_disabled;
DROP INDEX users_locked;
CREATE INDEX users_wallet ON users (wallet_id);
DROP INDEX users_wallet_id;
DROP INDEX users_email_id;
DROP INDEX users_name_id;
ALTER TABLE users ALTER COLUMN login_key TYPE TEXT COLLATE "default";
