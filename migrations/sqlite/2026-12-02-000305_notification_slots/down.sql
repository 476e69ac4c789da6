DROP TABLE notification_slots;
