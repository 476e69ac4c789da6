CREATE INDEX outbox_request ON outbox (request_id);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id);
