-- When the user last changed something: see migrations/sqlite/0005. Milliseconds, since the
-- read-after-write window is a few seconds long.
ALTER TABLE users ADD COLUMN last_write_at DATETIME(3) NULL;
