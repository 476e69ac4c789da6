-- JWT bearer (RFC 7523) service accounts: the mailbox a profile's assertions impersonate.
-- The service account's JSON key is the profile's sealed client secret (client_secret_enc,
-- bound to the row and its token endpoint like a client secret).
ALTER TABLE oauth2_profiles ADD COLUMN subject TEXT;
-- The bounce storm notification counts the e-mail codes bounced within a window.
CREATE INDEX delivery_attempts_bounced_at ON delivery_attempts (bounced_at) WHERE bounced_at IS NOT NULL;
