ALTER TABLE oauth2_profiles DROP COLUMN client_secret_expires_at;
ALTER TABLE oauth2_profiles DROP COLUMN enabled;
ALTER TABLE oauth2_profiles DROP COLUMN refresh_lease_until;
