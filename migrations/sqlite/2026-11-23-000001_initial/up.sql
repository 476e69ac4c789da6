-- SAE initial schema. Times are unix seconds (BIGINT). Secrets are AEAD ciphertexts
-- ("<key id>:<base64 nonce|ciphertext>") and never stored in clear.

CREATE TABLE wallets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    email_norm TEXT,
    document TEXT,
    document_norm TEXT,
    mobile TEXT,
    mobile_norm TEXT,
    wallet_id BIGINT REFERENCES wallets (id),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    password_changed_at BIGINT,
    -- JSON array of earlier PHC strings, newest first (password reuse policy)
    password_history TEXT NOT NULL DEFAULT '[]',
    -- JSON array of the user's AuthSys names, in order (rule selection needs them in clear)
    authsys_names TEXT NOT NULL DEFAULT '[]',
    -- the whole AuthSys/claims/values tree, encrypted
    authsys_enc TEXT,
    pwd_failures INTEGER NOT NULL DEFAULT 0,
    pwd_last_failure BIGINT,
    otp_failures INTEGER NOT NULL DEFAULT 0,
    otp_last_failure BIGINT,
    hash_failures INTEGER NOT NULL DEFAULT 0,
    hash_last_failure BIGINT,
    -- a lock: set when a factor's counter reaches `attempts`; locked_until NULL = permanent
    locked_at BIGINT,
    locked_until BIGINT,
    lock_factor TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_email_norm ON users (email_norm);
CREATE INDEX users_document_norm ON users (document_norm);
CREATE INDEX users_mobile_norm ON users (mobile_norm);
CREATE INDEX users_wallet ON users (wallet_id);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
    last_used_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE issued_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    -- HMAC-SHA256 of the code under a key derived from the keyring; never the code
    code_mac TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX issued_codes_user ON issued_codes (user_id, id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    user_id BIGINT,
    -- encrypted JSON payload (destination, text, code); NULL once sent (scrubbed)
    payload_enc TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_request ON outbox (request_id);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    broker TEXT NOT NULL,
    destination_masked TEXT NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    excerpt TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX delivery_attempts_request ON delivery_attempts (request_id);
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- SHA-256 of the key (hex); the key itself is shown once and never stored
    digest TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    group_id BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- JSON documents of configuration (IM, lockout, policies, brokers); secrets inside are encrypted
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    source TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE idempotency (
    api_key_id BIGINT NOT NULL,
    idem_key TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, idem_key)
);
