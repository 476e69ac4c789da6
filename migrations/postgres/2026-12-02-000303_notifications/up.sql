-- Notifications to administrators: one row per event and subject, written in the
-- transaction of the event (at most one per kind and subject per interval), mailed by a
-- background sender that holds a row while it sends it.
CREATE TABLE notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- user_locked | admin_locked | broker_failover | brokers_down | oauth2_reauthorization | bounce_storm
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    lease_until BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX notifications_kind_subject ON notifications (kind, subject, created_at);
CREATE INDEX notifications_unsent ON notifications (sent_at, id);
