-- The text an SMTP account appends to its mails when `footer` is on.
ALTER TABLE smtp_accounts ADD COLUMN footer_text TEXT;
