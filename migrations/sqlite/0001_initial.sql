-- Switchboard schema 0001 (SQLite): users, the change counters, registrations.
-- Same numbering and meaning as migrations/postgres/0001_initial.sql.
-- Times are unix milliseconds in 64-bit integers; booleans are 0/1 integers.

CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    username     TEXT    NOT NULL CHECK (length(username) > 0),
    -- Stored lower-case (ASCII) so lookups are exact matches on the unique index.
    domain       TEXT    NOT NULL CHECK (length(domain) > 0 AND domain = lower(domain)),
    display_name TEXT,
    -- HA1 digests (RFC 7616 §3.4.2) for realm = domain, lower-case hex.
    ha1_md5      TEXT    NOT NULL CHECK (length(ha1_md5) = 32),
    ha1_sha256   TEXT    NOT NULL CHECK (length(ha1_sha256) = 64),
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT users_username_domain_key UNIQUE (username, domain)
);

-- One monotonic counter per watched table, bumped by triggers on every row change,
-- so a running server can notice changes made by another process cheaply.
CREATE TABLE generations (
    name  TEXT    PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);

INSERT INTO generations (name, value) VALUES ('users', 0);

CREATE TRIGGER users_generation_insert AFTER INSERT ON users
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'users';
END;

CREATE TRIGGER users_generation_update AFTER UPDATE ON users
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'users';
END;

CREATE TRIGGER users_generation_delete AFTER DELETE ON users
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'users';
END;

-- Registrations (RFC 3261 §10): one row per contact binding of an address of record.
CREATE TABLE bindings (
    aor        TEXT    NOT NULL,
    binding_id TEXT    NOT NULL,
    contact    TEXT    NOT NULL,
    instance   TEXT,
    reg_id     INTEGER CHECK (reg_id BETWEEN 0 AND 4294967295),
    q          INTEGER CHECK (q BETWEEN 0 AND 1000),
    call_id    TEXT    NOT NULL,
    cseq       INTEGER NOT NULL CHECK (cseq BETWEEN 0 AND 4294967295),
    expires_at INTEGER NOT NULL,
    transport  TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    local      TEXT    NOT NULL,
    user_agent TEXT,
    path       TEXT,
    node       TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (aor, binding_id)
);

CREATE INDEX bindings_expires_at ON bindings (expires_at);
