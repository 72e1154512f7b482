-- When the user last changed something (UTC), set in the transaction of every change it makes:
-- for a short while after it (READ_AFTER_WRITE_WINDOW) its reads go to the primary rather
-- than a read replica, so it sees its own writes on any instance. NULL: no change recorded.
-- SQLite has no replicas; the column is kept so that the schema is the same everywhere.
ALTER TABLE users ADD COLUMN last_write_at TEXT;
