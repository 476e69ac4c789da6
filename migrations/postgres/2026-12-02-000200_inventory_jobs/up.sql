-- Token inventory and import jobs (SPEC §5.1); see the SQLite migration of the same name.
ALTER TABLE tokens ADD COLUMN seq BIGSERIAL;
ALTER TABLE tokens ADD CONSTRAINT tokens_seq_key UNIQUE (seq);
ALTER TABLE tokens ADD COLUMN serial TEXT;
UPDATE tokens SET serial = upper(kind) || upper(id);
ALTER TABLE tokens ALTER COLUMN serial SET NOT NULL;
ALTER TABLE tokens ADD CONSTRAINT tokens_serial_key UNIQUE (serial);
ALTER TABLE tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE tokens ADD COLUMN issuer TEXT;
ALTER TABLE tokens ADD COLUMN valid_from BIGINT;
ALTER TABLE tokens ADD COLUMN valid_until BIGINT;
ALTER TABLE tokens ADD COLUMN import_job TEXT;
CREATE INDEX tokens_import_job ON tokens (import_job) WHERE import_job IS NOT NULL;

ALTER TABLE users ADD COLUMN import_job TEXT;
CREATE INDEX users_import_job ON users (import_job) WHERE import_job IS NOT NULL;

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    key_enc TEXT,
    origin TEXT NOT NULL,
    actor TEXT NOT NULL,
    client TEXT,
    bytes_total BIGINT NOT NULL DEFAULT 0,
    bytes_done BIGINT NOT NULL DEFAULT 0,
    total BIGINT,
    done BIGINT NOT NULL DEFAULT 0,
    imported BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    owner TEXT,
    lease_until BIGINT,
    claims INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE job_chunks (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data_enc TEXT NOT NULL,
    UNIQUE (job_id, seq)
);

CREATE TABLE job_skips (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    item TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX job_skips_job ON job_skips (job_id, id);
