-- Token inventory and import jobs (SPEC §5.1).
-- Tokens get a unique serial, may be unassigned (user_id NULL), carry the PSKC issuer and
-- validity dates, and an integer `seq` for keyset pages. `import_job` marks rows written by
-- an import that has not committed yet: they are invisible until the job ends well, and
-- deleted when it fails. SQLite cannot drop NOT NULL in place, so the table is rebuilt.
CREATE TABLE tokens_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL UNIQUE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    device TEXT,
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    t0 BIGINT NOT NULL,
    secret_enc TEXT,
    -- last accepted HOTP counter / TOTP step, as an order-preserving signed encoding of u64
    last_counter BIGINT,
    opie_seed TEXT,
    opie_count INTEGER,
    opie_last TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    issuer TEXT,
    valid_from BIGINT,
    valid_until BIGINT,
    import_job TEXT
);
INSERT INTO tokens_new (id, serial, user_id, device, kind, algorithm, digits, period, t0,
    secret_enc, last_counter, opie_seed, opie_count, opie_last, active, created_at, last_used_at)
SELECT id, upper(kind) || upper(id), user_id, device, kind, algorithm, digits, period, t0,
    secret_enc, last_counter, opie_seed, opie_count, opie_last, active, created_at, last_used_at
FROM tokens ORDER BY created_at, id;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_import_job ON tokens (import_job) WHERE import_job IS NOT NULL;

-- Users written by an import that has not committed yet (see tokens.import_job).
ALTER TABLE users ADD COLUMN import_job TEXT;
CREATE INDEX users_import_job ON users (import_job) WHERE import_job IS NOT NULL;

-- Import jobs: the uploaded file (sealed, in chunks), the sealed PSK / password until the
-- job ends, the progress and the per-item report.
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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data_enc TEXT NOT NULL,
    UNIQUE (job_id, seq)
);

CREATE TABLE job_skips (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    item TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX job_skips_job ON job_skips (job_id, id);
