-- Users and their items. Column names follow the FastAPI app (`hashed_password`), so its
-- data maps one to one; AUTOINCREMENT so that a deleted item's id is never handed out again
-- (ids appear in ETags). created_at is UTC text 'YYYY-MM-DD HH:MM:SS': sortable, and the
-- FastAPI app's own format.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email VARCHAR NOT NULL,
    hashed_password VARCHAR NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    token_selector VARCHAR,
    token_hash VARCHAR
);
CREATE UNIQUE INDEX users_email_unique ON users (email);
CREATE UNIQUE INDEX users_token_selector_unique ON users (token_selector);
-- The hand-over of problem 3 looks for the active user with the smallest id.
CREATE INDEX users_active_id ON users (is_active, id);

CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR NOT NULL,
    description VARCHAR,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1
);
-- Problem 2: every listing (per owner or global, with or without `done`, with or without a
-- day range) is an index range scan read backwards, newest first, with no sort step.
CREATE INDEX items_owner_created ON items (owner_id, created_at, id);
CREATE INDEX items_owner_done_created ON items (owner_id, done, created_at, id);
CREATE INDEX items_created ON items (created_at, id);
CREATE INDEX items_done_created ON items (done, created_at, id);
