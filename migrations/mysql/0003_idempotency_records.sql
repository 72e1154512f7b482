-- Idempotency-Key: see migrations/sqlite/0003_idempotency_records.sql.
CREATE TABLE idempotency_records (
    key_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    fingerprint VARCHAR(64) NOT NULL,
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    response LONGBLOB NULL,
    created_at DATETIME NOT NULL,
    KEY idempotency_records_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
