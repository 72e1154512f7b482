-- Idempotency-Key: see migrations/sqlite/0003_idempotency_records.sql.
CREATE TABLE idempotency_records (
    key_hash TEXT NOT NULL PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    response BYTEA,
    created_at TIMESTAMP(0) WITHOUT TIME ZONE NOT NULL
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);
