ALTER TABLE admins DROP COLUMN pwd_inflight_until_ms;
UPDATE admins SET
    pwd_last_failure_ms = pwd_last_failure_ms / 1000,
    otp_last_failure_ms = otp_last_failure_ms / 1000,
    locked_at_ms = locked_at_ms / 1000,
    locked_until_ms = locked_until_ms / 1000;
ALTER TABLE admins RENAME COLUMN pwd_last_failure_ms TO pwd_last_failure;
ALTER TABLE admins RENAME COLUMN otp_last_failure_ms TO otp_last_failure;
ALTER TABLE admins RENAME COLUMN locked_at_ms TO locked_at;
ALTER TABLE admins RENAME COLUMN locked_until_ms TO locked_until;

ALTER TABLE users DROP COLUMN pwd_inflight_until_ms;
UPDATE users SET
    pwd_last_failure_ms = pwd_last_failure_ms / 1000,
    otp_last_failure_ms = otp_last_failure_ms / 1000,
    hash_last_failure_ms = hash_last_failure_ms / 1000,
    locked_at_ms = locked_at_ms / 1000,
    locked_until_ms = locked_until_ms / 1000;
ALTER TABLE users RENAME COLUMN pwd_last_failure_ms TO pwd_last_failure;
ALTER TABLE users RENAME COLUMN otp_last_failure_ms TO otp_last_failure;
ALTER TABLE users RENAME COLUMN hash_last_failure_ms TO hash_last_failure;
ALTER TABLE users RENAME COLUMN locked_at_ms TO locked_at;
ALTER TABLE users RENAME COLUMN locked_until_ms TO locked_until;
