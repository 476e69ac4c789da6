-- The gate measures delays in milliseconds (a "1 s" throttle delay is 1000 ms, not "until the
-- next whole second"), and a password check in flight holds a slot (`*_inflight_until_ms`).
ALTER TABLE users RENAME COLUMN pwd_last_failure TO pwd_last_failure_ms;
ALTER TABLE users RENAME COLUMN otp_last_failure TO otp_last_failure_ms;
ALTER TABLE users RENAME COLUMN hash_last_failure TO hash_last_failure_ms;
ALTER TABLE users RENAME COLUMN locked_at TO locked_at_ms;
ALTER TABLE users RENAME COLUMN locked_until TO locked_until_ms;
UPDATE users SET
    pwd_last_failure_ms = pwd_last_failure_ms * 1000,
    otp_last_failure_ms = otp_last_failure_ms * 1000,
    hash_last_failure_ms = hash_last_failure_ms * 1000,
    locked_at_ms = locked_at_ms * 1000,
    locked_until_ms = locked_until_ms * 1000;
ALTER TABLE users ADD COLUMN pwd_inflight_until_ms BIGINT;

ALTER TABLE admins RENAME COLUMN pwd_last_failure TO pwd_last_failure_ms;
ALTER TABLE admins RENAME COLUMN otp_last_failure TO otp_last_failure_ms;
ALTER TABLE admins RENAME COLUMN locked_at TO locked_at_ms;
ALTER TABLE admins RENAME COLUMN locked_until TO locked_until_ms;
UPDATE admins SET
    pwd_last_failure_ms = pwd_last_failure_ms * 1000,
    otp_last_failure_ms = otp_last_failure_ms * 1000,
    locked_at_ms = locked_at_ms * 1000,
    locked_until_ms = locked_until_ms * 1000;
ALTER TABLE admins ADD COLUMN pwd_inflight_until_ms BIGINT;
