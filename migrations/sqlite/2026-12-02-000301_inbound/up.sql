-- Inbound mail for bounces: IMAP/POP3 accounts with their position and check slot, bounce
-- outcomes on delivery attempts, and the "address bounces" flag on users.

CREATE TABLE inbound_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- imap | pop3
    protocol TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    -- none | starttls | tls
    security TEXT NOT NULL,
    -- password | oauth2
    auth TEXT NOT NULL,
    username TEXT NOT NULL,
    -- AEAD ciphertext; its context names protocol, host, port and security (the endpoint)
    password_enc TEXT,
    oauth2_profile_id BIGINT REFERENCES oauth2_profiles (id),
    -- xoauth2 | oauthbearer (auth oauth2)
    mechanism TEXT NOT NULL DEFAULT 'xoauth2',
    folder TEXT NOT NULL,
    keep_copy BOOLEAN NOT NULL DEFAULT TRUE,
    -- automatic check interval; 0 = manual only
    check_every_s BIGINT NOT NULL DEFAULT 0,
    timeout_s INTEGER NOT NULL DEFAULT 30,
    ignore_cert_errors BOOLEAN NOT NULL DEFAULT FALSE,
    -- how far the mailbox was processed (JSON: UIDVALIDITY + last UID, or the UIDLs)
    position TEXT,
    next_check_at BIGINT NOT NULL DEFAULT 0,
    -- the node checking the account now (random token) and until when its slot holds
    lease_token TEXT,
    lease_until BIGINT,
    last_check_at BIGINT,
    last_error TEXT,
    fetched_total BIGINT NOT NULL DEFAULT 0,
    bounces_total BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX inbound_accounts_profile ON inbound_accounts (oauth2_profile_id);

-- The Message-ID of a tracked mail, and what a bounce said about it.
ALTER TABLE delivery_attempts ADD COLUMN message_id TEXT;
ALTER TABLE delivery_attempts ADD COLUMN bounce_status TEXT;
ALTER TABLE delivery_attempts ADD COLUMN bounce_diagnostic TEXT;
ALTER TABLE delivery_attempts ADD COLUMN bounced_at BIGINT;
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id);

-- The user's address bounces (cleared when the address changes).
ALTER TABLE users ADD COLUMN email_bounced_at BIGINT;
ALTER TABLE users ADD COLUMN email_bounce_status TEXT;
