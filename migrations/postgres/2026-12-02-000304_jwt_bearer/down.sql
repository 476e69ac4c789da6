DROP INDEX delivery_attempts_bounced_at;
ALTER TABLE oauth2_profiles DROP COLUMN subject;
