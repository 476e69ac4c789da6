DROP TABLE job_skips;
DROP TABLE job_chunks;
DROP TABLE jobs;
DROP INDEX users_import_job;
ALTER TABLE users DROP COLUMN import_job;
DELETE FROM tokens WHERE user_id IS NULL OR import_job IS NOT NULL;
CREATE TABLE tokens_old (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device TEXT,
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    t0 BIGINT NOT NULL,
    secret_enc TEXT,
    last_counter BIGINT,
    opie_seed TEXT,
    opie_count INTEGER,
    opie_last TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
INSERT INTO tokens_old SELECT id, user_id, device, kind, algorithm, digits, period, t0, secret_enc,
    last_counter, opie_seed, opie_count, opie_last, active, created_at, last_used_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_old RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);
