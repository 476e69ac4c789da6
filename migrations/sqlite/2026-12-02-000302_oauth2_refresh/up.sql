-- OAuth2 token health: the node refreshing a profile's token in the background holds it
-- until `refresh_lease_until`; a profile can be switched off; the client secret's expiry
-- (as the provider told the administrator) is warned about 30 days ahead.
ALTER TABLE oauth2_profiles ADD COLUMN refresh_lease_until BIGINT;
ALTER TABLE oauth2_profiles ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE oauth2_profiles ADD COLUMN client_secret_expires_at BIGINT;
