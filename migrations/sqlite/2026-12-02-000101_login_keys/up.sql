-- Logins are unique by a canonical key (NFC, case folded) and checked against look-alikes
-- by their UTS #39 skeleton (SPEC §4.8). The keys are computed by SAE when it opens the
-- store (SQL cannot fold case the Unicode way); a row whose key would collide with an
-- existing one keeps a NULL key and is listed by `sae migrate` for an administrator to
-- resolve — nothing is merged.
ALTER TABLE users ADD COLUMN login_key TEXT;
ALTER TABLE users ADD COLUMN login_skeleton TEXT;
CREATE UNIQUE INDEX users_canonical_login ON users (login_key);
CREATE INDEX users_login_look_alike ON users (login_skeleton);
ALTER TABLE admins ADD COLUMN login_key TEXT;
ALTER TABLE admins ADD COLUMN login_skeleton TEXT;
CREATE UNIQUE INDEX admins_canonical_login ON admins (login_key);
CREATE INDEX admins_login_look_alike ON admins (login_skeleton);
