-- E-mail delivery: OAuth2 profiles (with their tokens), pending authorizations and SMTP
-- accounts. Secrets (client secret, tokens, PKCE verifier, password) are AEAD ciphertexts.

CREATE TABLE oauth2_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    authorization_url TEXT,
    token_url TEXT NOT NULL,
    redirect_url TEXT,
    client_id TEXT NOT NULL,
    client_secret_enc TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- authorization_code | client_credentials
    flow TEXT NOT NULL,
    -- the last token operation succeeded and a token is stored
    valid BOOLEAN NOT NULL DEFAULT FALSE,
    access_token_enc TEXT,
    refresh_token_enc TEXT,
    expires_at BIGINT,
    last_refresh_at BIGINT,
    last_error TEXT,
    -- the mailbox the authorization was made for (login_hint)
    authorized_mailbox TEXT,
    needs_reauthorization BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- "Renew authorization" in progress: single-use state, expires after 10 minutes.
CREATE TABLE oauth2_pending (
    state TEXT PRIMARY KEY,
    profile_id BIGINT NOT NULL REFERENCES oauth2_profiles (id) ON DELETE CASCADE,
    pkce_verifier_enc TEXT NOT NULL,
    login_hint TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE smtp_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    sender TEXT NOT NULL,
    reply_to TEXT,
    return_path TEXT,
    confirmation_address TEXT,
    read_confirmation BOOLEAN NOT NULL DEFAULT FALSE,
    force_use BOOLEAN NOT NULL DEFAULT FALSE,
    footer BOOLEAN NOT NULL DEFAULT FALSE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    -- none | starttls | tls
    security TEXT NOT NULL,
    -- none | password | oauth2
    auth TEXT NOT NULL,
    username TEXT,
    password_enc TEXT,
    oauth2_profile_id BIGINT REFERENCES oauth2_profiles (id),
    ignore_cert_errors BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX smtp_accounts_profile ON smtp_accounts (oauth2_profile_id);
