-- One slot per notification kind and subject: queuing a notification takes the slot in one
-- statement (insert, or move it forward when the last one is older than the interval), so
-- two nodes noticing the same event at once queue one mail, not two.
CREATE TABLE notification_slots (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    last_queued_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
INSERT INTO notification_slots (kind, subject, last_queued_at)
    SELECT kind, subject, MAX(created_at) FROM notifications GROUP BY kind, subject;
