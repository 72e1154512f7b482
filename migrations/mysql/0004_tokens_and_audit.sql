-- Named tokens, the audit trail and the erasure log: see migrations/sqlite/0004.
CREATE TABLE api_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    selector VARCHAR(64) NOT NULL,
    token_hash VARCHAR(128) NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME NOT NULL,
    UNIQUE KEY api_tokens_selector_unique (selector),
    KEY api_tokens_user (user_id, id),
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME NOT NULL,
    actor_id BIGINT NULL,
    action VARCHAR(32) NOT NULL,
    object_type VARCHAR(16) NOT NULL,
    object_id BIGINT NOT NULL,
    subject_id BIGINT NULL,
    request_id VARCHAR(64) NULL,
    KEY audit_events_at (at, id),
    KEY audit_events_actor (actor_id, id),
    KEY audit_events_object (object_type, object_id, id),
    KEY audit_events_subject (subject_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_client_ips (
    event_id BIGINT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    ip VARCHAR(45) NOT NULL,
    KEY audit_client_ips_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE erasures (
    user_id BIGINT NOT NULL PRIMARY KEY,
    erased_at DATETIME NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
