-- Switchboard schema 0001 (PostgreSQL): users, the change counters, registrations.
-- Same numbering and meaning as migrations/sqlite/0001_initial.sql.
-- Times are unix milliseconds in BIGINT.

CREATE TABLE users (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username     TEXT    NOT NULL CHECK (length(username) > 0),
    -- Stored lower-case (ASCII: the "C" collation folds ASCII letters only, like SQLite's
    -- lower()) so lookups are exact matches on the unique index.
    domain       TEXT    NOT NULL CHECK (length(domain) > 0 AND domain = lower(domain COLLATE "C")),
    display_name TEXT,
    -- HA1 digests (RFC 7616 §3.4.2) for realm = domain, lower-case hex.
    ha1_md5      TEXT    NOT NULL CHECK (length(ha1_md5) = 32),
    ha1_sha256   TEXT    NOT NULL CHECK (length(ha1_sha256) = 64),
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    CONSTRAINT users_username_domain_key UNIQUE (username, domain)
);

-- One monotonic counter per watched table, bumped by triggers on every row change,
-- so a running server can notice changes made by another process cheaply.
CREATE TABLE generations (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO generations (name, value) VALUES ('users', 0);

-- Row-level (not statement-level) so a statement that touches no row bumps nothing,
-- exactly like SQLite's triggers.
CREATE FUNCTION bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_generation AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_generation('users');

-- Registrations (RFC 3261 §10): one row per contact binding of an address of record.
CREATE TABLE bindings (
    aor        TEXT    NOT NULL,
    binding_id TEXT    NOT NULL,
    contact    TEXT    NOT NULL,
    instance   TEXT,
    reg_id     BIGINT  CHECK (reg_id BETWEEN 0 AND 4294967295),
    q          INTEGER CHECK (q BETWEEN 0 AND 1000),
    call_id    TEXT    NOT NULL,
    cseq       BIGINT  NOT NULL CHECK (cseq BETWEEN 0 AND 4294967295),
    expires_at BIGINT  NOT NULL,
    transport  TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    local      TEXT    NOT NULL,
    user_agent TEXT,
    path       TEXT,
    node       TEXT,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (aor, binding_id)
);

CREATE INDEX bindings_expires_at ON bindings (expires_at);
