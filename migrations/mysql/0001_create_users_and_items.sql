-- Users and their items; see migrations/sqlite for the reasons behind the shape.
-- utf8mb4 for all of Unicode; emails compare byte for byte (utf8mb4_bin) as on the other
-- backends, where the default collations would make "A@x" and "a@x" the same address.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(320) NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    token_selector VARCHAR(64) NULL,
    token_hash VARCHAR(128) NULL,
    UNIQUE KEY users_email_unique (email),
    UNIQUE KEY users_token_selector_unique (token_selector),
    KEY users_active_id (is_active, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE items (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NULL,
    owner_id BIGINT NOT NULL,
    -- UTC, whole seconds.
    created_at DATETIME NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id),
    KEY items_owner_created (owner_id, created_at, id),
    KEY items_owner_done_created (owner_id, done, created_at, id),
    KEY items_created (created_at, id),
    KEY items_done_created (done, created_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
