-- Two indexes no query reads, which cost every code request a B-tree insert each.
-- delivery_attempts_message: a bounce finds its request first (from its tracking address,
-- else its recipient), then that request's attempts through delivery_attempts_request, and
-- compares Message-IDs among those few rows. outbox_request: the outbox is read by status
-- (the claim, the backlog, the purge) and by id, never by request id.
DROP INDEX delivery_attempts_message;
DROP INDEX outbox_request;
