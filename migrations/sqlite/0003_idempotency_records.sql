-- Idempotency-Key: one row per key and caller, kept 24 hours. The row's key is a keyed hash
-- of the caller's scope and the key, and the response is sealed with a key derived from the
-- Idempotency-Key itself (which is not stored), so the table alone yields no token.
CREATE TABLE idempotency_records (
    key_hash VARCHAR NOT NULL PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    complete BOOLEAN NOT NULL DEFAULT 0,
    response BLOB,
    created_at TEXT NOT NULL
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);
