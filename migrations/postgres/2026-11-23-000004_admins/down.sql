DROP TABLE admin_sessions;
DROP TABLE admins;
DROP TABLE admin_groups;
