DROP INDEX delivery_attempts_message;
ALTER TABLE users DROP COLUMN email_bounce_status;
ALTER TABLE users DROP COLUMN email_bounced_at;
ALTER TABLE delivery_attempts DROP COLUMN bounced_at;
ALTER TABLE delivery_attempts DROP COLUMN bounce_diagnostic;
ALTER TABLE delivery_attempts DROP COLUMN bounce_status;
ALTER TABLE delivery_attempts DROP COLUMN message_id;
DROP TABLE inbound_accounts;
