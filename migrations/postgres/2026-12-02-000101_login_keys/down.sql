DROP INDEX admins_login_look_alike;
DROP INDEX admins_canonical_login;
ALTER TABLE admins DROP COLUMN login_skeleton;
ALTER TABLE admins DROP COLUMN login_key;
DROP INDEX users_login_look_alike;
DROP INDEX users_canonical_login;
ALTER TABLE users DROP COLUMN login_skeleton;
ALTER TABLE users DROP COLUMN login_key;
