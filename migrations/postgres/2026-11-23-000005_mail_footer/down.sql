ALTER TABLE smtp_accounts DROP COLUMN footer_text;
