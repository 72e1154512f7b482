-- Named API tokens besides the primary one in users (which POST /users/{id}/token replaces):
-- each with a name, optionally read-only, revocable on its own.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name VARCHAR NOT NULL,
    selector VARCHAR NOT NULL UNIQUE,
    token_hash VARCHAR NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- The audit trail: one row per change, written in the change's own transaction. No personal
-- data here (ids, an action, a request id); the client IP, which is personal, lives in
-- audit_client_ips keyed by the user it belongs to, where an erasure can delete it.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id INTEGER,
    action VARCHAR NOT NULL,
    object_type VARCHAR NOT NULL,
    object_id INTEGER NOT NULL,
    subject_id INTEGER,
    request_id VARCHAR
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_object ON audit_events (object_type, object_id, id);
CREATE INDEX audit_events_subject ON audit_events (subject_id, id);

CREATE TABLE audit_client_ips (
    event_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    ip VARCHAR NOT NULL
);
CREATE INDEX audit_client_ips_user ON audit_client_ips (user_id);

-- Erased users by id (a pseudonym): what a restore of an older backup must erase again.
CREATE TABLE erasures (
    user_id INTEGER PRIMARY KEY,
    erased_at TEXT NOT NULL
);
