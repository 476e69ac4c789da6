DROP TABLE smtp_accounts;
DROP TABLE oauth2_pending;
DROP TABLE oauth2_profiles;
