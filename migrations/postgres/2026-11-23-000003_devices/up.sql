-- Devices of a user: each with its own token, or sharing the principal token
-- (IM switch device_secret_same_as_principal), then token_id names that token.
CREATE TABLE devices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_id TEXT NOT NULL,
    shares_principal BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);
