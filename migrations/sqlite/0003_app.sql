-- Switchboard schema 0003 (SQLite): what the HTTP API manages. User directory fields, call
-- groups, ACLs, trunks, admin accounts, auth tokens, dialplan history, more CDR indexes.
-- Same numbering and meaning as migrations/postgres/0003_app.sql.
-- Times are unix milliseconds in 64-bit integers; booleans are 0/1 integers. Lists of
-- short names, number patterns or CIDRs are one TEXT each, newline-separated ('' = empty).

-- Users: directory and call-permission fields.
ALTER TABLE users ADD COLUMN extension TEXT CHECK (length(extension) > 0);
ALTER TABLE users ADD COLUMN context TEXT;
-- Group names, in the user's order (the first group with a context gives the user's).
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '';
-- Dialplan number patterns the user may / may not call.
ALTER TABLE users ADD COLUMN call_allow TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN call_deny TEXT NOT NULL DEFAULT '';

-- An extension is unique per domain (NULLs never collide); also the index of the lookup
-- by extension.
CREATE UNIQUE INDEX users_domain_extension ON users (domain, extension);

-- The change counter of groups, ACLs and trunks together (the live trunk and policy
-- configuration), bumped by triggers like the users counter.
INSERT INTO generations (name, value) VALUES ('config', 0);

-- Call groups: shared call permissions and a default dialplan context for their members.
CREATE TABLE call_groups (
    name        TEXT    PRIMARY KEY NOT NULL CHECK (length(name) > 0),
    description TEXT,
    context     TEXT,
    call_allow  TEXT    NOT NULL DEFAULT '',
    call_deny   TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);

-- Named address lists (CIDRs) that trunks and the admin API refer to.
CREATE TABLE acls (
    name        TEXT    PRIMARY KEY NOT NULL CHECK (length(name) > 0),
    description TEXT,
    cidrs       TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);

-- SIP trunks managed through the API. The password is kept because outbound digest
-- authentication needs it in clear.
CREATE TABLE trunks (
    name             TEXT    PRIMARY KEY NOT NULL CHECK (length(name) > 0),
    -- "host:port" of the provider; NULL for an inbound-only trunk.
    gateway          TEXT,
    transport        TEXT    NOT NULL CHECK (transport IN ('udp', 'tcp')),
    -- CIDRs calls from this trunk come from.
    addresses        TEXT    NOT NULL DEFAULT '',
    -- An ACL cannot be deleted while a trunk names it (the foreign key's default action,
    -- NO ACTION, refuses the delete).
    acl              TEXT    REFERENCES acls (name),
    context          TEXT    NOT NULL,
    username         TEXT,
    password         TEXT,
    register         INTEGER NOT NULL CHECK (register IN (0, 1)),
    register_expires INTEGER NOT NULL CHECK (register_expires BETWEEN 0 AND 4294967295),
    from_user        TEXT,
    from_domain      TEXT,
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at       INTEGER NOT NULL
);

-- Finds the trunks that name an ACL (the delete check) without scanning.
CREATE INDEX trunks_acl ON trunks (acl);

CREATE TRIGGER call_groups_generation_insert AFTER INSERT ON call_groups
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER call_groups_generation_update AFTER UPDATE ON call_groups
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER call_groups_generation_delete AFTER DELETE ON call_groups
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER acls_generation_insert AFTER INSERT ON acls
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER acls_generation_update AFTER UPDATE ON acls
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER acls_generation_delete AFTER DELETE ON acls
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER trunks_generation_insert AFTER INSERT ON trunks
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER trunks_generation_update AFTER UPDATE ON trunks
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

CREATE TRIGGER trunks_generation_delete AFTER DELETE ON trunks
BEGIN
    UPDATE generations SET value = value + 1 WHERE name = 'config';
END;

-- Accounts of the HTTP API's administrators.
CREATE TABLE admins (
    name          TEXT    PRIMARY KEY NOT NULL CHECK (length(name) > 0),
    -- argon2 PHC string ("$argon2id$v=19$..."), never the password.
    password_hash TEXT    NOT NULL CHECK (length(password_hash) > 0),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at    INTEGER NOT NULL
);

-- Bearer tokens of the HTTP API (sessions and API tokens). Only the SHA-256 of a token is
-- stored. A token belongs to an admin or to a SIP user and goes away with it.
CREATE TABLE auth_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    admin_name   TEXT    REFERENCES admins (name) ON DELETE CASCADE,
    user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('session', 'api')),
    name         TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    CHECK ((admin_name IS NULL) <> (user_id IS NULL))
);

-- The tokens of one subject (listing, and the cascade when the admin or user is deleted).
CREATE INDEX auth_tokens_admin ON auth_tokens (admin_name);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
-- Purging expired tokens reads only the expired ones.
CREATE INDEX auth_tokens_expires_at ON auth_tokens (expires_at);

-- History of the dialplan files: every saved text, numbered from 1 per name.
CREATE TABLE dialplan_versions (
    name       TEXT    NOT NULL CHECK (length(name) > 0),
    version    INTEGER NOT NULL CHECK (version >= 1),
    content    TEXT    NOT NULL,
    -- Who saved it (admin name, or "cli").
    author     TEXT    NOT NULL,
    -- Length of content in bytes (UTF-8), so listings need not read the texts.
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- Call records by trunk. A trunk filter is "source is trunk T OR destination is trunk T",
-- run as two ordered range scans whose pages are merged; these two indexes serve them
-- (the kind is checked on the rows found) and the plain source_name / destination_name
-- filters. Like every CDR index they end in (start_at, id), so a page is one range scan
-- in either direction and the cursor continues it. The party filter ("caller = X OR
-- callee = X") runs the same way on cdrs_caller and cdrs_callee from 0002.
CREATE INDEX cdrs_source_name ON cdrs (source_name, start_at, id);
CREATE INDEX cdrs_destination_name ON cdrs (destination_name, start_at, id);
