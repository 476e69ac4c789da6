-- Administrator groups (SPEC §4.7): the ACL is sae-core's AdminGroup as JSON. The built-in
-- "System Administrator" group is not stored: a NULL group_id means it.
CREATE TABLE admin_groups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    acl TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Administrators of the console. totp_secret / totp_pending are sealed with the keyring
-- (context "admin-totp:<login>"); lockout counters as on users.
CREATE TABLE admins (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    group_id BIGINT REFERENCES admin_groups (id),
    totp_secret TEXT,
    totp_pending TEXT,
    totp_last_counter BIGINT,
    pwd_failures INTEGER NOT NULL DEFAULT 0,
    pwd_last_failure BIGINT,
    otp_failures INTEGER NOT NULL DEFAULT 0,
    otp_last_failure BIGINT,
    locked_at BIGINT,
    locked_until BIGINT,
    lock_factor TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_login_at BIGINT
);

-- Console sessions: only the SHA-256 of the cookie value is stored.
CREATE TABLE admin_sessions (
    digest TEXT PRIMARY KEY,
    admin_id BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
